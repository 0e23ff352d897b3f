//! The rules of hospitalization, without tonic or sqlx: the kinds and states an admission
//! passes through, which times a movement may carry, and what a bed accepts.

use chrono::{DateTime, Duration, Utc};
use hmis_platform::types::ParseError;

hmis_platform::labels!(
    /// How a patient reached the emergency unit.
    ArrivalMode {
        WalkIn => "walk_in",
        Ambulance => "ambulance",
        Police => "police",
        Referred => "referred",
        TransferIn => "transfer_in",
        Other => "other",
    }
);

hmis_platform::labels!(
    /// How an emergency visit ended.
    EmergencyOutcome {
        Admitted => "admitted",
        SentHome => "sent_home",
        ReferredElsewhere => "referred_elsewhere",
        Died => "died",
        LeftWithoutBeingSeen => "left_without_being_seen",
    }
);

hmis_platform::labels!(
    AdmissionType {
        Emergency => "emergency",
        Planned => "planned",
        DayCare => "day_care",
        Observation => "observation",
    }
);

hmis_platform::labels!(
    AdmissionStatus {
        Admitted => "admitted",
        Discharged => "discharged",
        Cancelled => "cancelled",
    }
);

hmis_platform::labels!(
    DischargeType {
        Recovered => "recovered",
        Improved => "improved",
        Unchanged => "unchanged",
        Worsened => "worsened",
        Deceased => "deceased",
        Transferred => "transferred",
        LeftAgainstAdvice => "left_against_advice",
    }
);

/// Triage on the five-level scale, 1 the most urgent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct TriageLevel(i16);

impl TriageLevel {
    pub fn new(level: i32) -> Result<Self, ParseError> {
        match level {
            1..=5 => Ok(Self(level as i16)),
            0 => Err(ParseError::new("is required")),
            _ => Err(ParseError::new("must be a level from 1 to 5")),
        }
    }

    pub fn get(&self) -> i16 {
        self.0
    }
}

/// An ICD-10 code as written on an admission: a letter, two digits, and an optional
/// subdivision after a dot (`I21`, `I21.0`, `S72.00`). Whether the code exists is the
/// terminology module's to say once it is there; the shape is checked here.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DiagnosisCode(String);

impl DiagnosisCode {
    /// An empty code is allowed (the diagnosis may be known only as text at the desk).
    pub fn parse(value: &str) -> Result<Self, ParseError> {
        let value = value.trim().to_ascii_uppercase();
        if value.is_empty() {
            return Ok(Self(value));
        }
        let bytes = value.as_bytes();
        let head_ok = bytes.len() >= 3
            && bytes[0].is_ascii_uppercase()
            && bytes[1].is_ascii_digit()
            && (bytes[2].is_ascii_digit() || bytes[2] == b'A' || bytes[2] == b'B');
        let tail_ok = match &value[3.min(value.len())..] {
            "" => true,
            tail => {
                tail.len() >= 2
                    && tail.len() <= 5
                    && tail.starts_with('.')
                    && tail[1..].bytes().all(|b| b.is_ascii_alphanumeric())
            }
        };
        if head_ok && tail_ok {
            Ok(Self(value))
        } else {
            Err(ParseError::new(
                "must be an ICD-10 code: a letter, two digits and an optional .subdivision (e.g. I21.0)",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The admission number people write on the chart: the facility's running number of the
/// year, then the year (`123/2026`).
pub fn admission_number(sequence: i64, year: i32) -> String {
    format!("{sequence}/{year}")
}

/// Why a movement's time is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeRuleError {
    #[error("must not be in the future")]
    InFuture,
    #[error("must not be before the current stay began ({0})")]
    BeforeCurrentStay(DateTime<Utc>),
    #[error("must be within the last {} years", OLDEST_MOVEMENT.num_days() / 365)]
    TooFarBack,
}

/// The furthest back any movement may be recorded, whoever records it: a typing error (year 1,
/// 1926) is refused outright. Within it, the configured backdating window applies
/// (`AdmissionsOptions::backdating_window`; further back needs a permission and a reason).
pub const OLDEST_MOVEMENT: Duration = Duration::days(10 * 365);

/// Clocks of desk computers drift; a time this close ahead of the server's is taken as now.
const CLOCK_SKEW: Duration = Duration::seconds(120);

/// The time a movement is recorded at: the one given, or now. It may be backdated (the ward
/// enters a night's transfers in the morning) but not before the stay it ends, and not ahead.
pub fn movement_time(
    given: Option<DateTime<Utc>>,
    current_stay_start: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, TimeRuleError> {
    let at = match given {
        None => now,
        Some(at) if at > now + CLOCK_SKEW => return Err(TimeRuleError::InFuture),
        Some(at) if at < now - OLDEST_MOVEMENT => return Err(TimeRuleError::TooFarBack),
        Some(at) => at.min(now),
    };
    match current_stay_start {
        Some(start) if at < start => Err(TimeRuleError::BeforeCurrentStay(start)),
        _ => Ok(at),
    }
}

/// A discharge may be undone by a permitted user within `window` of being recorded.
pub fn undo_allowed(recorded_at: DateTime<Utc>, now: DateTime<Utc>, window: Duration) -> bool {
    now - recorded_at <= window
}

/// An observation stay admitted at `admit_time` is due to become an inpatient admission.
pub fn observation_due(admit_time: DateTime<Utc>, now: DateTime<Utc>, limit: Duration) -> bool {
    now - admit_time > limit
}

pub use hmis_core_api::{BedSex, BedState};

/// A patient's administrative sex, as far as beds care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatientSex {
    Male,
    Female,
    Unknown,
}

/// Whether a bed reserved for one sex may take this patient. A patient whose sex is not known
/// yet (an unidentified emergency) may go anywhere: refusing a bed would not help them.
pub fn bed_accepts(bed: BedSex, patient: PatientSex) -> bool {
    !matches!(
        (bed, patient),
        (BedSex::Male, PatientSex::Female) | (BedSex::Female, PatientSex::Male)
    )
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_movement_is_not_recorded_years_back() {
        let now = Utc::now();
        let year_one = DateTime::<Utc>::MIN_UTC;
        assert_eq!(
            movement_time(Some(year_one), None, now),
            Err(TimeRuleError::TooFarBack)
        );
        let last_week = now - Duration::days(7);
        assert_eq!(movement_time(Some(last_week), None, now), Ok(last_week));
    }

    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .expect("valid time")
    }

    #[test]
    fn icd10_codes_are_checked_for_shape() {
        for good in ["I21", "i21.0", "S72.00", "J18.9", "U07.1", "C7A.0", ""] {
            assert!(DiagnosisCode::parse(good).is_ok(), "{good}");
        }
        for bad in ["21.0", "I2", "I21-0", "I21.", "II21", "I21.123456", "Î21"] {
            assert!(DiagnosisCode::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            DiagnosisCode::parse(" i21.0 ").map(|code| code.0),
            Ok("I21.0".to_owned())
        );
    }

    #[test]
    fn movements_may_be_backdated_but_not_before_the_stay_or_ahead() {
        let now = at("2026-11-22T10:00:00Z");
        let start = at("2026-11-22T02:00:00Z");
        assert_eq!(movement_time(None, Some(start), now), Ok(now));
        let night = at("2026-11-22T03:30:00Z");
        assert_eq!(movement_time(Some(night), Some(start), now), Ok(night));
        assert_eq!(
            movement_time(Some(at("2026-11-22T01:00:00Z")), Some(start), now),
            Err(TimeRuleError::BeforeCurrentStay(start))
        );
        assert_eq!(
            movement_time(Some(at("2026-11-22T11:00:00Z")), Some(start), now),
            Err(TimeRuleError::InFuture)
        );
        // A desk clock a minute ahead is taken as now.
        assert_eq!(
            movement_time(Some(at("2026-11-22T10:01:00Z")), Some(start), now),
            Ok(now)
        );
    }

    #[test]
    fn windows_and_limits() {
        let recorded = at("2026-11-22T10:00:00Z");
        assert!(undo_allowed(
            recorded,
            recorded + Duration::hours(23),
            Duration::hours(24)
        ));
        assert!(!undo_allowed(
            recorded,
            recorded + Duration::hours(25),
            Duration::hours(24)
        ));
        assert!(!observation_due(
            recorded,
            recorded + Duration::hours(6),
            Duration::hours(6)
        ));
        assert!(observation_due(
            recorded,
            recorded + Duration::hours(6) + Duration::seconds(1),
            Duration::hours(6)
        ));
    }

    #[test]
    fn beds_for_one_sex_refuse_the_other_but_not_the_unknown() {
        assert!(!bed_accepts(BedSex::Male, PatientSex::Female));
        assert!(!bed_accepts(BedSex::Female, PatientSex::Male));
        assert!(bed_accepts(BedSex::Female, PatientSex::Female));
        assert!(bed_accepts(BedSex::Female, PatientSex::Unknown));
        assert!(bed_accepts(BedSex::Any, PatientSex::Male));
        assert!(!BedState::Cleaning.takes_patients());
        assert!(!BedState::OutOfService.takes_patients());
        assert!(BedState::Free.takes_patients());
        assert!(!BedState::Occupied.takes_patients());
    }

    #[test]
    fn stored_names_round_trip() {
        for kind in [
            DischargeType::Recovered,
            DischargeType::LeftAgainstAdvice,
            DischargeType::Deceased,
        ] {
            assert_eq!(DischargeType::from_db(kind.as_db()), Some(kind));
        }
        assert_eq!(
            AdmissionType::from_db("day_care"),
            Some(AdmissionType::DayCare)
        );
        assert_eq!(AdmissionStatus::from_db("open"), None);
        assert_eq!(admission_number(123, 2026), "123/2026");
        assert!(TriageLevel::new(0).is_err());
        assert!(TriageLevel::new(6).is_err());
        assert_eq!(TriageLevel::new(2).map(|t| t.get()), Ok(2));
    }
}
