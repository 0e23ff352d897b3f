//! What the laboratory follows: encounters' laboratory referrals (each becomes an order, once)
//! and the registry's patients (sex and birth date choose the reference range). Idempotent:
//! an order is one per referral, a patient's row only moves to a newer version.

use std::sync::Arc;

use futures::future::BoxFuture;
use hmis_platform::TenantTx;
use hmis_platform::context::RequestId;
use hmis_platform::outbox::{Event, EventHandler, HandlerError, Subscription};
use hmis_platform::types::Version;
use hmis_proto::events::encounters::REFERRAL_CREATED;
use hmis_proto::events::patients::PATIENT_CHANGED;
use hmis_proto::openhmis::encounters::v1 as encounters_pb;
use hmis_proto::openhmis::patients::v1 as patients_pb;
use uuid::Uuid;

use crate::app::Laboratory;
use crate::app::orders::Referral;
use crate::domain::{Priority, Sex};
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

fn optional_id(value: &str, what: &str) -> Result<Option<Uuid>, HandlerError> {
    match value {
        "" => Ok(None),
        value => id(value, what).map(Some),
    }
}

impl Follower {
    async fn follow(&self, event: &Event) -> Result<(), HandlerError> {
        match self.source {
            Source::Patients if event.event_type == PATIENT_CHANGED => {
                self.keep_patient(event).await
            }
            Source::Referrals if event.event_type == REFERRAL_CREATED => {
                self.receive_referral(event).await
            }
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
        let created: encounters_pb::ReferralCreated = event.decode().map_err(HandlerError::new)?;
        let referral = created.referral.ok_or_else(|| invalid("referral"))?;
        if referral.kind != encounters_pb::ReferralKind::Laboratory as i32 {
            return Ok(());
        }
        let priority = match encounters_pb::Urgency::try_from(referral.urgency) {
            Ok(encounters_pb::Urgency::Emergency) => Priority::Emergency,
            Ok(encounters_pb::Urgency::Urgent) => Priority::Urgent,
            _ => Priority::Routine,
        };
        let at = hmis_platform::wire::parse_timestamp(referral.create_time.as_ref())
            .ok()
            .flatten()
            .unwrap_or(event.occurred_at);
        let order = Referral {
            referral_id: id(&referral.id, "referral id")?,
            encounter_id: id(&referral.encounter_id, "encounter id")?,
            patient_id: id(&referral.patient_id, "patient id")?,
            admission_id: optional_id(&created.admission_id, "admission id")?,
            department_id: optional_id(&created.department_id, "department id")?,
            facility_id: id(&created.facility_id, "facility id")?,
            requested_by: id(&referral.referred_by, "referred_by")?,
            priority,
            reason: hmis_platform::error::bounded(referral.reason, 2000),
            codes: referral.investigation_codes,
            at,
        };
        // Before the order's transaction: the registry may be asked (a call of its own).
        self.laboratory
            .know_patient(event.tenant_id, order.patient_id)
            .await
            .map_err(HandlerError::new)?;
        let mut tx = self.begin(event).await?;
        self.laboratory
            .receive_referral(&mut tx, order)
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
