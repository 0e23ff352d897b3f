//! Where each patient is: kept from the admissions module's events, so ward staff reach the
//! patients of their wards. Every admission event carries the admission as it is after the
//! change (field 1); an open one places its patient in its current ward, any other ends the
//! placement. Idempotent: each event sets the placement from the admission it carries, and
//! events arrive in commit order.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use hmis_platform::context::RequestId;
use hmis_platform::outbox::{Event, EventHandler, HandlerError, Subscription};
use hmis_platform::{Database, TenantTx};
use hmis_proto::events::admissions as admission_events;
use hmis_proto::openhmis::admissions::v1 as admissions_pb;
use uuid::Uuid;

#[derive(Debug)]
pub(crate) struct PlacementFollower {
    pub(crate) database: Database,
}

pub(crate) fn subscription(database: Database) -> Subscription {
    Subscription {
        source: "admissions",
        subscriber: "patients.placements".to_owned(),
        handler: Arc::new(PlacementFollower { database }),
    }
}

fn uuid(value: &str) -> Result<Uuid, HandlerError> {
    Uuid::parse_str(value).map_err(|_| HandlerError::new("an admission event names an invalid id"))
}

impl PlacementFollower {
    async fn follow(&self, event: &Event) -> Result<(), HandlerError> {
        if !admission_events::ADMISSION_EVENTS.contains(&event.event_type.as_str()) {
            return Ok(());
        }
        let Some(admission) = admission_events::admission_of(&event.event_type, &event.payload)
            .map_err(HandlerError::new)?
        else {
            return Err(HandlerError::new(
                "an admission event without its admission",
            ));
        };
        let patient_id = uuid(&admission.patient_id)?;
        let open = admission.status == i32::from(admissions_pb::AdmissionStatus::Admitted);
        let mut tx = self
            .database
            .begin(event.tenant_id, &RequestId::generate())
            .await
            .map_err(HandlerError::new)?;
        if open {
            let facility_id = uuid(&admission.facility_id)?;
            let department_id = uuid(&admission.department_id)?;
            place(
                &mut tx,
                patient_id,
                facility_id,
                department_id,
                event.occurred_at,
            )
            .await
        } else {
            unplace(&mut tx, patient_id).await
        }
        .map_err(HandlerError::new)?;
        tx.commit().await.map_err(HandlerError::new)
    }
}

async fn place(
    tx: &mut TenantTx,
    patient_id: Uuid,
    facility_id: Uuid,
    department_id: Uuid,
    since: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    // A patient the registry does not hold (another tenant's id, a deleted test row) has no
    // placement to keep; the join leaves it out instead of failing the subscriber forever.
    sqlx::query(
        "INSERT INTO patients.placements (tenant_id, patient_id, facility_id, department_id, since) \
         SELECT $1, p.id, $3, $4, $5 FROM patients.patients p WHERE p.tenant_id = $1 AND p.id = $2 \
         ON CONFLICT (tenant_id, patient_id) DO UPDATE SET facility_id = EXCLUDED.facility_id, \
             department_id = EXCLUDED.department_id, \
             since = CASE WHEN patients.placements.department_id = EXCLUDED.department_id \
                          THEN patients.placements.since ELSE EXCLUDED.since END",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(patient_id)
    .bind(facility_id)
    .bind(department_id)
    .bind(since)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn unplace(tx: &mut TenantTx, patient_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM patients.placements WHERE tenant_id = $1 AND patient_id = $2")
        .bind(tx.tenant_id().as_uuid())
        .bind(patient_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

impl EventHandler for PlacementFollower {
    fn handle<'a>(&'a self, event: &'a Event) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(self.follow(event))
    }
}
