//! What is recorded in an encounter and of a patient: notes, coded diagnoses and procedures
//! (checked with the terminology), allergies, referrals for investigations and consultations.

use chrono::{DateTime, Utc};
use hmis_platform::RequestContext;
use hmis_platform::audit::{self, AuditEntry};
use hmis_platform::idempotency::RequestKey;
use hmis_platform::types::Text;
use hmis_proto::openhmis::encounters::v1 as pb;
use prost::Message;
use uuid::Uuid;

use super::{
    ICD10, LABORATORY, MEDICINES, PROCEDURES, WRITE, Ward, patient_access,
    require_no_announced_discharge, require_orderable,
};
use crate::convert::{allergy_to_pb, diagnosis_to_pb, note_to_pb, procedure_to_pb, referral_to_pb};
use crate::directory::CheckedCode;
use crate::domain::{
    AllergyCategory, Certainty, DiagnosisRole, NoteKind, ReactionKind, ReferralKind, Severity,
    Urgency,
};
use crate::error::{Error, Result};
use crate::events;
use crate::store::{self, AllergyRow, DiagnosisRow, NoteRow, ProcedureRow, ReferralRow};

pub(crate) struct NewNote {
    pub(crate) key: RequestKey,
    pub(crate) encounter_id: Uuid,
    pub(crate) kind: NoteKind,
    pub(crate) text: String,
    pub(crate) record_time: DateTime<Utc>,
}

/// A diagnosis, its code as the clinician typed it (the terminology checks it).
pub(crate) struct NewDiagnosis {
    pub(crate) key: RequestKey,
    pub(crate) encounter_id: Uuid,
    pub(crate) code: String,
    pub(crate) role: DiagnosisRole,
    pub(crate) certainty: Certainty,
    pub(crate) note: Text,
}

pub(crate) struct NewProcedure {
    pub(crate) key: RequestKey,
    pub(crate) encounter_id: Uuid,
    pub(crate) code: String,
    pub(crate) performed: DateTime<Utc>,
    /// The caller when none is named.
    pub(crate) performer: Option<Uuid>,
    pub(crate) note: Text,
}

/// An allergy or intolerance: to a medicine (by ATC code, a group allowed) or to a
/// substance named in words.
pub(crate) struct NewAllergy {
    pub(crate) key: RequestKey,
    pub(crate) patient_id: Uuid,
    pub(crate) category: AllergyCategory,
    pub(crate) kind: ReactionKind,
    pub(crate) severity: Severity,
    /// Empty when the substance is named in words only.
    pub(crate) atc: String,
    pub(crate) substance: Text,
    pub(crate) reaction: Text,
}

pub(crate) struct NewReferral {
    pub(crate) key: RequestKey,
    pub(crate) encounter_id: Uuid,
    pub(crate) kind: ReferralKind,
    pub(crate) urgency: Urgency,
    pub(crate) reason: Text,
    pub(crate) specialty: Text,
    pub(crate) target: Option<Uuid>,
    /// As typed; the terminology checks them (laboratory tests, imaging procedures).
    pub(crate) investigation_codes: Vec<String>,
}

impl Ward {
    /// The answer to an earlier call with the same key, if there was one: asked before the
    /// terminology or another module is consulted.
    async fn earlier<Req: Message, Res: Message + Default>(
        &self,
        context: &RequestContext,
        rpc: &str,
        key: &RequestKey,
        message: &Req,
    ) -> Result<Option<Res>> {
        (self.calls)
            .replay(context, &Ward::method(rpc), key, message)
            .await
    }

    /// The one code `field` names, as the terminology knows it.
    async fn checked_code(
        &self,
        context: &RequestContext,
        system: &str,
        field: &str,
        code: &str,
    ) -> Result<CheckedCode> {
        let codes = [code.to_owned()];
        (self
            .directory
            .check_codes(context, system, field, &codes, false))
        .await?
        .into_iter()
        .next()
        .ok_or(Error::corrupt("code check"))
    }

    pub(crate) async fn add_note(
        &self,
        context: &RequestContext,
        message: &pb::AddNoteRequest,
        note: NewNote,
    ) -> Result<pb::AddNoteResponse> {
        let now = self.calls.now();
        let method = Ward::method("AddNote");
        if let Some(replayed) = self.earlier(context, "AddNote", &note.key, message).await? {
            return Ok(replayed);
        }
        let encounter_id = note.encounter_id;
        self.patient_of(context, encounter_id).await?;
        (self.calls)
            .write(context, &method, &note.key, message, async |tx| {
                let row = Ward::encounter_for_change(tx, context, encounter_id, WRITE).await?;
                let note = NoteRow {
                    id: Uuid::now_v7(),
                    encounter_id,
                    kind: note.kind.as_db().to_owned(),
                    text: note.text,
                    author_id: context.user_id(),
                    record_time: note.record_time,
                };
                store::insert_note(tx, &note, now).await?;
                let written = note_to_pb(&note);
                if note.kind == NoteKind::DischargeSummary.as_db() && row.admission_id.is_some() {
                    events::discharge_summary_written(tx, &row, &written, now).await?;
                }
                audit::record(tx, context, &AuditEntry::ok(&[row.patient_id]), now).await?;
                Ok(pb::AddNoteResponse {
                    note: Some(written),
                })
            })
            .await
    }

    pub(crate) async fn record_diagnosis(
        &self,
        context: &RequestContext,
        message: &pb::RecordDiagnosisRequest,
        diagnosis: NewDiagnosis,
    ) -> Result<pb::RecordDiagnosisResponse> {
        let now = self.calls.now();
        let method = Ward::method("RecordDiagnosis");
        let key = &diagnosis.key;
        if let Some(replayed) = self
            .earlier(context, "RecordDiagnosis", key, message)
            .await?
        {
            return Ok(replayed);
        }
        let code = (self.checked_code(context, ICD10, "diagnosis.code", &diagnosis.code)).await?;
        let encounter_id = diagnosis.encounter_id;
        self.patient_of(context, encounter_id).await?;
        (self.calls)
            .write(context, &method, key, message, async |tx| {
                let row = Ward::encounter_for_change(tx, context, encounter_id, WRITE).await?;
                let recorded = DiagnosisRow {
                    id: Uuid::now_v7(),
                    encounter_id,
                    patient_id: row.patient_id,
                    code: code.code,
                    code_version: code.version,
                    display: code.display,
                    role: diagnosis.role.as_db().to_owned(),
                    certainty: diagnosis.certainty.as_db().to_owned(),
                    note: diagnosis.note.as_str().to_owned(),
                    recorded_by: context.user_id(),
                    record_time: now,
                };
                store::insert_diagnosis(tx, &recorded).await?;
                let recorded = diagnosis_to_pb(&recorded);
                events::diagnosis_recorded(tx, &row, &recorded, now).await?;
                audit::record(tx, context, &AuditEntry::ok(&[row.patient_id]), now).await?;
                Ok(pb::RecordDiagnosisResponse {
                    diagnosis: Some(recorded),
                })
            })
            .await
    }

    pub(crate) async fn record_procedure(
        &self,
        context: &RequestContext,
        message: &pb::RecordProcedureRequest,
        procedure: NewProcedure,
    ) -> Result<pb::RecordProcedureResponse> {
        let now = self.calls.now();
        let method = Ward::method("RecordProcedure");
        let key = &procedure.key;
        if let Some(replayed) = self
            .earlier(context, "RecordProcedure", key, message)
            .await?
        {
            return Ok(replayed);
        }
        let code = self
            .checked_code(context, PROCEDURES, "procedure.code", &procedure.code)
            .await?;
        let encounter_id = procedure.encounter_id;
        self.patient_of(context, encounter_id).await?;
        (self.calls)
            .write(context, &method, key, message, async |tx| {
                let row = Ward::encounter_for_change(tx, context, encounter_id, WRITE).await?;
                if procedure.performed < row.start_time {
                    return Err(Error::invalid(
                        "procedure.performed_time",
                        "is before the encounter began",
                    ));
                }
                // One performed before the announcement may still be recorded.
                require_no_announced_discharge(&row, Some(procedure.performed))?;
                let recorded = ProcedureRow {
                    id: Uuid::now_v7(),
                    encounter_id,
                    patient_id: row.patient_id,
                    code: code.code,
                    code_version: code.version,
                    display: code.display,
                    performed_time: procedure.performed,
                    performer_id: procedure.performer.unwrap_or_else(|| context.user_id()),
                    note: procedure.note.as_str().to_owned(),
                    recorded_by: context.user_id(),
                };
                store::insert_procedure(tx, &recorded, now).await?;
                let recorded = procedure_to_pb(&recorded);
                events::procedure_recorded(tx, &row, &recorded, now).await?;
                audit::record(tx, context, &AuditEntry::ok(&[row.patient_id]), now).await?;
                Ok(pb::RecordProcedureResponse {
                    procedure: Some(recorded),
                })
            })
            .await
    }

    pub(crate) async fn record_allergy(
        &self,
        context: &RequestContext,
        message: &pb::RecordAllergyRequest,
        allergy: NewAllergy,
    ) -> Result<pb::RecordAllergyResponse> {
        let now = self.calls.now();
        let method = Ward::method("RecordAllergy");
        let key = &allergy.key;
        if let Some(replayed) = self.earlier(context, "RecordAllergy", key, message).await? {
            return Ok(replayed);
        }
        if !allergy.atc.is_empty() {
            // A group (J01C, the penicillins) is what allergies are usually recorded against.
            let codes = std::slice::from_ref(&allergy.atc);
            let field = "allergy.substance_atc_code";
            (self
                .directory
                .check_codes(context, MEDICINES, field, codes, true))
            .await?;
        }
        let patient_id = allergy.patient_id;
        (self.calls)
            .write(context, &method, key, message, async |tx| {
                let access = patient_access(tx, context, patient_id, WRITE).await?;
                let row = AllergyRow {
                    id: Uuid::now_v7(),
                    patient_id,
                    category: allergy.category.as_db().to_owned(),
                    kind: allergy.kind.as_db().to_owned(),
                    substance_atc_code: allergy.atc,
                    substance_text: allergy.substance.as_str().to_owned(),
                    severity: allergy.severity.as_db().to_owned(),
                    reaction: allergy.reaction.as_str().to_owned(),
                    recorded_by: context.user_id(),
                    record_time: now,
                };
                store::insert_allergy(tx, &row).await?;
                let recorded = allergy_to_pb(&row);
                events::allergy_recorded(tx, &recorded, now).await?;
                let ids = [patient_id];
                let entry = AuditEntry {
                    break_glass_reason: access.reason(),
                    ..AuditEntry::ok(&ids)
                };
                audit::record(tx, context, &entry, now).await?;
                Ok(pb::RecordAllergyResponse {
                    allergy: Some(recorded),
                })
            })
            .await
    }

    pub(crate) async fn list_allergies(
        &self,
        context: &RequestContext,
        patient_id: Uuid,
    ) -> Result<pb::ListAllergiesResponse> {
        let rows = self
            .patient_read(context, patient_id, async |tx| {
                store::allergies_of(tx, patient_id).await
            })
            .await?;
        Ok(pb::ListAllergiesResponse {
            allergies: rows.iter().map(allergy_to_pb).collect(),
        })
    }

    pub(crate) async fn create_referral(
        &self,
        context: &RequestContext,
        message: &pb::CreateReferralRequest,
        referral: NewReferral,
    ) -> Result<pb::CreateReferralResponse> {
        let now = self.calls.now();
        let method = Ward::method("CreateReferral");
        let key = &referral.key;
        if let Some(replayed) = self
            .earlier(context, "CreateReferral", key, message)
            .await?
        {
            return Ok(replayed);
        }
        let system = match referral.kind {
            ReferralKind::Laboratory => Some(LABORATORY),
            ReferralKind::Imaging => Some(PROCEDURES),
            ReferralKind::Consultation => None,
        };
        let codes = match system {
            Some(system) => (self.directory)
                .check_codes(
                    context,
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
        let encounter_id = referral.encounter_id;
        self.patient_of(context, encounter_id).await?;
        (self.calls)
            .write(context, &method, key, message, async |tx| {
                let row = Ward::encounter_for_change(tx, context, encounter_id, WRITE).await?;
                require_orderable(&row)?;
                let created = ReferralRow {
                    id: Uuid::now_v7(),
                    encounter_id,
                    patient_id: row.patient_id,
                    kind: referral.kind.as_db().to_owned(),
                    investigation_codes: codes,
                    specialty: referral.specialty.as_str().to_owned(),
                    target_department_id: referral.target,
                    reason: referral.reason.as_str().to_owned(),
                    urgency: referral.urgency.as_db().to_owned(),
                    referred_by: context.user_id(),
                    created_at: now,
                };
                store::insert_referral(tx, &created).await?;
                let created = referral_to_pb(&created);
                events::referral_created(tx, &row, &created, now).await?;
                audit::record(tx, context, &AuditEntry::ok(&[row.patient_id]), now).await?;
                Ok(pb::CreateReferralResponse {
                    referral: Some(created),
                })
            })
            .await
    }
}
