//! What imaging follows: encounters' imaging referrals, each of which becomes an order, once
//! (`orders_one_per_referral`).

use std::sync::Arc;

use futures::future::BoxFuture;
use hmis_platform::context::RequestId;
use hmis_platform::outbox::{Event, EventHandler, HandlerError, Subscription};
use hmis_proto::events::encounters::REFERRAL_CREATED;
use hmis_proto::openhmis::encounters::v1 as encounters_pb;
use uuid::Uuid;

use crate::app::{Imaging, Referral};
use crate::domain::Priority;

#[derive(Debug)]
struct Follower {
    imaging: Arc<Imaging>,
}

pub(crate) fn subscription(imaging: &Arc<Imaging>) -> Subscription {
    Subscription {
        source: "encounters",
        subscriber: "imaging.orders".to_owned(),
        handler: Arc::new(Follower {
            imaging: imaging.clone(),
        }),
    }
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
        if event.event_type != REFERRAL_CREATED {
            return Ok(());
        }
        let created: encounters_pb::ReferralCreated = event.decode().map_err(HandlerError::new)?;
        let referral = created.referral.ok_or_else(|| invalid("referral"))?;
        if referral.kind != encounters_pb::ReferralKind::Imaging as i32 {
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
        let mut tx = self
            .imaging
            .calls
            .database()
            .begin(event.tenant_id, &RequestId::generate())
            .await
            .map_err(HandlerError::new)?;
        self.imaging
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
