//! Where each patient is and has been: kept from the admissions module's events, so ward
//! staff reach the patients of their wards and the record shows its visit history. Every
//! admission event carries the admission as it is after the change (field 1); an open one
//! places its patient in its current ward, any other ends the placement, and each sets the
//! visit's row. Idempotent: each event sets both from the admission it carries, and events
//! arrive in commit order.

use std::sync::Arc;

use futures::future::BoxFuture;
use hmis_platform::context::RequestId;
use hmis_platform::outbox::{Event, EventHandler, HandlerError, Subscription};
use hmis_platform::{Database, wire};
use hmis_proto::events::admissions as admission_events;
use hmis_proto::openhmis::admissions::v1 as admissions_pb;
use uuid::Uuid;

use crate::store::{self, VisitRow};

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
        let visit = visit_of(&admission)?;
        let mut tx = self
            .database
            .begin(event.tenant_id, &RequestId::generate())
            .await
            .map_err(HandlerError::new)?;
        if visit.status == "in_progress" {
            store::place(
                &mut tx,
                visit.patient_id,
                visit.facility_id,
                visit.department_id,
                event.occurred_at,
            )
            .await
        } else {
            store::unplace(&mut tx, visit.patient_id).await
        }
        .map_err(HandlerError::new)?;
        store::upsert_visit(&mut tx, &visit)
            .await
            .map_err(HandlerError::new)?;
        tx.commit().await.map_err(HandlerError::new)
    }
}

/// The visit an admission is, as the registry keeps it.
fn visit_of(admission: &admissions_pb::Admission) -> Result<VisitRow, HandlerError> {
    let status = match admissions_pb::AdmissionStatus::try_from(admission.status) {
        Ok(admissions_pb::AdmissionStatus::Admitted) => "in_progress",
        Ok(admissions_pb::AdmissionStatus::Discharged) => "finished",
        Ok(admissions_pb::AdmissionStatus::Cancelled) => "cancelled",
        _ => {
            return Err(HandlerError::new(
                "an admission event with an unknown status",
            ));
        }
    };
    let admission_type = admissions_pb::AdmissionType::try_from(admission.r#type)
        .map(|kind| {
            kind.as_str_name()
                .trim_start_matches("ADMISSION_TYPE_")
                .to_ascii_lowercase()
        })
        .map_err(|_| HandlerError::new("an admission event with an unknown type"))?;
    let time = |at: Option<&prost_types::Timestamp>| {
        wire::parse_timestamp(at).map_err(|_| HandlerError::new("an admission event time"))
    };
    Ok(VisitRow {
        admission_id: uuid(&admission.id)?,
        patient_id: uuid(&admission.patient_id)?,
        admission_number: admission.admission_number.clone(),
        facility_id: uuid(&admission.facility_id)?,
        department_id: uuid(&admission.department_id)?,
        admission_type,
        status: status.to_owned(),
        start_time: time(admission.admit_time.as_ref())?
            .ok_or_else(|| HandlerError::new("an admission event without its admit time"))?,
        end_time: time(
            admission
                .discharge
                .as_ref()
                .and_then(|discharge| discharge.discharge_time.as_ref()),
        )?,
    })
}

impl EventHandler for PlacementFollower {
    fn handle<'a>(&'a self, event: &'a Event) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(self.follow(event))
    }
}
