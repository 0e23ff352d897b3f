//! Pure types and rules of the medical act: amounts of medicine, the labels stored for each
//! enumeration, how a dose becomes a daily amount, and the medication safety check
//! ([`safety`]). No tonic, no SQL.

pub mod nursing;
pub mod safety;
pub mod schedule;

pub use hmis_platform::amount::Amount;
use hmis_platform::labels;

use hmis_platform::error::quoted;
use hmis_platform::types::ParseError;

labels!(EncounterKind { Inpatient => "inpatient", Outpatient => "outpatient" });
labels!(EncounterStatus { Open => "open", Closed => "closed", Cancelled => "cancelled" });
labels!(NoteKind {
    Examination => "examination",
    Progress => "progress",
    Consultation => "consultation",
    DischargeSummary => "discharge_summary",
    Recommendation => "recommendation",
});
labels!(DiagnosisRole {
    Admitting => "admitting",
    Principal => "principal",
    Secondary => "secondary",
    Complication => "complication",
});
labels!(Certainty { Provisional => "provisional", Confirmed => "confirmed", RuledOut => "ruled_out" });
labels!(AllergyCategory {
    Medication => "medication",
    Food => "food",
    Environment => "environment",
    Other => "other",
});
labels!(ReactionKind { Allergy => "allergy", Intolerance => "intolerance" });
labels!(
    /// How bad a recorded reaction was.
    Severity { Mild => "mild", Moderate => "moderate", Severe => "severe" }
);
labels!(
    /// How bad a prescribing warning is: severe ones block without an override.
    WarningSeverity { Minor => "minor", Moderate => "moderate", Severe => "severe" }
);
labels!(Restriction {
    None => "none",
    ReserveAntibiotic => "reserve_antibiotic",
    Controlled => "controlled",
});
labels!(Route {
    Oral => "oral",
    Sublingual => "sublingual",
    Intravenous => "intravenous",
    Intramuscular => "intramuscular",
    Subcutaneous => "subcutaneous",
    Rectal => "rectal",
    Topical => "topical",
    Inhalation => "inhalation",
    Other => "other",
});
labels!(ReferralKind { Laboratory => "laboratory", Imaging => "imaging", Consultation => "consultation" });
labels!(Urgency { Routine => "routine", Urgent => "urgent", Emergency => "emergency" });

impl WarningSeverity {
    pub fn rank(self) -> u8 {
        match self {
            Self::Minor => 1,
            Self::Moderate => 2,
            Self::Severe => 3,
        }
    }
}

/// A medicine of the formulary as dosing needs it.
#[derive(Debug, Clone)]
pub struct Dosing<'a> {
    pub form_unit: &'a str,
    pub strength: Amount,
    pub strength_unit: &'a str,
}

/// The amount of substance one dose holds, in the strength unit: a dose counted in form
/// units (tablets) is multiplied by the strength, one counted in the strength unit is itself.
pub fn dose_in_strength_unit(
    dose: Amount,
    dose_unit: &str,
    dosing: &Dosing<'_>,
) -> Result<Amount, ParseError> {
    let unit = dose_unit.trim();
    if unit.eq_ignore_ascii_case(dosing.strength_unit) {
        return Ok(dose);
    }
    if unit.eq_ignore_ascii_case(dosing.form_unit) {
        return dose.times(dosing.strength).ok_or_else(|| {
            ParseError::new("gives an amount of substance not exact to four decimal places")
        });
    }
    Err(ParseError::new(format!(
        "must be {} or {}",
        dosing.form_unit, dosing.strength_unit
    )))
}

/// A local time of day a dose is given: "08:00".
pub fn parse_time_of_day(value: &str) -> Result<String, ParseError> {
    chrono::NaiveTime::parse_from_str(value.trim(), "%H:%M")
        .map(|time| time.format("%H:%M").to_string())
        .map_err(|_| {
            ParseError::new(format!(
                "{} is not a time of day such as 08:00",
                quoted(value)
            ))
        })
}

/// An ATC code or group prefix: A, A02, A02B, A02BC, A02BC01 (letters and digits by level).
pub fn parse_atc(value: &str) -> Result<String, ParseError> {
    let code = value.trim().to_uppercase();
    let shape: Vec<bool> = code.chars().map(|c| c.is_ascii_digit()).collect();
    // Level by level: letter, two digits, letter, letter, two digits.
    let expected = [false, true, true, false, false, true, true];
    let ok = !code.is_empty()
        && code.len() <= 7
        && [1, 3, 4, 5, 7].contains(&code.len())
        && code.chars().all(|c| c.is_ascii_alphanumeric())
        && shape
            .iter()
            .zip(expected)
            .all(|(digit, want)| *digit == want);
    if ok {
        Ok(code)
    } else {
        Err(ParseError::new(format!(
            "{} is not an ATC code or group (such as J01C or J01CA04)",
            quoted(value)
        )))
    }
}

/// The text of a clinical note: required, up to 20,000 characters (an admission examination
/// runs long), no control characters but line breaks and tabs.
pub fn parse_note_text(value: &str) -> Result<String, ParseError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(ParseError::new("is required"));
    }
    if value.chars().count() > 20_000 {
        return Err(ParseError::new("must be at most 20000 characters"));
    }
    if value
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(ParseError::new("must not contain control characters"));
    }
    Ok(value.to_owned())
}

/// What a certificate holds besides its number, as stored (`details` jsonb).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CertificateDetails {
    SickLeave {
        diagnosis_display: String,
        employer: String,
        days: i32,
        chain_days: i32,
    },
    Medical {
        purpose: String,
        findings: String,
    },
    Death {
        death_time: chrono::DateTime<chrono::Utc>,
        place_of_death: String,
        immediate_cause_code: String,
        antecedent_cause_codes: Vec<String>,
        underlying_cause_code: String,
        contributing_cause_codes: Vec<String>,
        manner: String,
        autopsy: bool,
    },
}

impl CertificateDetails {
    pub fn kind(&self) -> &'static str {
        match self {
            CertificateDetails::SickLeave { .. } => "sick_leave",
            CertificateDetails::Medical { .. } => "medical",
            CertificateDetails::Death { .. } => "death",
        }
    }

    /// The series prefix of the kind.
    pub fn prefix(&self) -> &'static str {
        match self {
            CertificateDetails::SickLeave { .. } => "SL",
            CertificateDetails::Medical { .. } => "MC",
            CertificateDetails::Death { .. } => "DC",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dose_in_tablets_is_multiplied_by_the_strength() {
        let dosing = Dosing {
            form_unit: "tablet",
            strength: Amount::parse("500").expect("amount"),
            strength_unit: "mg",
        };
        let half = Amount::parse("1/2").expect("amount");
        assert_eq!(
            dose_in_strength_unit(half, "tablet", &dosing).map(|a| a.to_string()),
            Ok("250".to_owned())
        );
        assert_eq!(
            dose_in_strength_unit(half, "MG", &dosing).map(|a| a.to_string()),
            Ok("0.5".to_owned())
        );
        assert!(dose_in_strength_unit(half, "ml", &dosing).is_err());
    }

    #[test]
    fn atc_codes_have_the_shape_of_their_level() {
        for good in ["J", "J01", "J01C", "J01CA", "J01CA04", "n02be01"] {
            assert!(parse_atc(good).is_ok(), "{good}");
        }
        for bad in ["", "J0", "J01CA0", "101", "J01CA04X", "JJ1"] {
            assert!(parse_atc(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn labels_round_trip() {
        for role in DiagnosisRole::ALL {
            assert_eq!(DiagnosisRole::from_db(role.as_db()), Some(*role));
        }
        assert_eq!(Route::from_db("nasal"), None);
    }

    #[test]
    fn times_of_day_are_normalised() {
        assert_eq!(parse_time_of_day("8:00"), Ok("08:00".to_owned()));
        assert!(parse_time_of_day("25:00").is_err());
    }
}
