//! Requests of the imaging service, parsed into what the use cases are asked: every wrong
//! field is named at once (`INVALID_ARGUMENT` with field violations), nothing is echoed back.

use hmis_platform::Violations;
use hmis_platform::idempotency::RequestKey;
use hmis_platform::types::{Code, Name, Text, Version};
use hmis_platform::wire::parse_timestamp;
use hmis_proto::openhmis::imaging::v1 as pb;
use uuid::Uuid;

use crate::app::{Draft, NewService, Scheduling, TurnaroundQuery};
use crate::convert::{parse_modality, parse_status};
use crate::domain::{Modality, is_uid};
use crate::error::Result;
use crate::store::{RoomRow, ServiceRow, WorklistFilter};

/// The longest findings or conclusion of a report.
const MAX_REPORT: usize = 20_000;

pub(crate) fn id(field: &str, value: &str) -> Result<Uuid> {
    let mut violations = Violations::default();
    let id = violations.id(field, value);
    Ok(violations.finish(|| id)?)
}

fn name(field: &str, value: &str, violations: &mut Violations) -> Option<String> {
    violations
        .check(field, Name::parse(value))
        .map(|name| name.as_str().to_owned())
}

fn modality(field: &str, value: i32, violations: &mut Violations) -> Option<Modality> {
    let parsed = parse_modality(value);
    if parsed.is_none() {
        violations.add(field, "is required (XRAY, ULTRASOUND, CT, MRI, ...)");
    }
    parsed
}

/// An optional modality (a listing's filter).
pub(crate) fn modality_filter(value: i32) -> Result<Option<Modality>> {
    let mut violations = Violations::default();
    let parsed = match value {
        0 => Some(None),
        value => modality("modality", value, &mut violations).map(Some),
    };
    Ok(violations.finish(|| parsed)?)
}

pub(crate) fn service(message: &pb::SetServiceRequest) -> Result<NewService> {
    let mut violations = Violations::default();
    let Some(service) = message.service.as_ref() else {
        violations.add("service", "is required");
        return Ok(violations.finish(|| None)?);
    };
    let code = violations
        .check("service.code", Code::parse(&service.code))
        .map(|code| code.as_str().to_owned());
    let service_name = name("service.name", &service.name, &mut violations);
    let kind = modality("service.modality", service.modality, &mut violations);
    let body_part = if service.body_part.trim().is_empty() {
        Some(String::new())
    } else {
        name("service.body_part", &service.body_part, &mut violations)
    };
    let duration = if (1..=480).contains(&service.duration_minutes) {
        Some(service.duration_minutes)
    } else {
        violations.add("service.duration_minutes", "must be between 1 and 480");
        None
    };
    let version = if message.etag.trim().is_empty() {
        Some(None)
    } else {
        violations
            .check("etag", Version::parse_etag(&message.etag))
            .map(|version| Some(version.get()))
    };
    Ok(violations.finish(|| {
        Some(NewService {
            row: ServiceRow {
                code: code?,
                name: service_name?,
                modality: kind?,
                body_part: body_part?,
                duration_minutes: duration?,
                active: service.active,
                version: 0,
            },
            version: version?,
        })
    })?)
}

pub(crate) fn room(message: &pb::SetRoomRequest) -> Result<(RequestKey, RoomRow, bool)> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let Some(room) = message.room.as_ref() else {
        violations.add("room", "is required");
        return Ok(violations.finish(|| None)?);
    };
    let existing = violations.optional_id("room.id", &room.id);
    let code = violations
        .check("room.code", Code::parse(&room.code))
        .map(|code| code.as_str().to_owned());
    let room_name = name("room.name", &room.name, &mut violations);
    let facility = violations.id("room.facility_id", &room.facility_id);
    let kind = modality("room.modality", room.modality, &mut violations);
    let ae_title = room.ae_title.trim();
    let ae_title =
        if ae_title.len() <= 16 && ae_title.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
            Some(ae_title.to_owned())
        } else {
            violations.add("room.ae_title", "must be at most 16 ASCII characters");
            None
        };
    Ok(violations.finish(|| {
        let existing = existing?;
        Some((
            key?,
            RoomRow {
                id: existing.unwrap_or_else(Uuid::now_v7),
                code: code?,
                name: room_name?,
                facility_id: facility?,
                modality: kind?,
                ae_title: ae_title?,
                active: room.active,
            },
            existing.is_some(),
        ))
    })?)
}

pub(crate) fn rooms(message: &pb::ListRoomsRequest) -> Result<Option<Uuid>> {
    let mut violations = Violations::default();
    let facility = violations.optional_id("facility_id", &message.facility_id);
    Ok(violations.finish(|| facility)?)
}

pub(crate) fn worklist(message: &pb::ListWorklistRequest) -> Result<WorklistFilter> {
    let mut violations = Violations::default();
    let facility = violations.id("facility_id", &message.facility_id);
    let department = violations.optional_id("department_id", &message.department_id);
    let room = violations.optional_id("room_id", &message.room_id);
    let kind = match message.modality {
        0 => Some(None),
        value => modality("modality", value, &mut violations).map(Some),
    };
    if message.statuses.len() > 16 {
        violations.add("statuses", "must list at most 16");
    }
    let mut statuses = Vec::new();
    for (index, status) in message.statuses.iter().take(16).enumerate() {
        match parse_status(*status) {
            Some(status) => statuses.push(status),
            None => violations.add(format!("statuses[{index}]"), "is not a known status"),
        }
    }
    let limit = match message.page_size {
        0 => Some(100),
        size if (1..=500).contains(&size) => Some(i64::from(size)),
        _ => {
            violations.add("page_size", "must be between 1 and 500");
            None
        }
    };
    Ok(violations.finish(|| {
        Some(WorklistFilter {
            facility_id: facility?,
            department_id: department?,
            modality: kind?,
            room_id: room?,
            statuses,
            limit: limit?,
        })
    })?)
}

pub(crate) fn schedule(message: &pb::ScheduleExamRequest) -> Result<Scheduling> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let exam = violations.id("exam_id", &message.exam_id);
    let room = violations.id("room_id", &message.room_id);
    let at = match violations.check(
        "scheduled_time",
        parse_timestamp(message.scheduled_time.as_ref()),
    ) {
        Some(Some(at)) => Some(at),
        Some(None) => {
            violations.add("scheduled_time", "is required");
            None
        }
        None => None,
    };
    Ok(violations.finish(|| {
        Some(Scheduling {
            key: key?,
            exam_id: exam?,
            room_id: room?,
            at: at?,
        })
    })?)
}

pub(crate) fn start(message: &pb::StartExamRequest) -> Result<(RequestKey, Uuid)> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let exam = violations.id("exam_id", &message.exam_id);
    Ok(violations.finish(|| Some((key?, exam?)))?)
}

pub(crate) fn complete(
    message: &pb::CompleteExamRequest,
) -> Result<(RequestKey, Uuid, Option<String>, String)> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let exam = violations.id("exam_id", &message.exam_id);
    let uid = match message.study_instance_uid.trim() {
        "" => Some(None),
        uid if is_uid(uid) => Some(Some(uid.to_owned())),
        _ => {
            violations.add(
                "study_instance_uid",
                "must be a DICOM UID (digits and dots, at most 64 characters)",
            );
            None
        }
    };
    let note = violations.check("technique_note", Text::parse(&message.technique_note));
    Ok(violations.finish(|| Some((key?, exam?, uid?, note?.as_str().to_owned())))?)
}

/// A report's findings or conclusion: required, at most [`MAX_REPORT`] characters, no
/// control characters but line breaks and tabs.
fn report_text(field: &str, value: &str, violations: &mut Violations) -> Option<String> {
    let value = value.trim();
    if value.is_empty() {
        violations.add(field, "is required");
        None
    } else if value.chars().count() > MAX_REPORT {
        violations.add(field, format!("must be at most {MAX_REPORT} characters"));
        None
    } else if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        violations.add(field, "must not hold control characters");
        None
    } else {
        Some(value.to_owned())
    }
}

pub(crate) fn report(message: &pb::SaveReportRequest) -> Result<Draft> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let exam = violations.id("exam_id", &message.exam_id);
    let findings = report_text("findings", &message.findings, &mut violations);
    let conclusion = report_text("conclusion", &message.conclusion, &mut violations);
    let reason = match violations.check("amendment_reason", Text::parse(&message.amendment_reason))
    {
        Some(reason) if reason.as_str().is_empty() => Some(None),
        Some(reason) => Some(Some(reason.as_str().to_owned())),
        None => None,
    };
    Ok(violations.finish(|| {
        Some(Draft {
            key: key?,
            exam_id: exam?,
            findings: findings?,
            conclusion: conclusion?,
            amendment_reason: reason?,
        })
    })?)
}

pub(crate) fn sign(message: &pb::SignReportRequest) -> Result<(RequestKey, Uuid, Uuid)> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let exam = violations.id("exam_id", &message.exam_id);
    let report = violations.id("report_id", &message.report_id);
    Ok(violations.finish(|| Some((key?, exam?, report?)))?)
}

pub(crate) fn cancel(message: &pb::CancelExamRequest) -> Result<(RequestKey, Uuid, String)> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let exam = violations.id("exam_id", &message.exam_id);
    let reason = violations.check("reason", Text::parse_required(&message.reason));
    Ok(violations.finish(|| Some((key?, exam?, reason?.as_str().to_owned())))?)
}

pub(crate) fn turnaround(message: &pb::GetTurnaroundRequest) -> Result<TurnaroundQuery> {
    let mut violations = Violations::default();
    let facility = violations.id("facility_id", &message.facility_id);
    let period = violations.instant_period(
        ("from_time", message.from_time.as_ref()),
        ("to_time", message.to_time.as_ref()),
    );
    let group = match pb::TurnaroundGrouping::try_from(message.group_by) {
        Ok(pb::TurnaroundGrouping::Modality) => Some("modality"),
        Ok(pb::TurnaroundGrouping::Service) => Some("service"),
        Ok(pb::TurnaroundGrouping::Priority) => Some("priority"),
        Ok(pb::TurnaroundGrouping::Room) => Some("room"),
        _ => {
            violations.add("group_by", "must be MODALITY, SERVICE, PRIORITY or ROOM");
            None
        }
    };
    Ok(violations.finish(|| {
        Some(TurnaroundQuery {
            facility_id: facility?,
            from: period?.0,
            to: period?.1,
            group: group?,
        })
    })?)
}
