//! Admissions follow the archive: a `CONSENT` document filed for an admission (its patient's)
//! is linked to it in `consent_document_ids` beside those given at admission, and unlinked
//! when the archive deletes it at the end of its retention. A replacement keeps the link (the
//! document's current version is the signed consent). Idempotent: each event sets the link
//! from the document it carries.

use std::sync::Arc;

use futures::future::BoxFuture;
use hmis_platform::Database;
use hmis_platform::context::RequestId;
use hmis_platform::outbox::{Event, EventHandler, HandlerError, Subscription};
use hmis_proto::events::documents::document_of;
use uuid::Uuid;

use crate::store;

/// The kind of document a signed consent is filed under.
const CONSENT: &str = "CONSENT";

#[derive(Debug)]
struct ConsentFollower {
    database: Database,
}

pub(crate) fn subscription(database: Database) -> Subscription {
    Subscription {
        source: "documents",
        subscriber: "admissions.consents".to_owned(),
        handler: Arc::new(ConsentFollower { database }),
    }
}

impl ConsentFollower {
    async fn follow(&self, event: &Event) -> Result<(), HandlerError> {
        let Some(document) =
            document_of(&event.event_type, &event.payload).map_err(HandlerError::new)?
        else {
            return Ok(());
        };
        if document.kind_code != CONSENT || document.admission_id.is_empty() {
            return Ok(());
        }
        let id = |value: &str| {
            Uuid::parse_str(value)
                .map_err(|_| HandlerError::new("a document event names an invalid id"))
        };
        let link = (id(&document.admission_id)?, id(&document.patient_id)?);
        let mut tx = self
            .database
            .begin(event.tenant_id, &RequestId::generate())
            .await
            .map_err(HandlerError::new)?;
        store::link_consent(&mut tx, link, id(&document.id)?, !document.deleted)
            .await
            .map_err(HandlerError::new)?;
        tx.commit().await.map_err(HandlerError::new)
    }
}

impl EventHandler for ConsentFollower {
    fn handle<'a>(&'a self, event: &'a Event) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(self.follow(event))
    }
}
