//! The registry follows the archive: a `PHOTO` document stored or replaced for a patient is
//! the record's photo from then on, and its deletion takes it off the record (see
//! `app/photos.rs`). Idempotent: each event sets the photo from the document it carries.

use std::sync::Arc;

use futures::future::BoxFuture;
use hmis_platform::RequestContext;
use hmis_platform::outbox::{Event, EventHandler, HandlerError, Subscription};
use hmis_proto::events::documents::document_of;
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
        let Some(document) =
            document_of(&event.event_type, &event.payload).map_err(HandlerError::new)?
        else {
            return Ok(());
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
        (self.registry)
            .follow_photo(&context, patient_id, (document_id, !document.deleted))
            .await
            .map_err(HandlerError::new)
    }
}

impl EventHandler for PhotoFollower {
    fn handle<'a>(&'a self, event: &'a Event) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(self.follow(event))
    }
}
