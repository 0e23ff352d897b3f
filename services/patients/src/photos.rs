//! The registry follows the archive: a `PHOTO` document stored or replaced for a patient is
//! the record's photo from then on, and its deletion takes it off the record (see
//! `app/photos.rs`). Idempotent: each event sets the photo from the document it carries.

use std::sync::Arc;

use futures::future::BoxFuture;
use hmis_platform::RequestContext;
use hmis_platform::outbox::{Event, EventHandler, HandlerError, Subscription};
use hmis_proto::events::documents::{DOCUMENT_DELETED, DOCUMENT_STORED};
use hmis_proto::openhmis::documents::v1 as documents_pb;
use prost::Message;
use uuid::Uuid;

use crate::app::Registry;

/// The kind of document a patient's photo is filed under.
const PHOTO: &str = "PHOTO";

pub(crate) fn subscription(registry: Arc<Registry>) -> Subscription {
    Subscription {
        source: "documents",
        subscriber: "patients.photos".to_owned(),
        handler: Arc::new(PhotoFollower { registry }),
    }
}

#[derive(Debug)]
struct PhotoFollower {
    registry: Arc<Registry>,
}

impl PhotoFollower {
    async fn follow(&self, event: &Event) -> Result<(), HandlerError> {
        let document = match event.event_type.as_str() {
            DOCUMENT_STORED => {
                documents_pb::DocumentStored::decode(&*event.payload)
                    .map_err(HandlerError::new)?
                    .document
            }
            DOCUMENT_DELETED => {
                documents_pb::DocumentDeleted::decode(&*event.payload)
                    .map_err(HandlerError::new)?
                    .document
            }
            _ => return Ok(()),
        };
        let Some(document) = document else {
            return Err(HandlerError::new("a document event without its document"));
        };
        if document.kind_code != PHOTO || document.patient_id.is_empty() {
            return Ok(());
        }
        let id = |value: &str| {
            Uuid::parse_str(value)
                .map_err(|_| HandlerError::new("a document event names an invalid id"))
        };
        let (patient_id, document_id) = (id(&document.patient_id)?, id(&document.id)?);
        let context = RequestContext::system(event.tenant_id).acting_on(&event.event_type);
        if document.deleted {
            (self.registry)
                .clear_photo(&context, patient_id, document_id)
                .await
        } else {
            (self.registry)
                .set_photo(&context, patient_id, document_id)
                .await
        }
        .map_err(HandlerError::new)
    }
}

impl EventHandler for PhotoFollower {
    fn handle<'a>(&'a self, event: &'a Event) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(self.follow(event))
    }
}
