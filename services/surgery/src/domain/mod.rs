//! The operating block's rules as plain values: priorities, team roles, procedure grades and
//! what a surgeon's privileges cover. No transport, no database.

mod day;

pub use day::*;

use std::collections::HashSet;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use uuid::Uuid;

hmis_platform::labels!(
    /// How urgent an intervention is.
    Priority {
        Elective => "elective",
        Urgent => "urgent",
        Emergency => "emergency",
    }
);

hmis_platform::labels!(
    AnaesthesiaType {
        General => "general",
        Spinal => "spinal",
        Epidural => "epidural",
        RegionalBlock => "regional_block",
        Local => "local",
        Sedation => "sedation",
    }
);

hmis_platform::labels!(
    /// Only a scheduled operation holds its theatre, its team and its patient's time.
    OperationStatus {
        Scheduled => "scheduled",
        Cancelled => "cancelled",
        Bumped => "bumped",
        InProgress => "in_progress",
        Completed => "completed",
    }
);

hmis_platform::labels!(
    TeamRole {
        PrimarySurgeon => "primary_surgeon",
        Assistant => "assistant",
        Anaesthetist => "anaesthetist",
        ScrubNurse => "scrub_nurse",
    }
);

hmis_platform::labels!(
    PrivilegeStatus {
        Active => "active",
        Suspended => "suspended",
        Revoked => "revoked",
    }
);

/// The longest booking (a day) and the shortest (five minutes).
pub const MAX_DURATION_MINUTES: i32 = 1440;
pub const MIN_DURATION_MINUTES: i32 = 5;
/// Procedures one booking plans.
pub const MAX_PROCEDURES: usize = 10;
/// Assistants one booking names.
pub const MAX_ASSISTANTS: usize = 6;

/// A procedure grade: 1 minor, 2 intermediate, 3 major, 4 major plus, 5 complex major.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Grade(i16);

impl Grade {
    pub fn parse(value: i32) -> Result<Self, String> {
        match i16::try_from(value) {
            Ok(grade @ 1..=5) => Ok(Self(grade)),
            _ => Err("must be a grade from 1 (minor) to 5 (complex major)".to_owned()),
        }
    }

    pub fn from_db(value: i16) -> Option<Self> {
        (1..=5).contains(&value).then_some(Self(value))
    }

    pub fn get(self) -> i16 {
        self.0
    }
}

/// The planned time of a booking: from its start, for its expected duration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    pub start: DateTime<Utc>,
    pub minutes: i32,
}

impl Slot {
    pub fn parse(start: DateTime<Utc>, minutes: i32) -> Result<Self, String> {
        if !(MIN_DURATION_MINUTES..=MAX_DURATION_MINUTES).contains(&minutes) {
            return Err(format!(
                "must be {MIN_DURATION_MINUTES} to {MAX_DURATION_MINUTES} minutes"
            ));
        }
        Ok(Self { start, minutes })
    }

    pub fn end(&self) -> DateTime<Utc> {
        self.start + Duration::minutes(i64::from(self.minutes))
    }
}

/// The team of a booking, each person once, the primary surgeon first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Team(Vec<(Uuid, TeamRole)>);

impl Team {
    /// The team, or the role whose person is already in it under another role.
    pub fn new(
        primary_surgeon: Uuid,
        assistants: &[Uuid],
        anaesthetist: Option<Uuid>,
        scrub_nurse: Option<Uuid>,
    ) -> Result<Self, (&'static str, String)> {
        let mut members = vec![(primary_surgeon, TeamRole::PrimarySurgeon)];
        members.extend(assistants.iter().map(|id| (*id, TeamRole::Assistant)));
        members.extend(anaesthetist.map(|id| (id, TeamRole::Anaesthetist)));
        members.extend(scrub_nurse.map(|id| (id, TeamRole::ScrubNurse)));
        let mut seen = HashSet::new();
        for (id, role) in &members {
            if !seen.insert(*id) {
                let field = match role {
                    TeamRole::PrimarySurgeon => "primary_surgeon_id",
                    TeamRole::Assistant => "assistant_ids",
                    TeamRole::Anaesthetist => "anaesthetist_id",
                    TeamRole::ScrubNurse => "scrub_nurse_id",
                };
                return Err((field, format!("{id} is already in the team")));
            }
        }
        Ok(Self(members))
    }

    pub fn members(&self) -> &[(Uuid, TeamRole)] {
        &self.0
    }

    pub fn primary_surgeon(&self) -> Uuid {
        self.0[0].0
    }
}

/// One of a surgeon's privileges, as far as a booking asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    pub max_grade: Option<Grade>,
    pub procedure_code: Option<String>,
    pub valid_from: NaiveDate,
    pub valid_until: Option<NaiveDate>,
    pub status: PrivilegeStatus,
}

impl Held {
    /// Whether this privilege lets its surgeon operate `code` (of `grade`, if it has one) on
    /// `day`: active, in its period, and naming the procedure or a grade at least its grade.
    pub fn covers(&self, code: &str, grade: Option<Grade>, day: NaiveDate) -> bool {
        let in_period = self.valid_from <= day && self.valid_until.is_none_or(|until| day <= until);
        let extent = match (&self.procedure_code, self.max_grade, grade) {
            (Some(named), _, _) => named == code,
            (None, Some(max), Some(grade)) => grade <= max,
            (None, _, None) | (None, None, _) => false,
        };
        self.status == PrivilegeStatus::Active && in_period && extent
    }
}

/// The codes of `procedures` (code and grade) that none of `held` covers on `day`.
pub fn beyond_privileges(
    held: &[Held],
    procedures: &[(String, Option<Grade>)],
    day: NaiveDate,
) -> Vec<String> {
    procedures
        .iter()
        .filter(|(code, grade)| !held.iter().any(|p| p.covers(code, *grade, day)))
        .map(|(code, _)| code.clone())
        .collect()
}

/// Which privilege status a change may go to from `from`: suspend an active one, reinstate a
/// suspended one, revoke either; a revoked privilege stays revoked.
pub fn status_change_allowed(from: PrivilegeStatus, to: PrivilegeStatus) -> bool {
    use PrivilegeStatus::*;
    matches!(
        (from, to),
        (Active, Suspended) | (Suspended, Active) | (Active | Suspended, Revoked)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("date")
    }

    fn by_grade(max: i32) -> Held {
        Held {
            max_grade: Grade::parse(max).ok(),
            procedure_code: None,
            valid_from: day("2026-01-01"),
            valid_until: Some(day("2026-12-31")),
            status: PrivilegeStatus::Active,
        }
    }

    #[test]
    fn a_grade_privilege_covers_that_grade_and_below_within_its_period() {
        let held = by_grade(3);
        let major = Grade::parse(3).ok();
        let complex = Grade::parse(5).ok();
        assert!(held.covers("30571-00", major, day("2026-06-01")));
        assert!(!held.covers("38500-00", complex, day("2026-06-01")));
        assert!(
            !held.covers("30571-00", major, day("2027-01-01")),
            "expired"
        );
        assert!(
            !held.covers("99999-00", None, day("2026-06-01")),
            "ungraded"
        );
    }

    #[test]
    fn a_named_procedure_is_covered_whatever_its_grade_unless_suspended() {
        let mut held = Held {
            max_grade: None,
            procedure_code: Some("38500-00".to_owned()),
            ..by_grade(1)
        };
        assert!(held.covers("38500-00", Grade::parse(5).ok(), day("2026-03-01")));
        assert!(!held.covers("38497-00", Grade::parse(1).ok(), day("2026-03-01")));
        held.status = PrivilegeStatus::Suspended;
        assert!(!held.covers("38500-00", Grade::parse(5).ok(), day("2026-03-01")));
    }

    #[test]
    fn the_procedures_beyond_privileges_are_named() {
        let procedures = vec![
            ("30571-00".to_owned(), Grade::parse(2).ok()),
            ("38500-00".to_owned(), Grade::parse(5).ok()),
        ];
        assert_eq!(
            beyond_privileges(&[by_grade(3)], &procedures, day("2026-05-05")),
            vec!["38500-00".to_owned()]
        );
        assert_eq!(
            beyond_privileges(&[], &procedures, day("2026-05-05")).len(),
            2
        );
    }

    #[test]
    fn a_person_is_in_a_team_once() {
        let surgeon = Uuid::now_v7();
        let other = Uuid::now_v7();
        assert!(Team::new(surgeon, &[other], None, None).is_ok());
        assert_eq!(
            Team::new(surgeon, &[other], Some(other), None).map_err(|(field, _)| field),
            Err("anaesthetist_id")
        );
        assert_eq!(
            Team::new(surgeon, &[surgeon], None, None).map_err(|(field, _)| field),
            Err("assistant_ids")
        );
    }

    #[test]
    fn slots_are_bounded_and_privilege_statuses_move_one_way_to_revoked() {
        let start = Utc::now();
        assert!(Slot::parse(start, 4).is_err());
        assert!(Slot::parse(start, 1441).is_err());
        assert_eq!(
            Slot::parse(start, 90).map(|slot| slot.end() - start),
            Ok(Duration::minutes(90))
        );
        use PrivilegeStatus::*;
        assert!(status_change_allowed(Active, Suspended));
        assert!(status_change_allowed(Suspended, Active));
        assert!(status_change_allowed(Suspended, Revoked));
        assert!(!status_change_allowed(Revoked, Active));
        assert!(!status_change_allowed(Active, Active));
    }
}
