//! Reading documents: a document, a patient's documents, and a version's content streamed
//! back in its chunks (each download an audited access to the patient, on record before the
//! first byte leaves).

use futures::Stream;
use hmis_platform::RequestContext;
use hmis_platform::call::Shown;
use hmis_proto::openhmis::documents::v1 as pb;
use uuid::Uuid;

use super::{Archive, READ, document_target, documents_view, patients, refused, shown};
use crate::convert;
use crate::error::{Error, Result};
use crate::store;

impl Archive {
    pub(crate) async fn get(
        &self,
        context: &RequestContext,
        id: Uuid,
    ) -> Result<pb::GetDocumentResponse> {
        self.calls
            .read(context, async |tx| {
                let document = store::get_document(tx, id, false).await?;
                let access = context
                    .authorize_patient(READ, &document_target(&document))
                    .map_err(refused(patients(&document)))?;
                let shown = shown(&document, &access);
                let document = documents_view(tx, &[document]).await?.pop();
                Ok((pb::GetDocumentResponse { document }, shown))
            })
            .await
    }

    /// A patient's documents; those of wards outside the caller's scope need the break-glass
    /// reason, as any read of a patient.
    pub(crate) async fn patient_documents(
        &self,
        context: &RequestContext,
        patient_id: Uuid,
    ) -> Result<pb::ListPatientDocumentsResponse> {
        context.authorize_any(READ)?;
        self.calls
            .read(context, async |tx| {
                let documents = store::patient_documents(tx, patient_id).await?;
                let shown = Shown::patient_across(
                    context,
                    READ,
                    patient_id,
                    documents.iter().map(document_target),
                )
                .map_err(refused(vec![patient_id]))?;
                let documents = documents_view(tx, &documents).await?;
                Ok((pb::ListPatientDocumentsResponse { documents }, shown))
            })
            .await
    }

    /// What a download sends first (the access on record), then its parts one by one: at
    /// most one part in memory, read (from the database in a transaction of its own, or from
    /// the object store) as the client takes them.
    pub(crate) async fn download(
        &self,
        context: &RequestContext,
        (id, number): (Uuid, Option<i32>),
    ) -> Result<(
        pb::DownloadHeader,
        impl Stream<Item = Result<Vec<u8>>> + Send + 'static,
    )> {
        let header = self
            .calls
            .read(context, async |tx| {
                let document = store::get_document(tx, id, false).await?;
                let access = context
                    .authorize_patient(READ, &document_target(&document))
                    .map_err(refused(patients(&document)))?;
                if document.deleted_at.is_some() {
                    return Err(Error::precondition(
                        "the document's content was deleted at the end of its retention",
                    ));
                }
                let number = number.unwrap_or(document.current_version);
                let versions = store::versions_of(tx, &[document.id]).await?;
                let version = versions
                    .iter()
                    .find(|version| version.number == number)
                    .cloned()
                    .ok_or(Error::NotFound("version"))?;
                let signatures = store::signatures_of(tx, &[document.id]).await?;
                let shown = shown(&document, &access);
                let header = pb::DownloadHeader {
                    document: Some(convert::document_to_pb(&document, &versions, &signatures)),
                    version: Some(convert::version_to_pb(&version)),
                };
                Ok(((header, version), shown))
            })
            .await?;
        let (header, version) = header;
        let tx = self.calls.begin_read(context).await?;
        let content = self.content.clone();
        let chunks = futures::stream::unfold((Some(tx), 0), move |(tx, seq)| {
            let content = content.clone();
            let version = version.clone();
            async move {
                let mut tx = tx?;
                if seq >= version.chunks {
                    return None;
                }
                match content.part(&mut tx, &version, seq).await {
                    Ok(Some(bytes)) => Some((Ok(bytes), (Some(tx), seq + 1))),
                    Ok(None) => Some((
                        Err(Error::precondition(
                            "the content is missing a part; run the archive's verify command",
                        )),
                        (None, seq),
                    )),
                    Err(error) => Some((Err(error), (None, seq))),
                }
            }
        });
        Ok((header, chunks))
    }
}
