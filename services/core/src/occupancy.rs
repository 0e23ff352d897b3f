//! The bed register follows the admissions module: a bed a patient is put into reads as
//! occupied, a held bed as reserved, and a bed let go as cleaning (or free, when it was only
//! held or the admission was cancelled). Admissions is the authority on who is in a bed (its
//! exclusion constraint decides); the register's state is housekeeping that staff move on
//! from cleaning to free.
//!
//! Idempotent: an event sets a state rather than applying a change, and events arrive in
//! commit order, so a redelivered suffix ends in the same state.

use std::sync::Arc;

use futures::future::BoxFuture;
use hmis_platform::context::RequestId;
use hmis_platform::outbox::{Event, EventHandler, HandlerError, Subscription};
use hmis_proto::openhmis::admissions::v1 as admissions_pb;

use crate::app::Core;
use crate::domain::{BedId, BedState};
use crate::error::Error;
use crate::events;
use crate::store::{self, Lock};

use hmis_proto::events::admissions::BED_OCCUPANCY_CHANGED;

#[derive(Debug)]
pub(crate) struct OccupancyFollower {
    pub(crate) core: Arc<Core>,
}

pub(crate) fn subscription(core: Arc<Core>) -> Subscription {
    Subscription {
        source: "admissions",
        subscriber: "core.bed_occupancy".to_owned(),
        handler: Arc::new(OccupancyFollower { core }),
    }
}

impl OccupancyFollower {
    async fn follow(&self, event: &Event) -> Result<(), Error> {
        if event.event_type != BED_OCCUPANCY_CHANGED {
            return Ok(());
        }
        let change: admissions_pb::BedOccupancyChanged = event
            .decode()
            .map_err(|_| Error::corrupt("bed occupancy event"))?;
        let state = match admissions_pb::BedOccupancy::try_from(change.occupancy) {
            Ok(admissions_pb::BedOccupancy::Occupied) => BedState::Occupied,
            Ok(admissions_pb::BedOccupancy::Reserved) => BedState::Reserved,
            Ok(admissions_pb::BedOccupancy::Cleaning) => BedState::Cleaning,
            Ok(admissions_pb::BedOccupancy::Free) => BedState::Free,
            _ => return Err(Error::corrupt("bed occupancy")),
        };
        let Ok(bed_id) = BedId::parse(&change.bed_id) else {
            return Err(Error::corrupt("bed occupancy bed id"));
        };
        let mut tx = self
            .core
            .calls
            .database()
            .begin(event.tenant_id, &RequestId::generate())
            .await?;
        let mut bed = match store::get_bed(&mut tx, bed_id, Lock::ForUpdate).await {
            Ok(bed) => bed,
            // A bed the register no longer knows of has no state to keep.
            Err(Error::NotFound { .. }) => return Ok(()),
            Err(error) => return Err(error),
        };
        if bed.state == state {
            return Ok(());
        }
        let previous = bed.state;
        bed.state = state;
        bed.state_reason = format!("admission {}", change.admission_id);
        bed.updated_at = self.core.calls.now();
        store::update_bed(&mut tx, &mut bed).await?;
        events::bed_changed(&self.core, &mut tx, &bed, Some(previous)).await?;
        tx.commit().await?;
        Ok(())
    }
}

impl EventHandler for OccupancyFollower {
    fn handle<'a>(&'a self, event: &'a Event) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move { self.follow(event).await.map_err(HandlerError::new) })
    }
}
