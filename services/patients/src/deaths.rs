//! Deaths in the hospital's care, kept from the admissions module's events (a deceased
//! discharge or an emergency visit that ended in death) and the encounters module's (a death
//! certificate issued), mark the patient deceased in the registry; undoing a deceased
//! discharge withdraws the death it recorded. Each change is made as the system (on
//! the audit trail under the event's method) and is idempotent, so a redelivered event
//! changes nothing.

use std::sync::Arc;

use futures::future::BoxFuture;
use hmis_platform::outbox::{Event, EventHandler, HandlerError, Subscription};
use hmis_platform::{RequestContext, wire};
use hmis_proto::events::admissions as admission_events;
use hmis_proto::openhmis::admissions::v1 as admissions_pb;
use prost::Message;
use uuid::Uuid;

use crate::app::{Death, Registry};

pub(crate) fn subscription(registry: Arc<Registry>) -> Subscription {
    Subscription {
        source: "admissions",
        subscriber: "patients.deaths".to_owned(),
        handler: Arc::new(DeathFollower { registry }),
    }
}

/// Death certificates, from the encounters module's events.
pub(crate) fn certificate_subscription(registry: Arc<Registry>) -> Subscription {
    Subscription {
        source: "encounters",
        subscriber: "patients.death_certificates".to_owned(),
        handler: Arc::new(DeathFollower { registry }),
    }
}

#[derive(Debug)]
struct DeathFollower {
    registry: Arc<Registry>,
}

fn uuid(value: &str) -> Result<Uuid, HandlerError> {
    Uuid::parse_str(value).map_err(|_| HandlerError::new("an admissions event names an invalid id"))
}

fn time(
    at: Option<&prost_types::Timestamp>,
) -> Result<chrono::DateTime<chrono::Utc>, HandlerError> {
    wire::parse_timestamp(at)
        .ok()
        .flatten()
        .ok_or_else(|| HandlerError::new("an admissions event without a valid time"))
}

fn deceased(discharge: Option<&admissions_pb::Discharge>) -> bool {
    discharge
        .is_some_and(|discharge| discharge.r#type == admissions_pb::DischargeType::Deceased as i32)
}

/// What an event means for the registry's death record.
enum Change {
    Record(Death),
    Withdraw {
        patient_id: Uuid,
        recorded_from: Uuid,
    },
}

fn change_of(event: &Event) -> Result<Option<Change>, HandlerError> {
    let decode = |error: prost::DecodeError| HandlerError::new(error);
    Ok(match event.event_type.as_str() {
        admission_events::PATIENT_DISCHARGED => {
            let message =
                admissions_pb::PatientDischarged::decode(&*event.payload).map_err(decode)?;
            let Some(admission) = message.admission else {
                return Err(HandlerError::new("a discharge event without its admission"));
            };
            let discharge = admission.discharge.as_ref();
            if !deceased(discharge) {
                return Ok(None);
            }
            Some(Change::Record(Death {
                patient_id: uuid(&admission.patient_id)?,
                time: time(discharge.and_then(|discharge| discharge.discharge_time.as_ref()))?,
                facility_id: uuid(&admission.facility_id)?,
                recorded_from: uuid(&admission.id)?,
            }))
        }
        admission_events::DISCHARGE_UNDONE => {
            let message =
                admissions_pb::DischargeUndone::decode(&*event.payload).map_err(decode)?;
            let Some(admission) = message.admission else {
                return Err(HandlerError::new("an undo event without its admission"));
            };
            if !deceased(message.undone.as_ref()) {
                return Ok(None);
            }
            Some(Change::Withdraw {
                patient_id: uuid(&admission.patient_id)?,
                recorded_from: uuid(&admission.id)?,
            })
        }
        admission_events::EMERGENCY_VISIT_CLOSED => {
            let message =
                admissions_pb::EmergencyVisitClosed::decode(&*event.payload).map_err(decode)?;
            let Some(visit) = message.visit else {
                return Err(HandlerError::new("a visit event without its visit"));
            };
            if visit.outcome != admissions_pb::EmergencyOutcome::Died as i32 {
                return Ok(None);
            }
            Some(Change::Record(Death {
                patient_id: uuid(&visit.patient_id)?,
                time: time(visit.close_time.as_ref())?,
                facility_id: uuid(&visit.facility_id)?,
                recorded_from: uuid(&visit.id)?,
            }))
        }
        hmis_proto::events::encounters::CERTIFICATE_ISSUED => {
            use hmis_proto::openhmis::encounters::v1 as encounters_pb;
            let message =
                encounters_pb::CertificateIssued::decode(&*event.payload).map_err(decode)?;
            let Some(certificate) = message.certificate else {
                return Err(HandlerError::new(
                    "a certificate event without its certificate",
                ));
            };
            let Some(encounters_pb::certificate::Details::Death(death)) = &certificate.details
            else {
                return Ok(None);
            };
            Some(Change::Record(Death {
                patient_id: uuid(&certificate.patient_id)?,
                time: time(death.death_time.as_ref())?,
                facility_id: uuid(&certificate.facility_id)?,
                recorded_from: uuid(&certificate.id)?,
            }))
        }
        _ => None,
    })
}

impl DeathFollower {
    async fn follow(&self, event: &Event) -> Result<(), HandlerError> {
        let Some(change) = change_of(event)? else {
            return Ok(());
        };
        let context = RequestContext::system(event.tenant_id).acting_on(&event.event_type);
        match change {
            Change::Record(death) => self.registry.record_death(&context, death).await,
            Change::Withdraw {
                patient_id,
                recorded_from,
            } => {
                (self.registry)
                    .withdraw_death(&context, patient_id, recorded_from)
                    .await
            }
        }
        .map_err(HandlerError::new)
    }
}

impl EventHandler for DeathFollower {
    fn handle<'a>(&'a self, event: &'a Event) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(self.follow(event))
    }
}
