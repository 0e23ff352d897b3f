//! The day of surgery: the WHO checklist's pauses, the milestones in their order, and the
//! operation's and the anaesthesia's records as people write them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{AnaesthesiaType, OperationStatus};

hmis_platform::labels!(
    /// The three pauses of the WHO surgical safety checklist, in order.
    ChecklistPhase {
        SignIn => "sign_in",
        TimeOut => "time_out",
        SignOut => "sign_out",
    }
);

hmis_platform::labels!(
    /// The moments of the day of surgery, in order.
    Milestone {
        IntoRoom => "into_room",
        AnaesthesiaStart => "anaesthesia_start",
        Incision => "incision",
        Closure => "closure",
        OutOfRoom => "out_of_room",
    }
);

hmis_platform::labels!(
    RecordKind {
        Operation => "operation",
        Anaesthesia => "anaesthesia",
    }
);

impl ChecklistPhase {
    /// The items every confirmation of the phase names (WHO checklist, 2009 edition).
    pub fn items(self) -> &'static [&'static str] {
        match self {
            ChecklistPhase::SignIn => &[
                "identity",
                "site-marked",
                "consent",
                "anaesthesia-check",
                "pulse-oximeter",
                "allergy",
                "airway",
                "blood-loss-risk",
            ],
            ChecklistPhase::TimeOut => &[
                "team-introduced",
                "patient-site-procedure",
                "antibiotic-prophylaxis",
                "critical-events",
                "imaging-displayed",
            ],
            ChecklistPhase::SignOut => &[
                "procedure-recorded",
                "counts-correct",
                "specimens-labelled",
                "equipment-problems",
                "recovery-concerns",
            ],
        }
    }

    /// The phase that must be confirmed before this one.
    pub fn after(self) -> Option<ChecklistPhase> {
        match self {
            ChecklistPhase::SignIn => None,
            ChecklistPhase::TimeOut => Some(ChecklistPhase::SignIn),
            ChecklistPhase::SignOut => Some(ChecklistPhase::TimeOut),
        }
    }

    /// The items of the phase `confirmed` leaves out, or the first it names that the phase
    /// does not have.
    pub fn missing(self, confirmed: &[String]) -> Result<Vec<&'static str>, String> {
        if let Some(unknown) = confirmed
            .iter()
            .find(|item| !self.items().contains(&item.as_str()))
        {
            return Err(format!(
                "{} is not an item of {}",
                hmis_platform::error::quoted(unknown),
                self
            ));
        }
        Ok((self.items().iter())
            .filter(|item| !confirmed.iter().any(|given| given == *item))
            .copied()
            .collect())
    }
}

impl Milestone {
    /// The milestone that must be recorded before this one.
    pub fn after(self) -> Option<Milestone> {
        match self {
            Milestone::IntoRoom => None,
            Milestone::AnaesthesiaStart => Some(Milestone::IntoRoom),
            Milestone::Incision => Some(Milestone::AnaesthesiaStart),
            Milestone::Closure => Some(Milestone::Incision),
            Milestone::OutOfRoom => Some(Milestone::Closure),
        }
    }

    /// The checklist pause that must be confirmed first (WHO: sign in before induction, time
    /// out before incision, sign out before the patient leaves).
    pub fn needs(self) -> Option<ChecklistPhase> {
        match self {
            Milestone::AnaesthesiaStart => Some(ChecklistPhase::SignIn),
            Milestone::Incision => Some(ChecklistPhase::TimeOut),
            Milestone::OutOfRoom => Some(ChecklistPhase::SignOut),
            Milestone::IntoRoom | Milestone::Closure => None,
        }
    }

    /// The status an operation must have for this milestone, and the one it gets.
    pub fn moves(self) -> (OperationStatus, OperationStatus) {
        match self {
            Milestone::IntoRoom => (OperationStatus::Scheduled, OperationStatus::InProgress),
            Milestone::OutOfRoom => (OperationStatus::InProgress, OperationStatus::Completed),
            _ => (OperationStatus::InProgress, OperationStatus::InProgress),
        }
    }
}

/// Whether `milestone` at `at` may follow what is recorded (`recorded`: milestone and time):
/// the one before it recorded, itself not yet, and no earlier than the last.
pub fn milestone_fits(
    milestone: Milestone,
    at: DateTime<Utc>,
    recorded: &[(Milestone, DateTime<Utc>)],
) -> Result<(), String> {
    if recorded.iter().any(|(done, _)| *done == milestone) {
        return Err(format!("{milestone} is already recorded"));
    }
    if let Some(before) = milestone.after()
        && !recorded.iter().any(|(done, _)| *done == before)
    {
        return Err(format!("{before} must be recorded first"));
    }
    if let Some((last, last_at)) = recorded.iter().max_by_key(|(_, time)| *time)
        && at < *last_at
    {
        return Err(format!("must not be before {last}"));
    }
    Ok(())
}

/// An implant, traceable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Implant {
    pub description: String,
    pub lot_number: String,
    pub serial_number: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Specimen {
    pub description: String,
    pub to_pathology: bool,
}

/// The surgeon's record of the operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperationNote {
    pub performed: Vec<String>,
    pub findings: String,
    pub complications: String,
    pub blood_loss_ml: i32,
    pub implants: Vec<Implant>,
    pub specimens: Vec<Specimen>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Drug {
    pub name: String,
    pub dose: String,
    pub unit: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vital {
    pub at: DateTime<Utc>,
    pub code: String,
    pub value: String,
    pub unit: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnaesthesiaEvent {
    pub at: DateTime<Utc>,
    pub description: String,
}

/// The anaesthetist's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnaesthesiaNote {
    pub asa_class: i16,
    pub asa_emergency: bool,
    pub technique: String,
    pub drugs: Vec<Drug>,
    pub vitals: Vec<Vital>,
    pub events: Vec<AnaesthesiaEvent>,
}

impl AnaesthesiaNote {
    pub fn technique(&self) -> Option<AnaesthesiaType> {
        AnaesthesiaType::from_db(&self.technique)
    }
}

/// One of the two records of an operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RecordContent {
    Operation(OperationNote),
    Anaesthesia(AnaesthesiaNote),
}

impl RecordContent {
    pub fn kind(&self) -> RecordKind {
        match self {
            RecordContent::Operation(_) => RecordKind::Operation,
            RecordContent::Anaesthesia(_) => RecordKind::Anaesthesia,
        }
    }
}

/// A decimal as people write one on a chart: an optional minus, digits, an optional point
/// and up to four more digits.
pub fn is_decimal(value: &str) -> bool {
    let digits = value.strip_prefix('-').unwrap_or(value);
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    !whole.is_empty()
        && whole.len() <= 10
        && whole.chars().all(|c| c.is_ascii_digit())
        && fraction.len() <= 4
        && fraction.chars().all(|c| c.is_ascii_digit())
        && !(digits.contains('.') && fraction.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_796_601_600 + minutes * 60, 0).expect("time")
    }

    #[test]
    fn milestones_come_in_order_and_never_go_back_in_time() {
        let recorded = vec![(Milestone::IntoRoom, at(0))];
        assert!(milestone_fits(Milestone::AnaesthesiaStart, at(5), &recorded).is_ok());
        assert!(
            milestone_fits(Milestone::Incision, at(5), &recorded).is_err(),
            "skips"
        );
        assert!(
            milestone_fits(Milestone::IntoRoom, at(5), &recorded).is_err(),
            "twice"
        );
        assert!(
            milestone_fits(Milestone::AnaesthesiaStart, at(-1), &recorded).is_err(),
            "earlier"
        );
        assert_eq!(Milestone::Incision.needs(), Some(ChecklistPhase::TimeOut));
        assert_eq!(
            Milestone::OutOfRoom.moves(),
            (OperationStatus::InProgress, OperationStatus::Completed)
        );
    }

    #[test]
    fn a_checklist_phase_names_every_item_and_only_its_own() {
        let all: Vec<String> = ChecklistPhase::TimeOut
            .items()
            .iter()
            .map(|item| (*item).to_owned())
            .collect();
        assert_eq!(ChecklistPhase::TimeOut.missing(&all), Ok(vec![]));
        assert_eq!(
            ChecklistPhase::TimeOut.missing(&all[1..]),
            Ok(vec!["team-introduced"])
        );
        assert!(
            ChecklistPhase::TimeOut
                .missing(&["identity".to_owned()])
                .is_err()
        );
        assert_eq!(
            ChecklistPhase::SignOut.after(),
            Some(ChecklistPhase::TimeOut)
        );
    }

    #[test]
    fn chart_decimals() {
        for good in ["72", "36.6", "-1.5", "0.0001"] {
            assert!(is_decimal(good), "{good}");
        }
        for bad in ["", "7.", ".5", "1e3", "12.34567", "--1", "NaN"] {
            assert!(!is_decimal(bad), "{bad}");
        }
    }
}
