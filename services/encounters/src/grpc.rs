//! The tonic adapter of encounters: parse the request, check codes with the terminology,
//! authorize against the encounter's ward, then do the change in one transaction under the
//! request's idempotency key, with its events and its audit record. Prescribing lives in
//! `prescribing.rs`, the formulary in `formulary.rs`, the extract in `extract.rs`.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use hmis_platform::audit::{self, AuditEntry};
use hmis_platform::auth::Target;
use hmis_platform::call::{Calls, Shown};
use hmis_platform::context::PatientAccess;
use hmis_platform::idempotency::RequestKey;
use hmis_platform::paging::{PageSize, decode_token, finish_page};
use hmis_platform::types::{Text, Version, parse_uuid};
use hmis_platform::{RequestContext, TenantTx, Violations};
use hmis_proto::openhmis::encounters::v1 as pb;
use pb::encounter_service_server::EncounterService;
use prost::Message;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::convert::{
    admission_state, allergy_to_pb, diagnosis_to_pb, encounter_to_pb, note_to_pb, parse_category,
    parse_certainty, parse_note_kind, parse_reaction_kind, parse_referral_kind, parse_role,
    parse_severity, parse_urgency, past_or_now, procedure_to_pb, referral_to_pb,
};
use crate::directory::Directory;
use crate::domain::{
    AllergyCategory, EncounterKind, EncounterStatus, ReferralKind, parse_atc, parse_note_text,
};
use crate::error::{Error, Result};
use crate::events;
use crate::store::{
    self, AllergyRow, DiagnosisRow, EncounterRow, Lock, NoteRow, ProcedureRow, ReferralRow,
};

pub(crate) const READ: &str = "encounters.read";
pub(crate) const WRITE: &str = "encounters.write";

const SERVICE: &str = "/openhmis.encounters.v1.EncounterService/";

/// The diagnosis classification, the procedure classification, the laboratory tests and the
/// medicines, as the terminology names them.
pub(crate) const ICD10: &str = "icd10";
pub(crate) const PROCEDURES: &str = "achi";
pub(crate) const LABORATORY: &str = "loinc";
pub(crate) const MEDICINES: &str = "atc";

#[derive(Debug)]
pub(crate) struct Ward {
    pub(crate) calls: Calls<Error>,
    pub(crate) directory: Directory,
}

#[derive(Debug, Clone)]
pub struct EncounterApi {
    pub(crate) ward: Arc<Ward>,
}

pub(crate) fn parse_id(field: &str, value: &str, violations: &mut Violations) -> Option<Uuid> {
    violations.check(field, parse_uuid(value))
}

pub(crate) fn parse_optional_id(
    field: &str,
    value: &str,
    violations: &mut Violations,
) -> Option<Option<Uuid>> {
    if value.trim().is_empty() {
        Some(None)
    } else {
        parse_id(field, value, violations).map(Some)
    }
}

pub(crate) fn parse_optional_etag(value: &str, violations: &mut Violations) -> Option<Version> {
    if value.trim().is_empty() {
        None
    } else {
        violations.check("etag", Version::parse_etag(value))
    }
}

pub(crate) fn target_of(row: &EncounterRow) -> Target {
    Target::department(row.facility_id, row.department_id)
}

/// A refusal to act on `patient`'s record, audited once the transaction rolled back.
pub(crate) fn refused(patient: Uuid) -> impl Fn(Status) -> Error {
    move |status| Error::Refused {
        status,
        patients: vec![patient],
    }
}

/// Records may be completed after discharge (coding, the summary), never on a cancelled
/// admission's encounter.
pub(crate) fn require_not_cancelled(row: &EncounterRow) -> Result<()> {
    if row.status == EncounterStatus::Cancelled.as_db() {
        return Err(Error::precondition(
            "the encounter's admission was cancelled; nothing may be recorded in it",
        ));
    }
    Ok(())
}

/// Orders and referrals go to patients under care now.
pub(crate) fn require_open(row: &EncounterRow) -> Result<()> {
    if row.status != EncounterStatus::Open.as_db() {
        return Err(Error::precondition(format!(
            "the encounter is {}; orders need an open encounter",
            row.status
        )));
    }
    Ok(())
}

/// May the caller reach the patient's own records (allergies, encounter list) with
/// `permission`? Yes when it may in a ward the patient was cared for (or tenant-wide);
/// otherwise only by break-glass. A refusal is audited after the transaction rolled back.
pub(crate) async fn patient_access(
    tx: &mut TenantTx,
    context: &RequestContext,
    patient_id: Uuid,
    permission: &str,
) -> Result<PatientAccess> {
    let places = store::patient_places(tx, patient_id).await?;
    let principal = context.principal()?;
    let targets: Vec<Target> = places
        .iter()
        .map(|(facility, department)| Target::department(*facility, *department))
        .collect();
    if targets
        .iter()
        .any(|target| principal.is_allowed(permission, target))
        || principal.is_allowed(permission, &Target::TENANT)
    {
        return Ok(PatientAccess::InScope);
    }
    let target = targets.first().copied().unwrap_or(Target::TENANT);
    context
        .authorize_patient(permission, &target)
        .map_err(refused(patient_id))
}

impl Ward {
    pub(crate) fn method(rpc: &str) -> String {
        format!("{SERVICE}{rpc}")
    }

    /// The full method name of an rpc of another service of this module.
    pub(crate) fn method_of(service: &str, rpc: &str) -> String {
        format!("/openhmis.encounters.v1.{service}/{rpc}")
    }

    /// A read's transaction, in the caller's tenant.
    pub(crate) async fn read_tx(&self, context: &RequestContext) -> Result<TenantTx> {
        self.calls.begin_read(context).await
    }

    /// Records what a read showed in the read's own transaction and commits it, so the
    /// record is durable before the answer leaves.
    pub(crate) async fn commit_read(
        &self,
        tx: TenantTx,
        context: &RequestContext,
        shown: Shown,
    ) -> Result<()> {
        self.calls.commit_read(tx, context, &shown).await
    }

    /// An encounter read for a read call: found, and the caller may see its patient (in scope
    /// or by break-glass); a refusal is audited.
    pub(crate) async fn readable_encounter(
        &self,
        tx: &mut TenantTx,
        context: &RequestContext,
        id: Uuid,
    ) -> Result<(EncounterRow, PatientAccess)> {
        let row = store::get_encounter(tx, id, Lock::None).await?;
        match context.authorize_patient(READ, &target_of(&row)) {
            Ok(access) => Ok((row, access)),
            Err(denied) => Err(self.calls.refuse(context, &[row.patient_id], denied).await),
        }
    }

    /// The encounter `id`, for a change the caller makes with `permission` in its ward.
    pub(crate) async fn encounter_for_change(
        tx: &mut TenantTx,
        context: &RequestContext,
        id: Uuid,
        permission: &str,
    ) -> Result<EncounterRow> {
        let row = store::get_encounter(tx, id, Lock::None).await?;
        context
            .authorize(permission, &target_of(&row))
            .map_err(refused(row.patient_id))?;
        require_not_cancelled(&row)?;
        Ok(row)
    }

    /// Which patient an encounter is of, before the write (for the audit of a refusal).
    pub(crate) async fn patient_of(&self, context: &RequestContext, id: Uuid) -> Result<Uuid> {
        let mut tx = self.read_tx(context).await?;
        let row = store::get_encounter(&mut tx, id, Lock::None).await?;
        tx.commit().await?;
        Ok(row.patient_id)
    }
}

#[tonic::async_trait]
impl EncounterService for EncounterApi {
    #[tracing::instrument(skip_all)]
    async fn open_encounter(
        &self,
        request: Request<pb::OpenEncounterRequest>,
    ) -> Result<Response<pb::OpenEncounterResponse>, Status> {
        let context = RequestContext::of(&request);
        let ward = &self.ward;
        context.authorize_any(WRITE)?;
        let message = request.into_inner();
        let now = ward.calls.now();
        let mut violations = Violations::default();
        let key = violations.check("request_id", RequestKey::parse(&message.request_id));
        let admission_id =
            parse_optional_id("admission_id", &message.admission_id, &mut violations).flatten();
        let patient_id =
            parse_optional_id("patient_id", &message.patient_id, &mut violations).flatten();
        let department_id =
            parse_optional_id("department_id", &message.department_id, &mut violations).flatten();
        // Either an admission, or a patient in a clinic: said on the raw fields, so a wrong
        // combination is named even when a value is malformed too.
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
        let (Some(key), true) = (key, violations.is_empty()) else {
            return Err(Error::from(violations).into());
        };
        if let Some(replayed) = ward
            .calls
            .replay(&context, &Ward::method("OpenEncounter"), &key, &message)
            .await?
        {
            return Ok(Response::new(replayed));
        }
        let response = if let Some(admission_id) = admission_id {
            // The admission as admissions answers it now (the caller must be allowed to read
            // it there); its encounter may exist already, from the admission's events.
            let admission = ward.directory.admission(&context, admission_id).await?;
            let snapshot = admission.encode_to_vec();
            let _patient_id = Uuid::parse_str(&admission.patient_id)
                .map_err(|_| Error::CorruptRow("admission patient"))?;
            ward.calls
                .write(
                    &context,
                    &Ward::method("OpenEncounter"),
                    &key,
                    &message,
                    async |tx| {
                        let state = admission_state(&admission, &snapshot)
                            .map_err(|_| Error::CorruptRow("admission"))?;
                        let row = store::follow_admission(tx, &state, now).await?;
                        context
                            .authorize(WRITE, &target_of(&row))
                            .map_err(refused(row.patient_id))?;
                        audit::record(tx, &context, &AuditEntry::ok(&[row.patient_id]), now)
                            .await?;
                        Ok(pb::OpenEncounterResponse {
                            encounter: Some(encounter_to_pb(&row)?),
                        })
                    },
                )
                .await?
        } else {
            let (Some(patient_id), Some(department_id)) = (patient_id, department_id) else {
                return Err(Error::CorruptRow("outpatient request").into());
            };
            let clinic = ward.directory.clinic(&context, department_id).await?;
            if !clinic.active {
                return Err(Error::precondition("the clinic is closed").into());
            }
            ward.directory.check_patient(&context, patient_id).await?;
            ward.calls
                .write(
                    &context,
                    &Ward::method("OpenEncounter"),
                    &key,
                    &message,
                    async |tx| {
                        context
                            .authorize(
                                WRITE,
                                &Target::department(clinic.facility_id, department_id),
                            )
                            .map_err(refused(patient_id))?;
                        let row = store::insert_outpatient(
                            tx,
                            patient_id,
                            clinic.facility_id,
                            department_id,
                            now,
                        )
                        .await?;
                        audit::record(tx, &context, &AuditEntry::ok(&[patient_id]), now).await?;
                        Ok(pb::OpenEncounterResponse {
                            encounter: Some(encounter_to_pb(&row)?),
                        })
                    },
                )
                .await?
        };
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all)]
    async fn get_encounter(
        &self,
        request: Request<pb::GetEncounterRequest>,
    ) -> Result<Response<pb::GetEncounterResponse>, Status> {
        let context = RequestContext::of(&request);
        let ward = &self.ward;
        context.authorize_any(READ)?;
        let mut violations = Violations::default();
        let Some(id) = parse_id("id", &request.get_ref().id, &mut violations) else {
            return Err(Error::from(violations).into());
        };
        let _now = ward.calls.now();
        let mut tx = ward.read_tx(&context).await?;
        let (row, access) = ward.readable_encounter(&mut tx, &context, id).await?;
        ward.commit_read(tx, &context, Shown::patient(row.patient_id, &access))
            .await?;
        Ok(Response::new(pb::GetEncounterResponse {
            encounter: Some(encounter_to_pb(&row)?),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn list_encounters(
        &self,
        request: Request<pb::ListEncountersRequest>,
    ) -> Result<Response<pb::ListEncountersResponse>, Status> {
        let context = RequestContext::of(&request);
        let ward = &self.ward;
        context.authorize_any(READ)?;
        let message = request.get_ref();
        let mut violations = Violations::default();
        let patient_id = parse_id("patient_id", &message.patient_id, &mut violations);
        let size = violations.check("page_size", PageSize::parse(message.page_size));
        let after = violations
            .check(
                "page_token",
                decode_token::<(DateTime<Utc>, Uuid)>(&message.page_token),
            )
            .flatten();
        let (Some(patient_id), Some(size), true) = (patient_id, size, violations.is_empty()) else {
            return Err(Error::from(violations).into());
        };
        let _now = ward.calls.now();
        let mut tx = ward.read_tx(&context).await?;
        let access = match patient_access(&mut tx, &context, patient_id, READ).await {
            Ok(access) => access,
            Err(Error::Refused { status, .. }) => {
                drop(tx);
                return Err(ward
                    .calls
                    .refuse(&context, &[patient_id], status)
                    .await
                    .into());
            }
            Err(error) => return Err(error.into()),
        };
        let rows =
            store::encounters_of_patient(&mut tx, patient_id, after, size.fetch_limit()).await?;
        ward.commit_read(tx, &context, Shown::patient(patient_id, &access))
            .await?;
        let (rows, next_page_token) = finish_page(rows, size, |row| (row.start_time, row.id));
        Ok(Response::new(pb::ListEncountersResponse {
            encounters: rows
                .iter()
                .map(encounter_to_pb)
                .collect::<Result<Vec<_>>>()?,
            next_page_token,
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn close_encounter(
        &self,
        request: Request<pb::CloseEncounterRequest>,
    ) -> Result<Response<pb::CloseEncounterResponse>, Status> {
        let context = RequestContext::of(&request);
        let ward = &self.ward;
        context.authorize_any(WRITE)?;
        let message = request.into_inner();
        let now = ward.calls.now();
        let mut violations = Violations::default();
        let key = violations.check("request_id", RequestKey::parse(&message.request_id));
        let id = parse_id("id", &message.id, &mut violations);
        let etag = parse_optional_etag(&message.etag, &mut violations);
        let (Some(key), Some(id), true) = (key, id, violations.is_empty()) else {
            return Err(Error::from(violations).into());
        };
        if let Some(replayed) = ward
            .calls
            .replay(&context, &Ward::method("CloseEncounter"), &key, &message)
            .await?
        {
            return Ok(Response::new(replayed));
        }
        let _patient_id = ward.patient_of(&context, id).await?;
        let response = ward
            .calls
            .write(
                &context,
                &Ward::method("CloseEncounter"),
                &key,
                &message,
                async |tx| {
                    let row = store::get_encounter(tx, id, Lock::ForUpdate).await?;
                    context
                        .authorize(WRITE, &target_of(&row))
                        .map_err(refused(row.patient_id))?;
                    if row.kind != EncounterKind::Outpatient.as_db() {
                        return Err(Error::precondition(
                            "an inpatient encounter closes with its discharge",
                        ));
                    }
                    require_open(&row)?;
                    if let Some(etag) = etag
                        && Version::from_db(row.version) != etag
                    {
                        return Err(Error::Stale("encounter"));
                    }
                    let closed = store::close_outpatient(tx, id, now).await?;
                    audit::record(tx, &context, &AuditEntry::ok(&[row.patient_id]), now).await?;
                    Ok(pb::CloseEncounterResponse {
                        encounter: Some(encounter_to_pb(&closed)?),
                    })
                },
            )
            .await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all)]
    async fn add_note(
        &self,
        request: Request<pb::AddNoteRequest>,
    ) -> Result<Response<pb::AddNoteResponse>, Status> {
        let context = RequestContext::of(&request);
        let ward = &self.ward;
        context.authorize_any(WRITE)?;
        let message = request.into_inner();
        let now = ward.calls.now();
        let note = message.note.clone().unwrap_or_default();
        let mut violations = Violations::default();
        let key = violations.check("request_id", RequestKey::parse(&message.request_id));
        if message.note.is_none() {
            violations.add("note", "is required");
        }
        let encounter_id = parse_id("note.encounter_id", &note.encounter_id, &mut violations);
        let kind = violations.check("note.kind", parse_note_kind(note.kind));
        let text = violations.check("note.text", parse_note_text(&note.text));
        let record_time = violations.check(
            "note.record_time",
            past_or_now(note.record_time.as_ref(), now),
        );
        let (Some(key), Some(encounter_id), Some(kind), Some(text), Some(record_time), true) = (
            key,
            encounter_id,
            kind,
            text,
            record_time,
            violations.is_empty(),
        ) else {
            return Err(Error::from(violations).into());
        };
        if let Some(replayed) = ward
            .calls
            .replay(&context, &Ward::method("AddNote"), &key, &message)
            .await?
        {
            return Ok(Response::new(replayed));
        }
        let _patient_id = ward.patient_of(&context, encounter_id).await?;
        let response = ward
            .calls
            .write(
                &context,
                &Ward::method("AddNote"),
                &key,
                &message,
                async |tx| {
                    let row = Ward::encounter_for_change(tx, &context, encounter_id, WRITE).await?;
                    let note = NoteRow {
                        id: Uuid::now_v7(),
                        encounter_id,
                        kind: kind.as_db().to_owned(),
                        text,
                        author_id: context.user_id(),
                        record_time,
                    };
                    store::insert_note(tx, &note, now).await?;
                    audit::record(tx, &context, &AuditEntry::ok(&[row.patient_id]), now).await?;
                    Ok(pb::AddNoteResponse {
                        note: Some(note_to_pb(&note)),
                    })
                },
            )
            .await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all)]
    async fn record_diagnosis(
        &self,
        request: Request<pb::RecordDiagnosisRequest>,
    ) -> Result<Response<pb::RecordDiagnosisResponse>, Status> {
        let context = RequestContext::of(&request);
        let ward = &self.ward;
        context.authorize_any(WRITE)?;
        let message = request.into_inner();
        let now = ward.calls.now();
        let diagnosis = message.diagnosis.clone().unwrap_or_default();
        let mut violations = Violations::default();
        let key = violations.check("request_id", RequestKey::parse(&message.request_id));
        if message.diagnosis.is_none() {
            violations.add("diagnosis", "is required");
        }
        let encounter_id = parse_id(
            "diagnosis.encounter_id",
            &diagnosis.encounter_id,
            &mut violations,
        );
        let role = violations.check("diagnosis.role", parse_role(diagnosis.role));
        let certainty =
            violations.check("diagnosis.certainty", parse_certainty(diagnosis.certainty));
        let note = violations.check("diagnosis.note", Text::parse(&diagnosis.note));
        if diagnosis.code.trim().is_empty() {
            violations.add("diagnosis.code", "is required");
        }
        let (Some(key), Some(encounter_id), Some(role), Some(certainty), Some(note), true) = (
            key,
            encounter_id,
            role,
            certainty,
            note,
            violations.is_empty(),
        ) else {
            return Err(Error::from(violations).into());
        };
        if let Some(replayed) = ward
            .calls
            .replay(&context, &Ward::method("RecordDiagnosis"), &key, &message)
            .await?
        {
            return Ok(Response::new(replayed));
        }
        let checked = ward
            .directory
            .check_codes(
                &context,
                ICD10,
                "diagnosis.code",
                std::slice::from_ref(&diagnosis.code),
                false,
            )
            .await?;
        let code = checked
            .into_iter()
            .next()
            .ok_or(Error::CorruptRow("code check"))?;
        let _patient_id = ward.patient_of(&context, encounter_id).await?;
        let response = ward
            .calls
            .write(
                &context,
                &Ward::method("RecordDiagnosis"),
                &key,
                &message,
                async |tx| {
                    let row = Ward::encounter_for_change(tx, &context, encounter_id, WRITE).await?;
                    let diagnosis = DiagnosisRow {
                        id: Uuid::now_v7(),
                        encounter_id,
                        patient_id: row.patient_id,
                        code: code.code,
                        code_version: code.version,
                        display: code.display,
                        role: role.as_db().to_owned(),
                        certainty: certainty.as_db().to_owned(),
                        note: note.as_str().to_owned(),
                        recorded_by: context.user_id(),
                        record_time: now,
                    };
                    store::insert_diagnosis(tx, &diagnosis).await?;
                    let diagnosis = diagnosis_to_pb(&diagnosis);
                    events::diagnosis_recorded(tx, &row, &diagnosis, now).await?;
                    audit::record(tx, &context, &AuditEntry::ok(&[row.patient_id]), now).await?;
                    Ok(pb::RecordDiagnosisResponse {
                        diagnosis: Some(diagnosis),
                    })
                },
            )
            .await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all)]
    async fn record_procedure(
        &self,
        request: Request<pb::RecordProcedureRequest>,
    ) -> Result<Response<pb::RecordProcedureResponse>, Status> {
        let context = RequestContext::of(&request);
        let ward = &self.ward;
        context.authorize_any(WRITE)?;
        let message = request.into_inner();
        let now = ward.calls.now();
        let procedure = message.procedure.clone().unwrap_or_default();
        let mut violations = Violations::default();
        let key = violations.check("request_id", RequestKey::parse(&message.request_id));
        if message.procedure.is_none() {
            violations.add("procedure", "is required");
        }
        let encounter_id = parse_id(
            "procedure.encounter_id",
            &procedure.encounter_id,
            &mut violations,
        );
        let performed = violations.check(
            "procedure.performed_time",
            past_or_now(procedure.performed_time.as_ref(), now),
        );
        let performer = parse_optional_id(
            "procedure.performer_id",
            &procedure.performer_id,
            &mut violations,
        );
        let note = violations.check("procedure.note", Text::parse(&procedure.note));
        if procedure.code.trim().is_empty() {
            violations.add("procedure.code", "is required");
        }
        let (Some(key), Some(encounter_id), Some(performed), Some(performer), Some(note), true) = (
            key,
            encounter_id,
            performed,
            performer,
            note,
            violations.is_empty(),
        ) else {
            return Err(Error::from(violations).into());
        };
        if let Some(replayed) = ward
            .calls
            .replay(&context, &Ward::method("RecordProcedure"), &key, &message)
            .await?
        {
            return Ok(Response::new(replayed));
        }
        let code = ward
            .directory
            .check_codes(
                &context,
                PROCEDURES,
                "procedure.code",
                std::slice::from_ref(&procedure.code),
                false,
            )
            .await?
            .into_iter()
            .next()
            .ok_or(Error::CorruptRow("code check"))?;
        let _patient_id = ward.patient_of(&context, encounter_id).await?;
        let response = ward
            .calls
            .write(
                &context,
                &Ward::method("RecordProcedure"),
                &key,
                &message,
                async |tx| {
                    let row = Ward::encounter_for_change(tx, &context, encounter_id, WRITE).await?;
                    if performed < row.start_time {
                        return Err(Error::invalid(
                            "procedure.performed_time",
                            "is before the encounter began",
                        ));
                    }
                    let procedure = ProcedureRow {
                        id: Uuid::now_v7(),
                        encounter_id,
                        patient_id: row.patient_id,
                        code: code.code,
                        code_version: code.version,
                        display: code.display,
                        performed_time: performed,
                        performer_id: performer.unwrap_or_else(|| context.user_id()),
                        note: note.as_str().to_owned(),
                        recorded_by: context.user_id(),
                    };
                    store::insert_procedure(tx, &procedure, now).await?;
                    let procedure = procedure_to_pb(&procedure);
                    events::procedure_recorded(tx, &row, &procedure, now).await?;
                    audit::record(tx, &context, &AuditEntry::ok(&[row.patient_id]), now).await?;
                    Ok(pb::RecordProcedureResponse {
                        procedure: Some(procedure),
                    })
                },
            )
            .await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all)]
    async fn record_allergy(
        &self,
        request: Request<pb::RecordAllergyRequest>,
    ) -> Result<Response<pb::RecordAllergyResponse>, Status> {
        let context = RequestContext::of(&request);
        let ward = &self.ward;
        context.authorize_any(WRITE)?;
        let message = request.into_inner();
        let now = ward.calls.now();
        let allergy = message.allergy.clone().unwrap_or_default();
        let mut violations = Violations::default();
        let key = violations.check("request_id", RequestKey::parse(&message.request_id));
        if message.allergy.is_none() {
            violations.add("allergy", "is required");
        }
        let patient_id = parse_id("allergy.patient_id", &allergy.patient_id, &mut violations);
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
        let (
            Some(key),
            Some(patient_id),
            Some(category),
            Some(kind),
            Some(severity),
            Some(atc),
            Some(substance),
            Some(reaction),
            true,
        ) = (
            key,
            patient_id,
            category,
            kind,
            severity,
            atc,
            substance,
            reaction,
            violations.is_empty(),
        )
        else {
            return Err(Error::from(violations).into());
        };
        if let Some(replayed) = ward
            .calls
            .replay(&context, &Ward::method("RecordAllergy"), &key, &message)
            .await?
        {
            return Ok(Response::new(replayed));
        }
        if !atc.is_empty() {
            // A group (J01C, the penicillins) is what allergies are usually recorded against.
            ward.directory
                .check_codes(
                    &context,
                    MEDICINES,
                    "allergy.substance_atc_code",
                    std::slice::from_ref(&atc),
                    true,
                )
                .await?;
        }
        let response = ward
            .calls
            .write(
                &context,
                &Ward::method("RecordAllergy"),
                &key,
                &message,
                async |tx| {
                    let access = patient_access(tx, &context, patient_id, WRITE).await?;
                    let row = AllergyRow {
                        id: Uuid::now_v7(),
                        patient_id,
                        category: category.as_db().to_owned(),
                        kind: kind.as_db().to_owned(),
                        substance_atc_code: atc,
                        substance_text: substance.as_str().to_owned(),
                        severity: severity.as_db().to_owned(),
                        reaction: reaction.as_str().to_owned(),
                        recorded_by: context.user_id(),
                        record_time: now,
                    };
                    store::insert_allergy(tx, &row).await?;
                    let ids = [patient_id];
                    let entry = AuditEntry {
                        break_glass_reason: access.reason(),
                        ..AuditEntry::ok(&ids)
                    };
                    audit::record(tx, &context, &entry, now).await?;
                    Ok(pb::RecordAllergyResponse {
                        allergy: Some(allergy_to_pb(&row)),
                    })
                },
            )
            .await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all)]
    async fn list_allergies(
        &self,
        request: Request<pb::ListAllergiesRequest>,
    ) -> Result<Response<pb::ListAllergiesResponse>, Status> {
        let context = RequestContext::of(&request);
        let ward = &self.ward;
        context.authorize_any(READ)?;
        let mut violations = Violations::default();
        let Some(patient_id) =
            parse_id("patient_id", &request.get_ref().patient_id, &mut violations)
        else {
            return Err(Error::from(violations).into());
        };
        let _now = ward.calls.now();
        let mut tx = ward.read_tx(&context).await?;
        let access = match patient_access(&mut tx, &context, patient_id, READ).await {
            Ok(access) => access,
            Err(Error::Refused { status, .. }) => {
                drop(tx);
                return Err(ward
                    .calls
                    .refuse(&context, &[patient_id], status)
                    .await
                    .into());
            }
            Err(error) => return Err(error.into()),
        };
        let rows = store::allergies_of(&mut tx, patient_id).await?;
        ward.commit_read(tx, &context, Shown::patient(patient_id, &access))
            .await?;
        Ok(Response::new(pb::ListAllergiesResponse {
            allergies: rows.iter().map(allergy_to_pb).collect(),
        }))
    }

    async fn check_prescription(
        &self,
        request: Request<pb::CheckPrescriptionRequest>,
    ) -> Result<Response<pb::CheckPrescriptionResponse>, Status> {
        self.check(request).await
    }

    async fn create_prescription(
        &self,
        request: Request<pb::CreatePrescriptionRequest>,
    ) -> Result<Response<pb::CreatePrescriptionResponse>, Status> {
        self.prescribe(request).await
    }

    async fn discontinue_prescription(
        &self,
        request: Request<pb::DiscontinuePrescriptionRequest>,
    ) -> Result<Response<pb::DiscontinuePrescriptionResponse>, Status> {
        self.discontinue(request).await
    }

    async fn list_prescriptions(
        &self,
        request: Request<pb::ListPrescriptionsRequest>,
    ) -> Result<Response<pb::ListPrescriptionsResponse>, Status> {
        self.list(request).await
    }

    async fn get_prescription(
        &self,
        request: Request<pb::GetPrescriptionRequest>,
    ) -> Result<Response<pb::GetPrescriptionResponse>, Status> {
        self.get_one(request).await
    }

    async fn print_prescriptions(
        &self,
        request: Request<pb::PrintPrescriptionsRequest>,
    ) -> Result<Response<pb::PrintPrescriptionsResponse>, Status> {
        self.print(request).await
    }

    #[tracing::instrument(skip_all)]
    async fn create_referral(
        &self,
        request: Request<pb::CreateReferralRequest>,
    ) -> Result<Response<pb::CreateReferralResponse>, Status> {
        let context = RequestContext::of(&request);
        let ward = &self.ward;
        context.authorize_any(WRITE)?;
        let message = request.into_inner();
        let now = ward.calls.now();
        let referral = message.referral.clone().unwrap_or_default();
        let mut violations = Violations::default();
        let key = violations.check("request_id", RequestKey::parse(&message.request_id));
        if message.referral.is_none() {
            violations.add("referral", "is required");
        }
        let encounter_id = parse_id(
            "referral.encounter_id",
            &referral.encounter_id,
            &mut violations,
        );
        let kind = violations.check("referral.kind", parse_referral_kind(referral.kind));
        let urgency = violations.check("referral.urgency", parse_urgency(referral.urgency));
        let reason = violations.check("referral.reason", Text::parse_required(&referral.reason));
        let specialty = violations.check("referral.specialty", Text::parse(&referral.specialty));
        let target = parse_optional_id(
            "referral.target_department_id",
            &referral.target_department_id,
            &mut violations,
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
        let (
            Some(key),
            Some(encounter_id),
            Some(kind),
            Some(urgency),
            Some(reason),
            Some(specialty),
            Some(target),
            true,
        ) = (
            key,
            encounter_id,
            kind,
            urgency,
            reason,
            specialty,
            target,
            violations.is_empty(),
        )
        else {
            return Err(Error::from(violations).into());
        };
        if let Some(replayed) = ward
            .calls
            .replay(&context, &Ward::method("CreateReferral"), &key, &message)
            .await?
        {
            return Ok(Response::new(replayed));
        }
        let system = match kind {
            ReferralKind::Laboratory => Some(LABORATORY),
            ReferralKind::Imaging => Some(PROCEDURES),
            ReferralKind::Consultation => None,
        };
        let codes = match system {
            Some(system) => ward
                .directory
                .check_codes(
                    &context,
                    system,
                    "referral.investigation_codes",
                    &referral.investigation_codes,
                    false,
                )
                .await?
                .into_iter()
                .map(|code| code.code)
                .collect(),
            None => Vec::new(),
        };
        let _patient_id = ward.patient_of(&context, encounter_id).await?;
        let response = ward
            .calls
            .write(
                &context,
                &Ward::method("CreateReferral"),
                &key,
                &message,
                async |tx| {
                    let row = Ward::encounter_for_change(tx, &context, encounter_id, WRITE).await?;
                    require_open(&row)?;
                    let referral = ReferralRow {
                        id: Uuid::now_v7(),
                        encounter_id,
                        patient_id: row.patient_id,
                        kind: kind.as_db().to_owned(),
                        investigation_codes: codes,
                        specialty: specialty.as_str().to_owned(),
                        target_department_id: target,
                        reason: reason.as_str().to_owned(),
                        urgency: urgency.as_db().to_owned(),
                        referred_by: context.user_id(),
                        created_at: now,
                    };
                    store::insert_referral(tx, &referral).await?;
                    let referral = referral_to_pb(&referral);
                    events::referral_created(tx, &row, &referral, now).await?;
                    audit::record(tx, &context, &AuditEntry::ok(&[row.patient_id]), now).await?;
                    Ok(pb::CreateReferralResponse {
                        referral: Some(referral),
                    })
                },
            )
            .await?;
        Ok(Response::new(response))
    }

    async fn get_ward_medication_order(
        &self,
        request: Request<pb::GetWardMedicationOrderRequest>,
    ) -> Result<Response<pb::GetWardMedicationOrderResponse>, Status> {
        self.ward_order(request).await
    }

    async fn record_administration(
        &self,
        request: Request<pb::RecordAdministrationRequest>,
    ) -> Result<Response<pb::RecordAdministrationResponse>, Status> {
        self.record_administration_call(request).await
    }

    async fn list_administrations(
        &self,
        request: Request<pb::ListAdministrationsRequest>,
    ) -> Result<Response<pb::ListAdministrationsResponse>, Status> {
        self.list_administrations_call(request).await
    }

    async fn get_medical_extract(
        &self,
        request: Request<pb::GetMedicalExtractRequest>,
    ) -> Result<Response<pb::GetMedicalExtractResponse>, Status> {
        self.extract(request).await
    }
}
