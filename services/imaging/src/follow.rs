//! What imaging follows: encounters' imaging referrals (read by `hmis-encounters-api`), each
//! of which becomes an order, once (`orders_one_per_referral`).

use std::sync::Arc;

use futures::future::BoxFuture;
use hmis_encounters_api::{Investigation, investigation_referral};
use hmis_platform::context::RequestId;
use hmis_platform::outbox::{Event, EventHandler, HandlerError, Subscription};

use crate::app::Imaging;

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

impl Follower {
    async fn follow(&self, event: &Event) -> Result<(), HandlerError> {
        let Some(referral) = investigation_referral(event, Investigation::Imaging)? else {
            return Ok(());
        };
        let mut tx = self
            .imaging
            .calls
            .database()
            .begin(event.tenant_id, &RequestId::generate())
            .await
            .map_err(HandlerError::new)?;
        self.imaging
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
