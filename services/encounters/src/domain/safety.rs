//! The medication safety check at prescribing: interactions with what the patient takes,
//! the maximum daily dose, allergies, and duplicate therapy. Pure rules over what the store
//! read, so every case is tested without a database.

use uuid::Uuid;

use super::{Amount, Restriction, Severity, WarningSeverity};

/// What is being prescribed, as the check sees it.
#[derive(Debug, Clone)]
pub struct Candidate<'a> {
    pub medicine_name: &'a str,
    pub atc_code: &'a str,
    pub daily_amount: Amount,
    pub max_daily_dose: Option<Amount>,
    pub strength_unit: &'a str,
}

/// An active prescription of the same patient.
#[derive(Debug, Clone)]
pub struct ActiveMedicine {
    pub prescription_id: Uuid,
    pub medicine_name: String,
    pub atc_code: String,
}

/// A recorded allergy or intolerance of the patient.
#[derive(Debug, Clone)]
pub struct KnownAllergy {
    pub id: Uuid,
    pub medication: bool,
    pub intolerance: bool,
    pub substance_atc_code: String,
    pub substance_text: String,
    pub severity: Severity,
}

/// Two ATC codes or group prefixes that interact.
#[derive(Debug, Clone)]
pub struct InteractionRule {
    pub atc_code_a: String,
    pub atc_code_b: String,
    pub severity: WarningSeverity,
    pub description: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WarningKind {
    Interaction,
    MaxDailyDose,
    Allergy,
    DuplicateTherapy,
}

impl WarningKind {
    pub fn as_db(self) -> &'static str {
        match self {
            Self::Interaction => "interaction",
            Self::MaxDailyDose => "max_daily_dose",
            Self::Allergy => "allergy",
            Self::DuplicateTherapy => "duplicate_therapy",
        }
    }

    pub fn from_db(value: &str) -> Option<Self> {
        [
            Self::Interaction,
            Self::MaxDailyDose,
            Self::Allergy,
            Self::DuplicateTherapy,
        ]
        .into_iter()
        .find(|kind| kind.as_db() == value)
    }
}

/// One finding of the check.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Warning {
    pub kind: String,
    pub severity: String,
    pub message: String,
    pub related_prescription_id: Option<Uuid>,
    pub related_allergy_id: Option<Uuid>,
}

impl Warning {
    fn new(kind: WarningKind, severity: WarningSeverity, message: String) -> Self {
        Self {
            kind: kind.as_db().to_owned(),
            severity: severity.as_db().to_owned(),
            message,
            related_prescription_id: None,
            related_allergy_id: None,
        }
    }

    pub fn is_severe(&self) -> bool {
        self.severity == WarningSeverity::Severe.as_db()
    }
}

/// The ATC therapeutic subgroup (level 4, five characters): medicines sharing it treat the
/// same way, and two at once is usually an oversight.
fn chemical_subgroup(atc: &str) -> Option<&str> {
    (atc.len() >= 5).then(|| &atc[..5])
}

fn matches(atc: &str, prefix: &str) -> bool {
    !prefix.is_empty() && atc.starts_with(prefix)
}

/// Everything the check finds, most severe first.
pub fn check(
    candidate: &Candidate<'_>,
    active: &[ActiveMedicine],
    allergies: &[KnownAllergy],
    rules: &[InteractionRule],
) -> Vec<Warning> {
    let mut warnings = Vec::new();
    for allergy in allergies.iter().filter(|allergy| allergy.medication) {
        let by_code = matches(candidate.atc_code, &allergy.substance_atc_code);
        let by_name = allergy.substance_atc_code.is_empty()
            && !allergy.substance_text.is_empty()
            && candidate
                .medicine_name
                .to_lowercase()
                .contains(&allergy.substance_text.to_lowercase());
        if !(by_code || by_name) {
            continue;
        }
        // A true allergy may kill on re-exposure; an intolerance is a nuisance to weigh.
        let severity = if allergy.intolerance {
            WarningSeverity::Moderate
        } else {
            WarningSeverity::Severe
        };
        let what = if allergy.intolerance {
            "intolerance"
        } else {
            "allergy"
        };
        let substance = if allergy.substance_text.is_empty() {
            allergy.substance_atc_code.as_str()
        } else {
            allergy.substance_text.as_str()
        };
        let mut warning = Warning::new(
            WarningKind::Allergy,
            severity,
            format!(
                "the patient has a recorded {} {what} to {substance}, which {} belongs to",
                allergy.severity.as_db(),
                candidate.medicine_name
            ),
        );
        warning.related_allergy_id = Some(allergy.id);
        warnings.push(warning);
    }
    if let Some(max) = candidate.max_daily_dose
        && candidate.daily_amount > max
    {
        warnings.push(Warning::new(
            WarningKind::MaxDailyDose,
            WarningSeverity::Severe,
            format!(
                "{} {} a day exceeds the maximum daily dose of {} {} for {}",
                candidate.daily_amount,
                candidate.strength_unit,
                max,
                candidate.strength_unit,
                candidate.medicine_name
            ),
        ));
    }
    for other in active {
        for rule in rules {
            let forward = matches(candidate.atc_code, &rule.atc_code_a)
                && matches(&other.atc_code, &rule.atc_code_b);
            let backward = matches(candidate.atc_code, &rule.atc_code_b)
                && matches(&other.atc_code, &rule.atc_code_a);
            if forward || backward {
                let mut warning = Warning::new(
                    WarningKind::Interaction,
                    rule.severity,
                    format!(
                        "{} interacts with {}: {}",
                        candidate.medicine_name, other.medicine_name, rule.description
                    ),
                );
                warning.related_prescription_id = Some(other.prescription_id);
                warnings.push(warning);
            }
        }
        let same_group = chemical_subgroup(candidate.atc_code).is_some()
            && chemical_subgroup(candidate.atc_code) == chemical_subgroup(&other.atc_code);
        if same_group {
            let message = if other.atc_code == candidate.atc_code {
                format!(
                    "{} is already prescribed ({})",
                    candidate.atc_code, other.medicine_name
                )
            } else {
                format!(
                    "{} and {} belong to the same therapeutic group ({})",
                    candidate.medicine_name,
                    other.medicine_name,
                    &candidate.atc_code[..5]
                )
            };
            let mut warning = Warning::new(
                WarningKind::DuplicateTherapy,
                WarningSeverity::Moderate,
                message,
            );
            warning.related_prescription_id = Some(other.prescription_id);
            warnings.push(warning);
        }
    }
    warnings.sort_by_key(|warning| {
        std::cmp::Reverse(
            WarningSeverity::from_db(&warning.severity)
                .map(WarningSeverity::rank)
                .unwrap_or(0),
        )
    });
    warnings
}

/// The permission a restricted medicine needs besides `encounters.prescribe`.
pub fn privilege_for(restriction: Restriction) -> Option<&'static str> {
    match restriction {
        Restriction::None => None,
        Restriction::ReserveAntibiotic => Some("encounters.prescribe.reserve"),
        Restriction::Controlled => Some("encounters.prescribe.controlled"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn amount(value: &str) -> Amount {
        Amount::parse(value).expect("amount")
    }

    fn candidate<'a>(name: &'a str, atc: &'a str, daily: &str, max: Option<&str>) -> Candidate<'a> {
        Candidate {
            medicine_name: name,
            atc_code: atc,
            daily_amount: amount(daily),
            max_daily_dose: max.map(amount),
            strength_unit: "mg",
        }
    }

    fn active(name: &str, atc: &str) -> ActiveMedicine {
        ActiveMedicine {
            prescription_id: Uuid::now_v7(),
            medicine_name: name.to_owned(),
            atc_code: atc.to_owned(),
        }
    }

    fn warfarin_aspirin() -> InteractionRule {
        InteractionRule {
            atc_code_a: "B01AA".to_owned(),
            atc_code_b: "B01AC06".to_owned(),
            severity: WarningSeverity::Severe,
            description: "bleeding risk".to_owned(),
        }
    }

    #[test]
    fn an_interaction_is_found_whichever_side_is_prescribed_first() {
        let rules = [warfarin_aspirin()];
        let aspirin = candidate("Aspirin", "B01AC06", "100", None);
        let found = check(&aspirin, &[active("Warfarin", "B01AA03")], &[], &rules);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].kind, "interaction");
        assert!(found[0].is_severe());
        let warfarin = candidate("Warfarin", "B01AA03", "5", None);
        let found = check(&warfarin, &[active("Aspirin", "B01AC06")], &[], &rules);
        assert_eq!(found.len(), 1);
        assert!(check(&warfarin, &[active("Paracetamol", "N02BE01")], &[], &rules).is_empty());
    }

    #[test]
    fn over_the_maximum_daily_dose_is_severe_and_at_it_is_fine() {
        let over = candidate("Paracetamol", "N02BE01", "5000", Some("4000"));
        let found = check(&over, &[], &[], &[]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].kind, "max_daily_dose");
        assert!(found[0].message.contains("5000 mg"));
        let at = candidate("Paracetamol", "N02BE01", "4000", Some("4000"));
        assert!(check(&at, &[], &[], &[]).is_empty());
    }

    #[test]
    fn a_group_allergy_catches_its_members_and_an_intolerance_does_not_block() {
        let mut penicillins = KnownAllergy {
            id: Uuid::now_v7(),
            medication: true,
            intolerance: false,
            substance_atc_code: "J01C".to_owned(),
            substance_text: "penicillins".to_owned(),
            severity: Severity::Severe,
        };
        let amoxicillin = candidate("Amoxicillin", "J01CA04", "1500", None);
        let found = check(&amoxicillin, &[], std::slice::from_ref(&penicillins), &[]);
        assert_eq!(found.len(), 1);
        assert!(found[0].is_severe());
        assert_eq!(found[0].related_allergy_id, Some(penicillins.id));
        penicillins.intolerance = true;
        assert!(!check(&amoxicillin, &[], &[penicillins], &[])[0].is_severe());
        let ceftriaxone = candidate("Ceftriaxone", "J01DD04", "2000", None);
        let allergy = KnownAllergy {
            id: Uuid::now_v7(),
            medication: true,
            intolerance: false,
            substance_atc_code: "J01C".to_owned(),
            substance_text: String::new(),
            severity: Severity::Severe,
        };
        assert!(check(&ceftriaxone, &[], &[allergy], &[]).is_empty());
    }

    #[test]
    fn the_same_therapeutic_group_twice_is_a_moderate_warning() {
        let bisoprolol = candidate("Bisoprolol", "C07AB07", "5", None);
        let found = check(&bisoprolol, &[active("Metoprolol", "C07AB02")], &[], &[]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].kind, "duplicate_therapy");
        assert!(!found[0].is_severe());
    }

    #[test]
    fn severe_warnings_come_first() {
        let rules = [InteractionRule {
            severity: WarningSeverity::Minor,
            ..warfarin_aspirin()
        }];
        let aspirin = candidate("Aspirin", "B01AC06", "5000", Some("4000"));
        let found = check(&aspirin, &[active("Warfarin", "B01AA03")], &[], &rules);
        assert_eq!(found.len(), 2);
        assert!(found[0].is_severe());
    }

    #[test]
    fn restricted_classes_name_their_privilege() {
        assert_eq!(privilege_for(Restriction::None), None);
        assert_eq!(
            privilege_for(Restriction::ReserveAntibiotic),
            Some("encounters.prescribe.reserve")
        );
    }
}
