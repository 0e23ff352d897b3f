//! Storing content: a new document, or a new version of one. The chunks are written as they
//! arrive, inside the call's transaction, while the content's size, hash and type are worked
//! out; only a content that ended whole and passed its checks commits (the chunks are checked
//! against their version at commit), so an interrupted upload leaves nothing behind. In an
//! object store, the object is completed only then and removed if the call does not commit.

use futures::{Stream, StreamExt};
use hmis_platform::idempotency::RequestKey;
use hmis_platform::{RequestContext, TenantTx};
use hmis_proto::openhmis::documents::v1 as pb;
use uuid::Uuid;

use super::{Archive, WRITE, authorize, method, refused, target};
use crate::content::{PART, Stored, Writer, Written};
use crate::domain::{ContentError, Declared, Incoming, Received, retain_until};
use crate::error::{Error, Result};
use crate::store::{self, DocumentRow, VersionRow};

/// An upload's header, parsed.
#[derive(Debug, Clone)]
pub(crate) struct Upload {
    pub key: RequestKey,
    pub kind_code: String,
    pub patient_id: Uuid,
    pub facility_id: Uuid,
    pub department_id: Option<Uuid>,
    pub admission_id: Option<Uuid>,
    pub encounter_id: Option<Uuid>,
    pub title: String,
    pub file_name: String,
    pub content_type: Option<String>,
    pub replaces: Option<Uuid>,
    pub sha256: Option<String>,
    /// The content's size, as the client declared it.
    pub size: Option<u64>,
}

fn refusal(error: ContentError) -> Error {
    let field = match error {
        ContentError::TypeDisagrees { .. } => "header.content_type",
        ContentError::HashDisagrees => "header.sha256",
        ContentError::SizeDisagrees { .. } => "header.size_bytes",
        _ => "chunk",
    };
    Error::invalid(field, error.to_string())
}

impl Archive {
    /// Stores the content that `chunks` brings under `header` (answered from the first call
    /// when the request id was seen).
    pub(crate) async fn upload(
        &self,
        context: &RequestContext,
        header: &pb::UploadHeader,
        upload: Upload,
        chunks: impl Stream<Item = Result<Vec<u8>>> + Send + Unpin,
    ) -> Result<pb::UploadDocumentResponse> {
        let now = self.calls.now();
        let mut chunks = chunks;
        // An object completed by a call that then did not commit is removed.
        let written = Written::default();
        let answer = (self.calls)
            .write(
                context,
                &method("UploadDocument"),
                &upload.key,
                header,
                async |tx| {
                    let (document, number) = match upload.replaces {
                        Some(id) => {
                            let document = store::get_document(tx, id, true).await?;
                            authorize(context, WRITE, &document)?;
                            if document.deleted_at.is_some() {
                                return Err(Error::precondition("the document was deleted"));
                            }
                            let number = document.current_version + 1;
                            (document, number)
                        }
                        None => {
                            // Inside the call, so a refusal is on record after the rollback.
                            context
                                .authorize(WRITE, &target(upload.facility_id, upload.department_id))
                                .map_err(refused(vec![upload.patient_id]))?;
                            let kind = store::get_kind(tx, &upload.kind_code).await?;
                            let document = DocumentRow {
                                id: Uuid::now_v7(),
                                kind_code: kind.code.clone(),
                                patient_id: Some(upload.patient_id),
                                facility_id: upload.facility_id,
                                department_id: upload.department_id,
                                admission_id: upload.admission_id,
                                encounter_id: upload.encounter_id,
                                title: upload.title.clone(),
                                current_version: 1,
                                created_by: context.user_id(),
                                created_at: now,
                                retain_until: retain_until(now, kind.retention_years),
                                legal_hold: false,
                                legal_hold_reason: String::new(),
                                deleted_at: None,
                                deleted_by: None,
                                delete_reason: String::new(),
                                printout: None,
                                source_id: String::new(),
                            };
                            store::insert_document(tx, &document).await?;
                            (document, 1)
                        }
                    };
                    let kind = store::get_kind(tx, &document.kind_code).await?;
                    let limit = self
                        .max_upload
                        .min(u64::try_from(kind.max_size_bytes).unwrap_or(u64::MAX));
                    let incoming = Incoming::new(limit);
                    let writer = self
                        .content
                        .writer(tx.tenant_id(), (document.id, number))
                        .await?;
                    let (received, stored) = take(
                        tx,
                        writer,
                        &mut chunks,
                        incoming,
                        (&kind.content_types, &upload),
                    )
                    .await?;
                    written.note(&stored);
                    store::insert_version(
                        tx,
                        &VersionRow {
                            document_id: document.id,
                            number,
                            content_type: received.content_type.to_owned(),
                            size_bytes: i64::try_from(received.size).unwrap_or(i64::MAX),
                            sha256: received.sha256,
                            chunks: stored.parts,
                            file_name: upload.file_name.clone(),
                            added_by: context.user_id(),
                            added_at: now,
                            object_key: stored.object_key,
                        },
                    )
                    .await?;
                    if number > 1 {
                        store::set_current_version(tx, document.id, number).await?;
                    }
                    let view = self.stored(tx, context, &document, now).await?;
                    Ok(pb::UploadDocumentResponse {
                        document: Some(view),
                    })
                },
            )
            .await;
        written.settle(&self.content, answer).await
    }
}

/// Takes the content `chunks` bring into `writer`, checking it as it comes (size, hash, type
/// against the kind's and the declared one); an object's parts are dropped unless it ended
/// whole and passed.
async fn take(
    tx: &mut TenantTx,
    mut writer: Writer,
    chunks: &mut (impl Stream<Item = Result<Vec<u8>>> + Send + Unpin),
    mut incoming: Incoming,
    (taken, upload): (&[String], &Upload),
) -> Result<(Received, Stored)> {
    let received = async {
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk?;
            if chunk.is_empty() {
                continue;
            }
            incoming.take(&chunk).map_err(refusal)?;
            for part in chunk.chunks(PART) {
                writer.write(tx, part).await?;
            }
        }
        let declared = Declared {
            content_type: upload.content_type.as_deref(),
            sha256: upload.sha256.as_deref(),
            size: upload.size,
        };
        incoming.finish(taken, declared).map_err(refusal)
    }
    .await;
    match received {
        Ok(received) => Ok((received, writer.finish().await?)),
        Err(error) => {
            writer.abort().await;
            Err(error)
        }
    }
}
