//! Admissions follow the registry's merges: when a duplicate record is merged into its
//! survivor, the duplicate's admissions and emergency visits are re-pointed to the survivor;
//! an unmerge moves exactly those back (`admissions.patient_merges` lists what moved).
//!
//! One exception: an open admission of the duplicate stays with it while the survivor has an
//! open admission of its own (one open admission per patient is a database rule). The
//! registry does not know admissions, so it cannot refuse such a merge. The log names the
//! merge whose duplicate kept its admission; the records officer discharges or cancels the
//! wrong one.
//!
//! Idempotent by `merge_id`: a redelivered merge finds its row and does nothing.

use std::sync::Arc;

use futures::future::BoxFuture;
use hmis_platform::context::RequestId;
use hmis_platform::outbox::{Event, EventHandler, HandlerError, Subscription};
use hmis_platform::{Database, TenantTx};
use hmis_proto::openhmis::patients::v1 as patients_pb;
use uuid::Uuid;

use hmis_proto::events::patients::{PATIENTS_MERGED, PATIENTS_UNMERGED};

use crate::store;

#[derive(Debug)]
pub(crate) struct MergeFollower {
    pub(crate) database: Database,
}

pub(crate) fn subscription(database: Database) -> Subscription {
    Subscription {
        source: "patients",
        subscriber: "admissions.patient_merges".to_owned(),
        handler: Arc::new(MergeFollower { database }),
    }
}

fn uuid(value: &str) -> Result<Uuid, HandlerError> {
    Uuid::parse_str(value).map_err(|_| HandlerError::new("a merge event names an invalid id"))
}

impl MergeFollower {
    async fn follow(&self, event: &Event) -> Result<(), HandlerError> {
        // Most of the registry's events are records registered or corrected: no transaction
        // for them.
        if ![PATIENTS_MERGED, PATIENTS_UNMERGED].contains(&event.event_type.as_str()) {
            return Ok(());
        }
        let mut tx = self
            .database
            .begin(event.tenant_id, &RequestId::generate())
            .await
            .map_err(HandlerError::new)?;
        match event.event_type.as_str() {
            PATIENTS_MERGED => {
                let merged: patients_pb::PatientsMerged =
                    event.decode().map_err(HandlerError::new)?;
                let merge = Merge {
                    merge_id: uuid(&merged.merge_id)?,
                    survivor_id: uuid(&merged.survivor_id)?,
                    merged_id: uuid(&merged.merged_id)?,
                };
                merge
                    .apply(&mut tx, event)
                    .await
                    .map_err(HandlerError::new)?;
            }
            PATIENTS_UNMERGED => {
                let unmerged: patients_pb::PatientsUnmerged =
                    event.decode().map_err(HandlerError::new)?;
                undo(&mut tx, uuid(&unmerged.merge_id)?, event)
                    .await
                    .map_err(HandlerError::new)?;
            }
            _ => return Ok(()),
        }
        tx.commit().await.map_err(HandlerError::new)
    }
}

struct Merge {
    merge_id: Uuid,
    survivor_id: Uuid,
    merged_id: Uuid,
}

impl Merge {
    async fn apply(&self, tx: &mut TenantTx, event: &Event) -> Result<(), sqlx::Error> {
        let at = event.occurred_at;
        // The merge's row first: a redelivered event stops here.
        if !store::claim_merge(tx, self.merge_id, self.survivor_id, self.merged_id, at).await? {
            return Ok(());
        }
        let survivor_open = store::has_open_admission(tx, self.survivor_id).await?;
        let admissions =
            store::repoint_admissions(tx, self.merged_id, self.survivor_id, survivor_open, at)
                .await?;
        let visits = store::repoint_visits(tx, self.merged_id, self.survivor_id, at).await?;
        store::record_moved(tx, self.merge_id, &admissions, &visits).await?;
        if survivor_open {
            tracing::warn!(
                merge_id = %self.merge_id,
                merged_id = %self.merged_id,
                "both merged records have an open admission; the duplicate's stays with it"
            );
        }
        tracing::info!(
            merge_id = %self.merge_id,
            admissions = admissions.len(),
            visits = visits.len(),
            "admissions re-pointed to the surviving patient record"
        );
        Ok(())
    }
}

/// Moves back what a merge moved; a redelivered unmerge finds the merge already undone.
async fn undo(tx: &mut TenantTx, merge_id: Uuid, event: &Event) -> Result<(), sqlx::Error> {
    match store::unmerge(tx, merge_id, event.occurred_at).await? {
        Some(moved) => store::restore(tx, &moved, event.occurred_at).await,
        None => Ok(()),
    }
}

impl EventHandler for MergeFollower {
    fn handle<'a>(&'a self, event: &'a Event) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(self.follow(event))
    }
}
