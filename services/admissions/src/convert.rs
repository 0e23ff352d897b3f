//! Between the wire (`openhmis.admissions.v1`) and this module's rows and domain values.

use hmis_platform::types::{ParseError, Version};
use hmis_platform::wire::timestamp;
use hmis_proto::openhmis::admissions::v1 as pb;
use serde_json::json;

use crate::domain::{AdmissionStatus, AdmissionType, ArrivalMode, DischargeType, EmergencyOutcome};
use crate::error::{Error, Result};
use crate::store::{AdmissionRow, CorrectionRow, StayRow, VisitRow};

/// An enum field of a request: UNSPECIFIED is "missing", an unknown number is refused.
fn required<T, P: TryFrom<i32>>(value: i32, map: impl Fn(P) -> Option<T>) -> Result<T, ParseError> {
    match P::try_from(value).ok().and_then(map) {
        Some(value) => Ok(value),
        None if value == 0 => Err(ParseError::new("is required")),
        None => Err(ParseError::new(format!("{value} is not a known value"))),
    }
}

pub fn parse_arrival_mode(value: i32) -> Result<ArrivalMode, ParseError> {
    required(value, |mode: pb::ArrivalMode| match mode {
        pb::ArrivalMode::Unspecified => None,
        pb::ArrivalMode::WalkIn => Some(ArrivalMode::WalkIn),
        pb::ArrivalMode::Ambulance => Some(ArrivalMode::Ambulance),
        pb::ArrivalMode::Police => Some(ArrivalMode::Police),
        pb::ArrivalMode::Referred => Some(ArrivalMode::Referred),
        pb::ArrivalMode::TransferIn => Some(ArrivalMode::TransferIn),
        pb::ArrivalMode::Other => Some(ArrivalMode::Other),
    })
}

fn arrival_mode_to_pb(value: ArrivalMode) -> pb::ArrivalMode {
    match value {
        ArrivalMode::WalkIn => pb::ArrivalMode::WalkIn,
        ArrivalMode::Ambulance => pb::ArrivalMode::Ambulance,
        ArrivalMode::Police => pb::ArrivalMode::Police,
        ArrivalMode::Referred => pb::ArrivalMode::Referred,
        ArrivalMode::TransferIn => pb::ArrivalMode::TransferIn,
        ArrivalMode::Other => pb::ArrivalMode::Other,
    }
}

/// The outcome a desk may close a visit with (ADMITTED comes from admitting).
pub fn parse_closing_outcome(value: i32) -> Result<EmergencyOutcome, ParseError> {
    match required(value, |outcome: pb::EmergencyOutcome| match outcome {
        pb::EmergencyOutcome::Unspecified => None,
        pb::EmergencyOutcome::Admitted => Some(EmergencyOutcome::Admitted),
        pb::EmergencyOutcome::SentHome => Some(EmergencyOutcome::SentHome),
        pb::EmergencyOutcome::ReferredElsewhere => Some(EmergencyOutcome::ReferredElsewhere),
        pb::EmergencyOutcome::Died => Some(EmergencyOutcome::Died),
        pb::EmergencyOutcome::LeftWithoutBeingSeen => Some(EmergencyOutcome::LeftWithoutBeingSeen),
    })? {
        EmergencyOutcome::Admitted => Err(ParseError::new(
            "ADMITTED is set by AdmitPatient naming the visit",
        )),
        outcome => Ok(outcome),
    }
}

fn outcome_to_pb(value: Option<EmergencyOutcome>) -> pb::EmergencyOutcome {
    match value {
        Some(EmergencyOutcome::Admitted) => pb::EmergencyOutcome::Admitted,
        Some(EmergencyOutcome::SentHome) => pb::EmergencyOutcome::SentHome,
        Some(EmergencyOutcome::ReferredElsewhere) => pb::EmergencyOutcome::ReferredElsewhere,
        Some(EmergencyOutcome::Died) => pb::EmergencyOutcome::Died,
        Some(EmergencyOutcome::LeftWithoutBeingSeen) => pb::EmergencyOutcome::LeftWithoutBeingSeen,
        None => pb::EmergencyOutcome::Unspecified,
    }
}

pub fn parse_admission_type(value: i32) -> Result<AdmissionType, ParseError> {
    required(value, |kind: pb::AdmissionType| match kind {
        pb::AdmissionType::Unspecified => None,
        pb::AdmissionType::Emergency => Some(AdmissionType::Emergency),
        pb::AdmissionType::Planned => Some(AdmissionType::Planned),
        pb::AdmissionType::DayCare => Some(AdmissionType::DayCare),
        pb::AdmissionType::Observation => Some(AdmissionType::Observation),
    })
}

pub fn admission_type_to_pb(value: AdmissionType) -> pb::AdmissionType {
    match value {
        AdmissionType::Emergency => pb::AdmissionType::Emergency,
        AdmissionType::Planned => pb::AdmissionType::Planned,
        AdmissionType::DayCare => pb::AdmissionType::DayCare,
        AdmissionType::Observation => pb::AdmissionType::Observation,
    }
}

/// A status filter: UNSPECIFIED means any.
pub fn parse_status_filter(value: i32) -> Result<Option<AdmissionStatus>, ParseError> {
    match pb::AdmissionStatus::try_from(value) {
        Ok(pb::AdmissionStatus::Unspecified) => Ok(None),
        Ok(pb::AdmissionStatus::Admitted) => Ok(Some(AdmissionStatus::Admitted)),
        Ok(pb::AdmissionStatus::Discharged) => Ok(Some(AdmissionStatus::Discharged)),
        Ok(pb::AdmissionStatus::Cancelled) => Ok(Some(AdmissionStatus::Cancelled)),
        Err(_) => Err(ParseError::new(format!("{value} is not a known value"))),
    }
}

fn status_to_pb(value: AdmissionStatus) -> pb::AdmissionStatus {
    match value {
        AdmissionStatus::Admitted => pb::AdmissionStatus::Admitted,
        AdmissionStatus::Discharged => pb::AdmissionStatus::Discharged,
        AdmissionStatus::Cancelled => pb::AdmissionStatus::Cancelled,
    }
}

pub fn parse_discharge_type(value: i32) -> Result<DischargeType, ParseError> {
    required(value, |kind: pb::DischargeType| match kind {
        pb::DischargeType::Unspecified => None,
        pb::DischargeType::Recovered => Some(DischargeType::Recovered),
        pb::DischargeType::Improved => Some(DischargeType::Improved),
        pb::DischargeType::Unchanged => Some(DischargeType::Unchanged),
        pb::DischargeType::Worsened => Some(DischargeType::Worsened),
        pb::DischargeType::Deceased => Some(DischargeType::Deceased),
        pb::DischargeType::Transferred => Some(DischargeType::Transferred),
        pb::DischargeType::LeftAgainstAdvice => Some(DischargeType::LeftAgainstAdvice),
    })
}

pub fn discharge_type_to_pb(value: DischargeType) -> pb::DischargeType {
    match value {
        DischargeType::Recovered => pb::DischargeType::Recovered,
        DischargeType::Improved => pb::DischargeType::Improved,
        DischargeType::Unchanged => pb::DischargeType::Unchanged,
        DischargeType::Worsened => pb::DischargeType::Worsened,
        DischargeType::Deceased => pb::DischargeType::Deceased,
        DischargeType::Transferred => pb::DischargeType::Transferred,
        DischargeType::LeftAgainstAdvice => pb::DischargeType::LeftAgainstAdvice,
    }
}

fn referral_source_db(source: i32) -> Option<&'static str> {
    match pb::ReferralSource::try_from(source).ok()? {
        pb::ReferralSource::Unspecified => None,
        pb::ReferralSource::SelfReferred => Some("self"),
        pb::ReferralSource::FamilyDoctor => Some("family_doctor"),
        pb::ReferralSource::Specialist => Some("specialist"),
        pb::ReferralSource::OtherHospital => Some("other_hospital"),
        pb::ReferralSource::EmergencyService => Some("emergency_service"),
    }
}

fn referral_source_pb(source: &str) -> pb::ReferralSource {
    match source {
        "self" => pb::ReferralSource::SelfReferred,
        "family_doctor" => pb::ReferralSource::FamilyDoctor,
        "specialist" => pb::ReferralSource::Specialist,
        "other_hospital" => pb::ReferralSource::OtherHospital,
        "emergency_service" => pb::ReferralSource::EmergencyService,
        _ => pb::ReferralSource::Unspecified,
    }
}

/// The referral as stored (a JSON object of checked one-line strings).
pub fn parse_referral(
    referral: Option<&pb::Referral>,
    violations: &mut hmis_platform::Violations,
) -> serde_json::Value {
    let Some(referral) = referral else {
        return json!({});
    };
    let source = if referral.source == 0 {
        None
    } else {
        let source = referral_source_db(referral.source);
        if source.is_none() {
            violations.add(
                "visit.referral.source",
                format!("{} is not a known value", referral.source),
            );
        }
        source
    };
    let mut line = |field: &str, value: &str| {
        violations
            .check(
                &format!("visit.referral.{field}"),
                hmis_platform::types::Line::parse(value),
            )
            .map(|line| line.as_str().to_owned())
            .unwrap_or_default()
    };
    json!({
        "source": source.unwrap_or(""),
        "referring_doctor_name": line("referring_doctor_name", &referral.referring_doctor_name),
        "referring_doctor_registration":
            line("referring_doctor_registration", &referral.referring_doctor_registration),
        "referring_facility": line("referring_facility", &referral.referring_facility),
        "referral_number": line("referral_number", &referral.referral_number),
    })
}

fn referral_to_pb(stored: &serde_json::Value) -> Option<pb::Referral> {
    let text = |key: &str| {
        stored
            .get(key)
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let referral = pb::Referral {
        source: referral_source_pb(&text("source")).into(),
        referring_doctor_name: text("referring_doctor_name"),
        referring_doctor_registration: text("referring_doctor_registration"),
        referring_facility: text("referring_facility"),
        referral_number: text("referral_number"),
    };
    (referral != pb::Referral::default()).then_some(referral)
}

pub fn visit_to_pb(row: &VisitRow) -> pb::EmergencyVisit {
    pb::EmergencyVisit {
        id: row.id.to_string(),
        patient_id: row.patient_id.to_string(),
        facility_id: row.facility_id.to_string(),
        department_id: row.department_id.to_string(),
        arrival_time: timestamp(row.arrival_time),
        arrival_mode: arrival_mode_to_pb(row.arrival_mode).into(),
        referral: referral_to_pb(&row.referral),
        triage_level: i32::from(row.triage_level),
        chief_complaint: row.chief_complaint.clone(),
        outcome: outcome_to_pb(row.outcome).into(),
        close_time: row.close_time.and_then(timestamp),
        admission_id: row
            .admission_id
            .map(|id| id.to_string())
            .unwrap_or_default(),
        outcome_note: row.outcome_note.clone(),
        etag: Version::from_db(row.version).etag(),
        create_time: timestamp(row.created_at),
    }
}

pub fn stay_to_pb(row: &StayRow) -> pb::Stay {
    pb::Stay {
        id: row.id.to_string(),
        department_id: row.department_id.to_string(),
        bed_id: row.bed_id.map(|id| id.to_string()).unwrap_or_default(),
        start_time: timestamp(row.start_time),
        end_time: row.end_time.and_then(timestamp),
        reason: row.reason.clone(),
    }
}

/// The admission with its movement history. Reservations are not stays; the open one shows
/// as `reserved_bed_id`. A cancelled admission keeps its stays on record.
pub fn admission_to_pb(row: &AdmissionRow, stays: &[StayRow]) -> Result<pb::Admission> {
    let discharge = match (&row.discharge_type, row.discharge_time) {
        (Some(kind), Some(at)) => Some(pb::Discharge {
            r#type: discharge_type_to_pb(*kind).into(),
            discharge_time: timestamp(at),
            destination: row.discharge_destination.clone(),
            discharged_by: row
                .discharged_by
                .map(|id| id.to_string())
                .unwrap_or_default(),
        }),
        (None, None) => None,
        _ => return Err(Error::corrupt("admission discharge")),
    };
    let reserved_bed_id = stays
        .iter()
        .find(|stay| stay.is_reservation() && stay.end_time.is_none() && !stay.cancelled)
        .and_then(|stay| stay.bed_id)
        .map(|id| id.to_string())
        .unwrap_or_default();
    Ok(pb::Admission {
        id: row.id.to_string(),
        patient_id: row.patient_id.to_string(),
        facility_id: row.facility_id.to_string(),
        admission_number: row.admission_number.clone(),
        r#type: admission_type_to_pb(row.r#type).into(),
        status: status_to_pb(row.status).into(),
        admit_time: timestamp(row.admit_time),
        department_id: row.department_id.to_string(),
        bed_id: row.bed_id.map(|id| id.to_string()).unwrap_or_default(),
        admitting_department_id: row.admitting_department_id.to_string(),
        admitting_physician_id: row
            .admitting_physician_id
            .map(|id| id.to_string())
            .unwrap_or_default(),
        admitting_diagnosis_code: row.admitting_diagnosis_code.clone(),
        admitting_diagnosis_text: row.admitting_diagnosis_text.clone(),
        emergency_visit_id: row
            .emergency_visit_id
            .map(|id| id.to_string())
            .unwrap_or_default(),
        consent_document_ids: row
            .consent_document_ids
            .iter()
            .map(ToString::to_string)
            .collect(),
        mother_admission_id: row
            .mother_admission_id
            .map(|id| id.to_string())
            .unwrap_or_default(),
        discharge,
        // A cancelled admission keeps its stays on record; an open one shows the stays no
        // correction replaced.
        stays: stays
            .iter()
            .filter(|stay| !stay.is_reservation())
            .filter(|stay| row.status == AdmissionStatus::Cancelled || !stay.cancelled)
            .map(stay_to_pb)
            .collect(),
        reserved_bed_id,
        converted_time: row.converted_at.and_then(timestamp),
        etag: Version::from_db(row.version).etag(),
        create_time: timestamp(row.created_at),
        update_time: timestamp(row.updated_at),
        first_clinical_act_time: row.first_clinical_act_at.and_then(timestamp),
        planned_discharge: match (row.planned_discharge_type, row.planned_discharge_time) {
            (Some(kind), Some(at)) => Some(pb::PlannedDischarge {
                r#type: discharge_type_to_pb(kind).into(),
                planned_time: timestamp(at),
                destination: row.planned_discharge_destination.clone(),
                announced_by: row
                    .discharge_announced_by
                    .map(|id| id.to_string())
                    .unwrap_or_default(),
                announce_time: row.discharge_announced_at.and_then(timestamp),
            }),
            _ => None,
        },
    })
}

pub fn correction_to_pb(row: &CorrectionRow) -> pb::AdmissionCorrection {
    pb::AdmissionCorrection {
        id: row.id.to_string(),
        admission_id: row.admission_id.to_string(),
        changes: (row.changes.iter())
            .map(|change| pb::CorrectedField {
                field: change.field.clone(),
                before: change.before.clone(),
                after: change.after.clone(),
            })
            .collect(),
        reason: row.reason.clone(),
        corrected_by: row.corrected_by.to_string(),
        correct_time: timestamp(row.corrected_at),
    }
}
