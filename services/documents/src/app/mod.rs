//! The archive's use cases: kinds (`kinds`), storing content (`upload`), reading it back
//! (`read`), holds and deletion (`lifecycle`), the verify command (`verify`), and documents
//! the hospital issues, signed (`issue`). Every call about a document is authorized against
//! the ward (or facility) it belongs to, audited as an
//! access to its patient, and every change is idempotent by request id.

mod issue;
mod kinds;
mod lifecycle;
mod read;
mod upload;
mod verify;

pub(crate) use issue::{Printers, Source};
pub(crate) use upload::Upload;
pub use verify::{Finding, VerifyReport};

use chrono::{DateTime, Utc};
use hmis_platform::audit::{self, AuditEntry};
use hmis_platform::auth::Target;
use hmis_platform::call::{Calls, Shown};
use hmis_platform::context::PatientAccess;
use hmis_platform::outbox::Outbox;
use hmis_platform::{RequestContext, TenantTx};
use hmis_proto::events::documents::DOCUMENT_STORED;
use hmis_proto::openhmis::documents::v1 as pb;
use tonic::Status;
use uuid::Uuid;

use crate::convert;
use crate::error::{Error, Result};
use crate::store::{self, DocumentRow};

pub(crate) const READ: &str = "documents.read";
pub(crate) const WRITE: &str = "documents.write";
pub(crate) const MANAGE: &str = "documents.manage";
pub(crate) const DELETE: &str = "documents.delete";

const SERVICE: &str = "/openhmis.documents.v1.DocumentService/";

fn method(name: &str) -> String {
    format!("{SERVICE}{name}")
}

#[derive(Debug)]
pub(crate) struct Archive {
    pub(crate) calls: Calls<Error>,
    pub(crate) outbox: Outbox,
    /// The largest content the archive takes, whatever the kind says.
    pub(crate) max_upload: u64,
    /// Where versions' content is kept.
    pub(crate) content: crate::content::ContentStore,
    /// Who signs issued documents; none when the deployment's key is unreadable (issuing and
    /// verifying then refuse, saying so).
    pub(crate) signer: Option<crate::signing::Signer>,
    /// Where printed documents' data comes from.
    pub(crate) printers: Option<Printers>,
}

/// Whose data a document is: its ward when it has one, else its facility.
fn target(facility_id: Uuid, department_id: Option<Uuid>) -> Target {
    match department_id {
        Some(department) => Target::department(facility_id, department),
        None => Target::facility(facility_id),
    }
}

fn document_target(document: &DocumentRow) -> Target {
    target(document.facility_id, document.department_id)
}

/// A refusal to act on `patients`, audited once the transaction rolled back.
fn refused(patients: Vec<Uuid>) -> impl FnOnce(Status) -> Error {
    move |status| Error::refused(status, patients)
}

/// The patients a document is about: its patient, none for a facility's document.
fn patients(document: &DocumentRow) -> Vec<Uuid> {
    document.patient_id.into_iter().collect()
}

/// What reading the document shows of patients, reached as `access` says.
fn shown(document: &DocumentRow, access: &PatientAccess) -> Shown {
    match document.patient_id {
        Some(patient) => Shown::patient(patient, access),
        None => Shown::patients(Vec::new()),
    }
}

/// The caller may do `permission` with this document's patient, or the refusal is audited.
fn authorize(context: &RequestContext, permission: &str, document: &DocumentRow) -> Result<()> {
    context
        .authorize(permission, &document_target(document))
        .map(|_| ())
        .map_err(refused(patients(document)))
}

/// Records the call's access to `patients` (none for reference data) in its transaction.
async fn record(
    tx: &mut TenantTx,
    context: &RequestContext,
    patients: &[Uuid],
    now: DateTime<Utc>,
) -> Result<()> {
    audit::record(tx, context, &AuditEntry::ok(patients), now).await?;
    Ok(())
}

/// Documents as the contract shows them, with their versions and signatures.
async fn documents_view(tx: &mut TenantTx, documents: &[DocumentRow]) -> Result<Vec<pb::Document>> {
    let ids: Vec<Uuid> = documents.iter().map(|document| document.id).collect();
    let versions = store::versions_of(tx, &ids).await?;
    let signatures = store::signatures_of(tx, &ids).await?;
    Ok(documents
        .iter()
        .map(|document| convert::document_to_pb(document, &versions, &signatures))
        .collect())
}

impl Archive {
    /// A document whose content was just stored (a new document or version): the access to
    /// its patient on record, `DocumentStored` published, the document as it now is.
    async fn stored(
        &self,
        tx: &mut TenantTx,
        context: &RequestContext,
        document: &DocumentRow,
        now: DateTime<Utc>,
    ) -> Result<pb::Document> {
        record(tx, context, &patients(document), now).await?;
        let view = current_view(tx, document.id).await?;
        let event = pb::DocumentStored {
            document: Some(view.clone()),
        };
        self.outbox
            .publish(tx, DOCUMENT_STORED, &view.id, &event, now)
            .await?;
        Ok(view)
    }
}

/// The document as it is now in this transaction, as the contract shows it.
async fn current_view(tx: &mut TenantTx, id: Uuid) -> Result<pb::Document> {
    let document = store::get_document(tx, id, false).await?;
    documents_view(tx, &[document])
        .await?
        .pop()
        .ok_or(Error::NotFound("document"))
}
