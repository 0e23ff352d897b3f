//! Requests of the admission service, parsed into what the use cases are asked: every wrong
//! field is named at once (`INVALID_ARGUMENT` with field violations), nothing is echoed back.

use chrono::{DateTime, Utc};
use hmis_patients_api::Sex;
use hmis_platform::Violations;
use hmis_platform::idempotency::RequestKey;
use hmis_platform::paging::{PageSize, decode_token};
use hmis_platform::types::{Line, Text, Version, parse_uuid};
use hmis_platform::wire::parse_timestamp;
use hmis_proto::openhmis::admissions::v1 as pb;
use hmis_proto::openhmis::patients::v1 as patients_pb;
use uuid::Uuid;

use crate::app::{
    AdmissionPage, Admitting, Announcement, Arrival, BedAssignment, Birth, Closing, Correction,
    Discharge, Handover, ReasonedChange, Receipt, Release, Reservation, Transfer, VisitPage,
};
use crate::convert::{
    parse_admission_type, parse_arrival_mode, parse_closing_outcome, parse_discharge_type,
    parse_referral, parse_status_filter,
};
use crate::domain::{DiagnosisCode, TriageLevel, movement_time};
use crate::error::{Error, Result};
use crate::store::AdmissionFilter;

/// One id, the whole request of a read by id.
pub(crate) fn id(field: &str, value: &str) -> Result<Uuid> {
    let mut violations = Violations::default();
    parse_id(field, value, &mut violations).ok_or_else(|| Error::from(violations))
}

fn parse_id(field: &str, value: &str, violations: &mut Violations) -> Option<Uuid> {
    violations.check(field, parse_uuid(value))
}

fn parse_optional_id(field: &str, value: &str, violations: &mut Violations) -> Option<Uuid> {
    if value.trim().is_empty() {
        None
    } else {
        parse_id(field, value, violations)
    }
}

/// An etag a change may send to guard against a stale screen; empty means "don't check".
fn parse_optional_etag(value: &str, violations: &mut Violations) -> Option<Version> {
    if value.trim().is_empty() {
        None
    } else {
        violations.check("etag", Version::parse_etag(value))
    }
}

fn parse_time(
    field: &str,
    value: Option<&prost_types::Timestamp>,
    violations: &mut Violations,
) -> Option<DateTime<Utc>> {
    violations.check(field, parse_timestamp(value)).flatten()
}

pub(crate) fn register_emergency_visit(
    message: &pb::RegisterEmergencyVisitRequest,
    now: DateTime<Utc>,
) -> Result<Arrival> {
    let mut violations = Violations::default();
    let key = violations.check("request_id", RequestKey::parse(&message.request_id));
    let visit = message.visit.clone().unwrap_or_default();
    if message.visit.is_none() {
        violations.add("visit", "is required");
    }
    let patient_id = parse_id("visit.patient_id", &visit.patient_id, &mut violations);
    let department_id = parse_id("visit.department_id", &visit.department_id, &mut violations);
    let arrival = parse_time(
        "visit.arrival_time",
        visit.arrival_time.as_ref(),
        &mut violations,
    );
    let arrival = violations
        .check("visit.arrival_time", movement_time(arrival, None, now))
        .unwrap_or(now);
    let mode = violations.check("visit.arrival_mode", parse_arrival_mode(visit.arrival_mode));
    let triage = violations.check("visit.triage_level", TriageLevel::new(visit.triage_level));
    let complaint = violations.check("visit.chief_complaint", Text::parse(&visit.chief_complaint));
    let referral = parse_referral(visit.referral.as_ref(), &mut violations);
    let (
        Some(key),
        Some(patient_id),
        Some(department_id),
        Some(mode),
        Some(triage),
        Some(complaint),
        true,
    ) = (
        key,
        patient_id,
        department_id,
        mode,
        triage,
        complaint,
        violations.is_empty(),
    )
    else {
        return Err(violations.into());
    };
    Ok(Arrival {
        key,
        patient_id,
        department_id,
        arrival,
        mode,
        triage,
        complaint,
        referral,
    })
}

pub(crate) fn close_emergency_visit(message: &pb::CloseEmergencyVisitRequest) -> Result<Closing> {
    let mut violations = Violations::default();
    let key = violations.check("request_id", RequestKey::parse(&message.request_id));
    let id = parse_id("visit_id", &message.visit_id, &mut violations);
    let outcome = violations.check("outcome", parse_closing_outcome(message.outcome));
    let close_time = parse_time("close_time", message.close_time.as_ref(), &mut violations);
    let note = violations.check("note", Text::parse(&message.note));
    let (Some(key), Some(id), Some(outcome), Some(note), true) =
        (key, id, outcome, note, violations.is_empty())
    else {
        return Err(violations.into());
    };
    Ok(Closing {
        key,
        id,
        outcome,
        close_time,
        note,
    })
}

pub(crate) fn admit_patient(
    message: &pb::AdmitPatientRequest,
    now: DateTime<Utc>,
) -> Result<Admitting> {
    let mut violations = Violations::default();
    let key = violations.check("request_id", RequestKey::parse(&message.request_id));
    let given = message.admission.clone().unwrap_or_default();
    if message.admission.is_none() {
        violations.add("admission", "is required");
    }
    let patient_id = parse_id("admission.patient_id", &given.patient_id, &mut violations);
    let department_id = parse_id(
        "admission.department_id",
        &given.department_id,
        &mut violations,
    );
    let bed_id = parse_optional_id("admission.bed_id", &given.bed_id, &mut violations);
    let kind = violations.check("admission.type", parse_admission_type(given.r#type));
    let admit_time = parse_time(
        "admission.admit_time",
        given.admit_time.as_ref(),
        &mut violations,
    );
    let admit_time = violations
        .check("admission.admit_time", movement_time(admit_time, None, now))
        .unwrap_or(now);
    let physician = parse_optional_id(
        "admission.admitting_physician_id",
        &given.admitting_physician_id,
        &mut violations,
    );
    let diagnosis = violations.check(
        "admission.admitting_diagnosis_code",
        DiagnosisCode::parse(&given.admitting_diagnosis_code),
    );
    let diagnosis_text = violations.check(
        "admission.admitting_diagnosis_text",
        Text::parse(&given.admitting_diagnosis_text),
    );
    let visit_id = parse_optional_id(
        "admission.emergency_visit_id",
        &given.emergency_visit_id,
        &mut violations,
    );
    if given.consent_document_ids.len() > 20 {
        violations.add("admission.consent_document_ids", "at most 20");
    }
    let consents: Vec<Uuid> = given
        .consent_document_ids
        .iter()
        .enumerate()
        .filter_map(|(index, id)| {
            parse_id(
                &format!("admission.consent_document_ids[{index}]"),
                id,
                &mut violations,
            )
        })
        .collect();
    let (
        Some(key),
        Some(patient_id),
        Some(department_id),
        Some(kind),
        Some(diagnosis),
        Some(diagnosis_text),
        true,
    ) = (
        key,
        patient_id,
        department_id,
        kind,
        diagnosis,
        diagnosis_text,
        violations.is_empty(),
    )
    else {
        return Err(violations.into());
    };
    Ok(Admitting {
        key,
        patient_id,
        department_id,
        bed_id,
        kind,
        admit_time,
        physician,
        diagnosis,
        diagnosis_text,
        visit_id,
        consents,
    })
}

pub(crate) fn admit_newborn(
    message: &pb::AdmitNewbornRequest,
    now: DateTime<Utc>,
) -> Result<Birth> {
    let mut violations = Violations::default();
    let key = violations.check("request_id", RequestKey::parse(&message.request_id));
    let mother_id = parse_id(
        "mother_admission_id",
        &message.mother_admission_id,
        &mut violations,
    );
    let bed_id = parse_optional_id("bed_id", &message.bed_id, &mut violations);
    let newborn = message.newborn.clone().unwrap_or_default();
    if message.newborn.is_none() {
        violations.add("newborn", "is required");
    }
    let sex = match patients_pb::Sex::try_from(newborn.sex) {
        Ok(patients_pb::Sex::Unspecified) => {
            violations.add(
                "newborn.sex",
                "is required (UNKNOWN when it cannot be told yet)",
            );
            None
        }
        Ok(patients_pb::Sex::Male) => Some(Sex::Male),
        Ok(patients_pb::Sex::Female) => Some(Sex::Female),
        Ok(patients_pb::Sex::Unknown) => Some(Sex::Unknown),
        Err(_) => {
            violations.add(
                "newborn.sex",
                format!("{} is not a known value", newborn.sex),
            );
            None
        }
    };
    let family = violations.check("newborn.family_name", Line::parse(&newborn.family_name));
    let given = violations.check("newborn.given_names", Line::parse(&newborn.given_names));
    let born = parse_time(
        "newborn.birth_time",
        newborn.birth_time.as_ref(),
        &mut violations,
    );
    let born = violations
        .check("newborn.birth_time", movement_time(born, None, now))
        .unwrap_or(now);
    let (Some(key), Some(mother_id), Some(sex), Some(family), Some(given), true) =
        (key, mother_id, sex, family, given, violations.is_empty())
    else {
        return Err(violations.into());
    };
    Ok(Birth {
        key,
        mother_id,
        bed_id,
        sex,
        family,
        given,
        born,
    })
}

pub(crate) fn assign_bed(message: &pb::AssignBedRequest) -> Result<BedAssignment> {
    let mut violations = Violations::default();
    let key = violations.check("request_id", RequestKey::parse(&message.request_id));
    let id = parse_id("admission_id", &message.admission_id, &mut violations);
    let bed_id = parse_id("bed_id", &message.bed_id, &mut violations);
    let etag = parse_optional_etag(&message.etag, &mut violations);
    let at = parse_time("assign_time", message.assign_time.as_ref(), &mut violations);
    let (Some(key), Some(id), Some(bed_id), true) = (key, id, bed_id, violations.is_empty()) else {
        return Err(violations.into());
    };
    Ok(BedAssignment {
        key,
        id,
        bed_id,
        etag,
        at,
    })
}

pub(crate) fn transfer_patient(message: &pb::TransferPatientRequest) -> Result<Transfer> {
    let mut violations = Violations::default();
    let key = violations.check("request_id", RequestKey::parse(&message.request_id));
    let id = parse_id("admission_id", &message.admission_id, &mut violations);
    let department_id = parse_id("department_id", &message.department_id, &mut violations);
    let bed_id = parse_optional_id("bed_id", &message.bed_id, &mut violations);
    let etag = parse_optional_etag(&message.etag, &mut violations);
    let at = parse_time(
        "transfer_time",
        message.transfer_time.as_ref(),
        &mut violations,
    );
    let reason = violations.check("reason", Text::parse(&message.reason));
    let (Some(key), Some(id), Some(department_id), Some(reason), true) =
        (key, id, department_id, reason, violations.is_empty())
    else {
        return Err(violations.into());
    };
    Ok(Transfer {
        key,
        id,
        department_id,
        bed_id,
        etag,
        at,
        reason,
    })
}

pub(crate) fn reserve_bed(message: &pb::ReserveBedRequest) -> Result<Reservation> {
    let mut violations = Violations::default();
    let key = violations.check("request_id", RequestKey::parse(&message.request_id));
    let id = parse_id("admission_id", &message.admission_id, &mut violations);
    let bed_id = parse_id("bed_id", &message.bed_id, &mut violations);
    let etag = parse_optional_etag(&message.etag, &mut violations);
    let (Some(key), Some(id), Some(bed_id), true) = (key, id, bed_id, violations.is_empty()) else {
        return Err(violations.into());
    };
    Ok(Reservation {
        key,
        id,
        bed_id,
        etag,
    })
}

pub(crate) fn release_bed_reservation(
    message: &pb::ReleaseBedReservationRequest,
) -> Result<Release> {
    let mut violations = Violations::default();
    let key = violations.check("request_id", RequestKey::parse(&message.request_id));
    let id = parse_id("admission_id", &message.admission_id, &mut violations);
    let etag = parse_optional_etag(&message.etag, &mut violations);
    let (Some(key), Some(id), true) = (key, id, violations.is_empty()) else {
        return Err(violations.into());
    };
    Ok(Release { key, id, etag })
}

pub(crate) fn discharge_patient(message: &pb::DischargePatientRequest) -> Result<Discharge> {
    let mut violations = Violations::default();
    let key = violations.check("request_id", RequestKey::parse(&message.request_id));
    let id = parse_id("admission_id", &message.admission_id, &mut violations);
    let kind = violations.check("type", parse_discharge_type(message.r#type));
    let at = parse_time(
        "discharge_time",
        message.discharge_time.as_ref(),
        &mut violations,
    );
    let destination = violations.check("destination", Line::parse(&message.destination));
    let etag = parse_optional_etag(&message.etag, &mut violations);
    let (Some(key), Some(id), Some(kind), Some(destination), true) =
        (key, id, kind, destination, violations.is_empty())
    else {
        return Err(violations.into());
    };
    Ok(Discharge {
        key,
        id,
        kind,
        at,
        destination,
        etag,
    })
}

pub(crate) fn undo_discharge(message: &pb::UndoDischargeRequest) -> Result<ReasonedChange> {
    reasoned_change(
        &message.request_id,
        &message.admission_id,
        &message.reason,
        &message.etag,
    )
}

pub(crate) fn cancel_admission(message: &pb::CancelAdmissionRequest) -> Result<ReasonedChange> {
    reasoned_change(
        &message.request_id,
        &message.admission_id,
        &message.reason,
        &message.etag,
    )
}

pub(crate) fn correct_admission(message: &pb::CorrectAdmissionRequest) -> Result<Correction> {
    let mut violations = Violations::default();
    let key = violations.check("request_id", RequestKey::parse(&message.request_id));
    let id = parse_id("admission_id", &message.admission_id, &mut violations);
    let reason = violations.check("reason", Text::parse_required(&message.reason));
    let etag = parse_optional_etag(&message.etag, &mut violations);
    let kind = if message.r#type == pb::AdmissionType::Unspecified as i32 {
        None
    } else {
        violations.check("type", parse_admission_type(message.r#type))
    };
    let department_id = parse_optional_id("department_id", &message.department_id, &mut violations);
    let physician = parse_optional_id(
        "admitting_physician_id",
        &message.admitting_physician_id,
        &mut violations,
    );
    let diagnosis = violations
        .check(
            "admitting_diagnosis_code",
            DiagnosisCode::parse(&message.admitting_diagnosis_code),
        )
        .filter(|code| !code.as_str().is_empty());
    let diagnosis_text = violations
        .check(
            "admitting_diagnosis_text",
            Text::parse(&message.admitting_diagnosis_text),
        )
        .filter(|text| !text.as_str().is_empty());
    if violations.is_empty()
        && kind.is_none()
        && department_id.is_none()
        && physician.is_none()
        && diagnosis.is_none()
        && diagnosis_text.is_none()
    {
        violations.add(
            "type",
            "nothing to correct: give the type, department_id, admitting_physician_id or the \
             admitting diagnosis",
        );
    }
    let (Some(key), Some(id), Some(reason), true) = (key, id, reason, violations.is_empty()) else {
        return Err(violations.into());
    };
    Ok(Correction {
        key,
        id,
        reason,
        etag,
        kind,
        department_id,
        physician,
        diagnosis,
        diagnosis_text,
    })
}

pub(crate) fn announce_discharge(message: &pb::AnnounceDischargeRequest) -> Result<Announcement> {
    let mut violations = Violations::default();
    let key = violations.check("request_id", RequestKey::parse(&message.request_id));
    let id = parse_id("admission_id", &message.admission_id, &mut violations);
    let given = message.discharge.clone().unwrap_or_default();
    let kind = if message.discharge.is_none() {
        violations.add("discharge", "is required");
        None
    } else {
        violations.check("discharge.type", parse_discharge_type(given.r#type))
    };
    let planned_time = parse_time(
        "discharge.planned_time",
        given.planned_time.as_ref(),
        &mut violations,
    );
    let destination = violations.check("discharge.destination", Line::parse(&given.destination));
    let etag = parse_optional_etag(&message.etag, &mut violations);
    let (Some(key), Some(id), Some(kind), Some(destination), true) =
        (key, id, kind, destination, violations.is_empty())
    else {
        return Err(violations.into());
    };
    Ok(Announcement {
        key,
        id,
        kind,
        planned_time,
        destination,
        etag,
    })
}

pub(crate) fn hand_over_record(message: &pb::HandOverRecordRequest) -> Result<Handover> {
    let mut violations = Violations::default();
    let key = violations.check("request_id", RequestKey::parse(&message.request_id));
    let admission_id = parse_id("admission_id", &message.admission_id, &mut violations);
    let location = violations
        .check(
            "paper_file_location",
            Line::parse(&message.paper_file_location),
        )
        .filter(|line| !line.is_empty());
    if message.paper_file_location.trim().is_empty() {
        violations.add("paper_file_location", "is required");
    }
    let note = violations.check("note", Text::parse(&message.note));
    let (Some(key), Some(admission_id), Some(location), Some(note), true) =
        (key, admission_id, location, note, violations.is_empty())
    else {
        return Err(violations.into());
    };
    Ok(Handover {
        key,
        admission_id,
        location,
        note,
    })
}

pub(crate) fn receive_record(message: &pb::ReceiveRecordRequest) -> Result<Receipt> {
    let mut violations = Violations::default();
    let key = violations.check("request_id", RequestKey::parse(&message.request_id));
    let id = parse_id("handover_id", &message.handover_id, &mut violations);
    let location = if message.paper_file_location.trim().is_empty() {
        None
    } else {
        violations.check(
            "paper_file_location",
            Line::parse(&message.paper_file_location),
        )
    };
    let (Some(key), Some(id), true) = (key, id, violations.is_empty()) else {
        return Err(violations.into());
    };
    Ok(Receipt { key, id, location })
}

pub(crate) fn list_record_handovers(
    message: &pb::ListRecordHandoversRequest,
) -> Result<(Uuid, bool, PageSize)> {
    let mut violations = Violations::default();
    let facility_id = parse_id("facility_id", &message.facility_id, &mut violations);
    let size = violations.check("page_size", PageSize::parse(message.page_size));
    let (Some(facility_id), Some(size), true) = (facility_id, size, violations.is_empty()) else {
        return Err(violations.into());
    };
    Ok((facility_id, message.awaiting_only, size))
}

/// A change of an admission that needs its reason (undo or withdraw a discharge, cancel an
/// admission).
pub(crate) fn reasoned_change(
    request_id: &str,
    admission_id: &str,
    reason: &str,
    etag: &str,
) -> Result<ReasonedChange> {
    let mut violations = Violations::default();
    let key = violations.check("request_id", RequestKey::parse(request_id));
    let id = parse_id("admission_id", admission_id, &mut violations);
    let reason = violations.check("reason", Text::parse_required(reason));
    let etag = parse_optional_etag(etag, &mut violations);
    let (Some(key), Some(id), Some(reason), true) = (key, id, reason, violations.is_empty()) else {
        return Err(violations.into());
    };
    Ok(ReasonedChange {
        key,
        id,
        reason,
        etag,
    })
}

pub(crate) fn list_emergency_visits(message: &pb::ListEmergencyVisitsRequest) -> Result<VisitPage> {
    let mut violations = Violations::default();
    let department_id = parse_id("department_id", &message.department_id, &mut violations);
    let size = violations.check("page_size", PageSize::parse(message.page_size));
    let after = violations
        .check(
            "page_token",
            decode_token::<(DateTime<Utc>, Uuid)>(&message.page_token),
        )
        .flatten();
    let (Some(department_id), Some(size), true) = (department_id, size, violations.is_empty())
    else {
        return Err(violations.into());
    };
    Ok(VisitPage {
        department_id,
        open_only: message.open_only,
        size,
        after,
    })
}

pub(crate) fn list_admissions(message: &pb::ListAdmissionsRequest) -> Result<AdmissionPage> {
    let mut violations = Violations::default();
    let filter = match (
        message.department_id.is_empty(),
        message.patient_id.is_empty(),
    ) {
        (false, true) => parse_id("department_id", &message.department_id, &mut violations)
            .map(AdmissionFilter::Department),
        (true, false) => parse_id("patient_id", &message.patient_id, &mut violations)
            .map(AdmissionFilter::Patient),
        _ => {
            violations.add(
                "department_id",
                "give exactly one of department_id or patient_id",
            );
            None
        }
    };
    let status = violations
        .check("status", parse_status_filter(message.status))
        .flatten();
    let size = violations.check("page_size", PageSize::parse(message.page_size));
    let after = violations
        .check(
            "page_token",
            decode_token::<(DateTime<Utc>, Uuid)>(&message.page_token),
        )
        .flatten();
    let (Some(filter), Some(size), true) = (filter, size, violations.is_empty()) else {
        return Err(violations.into());
    };
    Ok(AdmissionPage {
        filter,
        status,
        size,
        after,
    })
}

pub(crate) fn settings(
    message: &pb::UpdateAdmissionSettingsRequest,
) -> Result<(RequestKey, pb::AdmissionSettings)> {
    let mut violations = Violations::default();
    let key = violations.check("request_id", RequestKey::parse(&message.request_id));
    if message.settings.is_none() {
        violations.add("settings", "is required");
    }
    Ok(violations.finish(|| Some((key?, message.settings?)))?)
}
