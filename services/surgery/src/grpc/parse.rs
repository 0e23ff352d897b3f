//! Requests of the surgery service, parsed into what the use cases are asked: every wrong
//! field is named at once (`INVALID_ARGUMENT` with field violations), nothing is echoed back.

use chrono::{DateTime, Utc};
use hmis_platform::Violations;
use hmis_platform::idempotency::RequestKey;
use hmis_platform::types::{Code, Line, Text, parse_date};
use hmis_platform::wire::parse_timestamp;
use hmis_proto::openhmis::surgery::v1 as pb;
use uuid::Uuid;

use hmis_platform::amount::Amount;

use crate::app::{
    Booking, Cancelling, Consumption, Granting, NewSession, NewTheatre, Rescheduling, StatusChange,
    TheatreListQuery, Writing,
};
use crate::convert::{
    parse_anaesthesia, parse_milestone, parse_phase, parse_priority, parse_privilege_status,
    parse_record_kind,
};
use crate::domain::{
    AnaesthesiaEvent, AnaesthesiaNote, ChecklistPhase, Drug, Grade, Implant, MAX_ASSISTANTS,
    MAX_PROCEDURES, Milestone, OperationNote, Priority, RecordContent, RecordKind, Slot, Specimen,
    Team, Vital, is_decimal,
};
use crate::error::Result;

/// Grades one SetProcedureGrades call may write.
const MAX_GRADES: usize = 5000;
/// Specialties and equipment lines one theatre lists.
const MAX_THEATRE_LIST: usize = 30;
/// The longest theatre session (a day).
const MAX_SESSION_HOURS: i64 = 24;

/// One id, the whole request of a read by id.
pub(crate) fn id(field: &str, value: &str) -> Result<Uuid> {
    let mut violations = Violations::default();
    let id = violations.id(field, value);
    Ok(violations.finish(|| id)?)
}

fn required_time(
    field: &str,
    value: Option<&prost_types::Timestamp>,
    violations: &mut Violations,
) -> Option<DateTime<Utc>> {
    match violations.check(field, parse_timestamp(value)) {
        Some(Some(at)) => Some(at),
        Some(None) => {
            violations.add(field, "is required");
            None
        }
        None => None,
    }
}

/// A list of codes (each a [`Code`]), at most `max`, none twice.
fn codes(
    field: &str,
    values: &[String],
    max: usize,
    violations: &mut Violations,
) -> Option<Vec<String>> {
    if values.len() > max {
        violations.add(field, format!("must name at most {max}"));
        return None;
    }
    let before = violations.len();
    let mut parsed: Vec<String> = Vec::with_capacity(values.len());
    for (index, value) in values.iter().enumerate() {
        if let Some(code) = violations.check(&format!("{field}[{index}]"), Code::parse(value)) {
            if parsed.iter().any(|seen| seen == code.as_str()) {
                violations.add(format!("{field}[{index}]"), "is named twice");
            }
            parsed.push(code.as_str().to_owned());
        }
    }
    (violations.len() == before).then_some(parsed)
}

pub(crate) fn create_theatre(message: &pb::CreateTheatreRequest) -> Result<NewTheatre> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let room_id = violations.id("room_id", &message.room_id);
    let code = violations.check("code", Code::parse(&message.code));
    let name = violations.check("name", Line::parse(&message.name));
    if name.as_ref().is_some_and(Line::is_empty) {
        violations.add("name", "must not be empty");
    }
    let specialty_codes = codes(
        "specialty_codes",
        &message.specialty_codes,
        MAX_THEATRE_LIST,
        &mut violations,
    );
    let equipment = if message.equipment.len() > MAX_THEATRE_LIST {
        violations.add("equipment", format!("must list at most {MAX_THEATRE_LIST}"));
        None
    } else {
        let before = violations.len();
        let lines: Vec<String> = (message.equipment.iter().enumerate())
            .filter_map(|(index, line)| {
                violations.check(&format!("equipment[{index}]"), Line::parse(line))
            })
            .filter(|line| !line.is_empty())
            .map(|line| line.as_str().to_owned())
            .collect();
        (violations.len() == before).then_some(lines)
    };
    Ok(violations.finish(|| {
        Some(NewTheatre {
            key: key?,
            room_id: room_id?,
            code: code?.as_str().to_owned(),
            name: name?,
            specialty_codes: specialty_codes?,
            equipment: equipment?,
        })
    })?)
}

pub(crate) fn create_session(message: &pb::CreateTheatreSessionRequest) -> Result<NewSession> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let theatre_id = violations.id("theatre_id", &message.theatre_id);
    let start = required_time("start_time", message.start_time.as_ref(), &mut violations);
    let end = required_time("end_time", message.end_time.as_ref(), &mut violations);
    if let (Some(start), Some(end)) = (start, end)
        && (end <= start || end - start > chrono::Duration::hours(MAX_SESSION_HOURS))
    {
        violations.add(
            "end_time",
            format!("must be after start_time, within {MAX_SESSION_HOURS} hours"),
        );
    }
    let specialty = violations.check("specialty_code", Code::parse(&message.specialty_code));
    Ok(violations.finish(|| {
        Some(NewSession {
            key: key?,
            theatre_id: theatre_id?,
            start: start?,
            end: end?,
            specialty_code: specialty?.as_str().to_owned(),
        })
    })?)
}

pub(crate) fn set_procedure_grades(
    message: &pb::SetProcedureGradesRequest,
) -> Result<(RequestKey, Vec<(String, Grade)>)> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    if message.grades.is_empty() || message.grades.len() > MAX_GRADES {
        violations.add("grades", format!("must hold 1 to {MAX_GRADES} grades"));
    }
    let mut grades = Vec::with_capacity(message.grades.len().min(MAX_GRADES));
    for (index, grade) in message.grades.iter().take(MAX_GRADES).enumerate() {
        let code = violations.check(&format!("grades[{index}].code"), Code::parse(&grade.code));
        let value = violations.check(&format!("grades[{index}].grade"), Grade::parse(grade.grade));
        if let (Some(code), Some(value)) = (code, value) {
            grades.push((code.as_str().to_owned(), value));
        }
    }
    grades.sort_by(|a, b| a.0.cmp(&b.0));
    grades.dedup_by(|a, b| a.0 == b.0);
    Ok(violations.finish(|| Some((key?, grades)))?)
}

pub(crate) fn list_procedure_grades(
    message: &pb::ListProcedureGradesRequest,
) -> Result<Vec<String>> {
    let mut violations = Violations::default();
    let codes = codes("codes", &message.codes, MAX_GRADES, &mut violations);
    Ok(violations.finish(|| codes)?)
}

pub(crate) fn grant_privilege(message: &pb::GrantPrivilegeRequest) -> Result<Granting> {
    use pb::grant_privilege_request::Extent;
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let surgeon_id = violations.id("surgeon_id", &message.surgeon_id);
    let extent = match &message.extent {
        Some(Extent::MaxGrade(grade)) => {
            violations.check("max_grade", Grade::parse(*grade)).map(Ok)
        }
        Some(Extent::ProcedureCode(code)) => violations
            .check("procedure_code", Code::parse(code))
            .map(|code| Err(code.as_str().to_owned())),
        None => {
            violations.add("max_grade", "a grade or a procedure_code is required");
            None
        }
    };
    let valid_from = violations.optional_date("valid_from", &message.valid_from);
    let valid_until = violations.optional_date("valid_until", &message.valid_until);
    if let (Some(Some(from)), Some(Some(until))) = (valid_from, valid_until)
        && until < from
    {
        violations.add("valid_until", "must not be before valid_from");
    }
    Ok(violations.finish(|| {
        Some(Granting {
            key: key?,
            surgeon_id: surgeon_id?,
            extent: extent?,
            valid_from: valid_from?,
            valid_until: valid_until?,
        })
    })?)
}

pub(crate) fn change_privilege_status(
    message: &pb::ChangePrivilegeStatusRequest,
) -> Result<StatusChange> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let id = violations.id("privilege_id", &message.privilege_id);
    let status = violations.check("status", parse_privilege_status(message.status));
    let reason = violations.check("reason", Text::parse_required(&message.reason));
    let etag = violations.optional_etag("etag", &message.etag);
    Ok(violations.finish(|| {
        Some(StatusChange {
            key: key?,
            id: id?,
            status: status?,
            reason: reason?,
            etag,
        })
    })?)
}

pub(crate) fn optional_id(field: &str, value: &str) -> Result<Option<Uuid>> {
    let mut violations = Violations::default();
    let id = violations.optional_id(field, value);
    Ok(violations.finish(|| id)?)
}

pub(crate) fn review_override(
    message: &pb::ReviewPrivilegeOverrideRequest,
) -> Result<(RequestKey, Uuid, Text)> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let id = violations.id("override_id", &message.override_id);
    let note = violations.check("note", Text::parse_required(&message.note));
    Ok(violations.finish(|| Some((key?, id?, note?)))?)
}

pub(crate) fn book_operation(message: &pb::BookOperationRequest) -> Result<Booking> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let theatre_id = violations.id("theatre_id", &message.theatre_id);
    let patient_id = violations.id("patient_id", &message.patient_id);
    let admission_id = violations.optional_id("admission_id", &message.admission_id);
    let start = required_time("start_time", message.start_time.as_ref(), &mut violations);
    let slot = start.and_then(|start| {
        violations.check(
            "duration_minutes",
            Slot::parse(start, message.duration_minutes),
        )
    });
    let priority = violations.check("priority", parse_priority(message.priority));
    let anaesthesia = violations.check(
        "anaesthesia_type",
        parse_anaesthesia(message.anaesthesia_type),
    );
    if message.procedure_codes.is_empty() {
        violations.add("procedure_codes", "name at least one procedure");
    }
    let codes = codes(
        "procedure_codes",
        &message.procedure_codes,
        MAX_PROCEDURES,
        &mut violations,
    );
    let surgeon = violations.id("primary_surgeon_id", &message.primary_surgeon_id);
    let assistants: Option<Vec<Uuid>> = if message.assistant_ids.len() > MAX_ASSISTANTS {
        violations.add(
            "assistant_ids",
            format!("must name at most {MAX_ASSISTANTS}"),
        );
        None
    } else {
        (message.assistant_ids.iter().enumerate())
            .map(|(index, id)| violations.id(&format!("assistant_ids[{index}]"), id))
            .collect::<Vec<_>>()
            .into_iter()
            .collect()
    };
    let anaesthetist = violations.optional_id("anaesthetist_id", &message.anaesthetist_id);
    let scrub_nurse = violations.optional_id("scrub_nurse_id", &message.scrub_nurse_id);
    let team = match (surgeon, &assistants, anaesthetist, scrub_nurse) {
        (Some(surgeon), Some(assistants), Some(anaesthetist), Some(scrub_nurse)) => {
            match Team::new(surgeon, assistants, anaesthetist, scrub_nurse) {
                Ok(team) => Some(team),
                Err((field, reason)) => {
                    violations.add(field, reason);
                    None
                }
            }
        }
        _ => None,
    };
    let override_reason = violations.check(
        "privilege_override_reason",
        Text::parse(&message.privilege_override_reason),
    );
    let emergency = priority == Some(Priority::Emergency);
    if message.bump_elective && !emergency {
        violations.add(
            "bump_elective",
            "only an EMERGENCY booking may bump elective ones",
        );
    }
    if override_reason
        .as_ref()
        .is_some_and(|reason| !reason.as_str().is_empty())
        && !emergency
    {
        violations.add(
            "privilege_override_reason",
            "only an EMERGENCY booking may override privileges",
        );
    }
    Ok(violations.finish(|| {
        Some(Booking {
            key: key?,
            theatre_id: theatre_id?,
            patient_id: patient_id?,
            admission_id: admission_id?,
            slot: slot?,
            priority: priority?,
            anaesthesia: anaesthesia?,
            codes: codes?,
            team: team?,
            bump_elective: message.bump_elective,
            override_reason: override_reason?,
        })
    })?)
}

pub(crate) fn reschedule_operation(
    message: &pb::RescheduleOperationRequest,
) -> Result<Rescheduling> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let id = violations.id("operation_id", &message.operation_id);
    let start = required_time("start_time", message.start_time.as_ref(), &mut violations);
    let minutes = match message.duration_minutes {
        0 => None,
        minutes => {
            if let Some(start) = start {
                violations.check("duration_minutes", Slot::parse(start, minutes));
            }
            Some(minutes)
        }
    };
    let theatre_id = violations.optional_id("theatre_id", &message.theatre_id);
    let etag = violations.optional_etag("etag", &message.etag);
    Ok(violations.finish(|| {
        Some(Rescheduling {
            key: key?,
            id: id?,
            start: start?,
            minutes,
            theatre_id: theatre_id?,
            etag,
        })
    })?)
}

pub(crate) fn cancel_operation(message: &pb::CancelOperationRequest) -> Result<Cancelling> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let id = violations.id("operation_id", &message.operation_id);
    let reason = violations.check("reason", Text::parse_required(&message.reason));
    let etag = violations.optional_etag("etag", &message.etag);
    Ok(violations.finish(|| {
        Some(Cancelling {
            key: key?,
            id: id?,
            reason: reason?,
            etag,
        })
    })?)
}

pub(crate) fn theatre_list(message: &pb::GetTheatreListRequest) -> Result<TheatreListQuery> {
    let mut violations = Violations::default();
    let facility_id = violations.id("facility_id", &message.facility_id);
    let day = violations.check("day", parse_date(&message.day));
    let theatre_id = violations.optional_id("theatre_id", &message.theatre_id);
    let surgeon_id = violations.optional_id("surgeon_id", &message.surgeon_id);
    Ok(violations.finish(|| {
        Some(TheatreListQuery {
            facility_id: facility_id?,
            day: day?,
            theatre_id: theatre_id?,
            surgeon_id: surgeon_id?,
        })
    })?)
}

pub(crate) fn confirm_checklist_phase(
    message: &pb::ConfirmChecklistPhaseRequest,
) -> Result<(RequestKey, Uuid, ChecklistPhase, Vec<String>)> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let id = violations.id("operation_id", &message.operation_id);
    let phase = violations.check("phase", parse_phase(message.phase));
    let items = codes(
        "confirmed_items",
        &message.confirmed_items,
        20,
        &mut violations,
    );
    Ok(violations.finish(|| Some((key?, id?, phase?, items?)))?)
}

pub(crate) fn record_milestone(
    message: &pb::RecordMilestoneRequest,
) -> Result<(RequestKey, Uuid, Milestone, Option<DateTime<Utc>>)> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let id = violations.id("operation_id", &message.operation_id);
    let milestone = violations.check("milestone", parse_milestone(message.milestone));
    let at = violations.check("time", parse_timestamp(message.time.as_ref()));
    Ok(violations.finish(|| Some((key?, id?, milestone?, at?)))?)
}

/// Lines a record lists of one kind (drugs, vital signs, events, implants, specimens).
const MAX_RECORD_LINES: usize = 500;

fn line(field: &str, value: &str, required: bool, violations: &mut Violations) -> Option<String> {
    let line = violations.check(field, Line::parse(value))?;
    if required && line.is_empty() {
        violations.add(field, "is required");
        return None;
    }
    Some(line.as_str().to_owned())
}

fn text(field: &str, value: &str, violations: &mut Violations) -> Option<String> {
    violations
        .check(field, Text::parse(value))
        .map(|text| text.as_str().to_owned())
}

fn bounded<'a, T>(field: &str, values: &'a [T], violations: &mut Violations) -> &'a [T] {
    if values.len() > MAX_RECORD_LINES {
        violations.add(field, format!("must list at most {MAX_RECORD_LINES}"));
        return &[];
    }
    values
}

fn operation_note(note: &pb::OperationNote, violations: &mut Violations) -> Option<OperationNote> {
    if note.performed_procedure_codes.is_empty() {
        violations.add(
            "operation.performed_procedure_codes",
            "name at least one procedure",
        );
    }
    let performed = codes(
        "operation.performed_procedure_codes",
        &note.performed_procedure_codes,
        MAX_PROCEDURES,
        violations,
    );
    let findings = text("operation.findings", &note.findings, violations);
    let complications = text("operation.complications", &note.complications, violations);
    if !(0..=20_000).contains(&note.blood_loss_ml) {
        violations.add("operation.blood_loss_ml", "must be 0 to 20000 millilitres");
    }
    let before = violations.len();
    let implants: Vec<Implant> = (bounded("operation.implants", &note.implants, violations).iter())
        .enumerate()
        .filter_map(|(index, implant)| {
            let at = |part: &str| format!("operation.implants[{index}].{part}");
            Some(Implant {
                description: line(&at("description"), &implant.description, true, violations)?,
                lot_number: line(&at("lot_number"), &implant.lot_number, false, violations)?,
                serial_number: line(
                    &at("serial_number"),
                    &implant.serial_number,
                    false,
                    violations,
                )?,
            })
        })
        .collect();
    let specimens: Vec<Specimen> = (bounded("operation.specimens", &note.specimens, violations)
        .iter())
    .enumerate()
    .filter_map(|(index, specimen)| {
        let field = format!("operation.specimens[{index}].description");
        Some(Specimen {
            description: line(&field, &specimen.description, true, violations)?,
            to_pathology: specimen.to_pathology,
        })
    })
    .collect();
    if violations.len() != before {
        return None;
    }
    Some(OperationNote {
        performed: performed?,
        findings: findings?,
        complications: complications?,
        blood_loss_ml: note.blood_loss_ml,
        implants,
        specimens,
    })
}

fn chart_time(
    field: &str,
    value: Option<&prost_types::Timestamp>,
    violations: &mut Violations,
) -> Option<DateTime<Utc>> {
    required_time(field, value, violations)
}

fn decimal(field: &str, value: &str, violations: &mut Violations) -> Option<String> {
    let value = value.trim();
    if is_decimal(value) {
        Some(value.to_owned())
    } else {
        violations.add(field, "must be a decimal number, e.g. 2.5");
        None
    }
}

fn unit(field: &str, value: &str, violations: &mut Violations) -> Option<String> {
    let value = value.trim();
    let valid = !value.is_empty()
        && value.chars().count() <= 20
        && value.chars().all(|c| c.is_ascii_graphic());
    if valid {
        Some(value.to_owned())
    } else {
        violations.add(field, "must be a UCUM unit, e.g. mg");
        None
    }
}

fn anaesthesia_note(
    note: &pb::AnaesthesiaNote,
    violations: &mut Violations,
) -> Option<AnaesthesiaNote> {
    let asa_class = match i16::try_from(note.asa_class) {
        Ok(class @ 1..=6) => Some(class),
        _ => {
            violations.add("anaesthesia.asa_class", "must be an ASA class from 1 to 6");
            None
        }
    };
    let technique = violations.check("anaesthesia.technique", parse_anaesthesia(note.technique));
    let before = violations.len();
    let drugs: Vec<Drug> = (bounded("anaesthesia.drugs", &note.drugs, violations).iter())
        .enumerate()
        .filter_map(|(index, drug)| {
            let at = |part: &str| format!("anaesthesia.drugs[{index}].{part}");
            let name = line(&at("name"), &drug.name, true, violations);
            let dose = violations
                .check(&at("dose"), Amount::parse(&drug.dose))
                .map(|dose| dose.to_string());
            let unit = unit(&at("unit"), &drug.unit, violations);
            let time = chart_time(&at("time"), drug.time.as_ref(), violations);
            Some(Drug {
                name: name?,
                dose: dose?,
                unit: unit?,
                at: time?,
            })
        })
        .collect();
    let vitals: Vec<Vital> = (bounded("anaesthesia.vitals", &note.vitals, violations).iter())
        .enumerate()
        .filter_map(|(index, vital)| {
            let at = |part: &str| format!("anaesthesia.vitals[{index}].{part}");
            let code = violations.check(&at("code"), Code::parse(&vital.code));
            let value = decimal(&at("value"), &vital.value, violations);
            let unit = unit(&at("unit"), &vital.unit, violations);
            let time = chart_time(&at("time"), vital.time.as_ref(), violations);
            Some(Vital {
                at: time?,
                code: code?.as_str().to_owned(),
                value: value?,
                unit: unit?,
            })
        })
        .collect();
    let events: Vec<AnaesthesiaEvent> = (bounded("anaesthesia.events", &note.events, violations)
        .iter())
    .enumerate()
    .filter_map(|(index, event)| {
        let at = |part: &str| format!("anaesthesia.events[{index}].{part}");
        let description = line(&at("description"), &event.description, true, violations);
        let time = chart_time(&at("time"), event.time.as_ref(), violations);
        Some(AnaesthesiaEvent {
            at: time?,
            description: description?,
        })
    })
    .collect();
    if violations.len() != before {
        return None;
    }
    Some(AnaesthesiaNote {
        asa_class: asa_class?,
        asa_emergency: note.asa_emergency,
        technique: technique?.as_db().to_owned(),
        drugs,
        vitals,
        events,
    })
}

pub(crate) fn write_record(message: &pb::WriteRecordRequest) -> Result<Writing> {
    use pb::write_record_request::Content;
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let id = violations.id("operation_id", &message.operation_id);
    let content = match &message.content {
        Some(Content::Operation(note)) => {
            operation_note(note, &mut violations).map(RecordContent::Operation)
        }
        Some(Content::Anaesthesia(note)) => {
            anaesthesia_note(note, &mut violations).map(RecordContent::Anaesthesia)
        }
        None => {
            violations.add(
                "operation",
                "an operation or an anaesthesia record is required",
            );
            None
        }
    };
    let reason = violations.check("amendment_reason", Text::parse(&message.amendment_reason));
    let etag = violations.optional_etag("etag", &message.etag);
    Ok(violations.finish(|| {
        Some(Writing {
            key: key?,
            id: id?,
            content: content?,
            sign: message.sign,
            reason: reason?,
            etag,
        })
    })?)
}

pub(crate) fn list_record_versions(
    message: &pb::ListRecordVersionsRequest,
) -> Result<(Uuid, RecordKind)> {
    let mut violations = Violations::default();
    let id = violations.id("operation_id", &message.operation_id);
    let kind = violations.check("kind", parse_record_kind(message.kind));
    Ok(violations.finish(|| Some((id?, kind?)))?)
}

/// A SetProcedurePack call, parsed: its key, the procedure and its lines (item, quantity).
type Pack = (RequestKey, String, Vec<(Uuid, String)>);

/// Lines of consumption or of a pack: each item once, a positive exact quantity.
fn item_lines(
    field: &str,
    lines: &[pb::ConsumedItem],
    max: usize,
    violations: &mut Violations,
) -> Option<Vec<(Uuid, String)>> {
    if lines.len() > max {
        violations.add(field, format!("must hold at most {max} lines"));
        return None;
    }
    let before = violations.len();
    let mut parsed: Vec<(Uuid, String)> = Vec::with_capacity(lines.len());
    for (index, item) in lines.iter().enumerate() {
        let id = violations.id(&format!("{field}[{index}].item_id"), &item.item_id);
        let quantity = violations.check(
            &format!("{field}[{index}].quantity"),
            Amount::parse(&item.quantity),
        );
        if let (Some(id), Some(quantity)) = (id, quantity) {
            if parsed.iter().any(|(seen, _)| *seen == id) {
                violations.add(format!("{field}[{index}].item_id"), "is named twice");
            }
            parsed.push((id, quantity.to_string()));
        }
    }
    (violations.len() == before).then_some(parsed)
}

pub(crate) fn record_consumption(message: &pb::RecordConsumptionRequest) -> Result<Consumption> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let id = violations.id("operation_id", &message.operation_id);
    let warehouse_id = violations.id("warehouse_id", &message.warehouse_id);
    if message.lines.is_empty() {
        violations.add("lines", "name at least one item");
    }
    let lines = item_lines("lines", &message.lines, 100, &mut violations);
    Ok(violations.finish(|| {
        Some(Consumption {
            key: key?,
            id: id?,
            warehouse_id: warehouse_id?,
            lines: lines?,
        })
    })?)
}

pub(crate) fn set_procedure_pack(message: &pb::SetProcedurePackRequest) -> Result<Pack> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let code = violations.check("procedure_code", Code::parse(&message.procedure_code));
    let lines = item_lines("lines", &message.lines, 100, &mut violations);
    Ok(violations.finish(|| Some((key?, code?.as_str().to_owned(), lines?)))?)
}
