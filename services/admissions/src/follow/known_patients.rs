//! What admitting needs to know of the registry's patients (sex, death, merge), kept from the
//! registry's `PatientChanged` events in `admissions.known_patients`. Admitting reads it
//! instead of the whole record: no second audited transaction (the admission's own audit
//! record names the patient). A patient registered moments ago may not be known yet; then
//! the registry is asked ([`crate::directory::Directory::patient`]).
//!
//! Idempotent and order-proof: a row only moves to a newer registry version.

use std::sync::Arc;

use futures::future::BoxFuture;
use hmis_platform::context::RequestId;
use hmis_platform::outbox::{Event, EventHandler, HandlerError, Subscription};
use hmis_platform::types::Version;
use hmis_platform::{Database, TenantTx};
use hmis_proto::events::patients::PATIENT_CHANGED;
use hmis_proto::openhmis::patients::v1 as patients_pb;
use uuid::Uuid;

use crate::directory::Patient;
use crate::domain::PatientSex;
use crate::error::{Error, Result};
use crate::store;

#[derive(Debug)]
struct PatientFollower {
    database: Database,
}

pub(crate) fn subscription(database: Database) -> Subscription {
    Subscription {
        source: "patients",
        subscriber: "admissions.known_patients".to_owned(),
        handler: Arc::new(PatientFollower { database }),
    }
}

fn sex_to_db(sex: i32) -> &'static str {
    match patients_pb::Sex::try_from(sex) {
        Ok(patients_pb::Sex::Male) => "male",
        Ok(patients_pb::Sex::Female) => "female",
        _ => "unknown",
    }
}

impl PatientFollower {
    async fn follow(&self, event: &Event) -> Result<(), HandlerError> {
        if event.event_type != PATIENT_CHANGED {
            return Ok(());
        }
        let changed: patients_pb::PatientChanged = event.decode().map_err(HandlerError::new)?;
        let Some(patient) = changed.patient else {
            return Err(HandlerError::new(
                "a PatientChanged event without its patient",
            ));
        };
        let invalid = |what: &str| HandlerError::new(format!("a PatientChanged event's {what}"));
        let patient_id = Uuid::parse_str(&patient.id).map_err(|_| invalid("id"))?;
        let version = Version::parse_etag(&patient.etag).map_err(|_| invalid("etag"))?;
        let merged_into = match patient.merged_into_id.as_str() {
            "" => None,
            id => Some(Uuid::parse_str(id).map_err(|_| invalid("merged_into_id"))?),
        };
        let mut tx = self
            .database
            .begin(event.tenant_id, &RequestId::generate())
            .await
            .map_err(HandlerError::new)?;
        store::keep_known_patient(
            &mut tx,
            patient_id,
            &store::PatientFactsRow {
                version: version.get(),
                sex: sex_to_db(patient.sex),
                deceased: patient.deceased,
                merged_into,
                birth_date: patient.birth_date.parse().ok(),
                unpaid_debt: patient.unpaid_debt,
            },
        )
        .await
        .map_err(HandlerError::new)?;
        tx.commit().await.map_err(HandlerError::new)
    }
}

impl EventHandler for PatientFollower {
    fn handle<'a>(&'a self, event: &'a Event) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(self.follow(event))
    }
}

/// The patient as admissions knows it, if the registry's events told it already.
pub(crate) async fn known(tx: &mut TenantTx, patient_id: Uuid) -> Result<Option<Patient>> {
    let row = store::known_patient(tx, patient_id).await?;
    row.map(|row| {
        let sex = match row.sex.as_str() {
            "male" => PatientSex::Male,
            "female" => PatientSex::Female,
            "unknown" => PatientSex::Unknown,
            _ => return Err(Error::corrupt("known patient sex")),
        };
        Ok(Patient {
            id: patient_id,
            sex,
            deceased: row.deceased,
            merged_into: row.merged_into,
            birth_date: row.birth_date,
            unpaid_debt: row.unpaid_debt,
        })
    })
    .transpose()
}
