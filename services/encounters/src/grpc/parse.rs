//! Requests of the encounter service, parsed into what the use cases are asked: every wrong
//! field is named at once (`INVALID_ARGUMENT` with field violations), nothing is echoed back.

use chrono::{DateTime, Utc};
use hmis_platform::Violations;
use hmis_platform::idempotency::RequestKey;
use hmis_platform::paging::{PageSize, decode_token};
use hmis_platform::types::Text;
use hmis_platform::wire::parse_timestamp;
use hmis_proto::openhmis::encounters::v1 as pb;
use uuid::Uuid;

use crate::app::{
    Charted, Closing, Discontinuation, EncounterPage, Exchange, Given, NewAllergy, NewDiagnosis,
    NewNote, NewProcedure, NewReferral, NursingWrite, Opening, Order, PrescriptionPage, QueryPage,
    Verification, WardRound,
};
use crate::convert::{
    parse_category, parse_certainty, parse_note_kind, parse_reaction_kind, parse_referral_kind,
    parse_role, parse_route, parse_severity, parse_urgency, past_or_now,
};
use crate::domain::{
    AllergyCategory, Amount, ReferralKind, parse_atc, parse_note_text, parse_time_of_day,
};
use crate::error::Result;

/// How many days one ward order may cover.
const MAX_DAYS: i32 = 7;

/// One id, the whole request of a read by id.
pub(crate) fn id(field: &str, value: &str) -> Result<Uuid> {
    let mut violations = Violations::default();
    let id = violations.id(field, value);
    Ok(violations.finish(|| id)?)
}

/// Either an admission, or a patient in a clinic: said on the raw fields, so a wrong
/// combination is named even when a value is malformed too.
pub(crate) fn opening(message: &pb::OpenEncounterRequest) -> Result<Opening> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let admission_id = violations.optional_id("admission_id", &message.admission_id);
    let patient_id = violations.optional_id("patient_id", &message.patient_id);
    let department_id = violations.optional_id("department_id", &message.department_id);
    let given = |value: &str| !value.trim().is_empty();
    if given(&message.admission_id) {
        if given(&message.patient_id) || given(&message.department_id) {
            violations.add(
                "admission_id",
                "an admission's encounter takes no patient_id or department_id",
            );
        }
    } else {
        if !given(&message.patient_id) {
            violations.add(
                "patient_id",
                "is required (or admission_id, for a hospitalization)",
            );
        }
        if !given(&message.department_id) {
            violations.add("department_id", "is required for an outpatient encounter");
        }
    }
    Ok(violations.finish(|| {
        let key = key?;
        Some(match admission_id? {
            Some(admission_id) => Opening::Admission { key, admission_id },
            None => Opening::Clinic {
                key,
                patient_id: patient_id??,
                department_id: department_id??,
            },
        })
    })?)
}

pub(crate) fn encounter_page(message: &pb::ListEncountersRequest) -> Result<EncounterPage> {
    let mut violations = Violations::default();
    let patient_id = violations.id("patient_id", &message.patient_id);
    let size = violations.check("page_size", PageSize::parse(message.page_size));
    let after = violations.check("page_token", decode_token(&message.page_token));
    Ok(violations.finish(|| {
        Some(EncounterPage {
            patient_id: patient_id?,
            size: size?,
            after: after?,
        })
    })?)
}

pub(crate) fn closing(message: &pb::CloseEncounterRequest) -> Result<Closing> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let id = violations.id("id", &message.id);
    let etag = violations.optional_etag("etag", &message.etag);
    Ok(violations.finish(|| {
        Some(Closing {
            key: key?,
            id: id?,
            etag,
        })
    })?)
}

pub(crate) fn note(message: &pb::AddNoteRequest, now: DateTime<Utc>) -> Result<NewNote> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    if message.note.is_none() {
        violations.add("note", "is required");
    }
    let note = message.note.clone().unwrap_or_default();
    let encounter_id = violations.id("note.encounter_id", &note.encounter_id);
    let kind = violations.check("note.kind", parse_note_kind(note.kind));
    let text = violations.check("note.text", parse_note_text(&note.text));
    let record_time = violations.check(
        "note.record_time",
        past_or_now(note.record_time.as_ref(), now),
    );
    Ok(violations.finish(|| {
        Some(NewNote {
            key: key?,
            encounter_id: encounter_id?,
            kind: kind?,
            text: text?,
            record_time: record_time?,
        })
    })?)
}

/// A code the request must carry (the terminology checks what it is).
fn required_code(violations: &mut Violations, field: &str, code: &str) -> String {
    if code.trim().is_empty() {
        violations.add(field, "is required");
    }
    code.to_owned()
}

pub(crate) fn diagnosis(message: &pb::RecordDiagnosisRequest) -> Result<NewDiagnosis> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    if message.diagnosis.is_none() {
        violations.add("diagnosis", "is required");
    }
    let diagnosis = message.diagnosis.clone().unwrap_or_default();
    let encounter_id = violations.id("diagnosis.encounter_id", &diagnosis.encounter_id);
    let role = violations.check("diagnosis.role", parse_role(diagnosis.role));
    let certainty = violations.check("diagnosis.certainty", parse_certainty(diagnosis.certainty));
    let note = violations.check("diagnosis.note", Text::parse(&diagnosis.note));
    let code = required_code(&mut violations, "diagnosis.code", &diagnosis.code);
    Ok(violations.finish(|| {
        Some(NewDiagnosis {
            key: key?,
            encounter_id: encounter_id?,
            code,
            role: role?,
            certainty: certainty?,
            note: note?,
        })
    })?)
}

pub(crate) fn procedure(
    message: &pb::RecordProcedureRequest,
    now: DateTime<Utc>,
) -> Result<NewProcedure> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    if message.procedure.is_none() {
        violations.add("procedure", "is required");
    }
    let procedure = message.procedure.clone().unwrap_or_default();
    let encounter_id = violations.id("procedure.encounter_id", &procedure.encounter_id);
    let performed = violations.check(
        "procedure.performed_time",
        past_or_now(procedure.performed_time.as_ref(), now),
    );
    let performer = violations.optional_id("procedure.performer_id", &procedure.performer_id);
    let note = violations.check("procedure.note", Text::parse(&procedure.note));
    let code = required_code(&mut violations, "procedure.code", &procedure.code);
    Ok(violations.finish(|| {
        Some(NewProcedure {
            key: key?,
            encounter_id: encounter_id?,
            code,
            performed: performed?,
            performer: performer?,
            note: note?,
        })
    })?)
}

pub(crate) fn allergy(message: &pb::RecordAllergyRequest) -> Result<NewAllergy> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    if message.allergy.is_none() {
        violations.add("allergy", "is required");
    }
    let allergy = message.allergy.clone().unwrap_or_default();
    let patient_id = violations.id("allergy.patient_id", &allergy.patient_id);
    let category = violations.check("allergy.category", parse_category(allergy.category));
    let kind = violations.check("allergy.kind", parse_reaction_kind(allergy.kind));
    let severity = violations.check("allergy.severity", parse_severity(allergy.severity));
    let atc = if allergy.substance_atc_code.trim().is_empty() {
        Some(String::new())
    } else {
        violations.check(
            "allergy.substance_atc_code",
            parse_atc(&allergy.substance_atc_code),
        )
    };
    let substance = violations.check(
        "allergy.substance_text",
        Text::parse(&allergy.substance_text),
    );
    let reaction = violations.check("allergy.reaction", Text::parse(&allergy.reaction));
    if let (Some(atc), Some(substance)) = (&atc, &substance)
        && atc.is_empty()
        && substance.as_str().is_empty()
    {
        violations.add(
            "allergy.substance_text",
            "name the substance (or give its ATC code)",
        );
    }
    if let (Some(atc), Some(category)) = (&atc, category)
        && !atc.is_empty()
        && category != AllergyCategory::Medication
    {
        violations.add(
            "allergy.substance_atc_code",
            "only medicine allergies take an ATC code",
        );
    }
    Ok(violations.finish(|| {
        Some(NewAllergy {
            key: key?,
            patient_id: patient_id?,
            category: category?,
            kind: kind?,
            severity: severity?,
            atc: atc?,
            substance: substance?,
            reaction: reaction?,
        })
    })?)
}

pub(crate) fn referral(message: &pb::CreateReferralRequest) -> Result<NewReferral> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    if message.referral.is_none() {
        violations.add("referral", "is required");
    }
    let referral = message.referral.clone().unwrap_or_default();
    let encounter_id = violations.id("referral.encounter_id", &referral.encounter_id);
    let kind = violations.check("referral.kind", parse_referral_kind(referral.kind));
    let urgency = violations.check("referral.urgency", parse_urgency(referral.urgency));
    let reason = violations.check("referral.reason", Text::parse_required(&referral.reason));
    let specialty = violations.check("referral.specialty", Text::parse(&referral.specialty));
    let target = violations.optional_id(
        "referral.target_department_id",
        &referral.target_department_id,
    );
    match kind {
        Some(ReferralKind::Consultation) => {
            if specialty.as_ref().is_some_and(|s| s.as_str().is_empty()) {
                violations.add("referral.specialty", "is required for a consultation");
            }
            if !referral.investigation_codes.is_empty() {
                violations.add(
                    "referral.investigation_codes",
                    "a consultation names a specialty, not investigations",
                );
            }
        }
        Some(_) if referral.investigation_codes.is_empty() => violations.add(
            "referral.investigation_codes",
            "name at least one investigation",
        ),
        _ => {}
    }
    Ok(violations.finish(|| {
        Some(NewReferral {
            key: key?,
            encounter_id: encounter_id?,
            kind: kind?,
            urgency: urgency?,
            reason: reason?,
            specialty: specialty?,
            target: target?,
            investigation_codes: referral.investigation_codes,
        })
    })?)
}

fn order(message: Option<&pb::Prescription>, violations: &mut Violations) -> Option<Order> {
    let Some(prescription) = message else {
        violations.add("prescription", "is required");
        return None;
    };
    let encounter_id = violations.id("prescription.encounter_id", &prescription.encounter_id);
    let medicine_id = violations.id("prescription.medicine_id", &prescription.medicine_id);
    let dose = violations.check("prescription.dose", Amount::parse(&prescription.dose));
    let dose_unit = prescription.dose_unit.trim().to_owned();
    if dose_unit.is_empty() {
        violations.add("prescription.dose_unit", "is required");
    }
    let route = violations.check("prescription.route", parse_route(prescription.route));
    let times_per_day = match u32::try_from(prescription.times_per_day) {
        Ok(times) if (1..=24).contains(&times) => Some(times),
        _ => {
            violations.add("prescription.times_per_day", "must be from 1 to 24");
            None
        }
    };
    let mut times_of_day = Vec::new();
    for (index, time) in prescription.times_of_day.iter().enumerate() {
        if let Some(time) = violations.check(
            &format!("prescription.times_of_day[{index}]"),
            parse_time_of_day(time),
        ) {
            times_of_day.push(time);
        }
    }
    if let Some(times) = times_per_day
        && !prescription.times_of_day.is_empty()
        && prescription.times_of_day.len() != times as usize
    {
        violations.add(
            "prescription.times_of_day",
            format!("must list {times} times, one per dose"),
        );
    }
    if prescription.as_needed && !prescription.times_of_day.is_empty() {
        violations.add(
            "prescription.times_of_day",
            "an as-needed medicine has no fixed times",
        );
    }
    let as_needed_reason = violations.check(
        "prescription.as_needed_reason",
        Text::parse(&prescription.as_needed_reason),
    );
    let start_time = violations
        .check(
            "prescription.start_time",
            parse_timestamp(prescription.start_time.as_ref()),
        )
        .flatten();
    let stop_time = violations
        .check(
            "prescription.stop_time",
            parse_timestamp(prescription.stop_time.as_ref()),
        )
        .flatten();
    if let (Some(start), Some(stop)) = (start_time, stop_time)
        && stop <= start
    {
        violations.add("prescription.stop_time", "must be after start_time");
    }
    let instructions = violations.check(
        "prescription.instructions",
        Text::parse(&prescription.instructions),
    );
    Some(Order {
        encounter_id: encounter_id?,
        medicine_id: medicine_id?,
        dose: dose?,
        dose_unit,
        route: route?,
        times_per_day: times_per_day?,
        times_of_day,
        as_needed: prescription.as_needed,
        as_needed_reason: as_needed_reason?.as_str().to_owned(),
        start_time,
        stop_time,
        instructions: instructions?.as_str().to_owned(),
        take_home: prescription.take_home,
    })
}

/// An order to check, nothing written.
pub(crate) fn check(message: &pb::CheckPrescriptionRequest) -> Result<Order> {
    let mut violations = Violations::default();
    let order = order(message.prescription.as_ref(), &mut violations);
    Ok(violations.finish(|| order)?)
}

/// An order to write, and the reason that overrides severe warnings when one is given.
pub(crate) fn prescription(
    message: &pb::CreatePrescriptionRequest,
) -> Result<(RequestKey, Order, Text)> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let order = order(message.prescription.as_ref(), &mut violations);
    let override_reason =
        violations.check("override_reason", Text::parse(&message.override_reason));
    Ok(violations.finish(|| Some((key?, order?, override_reason?)))?)
}

pub(crate) fn discontinuation(
    message: &pb::DiscontinuePrescriptionRequest,
) -> Result<Discontinuation> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let id = violations.id("id", &message.id);
    let reason = violations.check("reason", Text::parse_required(&message.reason));
    let etag = violations.optional_etag("etag", &message.etag);
    Ok(violations.finish(|| {
        Some(Discontinuation {
            key: key?,
            id: id?,
            reason: reason?,
            etag,
        })
    })?)
}

/// An encounter or a patient, not both.
pub(crate) fn prescription_subject(
    message: &pb::ListPrescriptionsRequest,
) -> Result<PrescriptionPage> {
    let mut violations = Violations::default();
    let subject = match (message.encounter_id.trim(), message.patient_id.trim()) {
        ("", "") => {
            violations.add("encounter_id", "name an encounter or a patient_id");
            None
        }
        (encounter, "") => violations
            .id("encounter_id", encounter)
            .map(PrescriptionPage::Encounter),
        ("", patient) => violations
            .id("patient_id", patient)
            .map(PrescriptionPage::Patient),
        _ => {
            violations.add("patient_id", "name an encounter or a patient, not both");
            None
        }
    };
    Ok(violations.finish(|| subject)?)
}

pub(crate) fn ward_round(message: &pb::GetWardMedicationOrderRequest) -> Result<WardRound> {
    let mut violations = Violations::default();
    let department_id = violations.id("department_id", &message.department_id);
    let start_date = violations.optional_date("start_date", &message.start_date);
    let days = match message.days {
        0 => 1,
        days if (1..=MAX_DAYS).contains(&days) => days,
        _ => {
            violations.add("days", format!("must be from 1 to {MAX_DAYS}"));
            1
        }
    };
    Ok(violations.finish(|| {
        Some(WardRound {
            department_id: department_id?,
            start_date: start_date?,
            days,
        })
    })?)
}

fn status_label(status: i32) -> Option<&'static str> {
    match pb::AdministrationStatus::try_from(status) {
        Ok(pb::AdministrationStatus::Given) => Some("given"),
        Ok(pb::AdministrationStatus::Refused) => Some("refused"),
        Ok(pb::AdministrationStatus::Held) => Some("held"),
        _ => None,
    }
}

pub(crate) fn administration(
    message: &pb::RecordAdministrationRequest,
    now: DateTime<Utc>,
) -> Result<Given> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    if message.administration.is_none() {
        violations.add("administration", "is required");
    }
    let given = message.administration.clone().unwrap_or_default();
    let prescription_id = violations.id("administration.prescription_id", &given.prescription_id);
    let status = status_label(given.status);
    if status.is_none() {
        violations.add("administration.status", "is required");
    }
    let reason = violations.check("administration.reason", Text::parse(&given.reason));
    if status.is_some_and(|status| status != "given")
        && reason
            .as_ref()
            .is_some_and(|reason| reason.as_str().is_empty())
    {
        violations.add("administration.reason", "say why the dose was not given");
    }
    let scheduled = violations.check(
        "administration.scheduled_time",
        parse_timestamp(given.scheduled_time.as_ref()),
    );
    let administered = violations.check(
        "administration.administered_time",
        past_or_now(given.administered_time.as_ref(), now),
    );
    Ok(violations.finish(|| {
        Some(Given {
            key: key?,
            prescription_id: prescription_id?,
            status: status?,
            reason: reason?,
            scheduled: scheduled?,
            administered: administered?,
        })
    })?)
}

pub(crate) fn verification(message: &pb::VerifyPrescriptionRequest) -> Result<Verification> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let prescription_id = violations.id("prescription_id", &message.prescription_id);
    let etag = violations.optional_etag("etag", &message.etag);
    Ok(violations.finish(|| {
        Some(Verification {
            key: key?,
            prescription_id: prescription_id?,
            etag,
        })
    })?)
}

/// A nurse's question (`id_field` the prescription's) or a prescriber's answer (the query's).
pub(crate) fn exchange(
    request_id: &str,
    (id_field, id): (&str, &str),
    (text_field, text): (&str, &str),
) -> Result<Exchange> {
    let mut violations = Violations::default();
    let key = violations.request_key(request_id);
    let id = violations.id(id_field, id);
    let text = violations.check(text_field, Text::parse_required(text));
    Ok(violations.finish(|| {
        Some(Exchange {
            key: key?,
            id: id?,
            text: text?,
        })
    })?)
}

/// A ward or an encounter, not both.
pub(crate) fn query_page(message: &pb::ListPrescriptionQueriesRequest) -> Result<QueryPage> {
    let mut violations = Violations::default();
    let page = match (message.department_id.trim(), message.encounter_id.trim()) {
        ("", "") => {
            violations.add("department_id", "name a ward or an encounter_id");
            None
        }
        (_, "") => violations
            .id("department_id", &message.department_id)
            .map(QueryPage::Ward),
        ("", _) => violations
            .id("encounter_id", &message.encounter_id)
            .map(QueryPage::Encounter),
        _ => {
            violations.add("encounter_id", "name a ward or an encounter, not both");
            None
        }
    };
    Ok(violations.finish(|| page)?)
}

/// Vital signs: each a coded kind at most once, in its unit, within its range.
pub(crate) fn vital_signs(
    message: &pb::RecordVitalSignsRequest,
    now: DateTime<Utc>,
) -> Result<NursingWrite> {
    use crate::domain::nursing::{parse_value, sign_kind};
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let encounter_id = violations.id("encounter_id", &message.encounter_id);
    if message.vital_signs.is_empty() {
        violations.add("vital_signs", "record at least one");
    }
    if message.vital_signs.len() > crate::domain::nursing::SIGN_KINDS.len() {
        violations.add("vital_signs", "at most one of each kind");
    }
    let mut signs = Vec::new();
    for (index, sign) in message.vital_signs.iter().enumerate().take(32) {
        let field = |name: &str| format!("vital_signs[{index}].{name}");
        let Some(kind) = sign_kind(&sign.code) else {
            violations.add(
                field("code"),
                "is not a vital sign the nursing record codes",
            );
            continue;
        };
        if signs
            .iter()
            .any(|kept: &crate::store::StoredSign| kept.code == kind.code)
        {
            violations.add(field("code"), "is given twice");
            continue;
        }
        let unit = sign.unit.trim();
        if !unit.is_empty() && unit != kind.unit {
            violations.add(
                field("unit"),
                format!("{} is recorded in {}", kind.name, kind.unit),
            );
        }
        if let Some(value) = violations.check(&field("value"), parse_value(kind, &sign.value)) {
            signs.push(crate::store::StoredSign {
                code: kind.code.to_owned(),
                value,
                unit: kind.unit.to_owned(),
            });
        }
    }
    let observed = violations.check(
        "observe_time",
        past_or_now(message.observe_time.as_ref(), now),
    );
    Ok(violations.finish(|| {
        Some(NursingWrite {
            key: key?,
            encounter_id: encounter_id?,
            charted: Charted::VitalSigns(signs),
            observed: observed?,
        })
    })?)
}

/// A nursing note or a care given.
pub(crate) fn nursing_entry(
    message: &pb::AddNursingEntryRequest,
    now: DateTime<Utc>,
) -> Result<NursingWrite> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    if message.entry.is_none() {
        violations.add("entry", "is required");
    }
    let entry = message.entry.clone().unwrap_or_default();
    let encounter_id = violations.id("entry.encounter_id", &entry.encounter_id);
    let text = violations.check("entry.text", parse_note_text(&entry.text));
    let kind = match pb::NursingEntryKind::try_from(entry.kind) {
        Ok(pb::NursingEntryKind::Note) => Some(Charted::Note as fn(String) -> Charted),
        Ok(pb::NursingEntryKind::Care) => Some(Charted::Care as fn(String) -> Charted),
        Ok(pb::NursingEntryKind::VitalSigns) => {
            violations.add(
                "entry.kind",
                "vital signs are recorded with RecordVitalSigns",
            );
            None
        }
        _ => {
            violations.add("entry.kind", "is required: a note or a care");
            None
        }
    };
    let observed = violations.check(
        "entry.observe_time",
        past_or_now(entry.observe_time.as_ref(), now),
    );
    Ok(violations.finish(|| {
        Some(NursingWrite {
            key: key?,
            encounter_id: encounter_id?,
            charted: kind?(text?),
            observed: observed?,
        })
    })?)
}
