//! The booking office's rules as plain values: what a clinic offers, weekly working hours and
//! the slots they cut for a period (skipping holidays and leave, in the facility's zone),
//! appointment and ticket states, and the queue's calling order. No transport, no database.

mod queue;

pub use queue::*;

use std::collections::HashSet;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

hmis_platform::labels!(
    ClinicKind {
        Consultation => "consultation",
        Laboratory => "laboratory",
        Imaging => "imaging",
        Procedure => "procedure",
    }
);

hmis_platform::labels!(
    /// Held, booked and checked-in appointments hold a place of their slot.
    AppointmentStatus {
        Held => "held",
        Booked => "booked",
        CheckedIn => "checked_in",
        Completed => "completed",
        Cancelled => "cancelled",
        NoShow => "no_show",
        Expired => "expired",
    }
);

impl AppointmentStatus {
    /// Whether it holds a place of its slot (and its patient's time).
    pub fn holds_place(self) -> bool {
        matches!(self, Self::Held | Self::Booked | Self::CheckedIn)
    }
}

hmis_platform::labels!(
    Channel {
        Desk => "desk",
        Kiosk => "kiosk",
        Phone => "phone",
        Online => "online",
    }
);

hmis_platform::labels!(
    ReferralKind {
        Laboratory => "laboratory",
        Imaging => "imaging",
        Consultation => "consultation",
    }
);

hmis_platform::labels!(
    ReferralStatus {
        Waiting => "waiting",
        Booked => "booked",
        Seen => "seen",
    }
);

hmis_platform::labels!(
    VisitOutcome {
        FollowUp => "follow_up",
        Referred => "referred",
        Admitted => "admitted",
        ToFamilyDoctor => "to_family_doctor",
    }
);

hmis_platform::labels!(
    /// Where a patient on a clinic's waiting list stands.
    WaitingStatus {
        Waiting => "waiting",
        Offered => "offered",
        Booked => "booked",
        Lapsed => "lapsed",
        Withdrawn => "withdrawn",
    }
);

/// How long a freed place offered to the waiting list is held (at most until the slot starts).
pub const OFFER_HOURS: i64 = 24;

/// The shortest and longest slot, and the most patients one slot takes.
pub const MIN_SLOT_MINUTES: i32 = 5;
pub const MAX_SLOT_MINUTES: i32 = 240;
pub const MAX_CAPACITY: i32 = 100;
/// The longest period one OpenSlots call opens, and a free-slot search looks over.
pub const MAX_OPEN_DAYS: i64 = 92;
/// How long a place may be held (kiosk, online) before it must be confirmed.
pub const MAX_HOLD_MINUTES: i32 = 60;
/// How early before the appointment a patient may check in.
pub const EARLIEST_CHECK_IN_MINUTES: i64 = 60;

/// One weekday's working hours, local time of the facility.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkingHours {
    /// ISO weekday, 1 Monday .. 7 Sunday.
    pub weekday: u32,
    pub start: NaiveTime,
    pub end: NaiveTime,
}

impl WorkingHours {
    pub fn parse(weekday: i32, start: &str, end: &str) -> Result<Self, (&'static str, String)> {
        let weekday = u32::try_from(weekday)
            .ok()
            .filter(|day| (1..=7).contains(day))
            .ok_or(("weekday", "must be 1 (Monday) to 7 (Sunday)".to_owned()))?;
        let time = |value: &str| NaiveTime::parse_from_str(value.trim(), "%H:%M").ok();
        let start = time(start).ok_or(("start", "must be a time HH:MM".to_owned()))?;
        let end = time(end).ok_or(("end", "must be a time HH:MM".to_owned()))?;
        if end <= start {
            return Err(("end", "must be after start".to_owned()));
        }
        Ok(Self {
            weekday,
            start,
            end,
        })
    }

    fn overlaps(&self, other: &Self) -> bool {
        self.weekday == other.weekday && self.start < other.end && other.start < self.end
    }
}

/// Whether two lists of working hours share any time of a weekday.
pub fn hours_overlap(one: &[WorkingHours], other: &[WorkingHours]) -> bool {
    one.iter().any(|a| other.iter().any(|b| a.overlaps(b)))
}

/// A weekly schedule as slot opening reads it.
#[derive(Debug, Clone)]
pub struct Week {
    pub clinician_id: Option<Uuid>,
    pub room_id: Option<Uuid>,
    pub hours: Vec<WorkingHours>,
    pub slot_minutes: i32,
    pub capacity: i32,
    pub valid_from: NaiveDate,
    pub valid_until: Option<NaiveDate>,
}

/// A slot to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSlot {
    pub clinician_id: Option<Uuid>,
    pub room_id: Option<Uuid>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub capacity: i32,
}

/// What closes days: the facility's holidays and each clinician's leave (days, both included).
#[derive(Debug, Clone, Default)]
pub struct Closed {
    pub holidays: HashSet<NaiveDate>,
    pub leave: Vec<(Uuid, NaiveDate, NaiveDate)>,
}

impl Closed {
    fn closes(&self, clinician: Option<Uuid>, day: NaiveDate) -> bool {
        self.holidays.contains(&day)
            || clinician.is_some_and(|clinician| {
                (self.leave.iter()).any(|(whose, first, last)| {
                    *whose == clinician && *first <= day && day <= *last
                })
            })
    }
}

/// The local time `time` of `day` in `zone` as an instant; none when clocks skip it.
fn at(zone: &chrono_tz::Tz, day: NaiveDate, time: NaiveTime) -> Option<DateTime<Utc>> {
    (zone.from_local_datetime(&day.and_time(time)).earliest()).map(|at| at.with_timezone(&Utc))
}

/// The slots the weekly schedules `weeks` cut from `first` to `last` (both included) in
/// `zone`: whole slots within each day's working hours, none on a closed day. A slot whose
/// local start does not exist (the hour clocks skip) is left out.
pub fn slots_of(
    weeks: &[Week],
    (first, last): (NaiveDate, NaiveDate),
    zone: &chrono_tz::Tz,
    closed: &Closed,
) -> Vec<NewSlot> {
    let mut slots = Vec::new();
    for day in first.iter_days().take_while(|day| *day <= last) {
        let weekday = day.weekday().number_from_monday();
        for week in weeks {
            let valid = week.valid_from <= day && week.valid_until.is_none_or(|until| day <= until);
            if !valid || closed.closes(week.clinician_id, day) {
                continue;
            }
            let length = Duration::minutes(i64::from(week.slot_minutes));
            for hours in week.hours.iter().filter(|hours| hours.weekday == weekday) {
                let mut start = hours.start;
                loop {
                    let (end, wrapped) = start.overflowing_add_signed(length);
                    if wrapped != 0 || end > hours.end || end <= start {
                        break;
                    }
                    if let (Some(from), Some(to)) = (at(zone, day, start), at(zone, day, end))
                        && to > from
                    {
                        slots.push(NewSlot {
                            clinician_id: week.clinician_id,
                            room_id: week.room_id,
                            start: from,
                            end: to,
                            capacity: week.capacity,
                        });
                    }
                    start = end;
                }
            }
        }
    }
    slots
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hours(weekday: i32, start: &str, end: &str) -> WorkingHours {
        WorkingHours::parse(weekday, start, end).expect("hours")
    }

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("day")
    }

    fn week(clinician: Option<Uuid>, hours: Vec<WorkingHours>) -> Week {
        Week {
            clinician_id: clinician,
            room_id: None,
            hours,
            slot_minutes: 20,
            capacity: 1,
            valid_from: day("2026-01-01"),
            valid_until: None,
        }
    }

    #[test]
    fn working_hours_are_parsed_naming_what_is_wrong() {
        assert_eq!(
            WorkingHours::parse(0, "08:00", "12:00")
                .expect_err("refused")
                .0,
            "weekday"
        );
        assert_eq!(
            WorkingHours::parse(1, "8h", "12:00")
                .expect_err("refused")
                .0,
            "start"
        );
        assert_eq!(
            WorkingHours::parse(1, "12:00", "08:00")
                .expect_err("refused")
                .0,
            "end"
        );
        assert!(hours_overlap(
            &[hours(1, "08:00", "12:00")],
            &[hours(1, "11:40", "13:00")]
        ));
        assert!(!hours_overlap(
            &[hours(1, "08:00", "12:00")],
            &[hours(1, "12:00", "13:00"), hours(2, "08:00", "12:00")]
        ));
    }

    #[test]
    fn slots_are_cut_whole_in_the_facility_zone_skipping_closed_days() {
        let zone: chrono_tz::Tz = "Europe/Chisinau".parse().expect("zone");
        let doctor = Uuid::now_v7();
        // Monday 08:00-09:10 in 20 minutes: three whole slots (the last 10 minutes are not one).
        let weeks = [week(Some(doctor), vec![hours(1, "08:00", "09:10")])];
        let mut closed = Closed::default();
        // 2026-03-02 and 2026-03-09 are Mondays; leave closes the second, a holiday the third.
        closed
            .leave
            .push((doctor, day("2026-03-09"), day("2026-03-10")));
        closed.holidays.insert(day("2026-03-16"));
        let slots = slots_of(
            &weeks,
            (day("2026-03-01"), day("2026-03-23")),
            &zone,
            &closed,
        );
        assert_eq!(slots.len(), 6, "two open Mondays of three slots");
        assert_eq!(slots[0].start.to_rfc3339(), "2026-03-02T06:00:00+00:00");
        assert_eq!(slots[2].end.to_rfc3339(), "2026-03-02T07:00:00+00:00");
        assert_eq!(slots[3].start.to_rfc3339(), "2026-03-23T06:00:00+00:00");
    }

    #[test]
    fn a_schedule_opens_only_within_its_validity() {
        let zone: chrono_tz::Tz = "UTC".parse().expect("zone");
        let mut bounded = week(None, vec![hours(2, "10:00", "10:20")]);
        bounded.valid_from = day("2026-03-10");
        bounded.valid_until = Some(day("2026-03-17"));
        let slots = slots_of(
            &[bounded],
            (day("2026-03-01"), day("2026-03-31")),
            &zone,
            &Closed::default(),
        );
        let starts: Vec<String> = slots.iter().map(|s| s.start.to_rfc3339()).collect();
        assert_eq!(
            starts,
            ["2026-03-10T10:00:00+00:00", "2026-03-17T10:00:00+00:00"]
        );
    }
}
