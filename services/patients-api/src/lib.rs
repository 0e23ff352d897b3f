//! What other modules read of the patient registry (the `patients` module), in domain words:
//! a patient's facts ([`PatientFacts`]) and registering a newborn ([`Newborn`]), through the
//! registry's contract by [`PatientsClient`]. This crate is the one place another module meets
//! the registry's wire types, so a module depends on it, never on the registry.
//!
//! Modules that keep what they check of patients (death, merge) read the registry's
//! `PatientChanged` events through [`patient_changed`].
//!
//! Every call is made on behalf of the caller ([`forwarded`]): the registry authorizes the
//! same person the outer call serves and audits its read of the record under that person.

use chrono::NaiveDate;
use hmis_platform::RequestContext;
use hmis_platform::channel::{CallError, ServiceChannel, answered_id, forwarded};
use hmis_proto::openhmis::patients::v1 as pb;
use pb::patient_service_client::PatientServiceClient;
use uuid::Uuid;

/// A patient's administrative sex, as the registry records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sex {
    Male,
    Female,
    /// Not known yet (an unidentified emergency patient, a newborn not yet told).
    Unknown,
}

impl Sex {
    fn to_pb(self) -> pb::Sex {
        match self {
            Sex::Male => pb::Sex::Male,
            Sex::Female => pb::Sex::Female,
            Sex::Unknown => pb::Sex::Unknown,
        }
    }

    fn from_pb(value: i32) -> Self {
        match pb::Sex::try_from(value) {
            Ok(pb::Sex::Male) => Sex::Male,
            Ok(pb::Sex::Female) => Sex::Female,
            _ => Sex::Unknown,
        }
    }
}

/// What other modules check of a patient before acting on the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatientFacts {
    pub id: Uuid,
    pub family_name: String,
    pub given_names: String,
    pub sex: Sex,
    pub birth_date: Option<NaiveDate>,
    pub deceased: bool,
    /// Bills left unpaid: the desk is warned.
    pub unpaid_debt: bool,
    /// The record this one was merged into: act on that one instead.
    pub merged_into: Option<Uuid>,
}

/// A newborn to register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Newborn {
    pub family_name: String,
    pub given_names: String,
    pub sex: Sex,
    pub birth_date: NaiveDate,
}

/// Why a call to the registry failed: the registry's status (NOT_FOUND, PERMISSION_DENIED,
/// ...), or an answer lacking what its contract promises.
pub type PatientsError = CallError;

pub type Result<T, E = PatientsError> = std::result::Result<T, E>;

/// A typed client of the registry.
#[derive(Debug, Clone)]
pub struct PatientsClient {
    patients: PatientServiceClient<ServiceChannel>,
}

impl PatientsClient {
    /// `channel` serves `openhmis.patients.v1.PatientService`.
    pub fn new(channel: ServiceChannel) -> Self {
        Self {
            patients: PatientServiceClient::new(channel),
        }
    }

    /// The patient's facts, read from the record (the registry audits the read).
    pub async fn facts(&self, context: &RequestContext, id: Uuid) -> Result<PatientFacts> {
        let patient = self
            .patients
            .clone()
            .get_patient(forwarded(
                context,
                pb::GetPatientRequest { id: id.to_string() },
            ))
            .await?
            .into_inner()
            .patient
            .ok_or(PatientsError::Malformed("patient"))?;
        let merged_into = match patient.merged_into_id.as_str() {
            "" => None,
            merged => Some(answered_id(merged, "merged_into_id")?),
        };
        Ok(PatientFacts {
            id,
            family_name: patient.family_name,
            given_names: patient.given_names,
            sex: Sex::from_pb(patient.sex),
            birth_date: patient.birth_date.parse().ok(),
            deceased: patient.deceased,
            unpaid_debt: patient.unpaid_debt,
            merged_into,
        })
    }

    /// Registers a newborn and returns its id. Twins share a birth date and a family name, so
    /// no duplicate check stops it; `request_id` makes a retry find the record it made.
    pub async fn register_newborn(
        &self,
        context: &RequestContext,
        request_id: String,
        newborn: &Newborn,
    ) -> Result<Uuid> {
        let registered = self
            .patients
            .clone()
            .register_patient(forwarded(
                context,
                pb::RegisterPatientRequest {
                    request_id,
                    patient: Some(pb::Patient {
                        family_name: newborn.family_name.clone(),
                        given_names: newborn.given_names.clone(),
                        sex: newborn.sex.to_pb().into(),
                        birth_date: newborn.birth_date.to_string(),
                        ..Default::default()
                    }),
                    confirm_new_patient: true,
                },
            ))
            .await?
            .into_inner()
            .patient
            .ok_or(PatientsError::Malformed("registered newborn"))?;
        answered_id(&registered.id, "newborn id")
    }
}

/// Why nothing new may be booked, opened or planned for a patient: the record was merged
/// into another (act on that one), or the patient is recorded as deceased. None: go on.
pub fn refusal(deceased: bool, merged_into: Option<Uuid>) -> Option<String> {
    match merged_into {
        Some(survivor) => Some(format!(
            "the patient record was merged into {survivor}; use that record"
        )),
        None => deceased.then(|| "the patient is recorded as deceased".to_owned()),
    }
}

impl PatientFacts {
    /// Why nothing new may be done for this patient ([`refusal`]); none: go on.
    pub fn refusal(&self) -> Option<String> {
        refusal(self.deceased, self.merged_into)
    }
}

/// What a `PatientChanged` event tells the modules that keep a patient's facts: its version
/// (a kept row only moves to a newer one), death and merge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChangedPatient {
    pub id: Uuid,
    pub version: i64,
    pub deceased: bool,
    pub merged_into: Option<Uuid>,
}

/// The patient `event` tells of, if it is the registry's `PatientChanged`.
pub fn patient_changed(
    event: &hmis_platform::outbox::Event,
) -> Result<Option<ChangedPatient>, hmis_platform::outbox::HandlerError> {
    use hmis_platform::outbox::HandlerError;
    if event.event_type != hmis_proto::events::patients::PATIENT_CHANGED {
        return Ok(None);
    }
    let invalid = |what: &str| HandlerError::new(format!("an event's {what} is not valid"));
    let changed: pb::PatientChanged = event.decode().map_err(HandlerError::new)?;
    let patient = changed.patient.ok_or_else(|| invalid("patient"))?;
    let id = Uuid::parse_str(&patient.id).map_err(|_| invalid("patient id"))?;
    let merged_into = match patient.merged_into_id.as_str() {
        "" => None,
        merged => Some(Uuid::parse_str(merged).map_err(|_| invalid("merged_into_id"))?),
    };
    let version = hmis_platform::types::Version::parse_etag(&patient.etag)
        .map_err(|_| invalid("etag"))?
        .get();
    Ok(Some(ChangedPatient {
        id,
        version,
        deceased: patient.deceased,
        merged_into,
    }))
}
