//! What inventory keeps from other modules' events: doses given on the wards, drawn on the
//! ward's stock (`app/doses.rs`).

use std::sync::Arc;

use futures::future::BoxFuture;
use hmis_platform::RequestContext;
use hmis_platform::outbox::{Event, EventHandler, HandlerError, Subscription};
use hmis_proto::events::encounters::DOSE_GIVEN;
use hmis_proto::openhmis::encounters::v1 as encounters_pb;
use prost::Message;
use uuid::Uuid;

use crate::app::{DoseGiven, Stores};

pub(crate) fn subscription(stores: Arc<Stores>) -> Subscription {
    Subscription {
        source: "encounters",
        subscriber: "inventory.doses_given".to_owned(),
        handler: Arc::new(DoseFollower { stores }),
    }
}

#[derive(Debug)]
struct DoseFollower {
    stores: Arc<Stores>,
}

fn uuid(value: &str) -> Result<Uuid, HandlerError> {
    Uuid::parse_str(value).map_err(|_| HandlerError::new("a DoseGiven event names an invalid id"))
}

impl DoseFollower {
    async fn follow(&self, event: &Event) -> Result<(), HandlerError> {
        if event.event_type != DOSE_GIVEN {
            return Ok(());
        }
        let given = encounters_pb::DoseGiven::decode(&*event.payload).map_err(HandlerError::new)?;
        let Some(administration) = given.administration else {
            return Err(HandlerError::new(
                "a DoseGiven event without its administration",
            ));
        };
        let dose = DoseGiven {
            administration_id: uuid(&administration.id)?,
            patient_id: uuid(&administration.patient_id)?,
            department_id: uuid(&given.department_id)?,
            medicine_code: given.medicine_code,
            quantity: given.quantity,
            form_unit: given.form_unit,
        };
        let context = RequestContext::system(event.tenant_id).acting_on(&event.event_type);
        self.stores
            .draw_dose(&context, &dose)
            .await
            .map_err(HandlerError::new)
    }
}

impl EventHandler for DoseFollower {
    fn handle<'a>(&'a self, event: &'a Event) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(self.follow(event))
    }
}
