//! IAM's pure rules: what a user name and a password must be, how lockout backs off, and
//! the roles every tenant starts with.

use chrono::{DateTime, Duration, Utc};
use hmis_platform::types::ParseError;

/// A sign-in name: 3 to 64 of lower-case letters, digits, '.', '-' and '_'. Stored lower-case
/// so "JSmith" and "jsmith" cannot be two people.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

impl Username {
    pub fn parse(value: &str) -> Result<Self, ParseError> {
        let value = value.trim().to_lowercase();
        if !(3..=64).contains(&value.chars().count()) {
            return Err(ParseError::new("must be 3 to 64 characters"));
        }
        if !value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | '_'))
        {
            return Err(ParseError::new(
                "may contain only letters, digits, '.', '-' and '_'",
            ));
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password that satisfies the policy: at least 10 characters with three of lower case,
/// upper case, digits and symbols, or a passphrase of 16 or more; never the user name.
pub struct NewPassword(String);

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(***)")
    }
}

impl NewPassword {
    pub const MAX_LEN: usize = 256;

    pub fn parse(value: &str, username: &str) -> Result<Self, ParseError> {
        let length = value.chars().count();
        if length > Self::MAX_LEN {
            return Err(ParseError::new(format!(
                "must be at most {} characters",
                Self::MAX_LEN
            )));
        }
        if length < 10 {
            return Err(ParseError::new("must be at least 10 characters"));
        }
        let classes = [
            value.chars().any(|c| c.is_lowercase()),
            value.chars().any(|c| c.is_uppercase()),
            value.chars().any(|c| c.is_numeric()),
            value.chars().any(|c| !c.is_alphanumeric()),
        ]
        .into_iter()
        .filter(|present| *present)
        .count();
        if length < 16 && classes < 3 {
            return Err(ParseError::new(
                "needs three of: lower case, upper case, digits, symbols (or 16+ characters)",
            ));
        }
        if !username.is_empty() && value.to_lowercase().contains(&username.to_lowercase()) {
            return Err(ParseError::new("must not contain the user name"));
        }
        Ok(Self(value.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Failed sign-ins tolerated before the account locks.
pub const LOCKOUT_THRESHOLD: i32 = 5;

/// How long an account stays locked after `failed_logins` consecutive failures: none below
/// the threshold, then 30 s doubling with each further failure, at most an hour.
pub fn lockout_after(failed_logins: i32, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if failed_logins < LOCKOUT_THRESHOLD {
        return None;
    }
    let doublings = u32::try_from(failed_logins - LOCKOUT_THRESHOLD)
        .unwrap_or(0)
        .min(7);
    let seconds = (30_i64 << doublings).min(3600);
    Some(now + Duration::seconds(seconds))
}

/// A role every tenant starts with.
#[derive(Debug, Clone, Copy)]
pub struct StandardRole {
    pub code: &'static str,
    pub name: &'static str,
    pub permissions: &'static [&'static str],
}

pub const STANDARD_ROLES: &[StandardRole] = &[
    StandardRole {
        code: "administrator",
        name: "Administrator",
        permissions: &[
            "core.read",
            "core.manage",
            "core.beds.manage",
            "iam.users.read",
            "iam.users.manage",
            "audit.read",
            "terminology.read",
            "encounters.formulary.manage",
            "admissions.settings",
            "surgery.read",
            "surgery.manage",
            "billing.read",
            "billing.manage",
            "laboratory.read",
            "laboratory.manage",
            "imaging.read",
            "imaging.manage",
            "documents.manage",
            "scheduling.read",
            "scheduling.manage",
            "nutrition.read",
            "nutrition.manage",
        ],
    },
    StandardRole {
        code: "registrar",
        name: "Registrar (admissions desk)",
        permissions: &[
            "core.read",
            "patients.read",
            "patients.write",
            "admissions.read",
            "admissions.admit",
            "admissions.infodesk",
            // What the desk entered is corrected (or the admission cancelled) until the
            // ward's first clinical act.
            "admissions.correct",
            // The admitting diagnosis is checked against ICD-10.
            "terminology.read",
            // Insurance checked and debt warned at registration and admission.
            "billing.read",
            "billing.cover",
            // Scanned consents and referral letters, at the desk.
            "documents.read",
            "documents.write",
            // The outpatient front office: appointments and the arrivals desk.
            "scheduling.read",
            "scheduling.book",
            "scheduling.queue",
        ],
    },
    StandardRole {
        code: "records",
        name: "Medical records officer",
        permissions: &[
            "core.read",
            "patients.read",
            "patients.write",
            "patients.merge",
            "patients.confidential",
            "admissions.read",
            // The records office enters what was missed (downtime, paper), further back
            // than the desks may, each with a reason.
            "admissions.admit",
            "admissions.backdate",
            "admissions.undo",
            "admissions.correct",
            // The stays' records the wards hand over after the discharge.
            "admissions.records",
            "encounters.read",
            "terminology.read",
            // The archive's keeper: holds and deletion at the end of retention.
            "documents.read",
            "documents.write",
            "documents.manage",
            "documents.delete",
        ],
    },
    StandardRole {
        code: "discharge_desk",
        name: "Discharge desk (ward clerk)",
        permissions: &[
            "core.read",
            "patients.read",
            "admissions.read",
            // The discharge completed from the worklist of announced discharges.
            "admissions.admit",
            // What still holds a discharge up: results and reports awaited, the stay's balance.
            "laboratory.read",
            "imaging.read",
            "billing.read",
            "documents.read",
        ],
    },
    StandardRole {
        code: "nurse",
        name: "Nurse",
        permissions: &[
            "core.read",
            "core.beds.manage",
            "patients.read",
            "admissions.read",
            "encounters.read",
            "nursing.administer",
            // The ward's prescriptions verified (or questioned) before the round, and the
            // nursing record (vital signs, notes, care), which only nurses write.
            "nursing.verify",
            "nursing.record",
            // Leftovers back to the ward's stock or the pharmacy, through the ledger.
            "pharmacy.return",
            // The ward's own stock (a nurse's assignment is scoped to the ward).
            "pharmacy.read",
            "terminology.read",
            "surgery.read",
            // The ward collects its patients' specimens and is told their critical values.
            "laboratory.read",
            "laboratory.collect",
            "laboratory.acknowledge",
            // Where the ward's imaging examinations stand, and their reports.
            "imaging.read",
            "documents.read",
            "documents.write",
            // The outpatient clinic's queue: calling patients in.
            "scheduling.read",
            "scheduling.queue",
            // The ward's diets, its patients' food restrictions and the meal order.
            "nutrition.read",
            "nutrition.order",
        ],
    },
    StandardRole {
        code: "nurse_prescriber",
        name: "Nurse prescriber (added to a nurse's role)",
        permissions: &[
            "encounters.read",
            "encounters.prescribe",
            "terminology.read",
        ],
    },
    StandardRole {
        code: "physician",
        name: "Physician",
        permissions: &[
            "core.read",
            "patients.read",
            "patients.write",
            "patients.break_glass",
            "patients.confidential",
            "admissions.read",
            "admissions.admit",
            "encounters.read",
            "encounters.write",
            "encounters.prescribe",
            "encounters.override",
            "encounters.certify",
            "terminology.read",
            "surgery.read",
            "surgery.plan",
            "surgery.record",
            "laboratory.read",
            "laboratory.acknowledge",
            "imaging.read",
            "documents.read",
            "documents.write",
            // Their clinic's queue and visits, and follow-ups booked at the end of a visit.
            "scheduling.read",
            "scheduling.book",
            "scheduling.queue",
            // Diets ordered with the treatment.
            "nutrition.read",
            "nutrition.order",
        ],
    },
    StandardRole {
        code: "reserve_prescriber",
        name: "Reserve antibiotics prescriber (a privilege added to a physician's role)",
        permissions: &["encounters.prescribe.reserve"],
    },
    StandardRole {
        code: "controlled_prescriber",
        name: "Narcotics and psychotropics prescriber (a privilege added to a physician's role)",
        permissions: &["encounters.prescribe.controlled"],
    },
    StandardRole {
        code: "pharmacist",
        name: "Pharmacist",
        permissions: &[
            "core.read",
            "patients.read",
            "encounters.read",
            "pharmacy.read",
            "pharmacy.dispense",
            "pharmacy.manage",
            "terminology.read",
        ],
    },
    StandardRole {
        code: "statistician",
        name: "Medical statistician",
        permissions: &[
            "core.read",
            "statistics.read",
            "statistics.submit",
            "admissions.read",
            "terminology.read",
            // Theatre names in the operating block's reports.
            "surgery.read",
            // Revenue, receivables and the case mix.
            "billing.reports",
            // Form 16 filed in the archive as a signed PDF; the records they code from.
            "documents.read",
            "documents.write",
            // Visits, no-shows, waiting times and slot utilisation of the clinics.
            "scheduling.read",
        ],
    },
    StandardRole {
        code: "theatre_coordinator",
        name: "Theatre coordinator (operating block)",
        permissions: &[
            // The staff directory, to put surgeons, anaesthetists and nurses on a booking.
            "iam.users.read",
            "core.read",
            "patients.read",
            "admissions.read",
            "terminology.read",
            "surgery.read",
            "surgery.plan",
        ],
    },
    StandardRole {
        code: "theatre_nurse",
        name: "Theatre nurse (operating block)",
        permissions: &[
            "core.read",
            "patients.read",
            "admissions.read",
            "terminology.read",
            "surgery.read",
            "surgery.record",
            // What an operation uses leaves the operating block's warehouse through the ledger.
            "pharmacy.read",
            "pharmacy.dispense",
        ],
    },
    StandardRole {
        code: "medical_office",
        name: "Medical office (surgical privileges)",
        permissions: &[
            // The staff directory: whose privileges are granted.
            "iam.users.read",
            "core.read",
            "terminology.read",
            "surgery.read",
            "surgery.privileges",
        ],
    },
    StandardRole {
        code: "kiosk",
        name: "Self-service kiosk (a service account per kiosk)",
        permissions: &[
            // The facility's time zone and the patient identified at the kiosk.
            "core.read",
            "patients.read",
            "scheduling.read",
            "scheduling.book",
            // Arrival check-in prints the queue ticket.
            "scheduling.queue",
        ],
    },
    StandardRole {
        code: "online_booking",
        name: "Online booking channel (a service account for the portal or the call centre)",
        permissions: &[
            "core.read",
            "patients.read",
            "scheduling.read",
            "scheduling.book",
        ],
    },
    StandardRole {
        code: "dietitian",
        name: "Dietitian",
        permissions: &[
            "core.read",
            "patients.read",
            "admissions.read",
            "nutrition.read",
            "nutrition.order",
            "nutrition.kitchen",
            "nutrition.manage",
            // The food warehouse's stock.
            "pharmacy.read",
        ],
    },
    StandardRole {
        code: "kitchen",
        name: "Kitchen (production, distribution, the food warehouse)",
        permissions: &[
            "core.read",
            "nutrition.read",
            "nutrition.kitchen",
            // The day's ingredients leave the food warehouse through the stock ledger.
            "pharmacy.read",
            "pharmacy.dispense",
        ],
    },
    StandardRole {
        code: "cashier",
        name: "Cashier (cash desk)",
        permissions: &[
            "core.read",
            "patients.read",
            "admissions.read",
            "billing.read",
            "billing.cash",
            "billing.cover",
        ],
    },
    StandardRole {
        code: "billing_officer",
        name: "Billing officer (tariffs, insurance, adjustments)",
        permissions: &[
            "core.read",
            "patients.read",
            "admissions.read",
            "terminology.read",
            "billing.read",
            "billing.manage",
            "billing.adjust",
            "billing.cover",
            "billing.claims",
            "billing.reports",
        ],
    },
    StandardRole {
        code: "lab_technician",
        name: "Laboratory technician",
        permissions: &[
            "core.read",
            "patients.read",
            "terminology.read",
            "laboratory.read",
            "laboratory.collect",
            "laboratory.process",
        ],
    },
    StandardRole {
        code: "lab_physician",
        name: "Laboratory physician (medical validation)",
        permissions: &[
            "core.read",
            "patients.read",
            "terminology.read",
            "laboratory.read",
            "laboratory.process",
            "laboratory.validate",
        ],
    },
    StandardRole {
        code: "radiographer",
        name: "Radiographer (imaging technologist)",
        permissions: &[
            "core.read",
            "patients.read",
            "terminology.read",
            "imaging.read",
            "imaging.perform",
        ],
    },
    StandardRole {
        code: "radiologist",
        name: "Radiologist (imaging reports)",
        permissions: &[
            "core.read",
            "patients.read",
            "terminology.read",
            "imaging.read",
            "imaging.perform",
            "imaging.report",
        ],
    },
    StandardRole {
        code: "operator",
        name: "Operator of a shared deployment",
        permissions: &["core.tenants.create"],
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_lower_case_and_plain() {
        assert_eq!(
            Username::parse(" JSmith ").map(|u| u.0),
            Ok("jsmith".to_owned())
        );
        assert!(Username::parse("ab").is_err());
        assert!(Username::parse("j smith").is_err());
        assert!(Username::parse("jürgen").is_err());
    }

    #[test]
    fn the_password_policy_wants_variety_or_length_and_not_the_name() {
        assert!(NewPassword::parse("Short1!", "x").is_err());
        assert!(
            NewPassword::parse("alllowercaseletters", "x").is_ok(),
            "passphrase"
        );
        assert!(
            NewPassword::parse("lowercase12", "x").is_err(),
            "two classes, short"
        );
        assert!(NewPassword::parse("Lowercase12", "x").is_ok());
        assert!(NewPassword::parse("Jsmith-2026!", "jsmith").is_err());
        assert!(!format!("{:?}", NewPassword::parse("Lowercase12", "x")).contains("Lowercase12"));
    }

    #[test]
    fn lockout_starts_at_the_threshold_and_backs_off() {
        let now = Utc::now();
        assert_eq!(lockout_after(4, now), None);
        assert_eq!(lockout_after(5, now), Some(now + Duration::seconds(30)));
        assert_eq!(lockout_after(6, now), Some(now + Duration::seconds(60)));
        assert_eq!(lockout_after(40, now), Some(now + Duration::seconds(3600)));
    }
}
