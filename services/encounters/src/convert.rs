//! Wire types <-> the module's rows and labels. The only file besides `grpc.rs`,
//! `directory.rs` and `follow.rs` that knows prost structs.

use chrono::{DateTime, Utc};
use hmis_platform::types::{ParseError, Version};
use hmis_platform::wire::{parse_timestamp, timestamp};
use hmis_proto::openhmis::admissions::v1 as admissions_pb;
use hmis_proto::openhmis::encounters::v1 as pb;
use prost::Message;
use uuid::Uuid;

use crate::domain::safety::Warning;
use crate::domain::{
    AllergyCategory, Certainty, DiagnosisRole, EncounterKind, EncounterStatus, NoteKind,
    ReactionKind, ReferralKind, Restriction, Route, Severity, Urgency, WarningSeverity,
};
use crate::error::{Error, Result};
use crate::store::{
    AdmissionState, AllergyRow, DiagnosisRow, EncounterRow, ImagingReportRow,
    InvestigationResultRow, MedicineRow, NoteRow, NursingRow, PrescriptionRow, ProcedureRow,
    QueryRow, ReferralRow, RuleRow,
};

fn required() -> ParseError {
    ParseError::new("is required")
}

/// Pairs of a wire enum and its label: `parse_x(i32)` for requests and `x_to_pb(&str)` for
/// answers. An unspecified (or unknown) wire value is refused as "is required".
macro_rules! wire_labels {
    ($parse:ident, $to_pb:ident, $pb:ty, $domain:ty, { $($wire:ident => $label:ident),+ $(,)? }) => {
        pub fn $parse(value: i32) -> Result<$domain, ParseError> {
            match <$pb>::try_from(value) {
                $(Ok(<$pb>::$wire) => Ok(<$domain>::$label),)+
                _ => Err(required()),
            }
        }

        pub fn $to_pb(value: &str) -> i32 {
            match <$domain>::from_db(value) {
                $(Some(<$domain>::$label) => <$pb>::$wire as i32,)+
                None => 0,
            }
        }
    };
}

wire_labels!(parse_note_kind, note_kind_to_pb, pb::NoteKind, NoteKind, {
    Examination => Examination,
    Progress => Progress,
    Consultation => Consultation,
    DischargeSummary => DischargeSummary,
    Recommendation => Recommendation,
});
wire_labels!(parse_role, role_to_pb, pb::DiagnosisRole, DiagnosisRole, {
    Admitting => Admitting,
    Principal => Principal,
    Secondary => Secondary,
    Complication => Complication,
});
wire_labels!(parse_certainty, certainty_to_pb, pb::DiagnosisCertainty, Certainty, {
    Provisional => Provisional,
    Confirmed => Confirmed,
    RuledOut => RuledOut,
});
wire_labels!(parse_category, category_to_pb, pb::AllergyCategory, AllergyCategory, {
    Medication => Medication,
    Food => Food,
    Environment => Environment,
    Other => Other,
});
wire_labels!(parse_reaction_kind, reaction_kind_to_pb, pb::ReactionKind, ReactionKind, {
    Allergy => Allergy,
    Intolerance => Intolerance,
});
wire_labels!(parse_severity, severity_to_pb, pb::ReactionSeverity, Severity, {
    Mild => Mild,
    Moderate => Moderate,
    Severe => Severe,
});
wire_labels!(parse_warning_severity, warning_severity_to_pb, pb::WarningSeverity, WarningSeverity, {
    Minor => Minor,
    Moderate => Moderate,
    Severe => Severe,
});
wire_labels!(parse_restriction, restriction_to_pb, pb::Restriction, Restriction, {
    None => None,
    ReserveAntibiotic => ReserveAntibiotic,
    Controlled => Controlled,
});
wire_labels!(parse_route, route_to_pb, pb::Route, Route, {
    Oral => Oral,
    Sublingual => Sublingual,
    Intravenous => Intravenous,
    Intramuscular => Intramuscular,
    Subcutaneous => Subcutaneous,
    Rectal => Rectal,
    Topical => Topical,
    Inhalation => Inhalation,
    Other => Other,
});
wire_labels!(parse_referral_kind, referral_kind_to_pb, pb::ReferralKind, ReferralKind, {
    Laboratory => Laboratory,
    Imaging => Imaging,
    Consultation => Consultation,
});
wire_labels!(parse_urgency, urgency_to_pb, pb::Urgency, Urgency, {
    Routine => Routine,
    Urgent => Urgent,
    Emergency => Emergency,
});

fn encounter_kind_to_pb(value: &str) -> i32 {
    match EncounterKind::from_db(value) {
        Some(EncounterKind::Inpatient) => pb::EncounterKind::Inpatient as i32,
        Some(EncounterKind::Outpatient) => pb::EncounterKind::Outpatient as i32,
        None => 0,
    }
}

fn encounter_status_to_pb(value: &str) -> i32 {
    match EncounterStatus::from_db(value) {
        Some(EncounterStatus::Open) => pb::EncounterStatus::Open as i32,
        Some(EncounterStatus::Closed) => pb::EncounterStatus::Closed as i32,
        Some(EncounterStatus::Cancelled) => pb::EncounterStatus::Cancelled as i32,
        None => 0,
    }
}

fn optional_id(id: Option<Uuid>) -> String {
    id.map(|id| id.to_string()).unwrap_or_default()
}

pub fn encounter_to_pb(row: &EncounterRow) -> Result<pb::Encounter> {
    let admission = row
        .admission
        .as_deref()
        .map(admissions_pb::Admission::decode)
        .transpose()
        .map_err(|_| Error::corrupt("admission snapshot"))?;
    Ok(pb::Encounter {
        id: row.id.to_string(),
        patient_id: row.patient_id.to_string(),
        kind: encounter_kind_to_pb(&row.kind),
        status: encounter_status_to_pb(&row.status),
        facility_id: row.facility_id.to_string(),
        department_id: row.department_id.to_string(),
        admission_id: optional_id(row.admission_id),
        admission,
        start_time: timestamp(row.start_time),
        end_time: row.end_time.and_then(timestamp),
        etag: Version::from_db(row.version).etag(),
    })
}

/// What an encounter keeps of its admission, read from the admission as admissions
/// published (or answered) it.
pub fn admission_state<'a>(
    admission: &admissions_pb::Admission,
    snapshot: &'a [u8],
) -> Result<AdmissionState<'a>, String> {
    let id = |value: &str, what: &str| {
        Uuid::parse_str(value).map_err(|_| format!("the admission's {what} is not a UUID"))
    };
    let status = match admissions_pb::AdmissionStatus::try_from(admission.status) {
        Ok(admissions_pb::AdmissionStatus::Admitted) => EncounterStatus::Open,
        Ok(admissions_pb::AdmissionStatus::Discharged) => EncounterStatus::Closed,
        Ok(admissions_pb::AdmissionStatus::Cancelled) => EncounterStatus::Cancelled,
        _ => return Err("the admission has no status".to_owned()),
    };
    let start_time = parse_timestamp(admission.admit_time.as_ref())
        .ok()
        .flatten()
        .ok_or("the admission has no admit time")?;
    let end_time = match status {
        EncounterStatus::Closed => admission
            .discharge
            .as_ref()
            .and_then(|discharge| parse_timestamp(discharge.discharge_time.as_ref()).ok())
            .flatten(),
        _ => None,
    };
    if status == EncounterStatus::Closed && end_time.is_none() {
        return Err("a discharged admission without its discharge time".to_owned());
    }
    Ok(AdmissionState {
        admission_id: id(&admission.id, "id")?,
        patient_id: id(&admission.patient_id, "patient id")?,
        facility_id: id(&admission.facility_id, "facility id")?,
        department_id: id(&admission.department_id, "ward")?,
        status: status.as_db(),
        start_time,
        end_time,
        snapshot,
        admission_version: Version::parse_etag(&admission.etag)
            .map_err(|_| "the admission's etag is not a version".to_owned())?
            .get(),
    })
}

pub fn note_to_pb(row: &NoteRow) -> pb::Note {
    pb::Note {
        id: row.id.to_string(),
        encounter_id: row.encounter_id.to_string(),
        kind: note_kind_to_pb(&row.kind),
        text: row.text.clone(),
        author_id: row.author_id.to_string(),
        record_time: timestamp(row.record_time),
    }
}

pub fn diagnosis_to_pb(row: &DiagnosisRow) -> pb::Diagnosis {
    pb::Diagnosis {
        id: row.id.to_string(),
        encounter_id: row.encounter_id.to_string(),
        patient_id: row.patient_id.to_string(),
        code: row.code.clone(),
        code_version: row.code_version.clone(),
        display: row.display.clone(),
        role: role_to_pb(&row.role),
        certainty: certainty_to_pb(&row.certainty),
        note: row.note.clone(),
        recorded_by: row.recorded_by.to_string(),
        record_time: timestamp(row.record_time),
    }
}

pub fn procedure_to_pb(row: &ProcedureRow) -> pb::Procedure {
    pb::Procedure {
        id: row.id.to_string(),
        encounter_id: row.encounter_id.to_string(),
        code: row.code.clone(),
        code_version: row.code_version.clone(),
        display: row.display.clone(),
        performed_time: timestamp(row.performed_time),
        performer_id: row.performer_id.to_string(),
        note: row.note.clone(),
        recorded_by: row.recorded_by.to_string(),
    }
}

pub fn allergy_to_pb(row: &AllergyRow) -> pb::Allergy {
    pb::Allergy {
        id: row.id.to_string(),
        patient_id: row.patient_id.to_string(),
        category: category_to_pb(&row.category),
        kind: reaction_kind_to_pb(&row.kind),
        substance_atc_code: row.substance_atc_code.clone(),
        substance_text: row.substance_text.clone(),
        severity: severity_to_pb(&row.severity),
        reaction: row.reaction.clone(),
        recorded_by: row.recorded_by.to_string(),
        record_time: timestamp(row.record_time),
    }
}

pub fn investigation_result_to_pb(row: &InvestigationResultRow) -> pb::InvestigationResult {
    pb::InvestigationResult {
        order_id: row.order_id.to_string(),
        test_code: row.test_code.clone(),
        test_name: row.test_name.clone(),
        value: row.value.clone(),
        unit: row.unit.clone(),
        flag: row.flag.clone(),
        reference_range: row.reference_range.clone(),
        observe_time: timestamp(row.observed_at),
        release_time: timestamp(row.released_at),
        corrected: row.corrected,
    }
}

pub fn imaging_report_to_pb(row: &ImagingReportRow) -> pb::ImagingReport {
    pb::ImagingReport {
        exam_id: row.exam_id.to_string(),
        order_id: row.order_id.to_string(),
        service_code: row.service_code.clone(),
        service_name: row.service_name.clone(),
        modality: row.modality.clone(),
        findings: row.findings.clone(),
        conclusion: row.conclusion.clone(),
        signed_by: row.signed_by.to_string(),
        sign_time: timestamp(row.signed_at),
        study_instance_uid: row.study_uid.clone(),
        amended: row.amended,
    }
}

pub fn referral_to_pb(row: &ReferralRow) -> pb::Referral {
    pb::Referral {
        id: row.id.to_string(),
        encounter_id: row.encounter_id.to_string(),
        patient_id: row.patient_id.to_string(),
        kind: referral_kind_to_pb(&row.kind),
        investigation_codes: row.investigation_codes.clone(),
        specialty: row.specialty.clone(),
        target_department_id: optional_id(row.target_department_id),
        reason: row.reason.clone(),
        urgency: urgency_to_pb(&row.urgency),
        referred_by: row.referred_by.to_string(),
        create_time: timestamp(row.created_at),
    }
}

pub fn medicine_to_pb(row: &MedicineRow) -> pb::Medicine {
    pb::Medicine {
        id: row.id.to_string(),
        code: row.code.clone(),
        name: row.name.clone(),
        atc_code: row.atc_code.clone(),
        form_unit: row.form_unit.clone(),
        strength: trim_decimal(&row.strength),
        strength_unit: row.strength_unit.clone(),
        max_daily_dose: row
            .max_daily_dose
            .as_deref()
            .map(trim_decimal)
            .unwrap_or_default(),
        restriction: restriction_to_pb(&row.restriction),
        etag: Version::from_db(row.version).etag(),
    }
}

pub fn rule_to_pb(row: &RuleRow) -> pb::InteractionRule {
    pb::InteractionRule {
        id: row.id.to_string(),
        atc_code_a: row.atc_code_a.clone(),
        atc_code_b: row.atc_code_b.clone(),
        severity: warning_severity_to_pb(&row.severity),
        description: row.description.clone(),
    }
}

fn warning_kind_to_pb(value: &str) -> i32 {
    use crate::domain::safety::WarningKind;
    match WarningKind::from_db(value) {
        Some(WarningKind::Interaction) => pb::WarningKind::Interaction as i32,
        Some(WarningKind::MaxDailyDose) => pb::WarningKind::MaxDailyDose as i32,
        Some(WarningKind::Allergy) => pb::WarningKind::Allergy as i32,
        Some(WarningKind::DuplicateTherapy) => pb::WarningKind::DuplicateTherapy as i32,
        None => 0,
    }
}

pub fn warning_to_pb(warning: &Warning) -> pb::PrescribingWarning {
    pb::PrescribingWarning {
        kind: warning_kind_to_pb(&warning.kind),
        severity: warning_severity_to_pb(&warning.severity),
        message: warning.message.clone(),
        related_prescription_id: optional_id(warning.related_prescription_id),
        related_allergy_id: optional_id(warning.related_allergy_id),
    }
}

pub use hmis_platform::amount::trim_scale as trim_decimal;

pub fn prescription_to_pb(row: &PrescriptionRow) -> pb::Prescription {
    pb::Prescription {
        id: row.id.to_string(),
        encounter_id: row.encounter_id.to_string(),
        patient_id: row.patient_id.to_string(),
        medicine_id: row.medicine_id.to_string(),
        medicine_code: row.medicine_code.clone(),
        medicine_name: row.medicine_name.clone(),
        atc_code: row.atc_code.clone(),
        dose: trim_decimal(&row.dose),
        dose_unit: row.dose_unit.clone(),
        route: route_to_pb(&row.route),
        times_per_day: row.times_per_day,
        times_of_day: row.times_of_day.clone(),
        as_needed: row.as_needed,
        as_needed_reason: row.as_needed_reason.clone(),
        start_time: timestamp(row.start_time),
        stop_time: row.stop_time.and_then(timestamp),
        instructions: row.instructions.clone(),
        status: if row.status == "active" {
            pb::PrescriptionStatus::Active as i32
        } else {
            pb::PrescriptionStatus::Discontinued as i32
        },
        prescriber_id: row.prescriber_id.to_string(),
        warnings: row.warnings.0.iter().map(warning_to_pb).collect(),
        override_reason: row.override_reason.clone(),
        overridden_by: optional_id(row.overridden_by),
        discontinue_reason: row.discontinue_reason.clone(),
        discontinued_by: optional_id(row.discontinued_by),
        discontinue_time: row.discontinue_time.and_then(timestamp),
        daily_amount: format!("{} {}", trim_decimal(&row.daily_amount), row.daily_unit),
        etag: Version::from_db(row.version).etag(),
        create_time: timestamp(row.created_at),
        // Filled by GetPrescription, which reads the medicine.
        dispensable_quantity: String::new(),
        form_unit: String::new(),
        verification: match row.verification.as_str() {
            "pending" => pb::VerificationStatus::Pending as i32,
            "queried" => pb::VerificationStatus::Queried as i32,
            "verified" => pb::VerificationStatus::Verified as i32,
            "not_required" => pb::VerificationStatus::NotRequired as i32,
            _ => pb::VerificationStatus::Unspecified as i32,
        },
        verified_by: optional_id(row.verified_by),
        verify_time: row.verified_at.and_then(timestamp),
        take_home: row.take_home,
    }
}

pub fn query_to_pb(row: &QueryRow) -> pb::PrescriptionQuery {
    pb::PrescriptionQuery {
        id: row.id.to_string(),
        prescription_id: row.prescription_id.to_string(),
        encounter_id: row.encounter_id.to_string(),
        patient_id: row.patient_id.to_string(),
        question: row.question.clone(),
        asked_by: row.asked_by.to_string(),
        ask_time: timestamp(row.asked_at),
        answer: row.answer.clone(),
        answered_by: optional_id(row.answered_by),
        answer_time: row.answered_at.and_then(timestamp),
    }
}

pub fn nursing_entry_to_pb(row: &NursingRow) -> pb::NursingEntry {
    pb::NursingEntry {
        id: row.id.to_string(),
        encounter_id: row.encounter_id.to_string(),
        patient_id: row.patient_id.to_string(),
        kind: match row.kind.as_str() {
            "vital_signs" => pb::NursingEntryKind::VitalSigns as i32,
            "note" => pb::NursingEntryKind::Note as i32,
            "care" => pb::NursingEntryKind::Care as i32,
            _ => pb::NursingEntryKind::Unspecified as i32,
        },
        vital_signs: row
            .vital_signs
            .0
            .iter()
            .map(|sign| pb::VitalSign {
                code: sign.code.clone(),
                value: sign.value.clone(),
                unit: sign.unit.clone(),
                name: crate::domain::nursing::sign_kind(&sign.code)
                    .map(|kind| kind.name.to_owned())
                    .unwrap_or_default(),
            })
            .collect(),
        text: row.text.clone(),
        observe_time: timestamp(row.observed_at),
        recorded_by: row.recorded_by.to_string(),
        record_time: timestamp(row.recorded_at),
    }
}

pub fn sign_kind_to_pb(kind: &crate::domain::nursing::SignKind) -> pb::VitalSignKind {
    use crate::domain::nursing::hundredths_to_string;
    pb::VitalSignKind {
        code: kind.code.to_owned(),
        name: kind.name.to_owned(),
        unit: kind.unit.to_owned(),
        min_value: hundredths_to_string(kind.min),
        max_value: hundredths_to_string(kind.max),
    }
}

/// A time the caller may give (defaults to now), not in the future.
pub fn past_or_now(
    value: Option<&prost_types::Timestamp>,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, ParseError> {
    match parse_timestamp(value)? {
        None => Ok(now),
        Some(at) if at > now + chrono::Duration::minutes(5) => {
            Err(ParseError::new("must not be in the future"))
        }
        Some(at) => Ok(at),
    }
}
