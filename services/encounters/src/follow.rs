//! Inpatient encounters follow their admissions: every admissions event carrying the
//! admission (admitted, transferred, discharged, cancelled, discharge undone, converted)
//! creates the admission's encounter or brings it to the admission's newer version. So the
//! ward, the discharge and the state of the encounter are the admission's, with no call to
//! admissions at read time. Idempotent and order-proof: only a newer version changes a row.

use std::sync::Arc;

use futures::future::BoxFuture;
use hmis_platform::Database;
use hmis_platform::clock::SharedClock;
use hmis_platform::context::RequestId;
use hmis_platform::outbox::{Event, EventHandler, HandlerError, Subscription};
use hmis_proto::events::admissions::admission_of;
use prost::Message;

use crate::convert::admission_state;
use crate::store;

#[derive(Debug)]
struct AdmissionFollower {
    database: Database,
    clock: SharedClock,
}

pub(crate) fn subscription(database: Database, clock: SharedClock) -> Subscription {
    Subscription {
        source: "admissions",
        subscriber: "encounters.admissions".to_owned(),
        handler: Arc::new(AdmissionFollower { database, clock }),
    }
}

impl AdmissionFollower {
    async fn follow(&self, event: &Event) -> Result<(), HandlerError> {
        let Some(admission) =
            admission_of(&event.event_type, &event.payload).map_err(HandlerError::new)?
        else {
            return Ok(());
        };
        let snapshot = admission.encode_to_vec();
        let state = admission_state(&admission, &snapshot).map_err(HandlerError::new)?;
        let mut tx = self
            .database
            .begin(event.tenant_id, &RequestId::generate())
            .await
            .map_err(HandlerError::new)?;
        store::follow_admission(&mut tx, &state, self.clock.now())
            .await
            .map_err(HandlerError::new)?;
        tx.commit().await.map_err(HandlerError::new)
    }
}

impl EventHandler for AdmissionFollower {
    fn handle<'a>(&'a self, event: &'a Event) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(self.follow(event))
    }
}
