//! Laboratory results enter the patient's record when the laboratory releases them
//! (`ResultsReleased`): encounters keeps the latest released value of each ordered test for
//! the medical extract. Idempotent: a release seen twice writes the same row; an older
//! release never replaces a newer one.

use std::sync::Arc;

use futures::future::BoxFuture;
use hmis_platform::Database;
use hmis_platform::context::RequestId;
use hmis_platform::outbox::{Event, EventHandler, HandlerError, Subscription};
use hmis_platform::wire::parse_timestamp;
use hmis_proto::events::laboratory::RESULTS_RELEASED;
use hmis_proto::openhmis::laboratory::v1 as laboratory_pb;
use uuid::Uuid;

use crate::store::{self, InvestigationResultRow};

#[derive(Debug)]
struct ResultsFollower {
    database: Database,
}

pub(crate) fn subscription(database: Database) -> Subscription {
    Subscription {
        source: "laboratory",
        subscriber: "encounters.investigation_results".to_owned(),
        handler: Arc::new(ResultsFollower { database }),
    }
}

fn invalid(what: &str) -> HandlerError {
    HandlerError::new(format!("an event's {what} is not valid"))
}

fn flag(value: i32) -> &'static str {
    match laboratory_pb::Flag::try_from(value) {
        Ok(laboratory_pb::Flag::Normal) => "normal",
        Ok(laboratory_pb::Flag::Low) => "low",
        Ok(laboratory_pb::Flag::High) => "high",
        Ok(laboratory_pb::Flag::CriticalLow) => "critical_low",
        Ok(laboratory_pb::Flag::CriticalHigh) => "critical_high",
        Ok(laboratory_pb::Flag::Abnormal) => "abnormal",
        _ => "",
    }
}

impl ResultsFollower {
    async fn follow(&self, event: &Event) -> Result<(), HandlerError> {
        if event.event_type != RESULTS_RELEASED {
            return Ok(());
        }
        let released: laboratory_pb::ResultsReleased = event.decode().map_err(HandlerError::new)?;
        let order = released.order.ok_or_else(|| invalid("order"))?;
        let encounter_id =
            Uuid::parse_str(&order.encounter_id).map_err(|_| invalid("encounter id"))?;
        let order_id = Uuid::parse_str(&order.id).map_err(|_| invalid("order id"))?;
        let mut tx = self
            .database
            .begin(event.tenant_id, &RequestId::generate())
            .await
            .map_err(HandlerError::new)?;
        for result in released.results {
            let time = |value: Option<&prost_types::Timestamp>| {
                parse_timestamp(value)
                    .ok()
                    .flatten()
                    .unwrap_or(event.occurred_at)
            };
            let row = InvestigationResultRow {
                order_id,
                test_code: result.test_code.clone(),
                encounter_id,
                result_id: Uuid::parse_str(&result.id).map_err(|_| invalid("result id"))?,
                test_name: result.test_name.clone(),
                value: result.value.clone(),
                unit: result.unit.clone(),
                flag: flag(result.flag).to_owned(),
                reference_range: result.reference_range.clone(),
                observed_at: time(result.observe_time.as_ref()),
                released_at: time(result.medical_validate_time.as_ref()),
                corrected: result.corrected,
            };
            store::keep_investigation_result(&mut tx, &row)
                .await
                .map_err(HandlerError::new)?;
        }
        tx.commit().await.map_err(HandlerError::new)
    }
}

impl EventHandler for ResultsFollower {
    fn handle<'a>(&'a self, event: &'a Event) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(self.follow(event))
    }
}
