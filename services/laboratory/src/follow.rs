//! What the laboratory follows: encounters' laboratory referrals (read by
//! `hmis-encounters-api`; each becomes an order, once)
//! and the registry's patients (sex and birth date choose the reference range). Idempotent:
//! an order is one per referral, a patient's row only moves to a newer version.

use std::sync::Arc;

use futures::future::BoxFuture;
use hmis_encounters_api::{Investigation, investigation_referral};
use hmis_platform::TenantTx;
use hmis_platform::context::RequestId;
use hmis_platform::outbox::{Event, EventHandler, HandlerError, Subscription};
use hmis_platform::types::Version;
use hmis_proto::events::patients::PATIENT_CHANGED;
use hmis_proto::openhmis::patients::v1 as patients_pb;
use uuid::Uuid;

use crate::app::Laboratory;
use crate::domain::Sex;
use crate::store;

#[derive(Debug, Clone, Copy)]
enum Source {
    Patients,
    Referrals,
}

#[derive(Debug)]
struct Follower {
    laboratory: Arc<Laboratory>,
    source: Source,
}

pub(crate) fn subscriptions(laboratory: &Arc<Laboratory>) -> Vec<Subscription> {
    [
        ("patients", "laboratory.known_patients", Source::Patients),
        ("encounters", "laboratory.orders", Source::Referrals),
    ]
    .into_iter()
    .map(|(source_module, subscriber, source)| Subscription {
        source: source_module,
        subscriber: subscriber.to_owned(),
        handler: Arc::new(Follower {
            laboratory: laboratory.clone(),
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

impl Follower {
    async fn follow(&self, event: &Event) -> Result<(), HandlerError> {
        match self.source {
            Source::Patients if event.event_type == PATIENT_CHANGED => {
                self.keep_patient(event).await
            }
            Source::Referrals => self.receive_referral(event).await,
            _ => Ok(()),
        }
    }

    async fn begin(&self, event: &Event) -> Result<TenantTx, HandlerError> {
        self.laboratory
            .calls
            .database()
            .begin(event.tenant_id, &RequestId::generate())
            .await
            .map_err(HandlerError::new)
    }

    async fn keep_patient(&self, event: &Event) -> Result<(), HandlerError> {
        let changed: patients_pb::PatientChanged = event.decode().map_err(HandlerError::new)?;
        let patient = changed.patient.ok_or_else(|| invalid("patient"))?;
        let sex = match patients_pb::Sex::try_from(patient.sex) {
            Ok(patients_pb::Sex::Female) => Sex::Female,
            Ok(patients_pb::Sex::Male) => Sex::Male,
            _ => Sex::Unknown,
        };
        let birth = hmis_platform::types::parse_date(&patient.birth_date).ok();
        let version = Version::parse_etag(&patient.etag)
            .map_err(|_| invalid("etag"))?
            .get();
        let mut tx = self.begin(event).await?;
        store::keep_patient(
            &mut tx,
            id(&patient.id, "patient id")?,
            version,
            (sex, birth),
        )
        .await
        .map_err(HandlerError::new)?;
        tx.commit().await.map_err(HandlerError::new)
    }

    async fn receive_referral(&self, event: &Event) -> Result<(), HandlerError> {
        let Some(referral) = investigation_referral(event, Investigation::Laboratory)? else {
            return Ok(());
        };
        // Before the order's transaction: the registry may be asked (a call of its own).
        self.laboratory
            .know_patient(event.tenant_id, referral.patient_id)
            .await
            .map_err(HandlerError::new)?;
        let mut tx = self.begin(event).await?;
        self.laboratory
            .receive_referral(&mut tx, referral)
            .await
            .map_err(HandlerError::new)?;
        tx.commit().await.map_err(HandlerError::new)
    }
}

impl EventHandler for Follower {
    fn handle<'a>(&'a self, event: &'a Event) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(self.follow(event))
    }
}
