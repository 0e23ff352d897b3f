//! Between the wire (`openhmis.surgery.v1`) and this module's rows and domain values.

use hmis_platform::types::{ParseError, Version};
use hmis_platform::wire::timestamp;
use hmis_proto::openhmis::surgery::v1 as pb;

use crate::domain::{AnaesthesiaType, OperationStatus, Priority, PrivilegeStatus, TeamRole};
use crate::store::{OperationRecord, OverrideRow, PrivilegeRow, SessionRow, TheatreRow};

/// An enum field of a request: UNSPECIFIED is "missing", an unknown number is refused.
fn required<T, P: TryFrom<i32>>(value: i32, map: impl Fn(P) -> Option<T>) -> Result<T, ParseError> {
    match P::try_from(value).ok().and_then(map) {
        Some(value) => Ok(value),
        None if value == 0 => Err(ParseError::new("is required")),
        None => Err(ParseError::new(format!("{value} is not a known value"))),
    }
}

pub fn parse_priority(value: i32) -> Result<Priority, ParseError> {
    required(value, |priority: pb::Priority| match priority {
        pb::Priority::Unspecified => None,
        pb::Priority::Elective => Some(Priority::Elective),
        pb::Priority::Urgent => Some(Priority::Urgent),
        pb::Priority::Emergency => Some(Priority::Emergency),
    })
}

fn priority_to_pb(value: Priority) -> pb::Priority {
    match value {
        Priority::Elective => pb::Priority::Elective,
        Priority::Urgent => pb::Priority::Urgent,
        Priority::Emergency => pb::Priority::Emergency,
    }
}

pub fn parse_anaesthesia(value: i32) -> Result<AnaesthesiaType, ParseError> {
    required(value, |kind: pb::AnaesthesiaType| match kind {
        pb::AnaesthesiaType::Unspecified => None,
        pb::AnaesthesiaType::General => Some(AnaesthesiaType::General),
        pb::AnaesthesiaType::Spinal => Some(AnaesthesiaType::Spinal),
        pb::AnaesthesiaType::Epidural => Some(AnaesthesiaType::Epidural),
        pb::AnaesthesiaType::RegionalBlock => Some(AnaesthesiaType::RegionalBlock),
        pb::AnaesthesiaType::Local => Some(AnaesthesiaType::Local),
        pb::AnaesthesiaType::Sedation => Some(AnaesthesiaType::Sedation),
    })
}

fn anaesthesia_to_pb(value: AnaesthesiaType) -> pb::AnaesthesiaType {
    match value {
        AnaesthesiaType::General => pb::AnaesthesiaType::General,
        AnaesthesiaType::Spinal => pb::AnaesthesiaType::Spinal,
        AnaesthesiaType::Epidural => pb::AnaesthesiaType::Epidural,
        AnaesthesiaType::RegionalBlock => pb::AnaesthesiaType::RegionalBlock,
        AnaesthesiaType::Local => pb::AnaesthesiaType::Local,
        AnaesthesiaType::Sedation => pb::AnaesthesiaType::Sedation,
    }
}

pub fn parse_privilege_status(value: i32) -> Result<PrivilegeStatus, ParseError> {
    required(value, |status: pb::PrivilegeStatus| match status {
        pb::PrivilegeStatus::Unspecified => None,
        pb::PrivilegeStatus::Active => Some(PrivilegeStatus::Active),
        pb::PrivilegeStatus::Suspended => Some(PrivilegeStatus::Suspended),
        pb::PrivilegeStatus::Revoked => Some(PrivilegeStatus::Revoked),
    })
}

fn privilege_status_to_pb(value: PrivilegeStatus) -> pb::PrivilegeStatus {
    match value {
        PrivilegeStatus::Active => pb::PrivilegeStatus::Active,
        PrivilegeStatus::Suspended => pb::PrivilegeStatus::Suspended,
        PrivilegeStatus::Revoked => pb::PrivilegeStatus::Revoked,
    }
}

fn status_to_pb(value: OperationStatus) -> pb::OperationStatus {
    match value {
        OperationStatus::Scheduled => pb::OperationStatus::Scheduled,
        OperationStatus::Cancelled => pb::OperationStatus::Cancelled,
        OperationStatus::Bumped => pb::OperationStatus::Bumped,
    }
}

fn role_to_pb(value: TeamRole) -> pb::TeamRole {
    match value {
        TeamRole::PrimarySurgeon => pb::TeamRole::PrimarySurgeon,
        TeamRole::Assistant => pb::TeamRole::Assistant,
        TeamRole::Anaesthetist => pb::TeamRole::Anaesthetist,
        TeamRole::ScrubNurse => pb::TeamRole::ScrubNurse,
    }
}

fn optional_id(id: Option<uuid::Uuid>) -> String {
    id.map(|id| id.to_string()).unwrap_or_default()
}

pub fn theatre_to_pb(row: &TheatreRow) -> pb::Theatre {
    pb::Theatre {
        id: row.id.to_string(),
        room_id: row.room_id.to_string(),
        department_id: row.department_id.to_string(),
        facility_id: row.facility_id.to_string(),
        code: row.code.clone(),
        name: row.name.clone(),
        specialty_codes: row.specialty_codes.clone(),
        equipment: row.equipment.clone(),
        active: row.active,
        etag: Version::from_db(row.version).etag(),
    }
}

pub fn session_to_pb(row: &SessionRow) -> pb::TheatreSession {
    pb::TheatreSession {
        id: row.id.to_string(),
        theatre_id: row.theatre_id.to_string(),
        start_time: timestamp(row.start_time),
        end_time: timestamp(row.end_time),
        specialty_code: row.specialty_code.clone(),
    }
}

pub fn operation_to_pb(record: &OperationRecord) -> pb::Operation {
    let row = &record.row;
    pb::Operation {
        id: row.id.to_string(),
        theatre_id: row.theatre_id.to_string(),
        patient_id: row.patient_id.to_string(),
        admission_id: optional_id(row.admission_id),
        start_time: timestamp(row.start_time),
        duration_minutes: i32::try_from((row.end_time - row.start_time).num_minutes())
            .unwrap_or(i32::MAX),
        priority: priority_to_pb(row.priority).into(),
        anaesthesia_type: anaesthesia_to_pb(row.anaesthesia_type).into(),
        procedures: (record.procedures.iter())
            .map(|procedure| pb::PlannedProcedure {
                code: procedure.code.clone(),
                display: procedure.display.clone(),
                grade: procedure.grade.map(i32::from).unwrap_or_default(),
            })
            .collect(),
        team: (record.team.iter())
            .map(|member| pb::TeamMember {
                user_id: member.user_id.to_string(),
                role: role_to_pb(member.role).into(),
            })
            .collect(),
        status: status_to_pb(row.status).into(),
        cancel_reason: row.cancel_reason.clone(),
        bumped_by_operation_id: optional_id(row.bumped_by),
        privilege_override_reason: row.privilege_override_reason.clone(),
        booked_by: row.booked_by.to_string(),
        create_time: timestamp(row.created_at),
        etag: Version::from_db(row.version).etag(),
        facility_id: row.facility_id.to_string(),
        department_id: row.department_id.to_string(),
    }
}

pub fn privilege_to_pb(row: &PrivilegeRow) -> pb::Privilege {
    let extent = match (&row.procedure_code, row.max_grade) {
        (Some(code), _) => Some(pb::privilege::Extent::ProcedureCode(code.clone())),
        (None, Some(grade)) => Some(pb::privilege::Extent::MaxGrade(i32::from(grade))),
        (None, None) => None,
    };
    pb::Privilege {
        id: row.id.to_string(),
        surgeon_id: row.surgeon_id.to_string(),
        extent,
        valid_from: row.valid_from.to_string(),
        valid_until: row
            .valid_until
            .map(|day| day.to_string())
            .unwrap_or_default(),
        status: privilege_status_to_pb(row.status).into(),
        status_reason: row.status_reason.clone(),
        granted_by: row.granted_by.to_string(),
        grant_time: timestamp(row.granted_at),
        etag: Version::from_db(row.version).etag(),
    }
}

pub fn override_to_pb(row: &OverrideRow) -> pb::PrivilegeOverride {
    pb::PrivilegeOverride {
        id: row.id.to_string(),
        operation_id: row.operation_id.to_string(),
        surgeon_id: row.surgeon_id.to_string(),
        procedure_codes: row.procedure_codes.clone(),
        reason: row.reason.clone(),
        recorded_by: row.recorded_by.to_string(),
        record_time: timestamp(row.recorded_at),
        reviewed_by: optional_id(row.reviewed_by),
        review_time: row.reviewed_at.and_then(timestamp),
        review_note: row.review_note.clone(),
    }
}
