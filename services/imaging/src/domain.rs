//! Imaging's rules as plain values: modalities, priorities, where an examination and an order
//! stand, DICOM accession numbers and study instance UIDs, and what a radiologist's signature
//! covers. No transport, no database.

use sha2::{Digest, Sha256};
use uuid::Uuid;

hmis_platform::labels!(
    /// The kind of equipment an examination needs (DICOM: CR/DX, US, CT, MR, MG, RF).
    Modality {
        Xray => "xray",
        Ultrasound => "ultrasound",
        Ct => "ct",
        Mri => "mri",
        Mammography => "mammography",
        Fluoroscopy => "fluoroscopy",
    }
);

hmis_platform::labels!(
    /// How urgent an order is (the referral's urgency).
    Priority {
        Routine => "routine",
        Urgent => "urgent",
        Emergency => "emergency",
    }
);

impl Priority {
    /// The priority of the physician's urgency.
    pub fn of(urgency: hmis_encounters_api::Urgency) -> Self {
        match urgency {
            hmis_encounters_api::Urgency::Routine => Priority::Routine,
            hmis_encounters_api::Urgency::Urgent => Priority::Urgent,
            hmis_encounters_api::Urgency::Emergency => Priority::Emergency,
        }
    }
}

hmis_platform::labels!(
    /// Where an examination stands, in the order it gets there (cancelled aside).
    ExamStatus {
        Ordered => "ordered",
        Scheduled => "scheduled",
        InProgress => "in_progress",
        Performed => "performed",
        Preliminary => "preliminary",
        Final => "final",
        Cancelled => "cancelled",
    }
);

hmis_platform::labels!(
    ReportStatus {
        Draft => "draft",
        Signed => "signed",
        Superseded => "superseded",
    }
);

impl ExamStatus {
    /// How far along an examination is (cancelled: not at all, it is left out).
    fn rank(self) -> u8 {
        match self {
            ExamStatus::Ordered => 0,
            ExamStatus::Scheduled => 1,
            ExamStatus::InProgress => 2,
            ExamStatus::Performed => 3,
            ExamStatus::Preliminary => 4,
            ExamStatus::Final => 5,
            ExamStatus::Cancelled => 6,
        }
    }

    /// Images acquired: what the radiologist reports on.
    pub fn is_performed(self) -> bool {
        matches!(
            self,
            ExamStatus::Performed | ExamStatus::Preliminary | ExamStatus::Final
        )
    }

    /// Still to be done in a room (it may be scheduled, moved or cancelled).
    pub fn is_waiting(self) -> bool {
        matches!(self, ExamStatus::Ordered | ExamStatus::Scheduled)
    }
}

/// Where an order stands: where its least advanced examination stands, leaving cancelled ones
/// aside; cancelled when every one is.
pub fn order_status(exams: impl IntoIterator<Item = ExamStatus>) -> ExamStatus {
    exams
        .into_iter()
        .filter(|status| *status != ExamStatus::Cancelled)
        .min_by_key(|status| status.rank())
        .unwrap_or(ExamStatus::Cancelled)
}

/// A DICOM accession number (at most 16 characters): "I", the year, and a number unique in
/// the tenant, e.g. "I2026000042".
pub fn accession(year: i32, number: i64) -> String {
    format!("I{year:04}{number:06}")
}

/// A new study instance UID under the UUID-derived root `2.25` (ISO/IEC 9834-8, DICOM PS3.5
/// B.2): unique without a registered organisation root.
pub fn new_study_uid() -> String {
    format!("2.25.{}", Uuid::new_v4().as_u128())
}

/// A DICOM UID: digits and dots, at most 64 characters, no empty component, no leading zero
/// in a component of more than one digit.
pub fn is_uid(value: &str) -> bool {
    value.len() <= 64
        && !value.is_empty()
        && value.split('.').all(|component| {
            !component.is_empty()
                && component.bytes().all(|b| b.is_ascii_digit())
                && (component == "0" || !component.starts_with('0'))
        })
}

/// What a radiologist signs: the study the report is about, the findings and the conclusion,
/// hashed (SHA-256, hex) with each part's length before it so no two reports hash alike.
pub fn report_digest(study_uid: &str, findings: &str, conclusion: &str) -> String {
    let mut hasher = Sha256::new();
    for part in [study_uid, findings, conclusion] {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    hex::encode(hasher.finalize())
}

/// A viewer's address of a study: the template's `{study_uid}` replaced.
pub fn viewer_url(template: &str, study_uid: &str) -> String {
    template.replace("{study_uid}", study_uid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_order_stands_where_its_least_advanced_exam_stands() {
        use ExamStatus::*;
        assert_eq!(order_status([Final, Scheduled, Performed]), Scheduled);
        assert_eq!(order_status([Final, Cancelled]), Final);
        assert_eq!(order_status([Cancelled, Cancelled]), Cancelled);
        assert_eq!(order_status([]), Cancelled);
        assert_eq!(order_status([Preliminary, Final]), Preliminary);
    }

    #[test]
    fn study_uids_are_dicom_uids() {
        for _ in 0..100 {
            let uid = new_study_uid();
            assert!(is_uid(&uid), "{uid}");
        }
        assert!(is_uid("1.2.840.10008.1.2"));
        assert!(is_uid("0.1"));
        for bad in ["", "1..2", "1.02", ".1", "1.", "1.2a", &"1.".repeat(33)] {
            assert!(!is_uid(bad), "{bad}");
        }
    }

    #[test]
    fn accession_numbers_fit_dicom() {
        assert_eq!(accession(2026, 42), "I2026000042");
        assert!(accession(2026, 99_999_999_999).len() <= 16);
    }

    #[test]
    fn the_digest_covers_each_part_apart() {
        let one = report_digest("1.2", "ab", "c");
        assert_eq!(one, report_digest("1.2", "ab", "c"));
        assert_ne!(one, report_digest("1.2", "a", "bc"));
        assert_ne!(one, report_digest("1.3", "ab", "c"));
        assert_eq!(one.len(), 64);
    }
}
