//! Imaging's rows and values in the contract's words, and the contract's enumerations read
//! back.

use hmis_platform::types::Version;
use hmis_platform::wire::timestamp;
use hmis_proto::openhmis::imaging::v1 as pb;
use uuid::Uuid;

use crate::domain::{self, ExamStatus, Modality, Priority, ReportStatus};
use crate::store::{ExamRow, OrderRow, ReportRow, RoomRow, ServiceRow};

fn id_text(id: Option<Uuid>) -> String {
    id.map(|id| id.to_string()).unwrap_or_default()
}

pub(crate) fn modality_to_pb(modality: Modality) -> pb::Modality {
    match modality {
        Modality::Xray => pb::Modality::Xray,
        Modality::Ultrasound => pb::Modality::Ultrasound,
        Modality::Ct => pb::Modality::Ct,
        Modality::Mri => pb::Modality::Mri,
        Modality::Mammography => pb::Modality::Mammography,
        Modality::Fluoroscopy => pb::Modality::Fluoroscopy,
    }
}

pub(crate) fn parse_modality(value: i32) -> Option<Modality> {
    Some(match pb::Modality::try_from(value).ok()? {
        pb::Modality::Unspecified => return None,
        pb::Modality::Xray => Modality::Xray,
        pb::Modality::Ultrasound => Modality::Ultrasound,
        pb::Modality::Ct => Modality::Ct,
        pb::Modality::Mri => Modality::Mri,
        pb::Modality::Mammography => Modality::Mammography,
        pb::Modality::Fluoroscopy => Modality::Fluoroscopy,
    })
}

fn priority_to_pb(priority: Priority) -> pb::Priority {
    match priority {
        Priority::Routine => pb::Priority::Routine,
        Priority::Urgent => pb::Priority::Urgent,
        Priority::Emergency => pb::Priority::Emergency,
    }
}

fn status_to_pb(status: ExamStatus) -> pb::ExamStatus {
    match status {
        ExamStatus::Ordered => pb::ExamStatus::Ordered,
        ExamStatus::Scheduled => pb::ExamStatus::Scheduled,
        ExamStatus::InProgress => pb::ExamStatus::InProgress,
        ExamStatus::Performed => pb::ExamStatus::Performed,
        ExamStatus::Preliminary => pb::ExamStatus::Preliminary,
        ExamStatus::Final => pb::ExamStatus::Final,
        ExamStatus::Cancelled => pb::ExamStatus::Cancelled,
    }
}

pub(crate) fn parse_status(value: i32) -> Option<ExamStatus> {
    Some(match pb::ExamStatus::try_from(value).ok()? {
        pb::ExamStatus::Unspecified => return None,
        pb::ExamStatus::Ordered => ExamStatus::Ordered,
        pb::ExamStatus::Scheduled => ExamStatus::Scheduled,
        pb::ExamStatus::InProgress => ExamStatus::InProgress,
        pb::ExamStatus::Performed => ExamStatus::Performed,
        pb::ExamStatus::Preliminary => ExamStatus::Preliminary,
        pb::ExamStatus::Final => ExamStatus::Final,
        pb::ExamStatus::Cancelled => ExamStatus::Cancelled,
    })
}

pub(crate) fn service_to_pb(row: &ServiceRow) -> pb::Service {
    pb::Service {
        code: row.code.clone(),
        name: row.name.clone(),
        modality: modality_to_pb(row.modality) as i32,
        body_part: row.body_part.clone(),
        duration_minutes: row.duration_minutes,
        active: row.active,
        etag: Version::from_db(row.version).etag(),
    }
}

pub(crate) fn room_to_pb(row: &RoomRow) -> pb::Room {
    pb::Room {
        id: row.id.to_string(),
        code: row.code.clone(),
        name: row.name.clone(),
        facility_id: row.facility_id.to_string(),
        modality: modality_to_pb(row.modality) as i32,
        ae_title: row.ae_title.clone(),
        active: row.active,
    }
}

/// A report as the contract shows it; `study_uid` is its examination's, for the check of
/// the signed content.
pub(crate) fn report_to_pb(row: &ReportRow, study_uid: &str) -> pb::Report {
    let intact = match &row.content_sha256 {
        Some(signed) => *signed == domain::report_digest(study_uid, &row.findings, &row.conclusion),
        None => true,
    };
    pb::Report {
        id: row.id.to_string(),
        exam_id: row.exam_id.to_string(),
        version: row.version,
        findings: row.findings.clone(),
        conclusion: row.conclusion.clone(),
        status: match row.status {
            ReportStatus::Draft => pb::ReportStatus::Draft,
            ReportStatus::Signed => pb::ReportStatus::Signed,
            ReportStatus::Superseded => pb::ReportStatus::Superseded,
        } as i32,
        written_by: row.written_by.to_string(),
        write_time: timestamp(row.written_at),
        signed_by: id_text(row.signed_by),
        sign_time: row.signed_at.and_then(timestamp),
        content_sha256: row.content_sha256.clone().unwrap_or_default(),
        intact,
        amendment_reason: row.amendment_reason.clone(),
    }
}

/// An examination as the contract shows it, with its order's facts and its reports
/// (`reports`: every version of any examinations' reports; this one's are picked).
pub(crate) fn exam_to_pb(
    exam: &ExamRow,
    order: Option<&OrderRow>,
    reports: &[ReportRow],
    viewer: Option<&str>,
) -> pb::Exam {
    let mine = |status: ReportStatus| {
        reports
            .iter()
            .find(|report| report.exam_id == exam.id && report.status == status)
            .map(|report| report_to_pb(report, &exam.study_uid))
    };
    let earlier_reports = reports
        .iter()
        .filter(|report| report.exam_id == exam.id && report.status == ReportStatus::Superseded)
        .map(|report| report_to_pb(report, &exam.study_uid))
        .collect();
    let signed = mine(ReportStatus::Signed);
    let draft = mine(ReportStatus::Draft);
    let (report, amendment) = match signed {
        Some(signed) => (Some(signed), draft),
        None => (draft, None),
    };
    pb::Exam {
        id: exam.id.to_string(),
        order_id: exam.order_id.to_string(),
        accession: exam.accession.clone(),
        service_code: exam.service_code.clone(),
        service_name: exam.service_name.clone(),
        modality: exam
            .modality
            .map_or(pb::Modality::Unspecified, modality_to_pb) as i32,
        status: status_to_pb(exam.status) as i32,
        room_id: id_text(exam.room_id),
        scheduled_time: exam.scheduled_at.and_then(timestamp),
        study_instance_uid: exam.study_uid.clone(),
        viewer_url: viewer
            .map(|template| domain::viewer_url(template, &exam.study_uid))
            .unwrap_or_default(),
        performed_by: id_text(exam.performed_by),
        start_time: exam.started_at.and_then(timestamp),
        perform_time: exam.performed_at.and_then(timestamp),
        technique_note: exam.technique_note.clone(),
        report,
        amendment,
        cancel_reason: exam.cancel_reason.clone(),
        patient_id: id_text(order.map(|order| order.patient_id)),
        priority: priority_to_pb(exam.priority) as i32,
        department_id: id_text(exam.department_id),
        requested_by: id_text(order.map(|order| order.requested_by)),
        reason: order.map(|order| order.reason.clone()).unwrap_or_default(),
        order_time: timestamp(exam.ordered_at),
        earlier_reports,
    }
}

pub(crate) fn order_to_pb(order: &OrderRow, exams: Vec<pb::Exam>) -> pb::Order {
    pb::Order {
        id: order.id.to_string(),
        referral_id: order.referral_id.to_string(),
        encounter_id: order.encounter_id.to_string(),
        patient_id: order.patient_id.to_string(),
        admission_id: id_text(order.admission_id),
        department_id: id_text(order.department_id),
        facility_id: order.facility_id.to_string(),
        requested_by: order.requested_by.to_string(),
        priority: priority_to_pb(order.priority) as i32,
        status: status_to_pb(order.status) as i32,
        reason: order.reason.clone(),
        exams,
        order_time: timestamp(order.ordered_at),
        final_time: order.final_at.and_then(timestamp),
    }
}
