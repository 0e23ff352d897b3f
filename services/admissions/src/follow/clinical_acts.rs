//! Admissions follow the ward's clinical acts recorded in encounters: the first medicine given
//! (`DoseGiven`) or procedure recorded (`ProcedureRecorded`) in a stay's encounter ends the
//! time the desk may correct or cancel the admission. The stay's discharge summary written
//! (`DischargeSummaryWritten`) is kept for the discharge desk. Idempotent: the earliest act is
//! kept, whatever arrives twice or late.

use std::sync::Arc;

use futures::future::BoxFuture;
use hmis_platform::Database;
use hmis_platform::context::RequestId;
use hmis_platform::outbox::{Event, EventHandler, HandlerError, Subscription};
use hmis_proto::events::encounters::{DISCHARGE_SUMMARY_WRITTEN, DOSE_GIVEN, PROCEDURE_RECORDED};
use hmis_proto::openhmis::encounters::v1 as encounters_pb;
use uuid::Uuid;

use crate::store;

#[derive(Debug)]
struct ClinicalActFollower {
    database: Database,
}

pub(crate) fn subscription(database: Database) -> Subscription {
    Subscription {
        source: "encounters",
        subscriber: "admissions.clinical_acts".to_owned(),
        handler: Arc::new(ClinicalActFollower { database }),
    }
}

/// The admission an encounters event records care (or the discharge summary) in; empty for
/// outpatients and other events.
fn admission_of(event: &Event) -> Result<String, HandlerError> {
    Ok(match event.event_type.as_str() {
        DOSE_GIVEN => {
            let given: encounters_pb::DoseGiven = event.decode().map_err(HandlerError::new)?;
            given.admission_id
        }
        PROCEDURE_RECORDED => {
            let recorded: encounters_pb::ProcedureRecorded =
                event.decode().map_err(HandlerError::new)?;
            recorded.admission_id
        }
        DISCHARGE_SUMMARY_WRITTEN => {
            let written: encounters_pb::DischargeSummaryWritten =
                event.decode().map_err(HandlerError::new)?;
            written.admission_id
        }
        _ => String::new(),
    })
}

impl ClinicalActFollower {
    async fn follow(&self, event: &Event) -> Result<(), HandlerError> {
        let admission_id = admission_of(event)?;
        if admission_id.is_empty() {
            return Ok(());
        }
        let admission_id = Uuid::parse_str(&admission_id)
            .map_err(|_| HandlerError::new("a clinical act names an invalid admission"))?;
        let mut tx = self
            .database
            .begin(event.tenant_id, &RequestId::generate())
            .await
            .map_err(HandlerError::new)?;
        let moment = if event.event_type == DISCHARGE_SUMMARY_WRITTEN {
            store::StayMoment::DischargeSummary
        } else {
            store::StayMoment::FirstClinicalAct
        };
        store::keep_stay_moment(&mut tx, admission_id, moment, event.occurred_at)
            .await
            .map_err(HandlerError::new)?;
        tx.commit().await.map_err(HandlerError::new)
    }
}

impl EventHandler for ClinicalActFollower {
    fn handle<'a>(&'a self, event: &'a Event) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(self.follow(event))
    }
}
