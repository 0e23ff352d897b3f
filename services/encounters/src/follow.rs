//! Inpatient encounters follow their admissions: every admissions event carrying the
//! admission (admitted, transferred, discharged, cancelled, discharge undone, converted)
//! creates the admission's encounter or brings it to the admission's newer version. So the
//! ward, the discharge and the state of the encounter are the admission's, with no call to
//! admissions at read time. When the stay ends its prescriptions end with it; when its discharge is undone, those
//! resume as they were (`PrescriptionResumed`). Idempotent and order-proof: only a newer
//! version changes a row.

use std::sync::Arc;

use futures::future::BoxFuture;
use hmis_platform::Database;
use hmis_platform::clock::SharedClock;
use hmis_platform::context::RequestId;
use hmis_platform::outbox::{Event, EventHandler, HandlerError, Subscription};
use hmis_proto::events::admissions::admission_of;
use prost::Message;

use crate::convert::{admission_state, prescription_to_pb};
use crate::domain::EncounterStatus;
use crate::{events, store};

/// Why the prescriptions of a stay that ended were discontinued.
const STAY_ENDED: &str = "the stay ended (discharge or cancelled admission)";

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
        let now = self.clock.now();
        let encounter = store::follow_admission(&mut tx, &state, now)
            .await
            .map_err(HandlerError::new)?;
        if encounter.status == EncounterStatus::Open.as_db()
            && event.event_type == hmis_proto::events::admissions::DISCHARGE_UNDONE
        {
            // The discharge was undone: what ended with the stay goes on.
            let resumed = store::resume_prescriptions_of(&mut tx, encounter.id, now)
                .await
                .map_err(HandlerError::new)?;
            for prescription in &resumed {
                let prescription = prescription_to_pb(prescription);
                events::prescription(&mut tx, events::PRESCRIPTION_RESUMED, &prescription, now)
                    .await
                    .map_err(HandlerError::new)?;
            }
        } else if encounter.status != EncounterStatus::Open.as_db() {
            // Orders end with the stay: nothing more is given or dispensed on them.
            let ended = encounter.end_time.unwrap_or(now);
            let stopped = store::end_prescriptions_of(&mut tx, encounter.id, ended, STAY_ENDED)
                .await
                .map_err(HandlerError::new)?;
            for prescription in &stopped {
                let prescription = prescription_to_pb(prescription);
                events::prescription(
                    &mut tx,
                    events::PRESCRIPTION_DISCONTINUED,
                    &prescription,
                    now,
                )
                .await
                .map_err(HandlerError::new)?;
            }
        }
        tx.commit().await.map_err(HandlerError::new)
    }
}

impl EventHandler for AdmissionFollower {
    fn handle<'a>(&'a self, event: &'a Event) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(self.follow(event))
    }
}
