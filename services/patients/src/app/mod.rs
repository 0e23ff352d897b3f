//! The use cases of the registry, one function per RPC (`records`: register, read, search,
//! update; `history`: versions and visits; `merging`: merge and unmerge). Every call touches
//! a patient's data, so every call leaves exactly one audit record naming the patients it
//! showed or changed (a refusal included). What a use case is asked comes parsed
//! (`grpc/parse.rs` names every wrong field); it answers in the contract's messages, which
//! retries are answered with.

mod deaths;
mod history;
mod merging;
mod photos;
mod records;

pub(crate) use deaths::Death;
pub(crate) use history::HistoryPage;
pub(crate) use merging::{Merge, Unmerge};
pub(crate) use records::{Registration, Search, Update};

use chrono::{DateTime, NaiveDate, Utc};
use hmis_platform::audit::{self, AuditEntry};
use hmis_platform::auth::{Reach, Target};
use hmis_platform::call::Calls;
use hmis_platform::context::{PatientAccess, RequestId};
use hmis_platform::idempotency::RequestKey;
use hmis_platform::outbox::Outbox;
use hmis_platform::{RequestContext, TenantId, TenantTx};
use hmis_proto::openhmis::patients::v1 as pb;
use prost::Message;
use tonic::Status;
use uuid::Uuid;

use crate::convert::{patient_to_pb, restricted, snapshot};
use crate::domain::patient::{Identifier, IdentifierType};
use crate::error::Error;
use crate::store::{self, Lock, PatientRow, VersionRow};

/// Event types of the registry's outbox (the full names of their messages).
pub use hmis_proto::events::patients::{PATIENT_CHANGED, PATIENTS_MERGED, PATIENTS_UNMERGED};

pub(crate) const READ: &str = "patients.read";
pub(crate) const WRITE: &str = "patients.write";
pub(crate) const MERGE: &str = "patients.merge";
const CONFIDENTIAL: &str = "patients.confidential";

const SERVICE: &str = "/openhmis.patients.v1.PatientService/";

/// The module's state: the call kit over its schema and its outbox.
#[derive(Debug)]
pub(crate) struct Registry {
    pub(crate) calls: Calls<Error>,
    pub(crate) outbox: Outbox,
    /// The facility register (a death's date is cut in its facility's zone).
    pub(crate) core: hmis_core_api::CoreClient,
    /// The MRNs this process has reserved and not yet given, per tenant.
    pub(crate) mrns: MrnBlocks,
}

/// How many MRNs a process reserves at once.
const MRN_BLOCK: i64 = 64;

/// The next MRN of a block and the end of the block.
type MrnBlock = std::sync::Arc<tokio::sync::Mutex<(i64, i64)>>;

/// Per tenant, this process's block of MRNs. Taking one is a moment under the tenant's lock;
/// only refilling a block touches the database.
#[derive(Debug, Default)]
pub(crate) struct MrnBlocks(
    std::sync::Mutex<std::collections::HashMap<hmis_platform::TenantId, MrnBlock>>,
);

impl Registry {
    /// The next MRN for a registration in `tenant_id`, from this process's block.
    pub(crate) async fn next_mrn(
        &self,
        tenant_id: hmis_platform::TenantId,
    ) -> Result<String, Error> {
        let block = {
            let mut blocks = (self.mrns.0.lock()).unwrap_or_else(|poisoned| poisoned.into_inner());
            blocks.entry(tenant_id).or_default().clone()
        };
        let mut block = block.lock().await;
        if block.0 >= block.1 {
            let first = store::reserve_mrns(self.calls.database(), tenant_id, MRN_BLOCK).await?;
            *block = (first, first + MRN_BLOCK);
        }
        let number = block.0;
        block.0 += 1;
        Ok(format!("{number:08}"))
    }
}

/// May the caller reach a patient with `permission`? A placed patient belongs to its ward
/// (ward-scoped staff reach it; others by break-glass); one in no ward belongs to the registry,
/// which tenant- and facility-wide staff reach.
fn patient_access(
    context: &RequestContext,
    permission: &str,
    placement: Option<(Uuid, Uuid)>,
) -> Result<PatientAccess, Status> {
    match placement {
        Some((facility, department)) => {
            context.authorize_patient(permission, &Target::department(facility, department))
        }
        None => match context.principal()?.reach(permission) {
            Reach::Tenant => Ok(PatientAccess::InScope),
            Reach::Limited { facilities, .. } if !facilities.is_empty() => {
                Ok(PatientAccess::InScope)
            }
            Reach::Limited { .. } => context.authorize_patient(permission, &Target::TENANT),
        },
    }
}

/// Whether the caller sees confidential records in full.
fn sees_confidential(context: &RequestContext) -> bool {
    context
        .principal()
        .is_ok_and(|principal| principal.holds(CONFIDENTIAL))
}

/// The record as this caller may see it.
fn visible(context: &RequestContext, patient: pb::Patient) -> pb::Patient {
    if patient.confidential && !sees_confidential(context) {
        restricted(&patient)
    } else {
        patient
    }
}

impl Registry {
    fn today(&self) -> NaiveDate {
        self.calls.now().date_naive()
    }

    /// Runs an audited write under the request's idempotency key; a document another record
    /// holds is answered with that record's MRN, looked up after the write rolled back.
    async fn write<Req, Res>(
        &self,
        context: &RequestContext,
        rpc: &str,
        key: &RequestKey,
        request: &Req,
        work: impl AsyncFnOnce(&mut TenantTx) -> Result<Res, Error>,
    ) -> Result<Res, Error>
    where
        Req: Message,
        Res: Message + Default,
    {
        let method = format!("{SERVICE}{rpc}");
        match self.calls.write(context, &method, key, request, work).await {
            Err(taken @ Error::IdentifierTaken { .. }) => {
                Err(self.identifier_holder(context.tenant_id()?, taken).await)
            }
            other => other,
        }
    }

    /// Finds whose the identifier is, to tell the desk (after the failed transaction ended).
    async fn identifier_holder(&self, tenant_id: TenantId, taken: Error) -> Error {
        let Error::IdentifierTaken {
            kind,
            country,
            value,
            mrn,
            ..
        } = &taken
        else {
            return taken;
        };
        if !mrn.is_empty() {
            return taken;
        }
        let (kind, country, value) = (*kind, country.clone(), value.clone());
        let identifier = Identifier {
            kind: IdentifierType::from_db(kind).unwrap_or(IdentifierType::NationalId),
            country: country.clone(),
            value: value.clone(),
        };
        let holder = async {
            let mut tx = self
                .calls
                .database()
                .begin(tenant_id, &RequestId::generate())
                .await?;
            let holder = store::first_holder(&mut tx, std::slice::from_ref(&identifier)).await?;
            tx.commit().await?;
            Ok::<_, Error>(holder.map(|(_, holder)| holder))
        }
        .await;
        match holder {
            Ok(Some(holder)) => Error::IdentifierTaken {
                kind,
                country,
                value,
                mrn: holder.mrn,
                unpaid_debt: holder.unpaid_debt,
            },
            Ok(None) => Error::from(Status::aborted(
                "a concurrent registration changed the identifier; retry",
            )),
            Err(error) => error,
        }
    }

    /// Matches as messages, each as the caller may see it.
    fn matches_to_pb(
        &self,
        context: &RequestContext,
        found: &[store::Match],
    ) -> Result<Vec<pb::PatientMatch>, Error> {
        let today = self.today();
        found
            .iter()
            .map(|found| {
                let patient = patient_to_pb(&found.patient, &found.identifiers.rows(), today)?;
                Ok(pb::PatientMatch {
                    patient: Some(visible(context, patient)),
                    score: found.score,
                })
            })
            .collect()
    }

    /// Records a new version of a record and publishes it.
    async fn record_version(
        &self,
        tx: &mut TenantTx,
        context: &RequestContext,
        patient: &pb::Patient,
        row: &PatientRow,
        (kind, changed): (pb::ChangeKind, Vec<String>),
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        store::insert_version(
            tx,
            row.id,
            VersionRow {
                version: row.version,
                kind: change_kind_to_db(kind).to_owned(),
                changed_fields: changed.clone(),
                changed_by: context.user_id(),
                changed_at: now,
                snapshot: snapshot(patient),
            },
        );
        self.outbox
            .publish(
                tx,
                PATIENT_CHANGED,
                &row.id.to_string(),
                &pb::PatientChanged {
                    patient: Some(patient.clone()),
                    kind: kind.into(),
                    changed_fields: changed,
                },
                now,
            )
            .await?;
        Ok(())
    }
}

impl Registry {
    /// An audited read of what belongs to one record (its versions, its visits): the caller
    /// must reach the record (its ward, or break-glass) and may see it (confidential); one
    /// audit record names the patient with the outcome, committed before the answer leaves.
    async fn read_of_record<T>(
        &self,
        context: &RequestContext,
        id: Uuid,
        read: impl AsyncFnOnce(&mut TenantTx) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let now = self.calls.now();
        let mut tx = self.calls.begin_read(context).await?;
        let answer = async {
            let (row, _) = store::get_patient(&mut tx, id, Lock::None).await?;
            let placement = store::placement_of(&mut tx, id).await?;
            let access = patient_access(context, READ, placement)?;
            if row.confidential && !sees_confidential(context) {
                return Err(Error::from(Status::permission_denied(format!(
                    "the record is confidential: missing permission {CONFIDENTIAL}"
                ))));
            }
            let value = read(&mut tx).await?;
            Ok::<_, Error>((access, value))
        }
        .await;
        let outcome = records::outcome(&answer);
        let reason = answer
            .as_ref()
            .ok()
            .and_then(|(access, _)| access.reason().map(str::to_owned));
        let ids = [id];
        let entry = AuditEntry {
            outcome,
            break_glass_reason: reason.as_deref(),
            ..AuditEntry::ok(&ids)
        };
        audit::record(&mut tx, context, &entry, now).await?;
        tx.commit().await?;
        answer.map(|(_, value)| value)
    }
}

fn change_kind_to_db(kind: pb::ChangeKind) -> &'static str {
    match kind {
        pb::ChangeKind::Registered => "registered",
        pb::ChangeKind::Merged => "merged",
        pb::ChangeKind::Unmerged => "unmerged",
        pb::ChangeKind::Updated | pb::ChangeKind::Unspecified => "updated",
    }
}

fn change_kind_from_db(kind: &str) -> pb::ChangeKind {
    match kind {
        "registered" => pb::ChangeKind::Registered,
        "updated" => pb::ChangeKind::Updated,
        "merged" => pb::ChangeKind::Merged,
        "unmerged" => pb::ChangeKind::Unmerged,
        _ => pb::ChangeKind::Unspecified,
    }
}
