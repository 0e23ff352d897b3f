//! The read models follow the events: every admissions event carrying the admission replaces
//! the admission and its stays when it is newer; a principal diagnosis recorded in encounters
//! becomes the admission's. Idempotent and order-proof, so delivering the whole history again
//! (a rebuild) gives the same rows.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use hmis_platform::Database;
use hmis_platform::context::RequestId;
use hmis_platform::outbox::{Event, EventHandler, HandlerError, Subscription};
use hmis_platform::types::Version;
use hmis_platform::wire::parse_timestamp;
use hmis_proto::events::admissions::admission_of;
use hmis_proto::events::encounters::{CERTIFICATE_ISSUED, DIAGNOSIS_RECORDED};
use hmis_proto::events::patients::PATIENT_CHANGED;
use hmis_proto::openhmis::admissions::v1 as admissions_pb;
use hmis_proto::openhmis::encounters::v1 as encounters_pb;
use hmis_proto::openhmis::patients::v1 as patients_pb;
use uuid::Uuid;

use crate::store::{self, AdmissionFacts, StayFacts};

#[derive(Debug)]
struct AdmissionFollower {
    database: Database,
}

/// Principal diagnoses and sick-leave certificates, from encounters' outbox.
#[derive(Debug)]
struct DiagnosisFollower {
    database: Database,
}

/// The sex and birth date of patients, from the registry's outbox.
#[derive(Debug)]
struct PatientFollower {
    database: Database,
}

/// Subscriptions named `name` (a rebuild uses a fresh name, so it starts from the first event).
pub(crate) fn subscriptions(database: Database, name: &str) -> Vec<Subscription> {
    vec![
        Subscription {
            source: "admissions",
            subscriber: format!("{name}.admissions"),
            handler: Arc::new(AdmissionFollower {
                database: database.clone(),
            }),
        },
        Subscription {
            source: "encounters",
            subscriber: format!("{name}.diagnoses"),
            handler: Arc::new(DiagnosisFollower {
                database: database.clone(),
            }),
        },
        Subscription {
            source: "patients",
            subscriber: format!("{name}.patients"),
            handler: Arc::new(PatientFollower {
                database: database.clone(),
            }),
        },
        crate::operations::subscription(database.clone(), name),
        crate::occupancy::subscription(database, name),
    ]
}

fn invalid(what: &str) -> HandlerError {
    HandlerError::new(format!("an admission event's {what} is not valid"))
}

fn time(value: Option<&prost_types::Timestamp>, what: &str) -> Result<DateTime<Utc>, HandlerError> {
    parse_timestamp(value)
        .ok()
        .flatten()
        .ok_or_else(|| invalid(what))
}

fn facts(
    admission: &admissions_pb::Admission,
) -> Result<(AdmissionFacts, Vec<StayFacts>), HandlerError> {
    let id = |value: &str, what: &str| Uuid::parse_str(value).map_err(|_| invalid(what));
    let status = match admissions_pb::AdmissionStatus::try_from(admission.status) {
        Ok(admissions_pb::AdmissionStatus::Admitted) => "admitted",
        Ok(admissions_pb::AdmissionStatus::Discharged) => "discharged",
        Ok(admissions_pb::AdmissionStatus::Cancelled) => "cancelled",
        _ => return Err(invalid("status")),
    };
    let discharge_type = admission.discharge.as_ref().map(|discharge| {
        match admissions_pb::DischargeType::try_from(discharge.r#type) {
            Ok(admissions_pb::DischargeType::Deceased) => "deceased",
            Ok(admissions_pb::DischargeType::Transferred) => "transferred",
            _ => "alive",
        }
        .to_owned()
    });
    let discharge_time = match &admission.discharge {
        Some(discharge) => Some(time(discharge.discharge_time.as_ref(), "discharge time")?),
        None => None,
    };
    let count = admission.stays.len();
    let mut stays = Vec::with_capacity(count);
    for (position, stay) in admission.stays.iter().enumerate() {
        stays.push(StayFacts {
            position: i32::try_from(position).map_err(|_| invalid("stays"))?,
            department_id: id(&stay.department_id, "stay ward")?,
            start_time: time(stay.start_time.as_ref(), "stay start")?,
            end_time: match &stay.end_time {
                Some(end) => Some(time(Some(end), "stay end")?),
                None => None,
            },
            last: position + 1 == count,
        });
    }
    Ok((
        AdmissionFacts {
            admission_id: id(&admission.id, "id")?,
            version: Version::parse_etag(&admission.etag)
                .map_err(|_| invalid("etag"))?
                .get(),
            patient_id: id(&admission.patient_id, "patient")?,
            facility_id: id(&admission.facility_id, "facility")?,
            admission_type: admissions_pb::AdmissionType::try_from(admission.r#type)
                .map(|kind| {
                    kind.as_str_name()
                        .trim_start_matches("ADMISSION_TYPE_")
                        .to_lowercase()
                })
                .unwrap_or_default(),
            status: status.to_owned(),
            admit_time: time(admission.admit_time.as_ref(), "admit time")?,
            discharge_time,
            discharge_type,
            admitting_code: admission.admitting_diagnosis_code.clone(),
            admission_number: admission.admission_number.clone(),
        },
        stays,
    ))
}

impl AdmissionFollower {
    async fn follow(&self, event: &Event) -> Result<(), HandlerError> {
        let Some(admission) =
            admission_of(&event.event_type, &event.payload).map_err(HandlerError::new)?
        else {
            return Ok(());
        };
        let (admission, stays) = facts(&admission)?;
        let mut tx = self
            .database
            .begin(event.tenant_id, &RequestId::generate())
            .await
            .map_err(HandlerError::new)?;
        store::replace_admission(&mut tx, &admission, &stays)
            .await
            .map_err(HandlerError::new)?;
        tx.commit().await.map_err(HandlerError::new)
    }
}

impl DiagnosisFollower {
    async fn follow(&self, event: &Event) -> Result<(), HandlerError> {
        if event.event_type == CERTIFICATE_ISSUED {
            return self.certificate(event).await;
        }
        if event.event_type != DIAGNOSIS_RECORDED {
            return Ok(());
        }
        let recorded: encounters_pb::DiagnosisRecorded =
            event.decode().map_err(HandlerError::new)?;
        let Some(diagnosis) = recorded.diagnosis else {
            return Err(HandlerError::new(
                "a DiagnosisRecorded event without its diagnosis",
            ));
        };
        let principal = encounters_pb::DiagnosisRole::try_from(diagnosis.role)
            == Ok(encounters_pb::DiagnosisRole::Principal);
        if !principal || recorded.admission_id.is_empty() {
            return Ok(());
        }
        let admission_id = Uuid::parse_str(&recorded.admission_id)
            .map_err(|_| HandlerError::new("a DiagnosisRecorded event's admission id"))?;
        let mut tx = self
            .database
            .begin(event.tenant_id, &RequestId::generate())
            .await
            .map_err(HandlerError::new)?;
        store::set_principal(&mut tx, admission_id, &diagnosis.code, event.occurred_at)
            .await
            .map_err(HandlerError::new)?;
        tx.commit().await.map_err(HandlerError::new)
    }
}

impl DiagnosisFollower {
    async fn certificate(&self, event: &Event) -> Result<(), HandlerError> {
        let issued: encounters_pb::CertificateIssued = event.decode().map_err(HandlerError::new)?;
        let Some(certificate) = issued.certificate else {
            return Err(HandlerError::new(
                "a CertificateIssued event without its certificate",
            ));
        };
        let Some(encounters_pb::certificate::Details::SickLeave(leave)) = &certificate.details
        else {
            return Ok(());
        };
        let bad = |what: &str| HandlerError::new(format!("a CertificateIssued event's {what}"));
        let id = |value: &str, what: &str| Uuid::parse_str(value).map_err(|_| bad(what));
        let date = |value: &str, what: &str| {
            chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| bad(what))
        };
        let facts = store::SickLeaveFacts {
            certificate_id: id(&certificate.id, "id")?,
            patient_id: id(&certificate.patient_id, "patient")?,
            facility_id: id(&certificate.facility_id, "facility")?,
            first_certificate_id: id(&leave.first_certificate_id, "first certificate")?,
            period_start: date(&leave.period_start, "period start")?,
            period_end: date(&leave.period_end, "period end")?,
            diagnosis_code: leave.diagnosis_code.clone(),
        };
        let mut tx = self
            .database
            .begin(event.tenant_id, &RequestId::generate())
            .await
            .map_err(HandlerError::new)?;
        store::record_sick_leave(&mut tx, &facts)
            .await
            .map_err(HandlerError::new)?;
        tx.commit().await.map_err(HandlerError::new)
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
        let patient_id = Uuid::parse_str(&patient.id)
            .map_err(|_| HandlerError::new("a PatientChanged event's id"))?;
        let version = Version::parse_etag(&patient.etag)
            .map_err(|_| HandlerError::new("a PatientChanged event's etag"))?;
        let sex = match patients_pb::Sex::try_from(patient.sex) {
            Ok(patients_pb::Sex::Male) => "male",
            Ok(patients_pb::Sex::Female) => "female",
            _ => "unknown",
        };
        let birth_date = chrono::NaiveDate::parse_from_str(&patient.birth_date, "%Y-%m-%d").ok();
        let mut tx = self
            .database
            .begin(event.tenant_id, &RequestId::generate())
            .await
            .map_err(HandlerError::new)?;
        store::record_patient(&mut tx, patient_id, version.get(), sex, birth_date)
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

impl EventHandler for AdmissionFollower {
    fn handle<'a>(&'a self, event: &'a Event) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(self.follow(event))
    }
}

impl EventHandler for DiagnosisFollower {
    fn handle<'a>(&'a self, event: &'a Event) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(self.follow(event))
    }
}
