//! Nurses verify inpatient prescriptions before they are on the medication round, and may
//! question them: the prescription waits, off the round, until its prescriber answers (the
//! nurse then verifies it) or discontinues it (which answers the query). One open query per
//! prescription (a unique index); every change holds the prescription's row lock.

use hmis_platform::RequestContext;
use hmis_platform::audit::{self, AuditEntry};
use hmis_platform::call::Shown;
use hmis_platform::idempotency::RequestKey;
use hmis_platform::types::{Text, Version};
use hmis_proto::openhmis::encounters::v1 as pb;
use uuid::Uuid;

use super::{PRESCRIBE, READ, Ward, audit_change, refused, require_open, target_of};
use crate::convert::{prescription_to_pb, query_to_pb};
use crate::error::{Error, Result};
use crate::events;
use crate::store::{self, EncounterRow, Lock, PrescriptionRow, QueryRow};

/// Nurses of the ward verify and question prescriptions.
pub(crate) const VERIFY: &str = "nursing.verify";

/// Verification states as stored.
pub(crate) const PENDING: &str = "pending";
const QUERIED: &str = "queried";
const VERIFIED: &str = "verified";
pub(crate) const NOT_REQUIRED: &str = "not_required";

/// A nurse's verification of a prescription, against the version read when one is given.
pub(crate) struct Verification {
    pub(crate) key: RequestKey,
    pub(crate) prescription_id: Uuid,
    pub(crate) etag: Option<Version>,
}

/// A nurse's question, or a prescriber's answer (`id` is then the query's).
pub(crate) struct Exchange {
    pub(crate) key: RequestKey,
    pub(crate) id: Uuid,
    pub(crate) text: Text,
}

/// Whose queries to list: a ward's waiting prescriptions or one encounter's queries.
pub(crate) enum QueryPage {
    Ward(Uuid),
    Encounter(Uuid),
}

/// The verification state a new prescription starts in: a ward's patient waits for a nurse.
pub(crate) fn initial_verification(encounter: &EncounterRow) -> &'static str {
    if encounter.admission_id.is_some() {
        PENDING
    } else {
        NOT_REQUIRED
    }
}

/// May a dose of `row` be recorded (and may it be on the round)?
pub(crate) fn require_verified(row: &PrescriptionRow) -> Result<()> {
    match row.verification.as_str() {
        VERIFIED | NOT_REQUIRED => Ok(()),
        QUERIED => Err(Error::precondition(
            "a nurse's query of the prescription is not answered yet; it is not on the round",
        )),
        _ => Err(Error::precondition(
            "the prescription waits for a nurse of the ward to verify it",
        )),
    }
}

/// The prescription `id` locked, for a change the caller makes with `permission` in its
/// encounter's ward; an active one of a patient under care.
async fn prescription_for_change(
    tx: &mut hmis_platform::TenantTx,
    context: &RequestContext,
    id: Uuid,
    permission: &str,
) -> Result<PrescriptionRow> {
    let row = store::get_prescription(tx, id, Lock::ForUpdate).await?;
    let encounter = store::get_encounter(tx, row.encounter_id, Lock::None).await?;
    context
        .authorize(permission, &target_of(&encounter))
        .map_err(refused(row.patient_id))?;
    require_open(&encounter)?;
    if row.status != "active" {
        return Err(Error::precondition("the prescription was discontinued"));
    }
    Ok(row)
}

impl Ward {
    pub(crate) async fn verify_prescription(
        &self,
        context: &RequestContext,
        message: &pb::VerifyPrescriptionRequest,
        verification: Verification,
    ) -> Result<pb::VerifyPrescriptionResponse> {
        let now = self.calls.now();
        let method = Ward::method("VerifyPrescription");
        let Verification {
            key,
            prescription_id,
            etag,
        } = verification;
        (self.calls)
            .write(context, &method, &key, message, async |tx| {
                let row = prescription_for_change(tx, context, prescription_id, VERIFY).await?;
                if let Some(etag) = etag
                    && Version::from_db(row.version) != etag
                {
                    return Err(Error::Stale("prescription"));
                }
                // The system (a demo load, a migration) is no one: the rule is between people.
                if row.prescriber_id == context.user_id() && !context.user_id().is_nil() {
                    return Err(Error::precondition(
                        "a prescription is verified by a nurse other than its prescriber",
                    ));
                }
                match row.verification.as_str() {
                    PENDING => {}
                    QUERIED => {
                        return Err(Error::precondition(
                            "the prescription's query is not answered yet",
                        ));
                    }
                    VERIFIED => {
                        return Err(Error::precondition("the prescription is already verified"));
                    }
                    _ => {
                        return Err(Error::precondition(
                            "the prescription needs no verification (not a ward's)",
                        ));
                    }
                }
                let verified =
                    store::set_verification(tx, row.id, VERIFIED, Some(context.user_id()), now)
                        .await?;
                let prescription = prescription_to_pb(&verified);
                events::prescription(tx, events::PRESCRIPTION_VERIFIED, &prescription, now).await?;
                audit_change(tx, context, row.patient_id, row.id, now).await?;
                Ok(pb::VerifyPrescriptionResponse {
                    prescription: Some(prescription),
                })
            })
            .await
    }

    pub(crate) async fn query_prescription(
        &self,
        context: &RequestContext,
        message: &pb::QueryPrescriptionRequest,
        question: Exchange,
    ) -> Result<pb::QueryPrescriptionResponse> {
        let now = self.calls.now();
        let method = Ward::method("QueryPrescription");
        (self.calls)
            .write(context, &method, &question.key, message, async |tx| {
                let row = prescription_for_change(tx, context, question.id, VERIFY).await?;
                if row.verification != PENDING && row.verification != QUERIED {
                    return Err(Error::precondition(
                        "only a prescription waiting for verification is queried",
                    ));
                }
                let query = QueryRow {
                    id: Uuid::now_v7(),
                    prescription_id: row.id,
                    encounter_id: row.encounter_id,
                    patient_id: row.patient_id,
                    question: question.text.as_str().to_owned(),
                    asked_by: context.user_id(),
                    asked_at: now,
                    answer: String::new(),
                    answered_by: None,
                    answered_at: None,
                };
                let query = store::insert_query(tx, &query).await?.ok_or_else(|| {
                    Error::precondition("the prescription's earlier query is not answered yet")
                })?;
                let queried = store::set_verification(tx, row.id, QUERIED, None, now).await?;
                audit_change(tx, context, row.patient_id, query.id, now).await?;
                Ok(pb::QueryPrescriptionResponse {
                    query: Some(query_to_pb(&query)),
                    prescription: Some(prescription_to_pb(&queried)),
                })
            })
            .await
    }

    pub(crate) async fn answer_prescription_query(
        &self,
        context: &RequestContext,
        message: &pb::AnswerPrescriptionQueryRequest,
        answer: Exchange,
    ) -> Result<pb::AnswerPrescriptionQueryResponse> {
        let now = self.calls.now();
        let method = Ward::method("AnswerPrescriptionQuery");
        (self.calls)
            .write(context, &method, &answer.key, message, async |tx| {
                let query = store::get_query(tx, answer.id).await?;
                let row =
                    prescription_for_change(tx, context, query.prescription_id, PRESCRIBE).await?;
                let answered = store::answer_open_queries(
                    tx,
                    row.id,
                    answer.text.as_str(),
                    context.user_id(),
                    now,
                )
                .await?
                .into_iter()
                .find(|answered| answered.id == query.id)
                .ok_or_else(|| Error::precondition("the query is already answered"))?;
                let waiting = store::set_verification(tx, row.id, PENDING, None, now).await?;
                audit_change(tx, context, row.patient_id, query.id, now).await?;
                Ok(pb::AnswerPrescriptionQueryResponse {
                    query: Some(query_to_pb(&answered)),
                    prescription: Some(prescription_to_pb(&waiting)),
                })
            })
            .await
    }

    pub(crate) async fn list_prescription_queries(
        &self,
        context: &RequestContext,
        page: QueryPage,
    ) -> Result<pb::ListPrescriptionQueriesResponse> {
        match page {
            QueryPage::Encounter(encounter_id) => {
                let mut tx = self.read_tx(context).await?;
                let (encounter, access) = self
                    .readable_encounter(&mut tx, context, encounter_id)
                    .await?;
                let queries = store::queries(&mut tx, Some(encounter_id), &[]).await?;
                self.commit_read(tx, context, Shown::patient(encounter.patient_id, &access))
                    .await?;
                Ok(pb::ListPrescriptionQueriesResponse {
                    prescriptions: Vec::new(),
                    queries: queries.iter().map(query_to_pb).collect(),
                })
            }
            QueryPage::Ward(department_id) => {
                let clinic = self.directory.clinic(context, department_id).await?;
                context
                    .authorize(
                        READ,
                        &hmis_platform::auth::Target::department(clinic.facility_id, department_id),
                    )
                    .map_err(Error::from)?;
                let now = self.calls.now();
                let mut tx = self.read_tx(context).await?;
                let rows = store::awaiting_verification(&mut tx, department_id).await?;
                let ids: Vec<Uuid> = rows.iter().map(|row| row.id).collect();
                let queries = store::queries(&mut tx, None, &ids).await?;
                let mut patients: Vec<Uuid> = rows.iter().map(|row| row.patient_id).collect();
                patients.sort();
                patients.dedup();
                audit::record(&mut tx, context, &AuditEntry::ok(&patients), now).await?;
                tx.commit().await?;
                Ok(pb::ListPrescriptionQueriesResponse {
                    prescriptions: rows.iter().map(prescription_to_pb).collect(),
                    queries: queries.iter().map(query_to_pb).collect(),
                })
            }
        }
    }
}
