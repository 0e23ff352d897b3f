//! What surgery keeps of other modules' records from their events, so a booking reads no
//! other module: the registry's patients (`PatientChanged`: death, merge) and admissions'
//! admissions (every admission event: whose, and whether open). Idempotent and order-proof:
//! a row only moves to a newer version of its source.

use std::sync::Arc;

use futures::future::BoxFuture;
use hmis_patients_api::patient_changed;
use hmis_platform::context::RequestId;
use hmis_platform::outbox::{Event, EventHandler, HandlerError, Subscription};
use hmis_platform::types::Version;
use hmis_platform::{Database, TenantTx};
use hmis_proto::events::admissions::admission_of;
use hmis_proto::openhmis::admissions::v1 as admissions_pb;
use uuid::Uuid;

use crate::store;

#[derive(Debug, Clone, Copy)]
enum Source {
    Patients,
    Admissions,
}

#[derive(Debug)]
struct Follower {
    database: Database,
    source: Source,
}

/// The subscriptions that keep `surgery.known_patients` and `surgery.known_admissions`.
pub(crate) fn subscriptions(database: &Database) -> Vec<Subscription> {
    [
        ("patients", "surgery.known_patients", Source::Patients),
        ("admissions", "surgery.known_admissions", Source::Admissions),
    ]
    .into_iter()
    .map(|(source_module, subscriber, source)| Subscription {
        source: source_module,
        subscriber: subscriber.to_owned(),
        handler: Arc::new(Follower {
            database: database.clone(),
            source,
        }),
    })
    .collect()
}

fn invalid(what: &str) -> HandlerError {
    HandlerError::new(format!("an event's {what} is not valid"))
}

fn id(value: &str, what: &str) -> Result<Uuid, HandlerError> {
    Uuid::parse_str(value).map_err(|_| invalid(what))
}

fn version(etag: &str) -> Result<i64, HandlerError> {
    Ok(Version::parse_etag(etag)
        .map_err(|_| invalid("etag"))?
        .get())
}

async fn keep_patient(tx: &mut TenantTx, event: &Event) -> Result<(), HandlerError> {
    let Some(patient) = patient_changed(event)? else {
        return Ok(());
    };
    let facts = (patient.deceased, patient.merged_into);
    store::keep_patient(tx, patient.id, patient.version, facts)
        .await
        .map_err(HandlerError::new)
}

async fn keep_admission(tx: &mut TenantTx, event: &Event) -> Result<(), HandlerError> {
    let Some(admission) =
        admission_of(&event.event_type, &event.payload).map_err(HandlerError::new)?
    else {
        return Ok(());
    };
    let open = admission.status == admissions_pb::AdmissionStatus::Admitted as i32;
    let whose = (id(&admission.patient_id, "patient id")?, open);
    store::keep_admission(
        tx,
        id(&admission.id, "admission id")?,
        version(&admission.etag)?,
        whose,
    )
    .await
    .map_err(HandlerError::new)
}

impl Follower {
    async fn follow(&self, event: &Event) -> Result<(), HandlerError> {
        let mut tx = self
            .database
            .begin(event.tenant_id, &RequestId::generate())
            .await
            .map_err(HandlerError::new)?;
        match self.source {
            Source::Patients => keep_patient(&mut tx, event).await?,
            Source::Admissions => keep_admission(&mut tx, event).await?,
        }
        tx.commit().await.map_err(HandlerError::new)
    }
}

impl EventHandler for Follower {
    fn handle<'a>(&'a self, event: &'a Event) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(self.follow(event))
    }
}
