//! Admissions follow the encounters module's diagnoses: a principal diagnosis recorded in a
//! stay's encounter is kept against the admission, so a tenant that requires one before a
//! discharge is checked without a call to encounters. Idempotent: the latest principal
//! diagnosis of an admission stays, whatever arrives twice.

use std::sync::Arc;

use futures::future::BoxFuture;
use hmis_platform::Database;
use hmis_platform::context::RequestId;
use hmis_platform::outbox::{Event, EventHandler, HandlerError, Subscription};
use hmis_proto::events::encounters::DIAGNOSIS_RECORDED;
use hmis_proto::openhmis::encounters::v1 as encounters_pb;
use prost::Message;
use uuid::Uuid;

use crate::store;

#[derive(Debug)]
struct DiagnosisFollower {
    database: Database,
}

pub(crate) fn subscription(database: Database) -> Subscription {
    Subscription {
        source: "encounters",
        subscriber: "admissions.principal_diagnoses".to_owned(),
        handler: Arc::new(DiagnosisFollower { database }),
    }
}

impl DiagnosisFollower {
    async fn follow(&self, event: &Event) -> Result<(), HandlerError> {
        if event.event_type != DIAGNOSIS_RECORDED {
            return Ok(());
        }
        let recorded =
            encounters_pb::DiagnosisRecorded::decode(&*event.payload).map_err(HandlerError::new)?;
        let Some(diagnosis) = recorded.diagnosis else {
            return Err(HandlerError::new("a diagnosis event without its diagnosis"));
        };
        if recorded.admission_id.is_empty()
            || diagnosis.role != encounters_pb::DiagnosisRole::Principal as i32
        {
            return Ok(());
        }
        let admission_id = Uuid::parse_str(&recorded.admission_id)
            .map_err(|_| HandlerError::new("a diagnosis event names an invalid admission"))?;
        let mut tx = self
            .database
            .begin(event.tenant_id, &RequestId::generate())
            .await
            .map_err(HandlerError::new)?;
        store::keep_principal_diagnosis(&mut tx, admission_id, &diagnosis.code, event.occurred_at)
            .await
            .map_err(HandlerError::new)?;
        tx.commit().await.map_err(HandlerError::new)
    }
}

impl EventHandler for DiagnosisFollower {
    fn handle<'a>(&'a self, event: &'a Event) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(self.follow(event))
    }
}
