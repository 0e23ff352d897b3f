//! Legal holds and deletion at the end of retention (the database refuses a deletion before
//! it, or under a hold, whoever asks).

use std::sync::PoisonError;

use hmis_platform::RequestContext;
use hmis_platform::idempotency::RequestKey;
use hmis_proto::events::documents::DOCUMENT_DELETED;
use hmis_proto::openhmis::documents::v1 as pb;
use uuid::Uuid;

use super::{Archive, DELETE, MANAGE, authorize, current_view, method, patients, record};
use crate::error::{Error, Result};
use crate::store;

impl Archive {
    pub(crate) async fn set_hold(
        &self,
        context: &RequestContext,
        message: &pb::SetLegalHoldRequest,
        (key, id, hold, reason): (RequestKey, Uuid, bool, String),
    ) -> Result<pb::SetLegalHoldResponse> {
        let now = self.calls.now();
        (self.calls)
            .write(
                context,
                &method("SetLegalHold"),
                &key,
                message,
                async |tx| {
                    let document = store::get_document(tx, id, true).await?;
                    authorize(context, MANAGE, &document)?;
                    if document.deleted_at.is_some() {
                        return Err(Error::precondition("the document was deleted"));
                    }
                    store::set_hold(tx, id, hold, &reason).await?;
                    record(tx, context, &patients(&document), now).await?;
                    Ok(pb::SetLegalHoldResponse {
                        document: Some(current_view(tx, id).await?),
                    })
                },
            )
            .await
    }

    pub(crate) async fn delete(
        &self,
        context: &RequestContext,
        message: &pb::DeleteDocumentRequest,
        (key, id, reason): (RequestKey, Uuid, String),
    ) -> Result<pb::DeleteDocumentResponse> {
        let now = self.calls.now();
        // Objects go once the deletion committed (a failure is named by the verify command).
        let objects = std::sync::Mutex::new(Vec::new());
        let answer = (self.calls)
            .write(
                context,
                &method("DeleteDocument"),
                &key,
                message,
                async |tx| {
                    let document = store::get_document(tx, id, true).await?;
                    authorize(context, DELETE, &document)?;
                    if document.deleted_at.is_some() {
                        return Err(Error::precondition("the document was deleted already"));
                    }
                    if document.legal_hold {
                        return Err(Error::precondition("the document is on legal hold"));
                    }
                    if now.date_naive() < document.retain_until {
                        return Err(Error::precondition(format!(
                            "the document is kept until {}",
                            document.retain_until
                        )));
                    }
                    store::delete_document(tx, id, (context.user_id(), now, &reason)).await?;
                    *objects.lock().unwrap_or_else(PoisonError::into_inner) =
                        (store::versions_of(tx, &[id]).await?.into_iter())
                            .filter_map(|version| version.object_key)
                            .collect();
                    record(tx, context, &patients(&document), now).await?;
                    let view = current_view(tx, id).await?;
                    let event = pb::DocumentDeleted {
                        document: Some(view.clone()),
                    };
                    self.outbox
                        .publish(tx, DOCUMENT_DELETED, &view.id, &event, now)
                        .await?;
                    Ok(pb::DeleteDocumentResponse {
                        document: Some(view),
                    })
                },
            )
            .await?;
        let objects = objects.into_inner().unwrap_or_else(PoisonError::into_inner);
        self.content.remove(&objects).await;
        Ok(answer)
    }
}
