//! Between the wire (`openhmis.surgery.v1`) and this module's rows and domain values.

use hmis_platform::types::{ParseError, Version};
use hmis_platform::wire::timestamp;
use hmis_proto::openhmis::surgery::v1 as pb;

use crate::domain::RecordContent;
use crate::domain::{
    AnaesthesiaType, ChecklistPhase, Milestone, OperationStatus, Priority, PrivilegeStatus,
    RecordKind, TeamRole,
};
use crate::store::{
    ConsumedRow, OperationRecord, OverrideRow, PrivilegeRow, RecordRow, SessionRow, TheatreRow,
};

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
        OperationStatus::InProgress => pb::OperationStatus::InProgress,
        OperationStatus::Completed => pb::OperationStatus::Completed,
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
        specialty_code: row.specialty_code.clone(),
        checklist: (record.checklist.iter())
            .map(|pause| pb::ChecklistPhaseRecord {
                phase: phase_to_pb(pause.phase).into(),
                confirmed_items: pause.confirmed_items.clone(),
                confirmed_by: pause.confirmed_by.to_string(),
                confirm_time: timestamp(pause.confirmed_at),
            })
            .collect(),
        times: (record.times.iter())
            .map(|time| pb::MilestoneTime {
                milestone: milestone_to_pb(time.milestone).into(),
                time: timestamp(time.at),
                recorded_by: time.recorded_by.to_string(),
            })
            .collect(),
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

pub fn parse_phase(value: i32) -> Result<ChecklistPhase, ParseError> {
    required(value, |phase: pb::ChecklistPhase| match phase {
        pb::ChecklistPhase::Unspecified => None,
        pb::ChecklistPhase::SignIn => Some(ChecklistPhase::SignIn),
        pb::ChecklistPhase::TimeOut => Some(ChecklistPhase::TimeOut),
        pb::ChecklistPhase::SignOut => Some(ChecklistPhase::SignOut),
    })
}

fn phase_to_pb(value: ChecklistPhase) -> pb::ChecklistPhase {
    match value {
        ChecklistPhase::SignIn => pb::ChecklistPhase::SignIn,
        ChecklistPhase::TimeOut => pb::ChecklistPhase::TimeOut,
        ChecklistPhase::SignOut => pb::ChecklistPhase::SignOut,
    }
}

pub fn parse_milestone(value: i32) -> Result<Milestone, ParseError> {
    required(value, |milestone: pb::Milestone| match milestone {
        pb::Milestone::Unspecified => None,
        pb::Milestone::IntoRoom => Some(Milestone::IntoRoom),
        pb::Milestone::AnaesthesiaStart => Some(Milestone::AnaesthesiaStart),
        pb::Milestone::Incision => Some(Milestone::Incision),
        pb::Milestone::Closure => Some(Milestone::Closure),
        pb::Milestone::OutOfRoom => Some(Milestone::OutOfRoom),
    })
}

fn milestone_to_pb(value: Milestone) -> pb::Milestone {
    match value {
        Milestone::IntoRoom => pb::Milestone::IntoRoom,
        Milestone::AnaesthesiaStart => pb::Milestone::AnaesthesiaStart,
        Milestone::Incision => pb::Milestone::Incision,
        Milestone::Closure => pb::Milestone::Closure,
        Milestone::OutOfRoom => pb::Milestone::OutOfRoom,
    }
}

pub fn parse_record_kind(value: i32) -> Result<RecordKind, ParseError> {
    required(value, |kind: pb::RecordKind| match kind {
        pb::RecordKind::Unspecified => None,
        pb::RecordKind::Operation => Some(RecordKind::Operation),
        pb::RecordKind::Anaesthesia => Some(RecordKind::Anaesthesia),
    })
}

fn record_kind_to_pb(value: RecordKind) -> pb::RecordKind {
    match value {
        RecordKind::Operation => pb::RecordKind::Operation,
        RecordKind::Anaesthesia => pb::RecordKind::Anaesthesia,
    }
}

fn content_to_pb(content: &RecordContent) -> pb::clinical_record::Content {
    match content {
        RecordContent::Operation(note) => {
            pb::clinical_record::Content::Operation(pb::OperationNote {
                performed_procedure_codes: note.performed.clone(),
                findings: note.findings.clone(),
                complications: note.complications.clone(),
                blood_loss_ml: note.blood_loss_ml,
                implants: (note.implants.iter())
                    .map(|implant| pb::Implant {
                        description: implant.description.clone(),
                        lot_number: implant.lot_number.clone(),
                        serial_number: implant.serial_number.clone(),
                    })
                    .collect(),
                specimens: (note.specimens.iter())
                    .map(|specimen| pb::Specimen {
                        description: specimen.description.clone(),
                        to_pathology: specimen.to_pathology,
                    })
                    .collect(),
            })
        }
        RecordContent::Anaesthesia(note) => {
            pb::clinical_record::Content::Anaesthesia(pb::AnaesthesiaNote {
                asa_class: i32::from(note.asa_class),
                asa_emergency: note.asa_emergency,
                technique: note
                    .technique()
                    .map(anaesthesia_to_pb)
                    .unwrap_or(pb::AnaesthesiaType::Unspecified)
                    .into(),
                drugs: (note.drugs.iter())
                    .map(|drug| pb::AnaesthesiaDrug {
                        name: drug.name.clone(),
                        dose: drug.dose.clone(),
                        unit: drug.unit.clone(),
                        time: timestamp(drug.at),
                    })
                    .collect(),
                vitals: (note.vitals.iter())
                    .map(|vital| pb::VitalSign {
                        time: timestamp(vital.at),
                        code: vital.code.clone(),
                        value: vital.value.clone(),
                        unit: vital.unit.clone(),
                    })
                    .collect(),
                events: (note.events.iter())
                    .map(|event| pb::AnaesthesiaEvent {
                        time: timestamp(event.at),
                        description: event.description.clone(),
                    })
                    .collect(),
            })
        }
    }
}

pub fn record_to_pb(row: &RecordRow) -> Result<pb::ClinicalRecord, crate::error::Error> {
    let content: RecordContent = serde_json::from_value(row.content.clone())
        .map_err(|_| crate::error::Error::corrupt("operation record"))?;
    Ok(pb::ClinicalRecord {
        operation_id: row.operation_id.to_string(),
        kind: record_kind_to_pb(row.kind).into(),
        version: row.version,
        content: Some(content_to_pb(&content)),
        signed: row.signed,
        written_by: row.written_by.to_string(),
        write_time: timestamp(row.written_at),
        amendment_reason: row.amendment_reason.clone(),
        etag: Version::from_db(i64::from(row.version)).etag(),
    })
}

pub fn consumed_to_pb(row: &ConsumedRow) -> pb::ConsumedItem {
    pb::ConsumedItem {
        item_id: row.item_id.to_string(),
        quantity: row.quantity.clone(),
    }
}
