//! What the booking office reads of other modules, through their contracts and on behalf of
//! the caller: the register (a clinic's department and facility, its time zone, a room), the
//! registry (that a patient may be booked) and the encounters (the outpatient encounter
//! opened when the consultation starts and closed when the visit ends). Wire types of other
//! modules stay in this file.

use encounters_pb::encounter_service_client::EncounterServiceClient;
use hmis_core_api::{CoreClient, CoreError};
use hmis_patients_api::{PatientsClient, PatientsError};
use hmis_platform::RequestContext;
use hmis_platform::channel::{ServiceChannel, forwarded};
use hmis_proto::openhmis::encounters::v1 as encounters_pb;
use tonic::{Code, Status};
use uuid::Uuid;

use crate::error::{Error, Result};

/// How long a department or a facility's time zone read from the register is used again: the
/// queue and the free-slot search would otherwise read the register on every call.
const REFERENCE_TTL: std::time::Duration = std::time::Duration::from_secs(30);

/// The channels to the modules scheduling reads.
#[derive(Debug, Clone)]
pub struct Channels {
    pub core: ServiceChannel,
    pub patients: ServiceChannel,
    pub encounters: ServiceChannel,
}

#[derive(Debug, Clone)]
pub struct Directory {
    core: CoreClient,
    patients: PatientsClient,
    encounters: EncounterServiceClient<ServiceChannel>,
}

/// A department of the register, as a clinic is set up in it.
#[derive(Debug, Clone, Copy)]
pub struct Department {
    pub facility_id: Uuid,
    pub active: bool,
}

/// A NOT_FOUND from the other module, said in this call's words (which field named it).
fn not_found(field: &'static str) -> impl Fn(Status) -> Error {
    move |status| {
        if status.code() == Code::NotFound {
            Error::invalid(field, "was not found")
        } else {
            Error::from(status)
        }
    }
}

fn core_error(field: &'static str) -> impl Fn(CoreError) -> Error {
    move |error| match error {
        CoreError::Status(status) => not_found(field)(status),
        CoreError::Malformed(what) => Error::corrupt(what),
    }
}

impl Directory {
    pub fn new(channels: Channels) -> Self {
        Self {
            core: CoreClient::remembering(channels.core, REFERENCE_TTL),
            patients: PatientsClient::new(channels.patients),
            encounters: EncounterServiceClient::new(channels.encounters),
        }
    }

    pub async fn department(&self, context: &RequestContext, id: Uuid) -> Result<Department> {
        let department =
            (self.core.department(context, id).await).map_err(core_error("department_id"))?;
        Ok(Department {
            facility_id: department.facility_id,
            active: department.active,
        })
    }

    /// That `room_id` is an active room of `department_id`.
    pub async fn check_room(
        &self,
        context: &RequestContext,
        room_id: Uuid,
        department_id: Uuid,
    ) -> Result<()> {
        let room = (self.core.room(context, room_id).await).map_err(core_error("room_id"))?;
        if room.department_id != department_id {
            return Err(Error::invalid(
                "room_id",
                "is not a room of the clinic's department",
            ));
        }
        if !room.active {
            return Err(Error::invalid("room_id", "is closed"));
        }
        Ok(())
    }

    /// The IANA time zone of a facility (days and working hours are the facility's).
    pub async fn time_zone(
        &self,
        context: &RequestContext,
        facility_id: Uuid,
    ) -> Result<chrono_tz::Tz> {
        let facility =
            (self.core.facility(context, facility_id).await).map_err(core_error("facility_id"))?;
        facility.zone().ok_or(Error::corrupt("facility time zone"))
    }

    /// That the patient is registered, not merged away, and alive.
    pub async fn check_patient(&self, context: &RequestContext, id: Uuid) -> Result<()> {
        let patient = self
            .patients
            .facts(context, id)
            .await
            .map_err(|error| match error {
                PatientsError::Status(status) => not_found("patient_id")(status),
                PatientsError::Malformed(what) => Error::corrupt(what),
            })?;
        match patient.refusal() {
            Some(reason) => Err(Error::precondition(reason)),
            None => Ok(()),
        }
    }

    /// Opens the outpatient encounter of the patient in the clinic's department, as the
    /// caller (who must hold encounters.write there); `request_id` makes a retry find it.
    pub async fn open_encounter(
        &self,
        context: &RequestContext,
        request_id: String,
        patient_id: Uuid,
        department_id: Uuid,
    ) -> Result<Uuid> {
        let encounter = self
            .encounters
            .clone()
            .open_encounter(forwarded(
                context,
                encounters_pb::OpenEncounterRequest {
                    request_id,
                    admission_id: String::new(),
                    patient_id: patient_id.to_string(),
                    department_id: department_id.to_string(),
                },
            ))
            .await?
            .into_inner()
            .encounter
            .ok_or(Error::corrupt("encounter"))?;
        Uuid::parse_str(&encounter.id).map_err(|_| Error::corrupt("encounter id"))
    }

    /// Closes the encounter `id` (a retry with the same `request_id` finds it closed).
    pub async fn close_encounter(
        &self,
        context: &RequestContext,
        request_id: String,
        id: Uuid,
    ) -> Result<()> {
        let result = self
            .encounters
            .clone()
            .close_encounter(forwarded(
                context,
                encounters_pb::CloseEncounterRequest {
                    request_id,
                    id: id.to_string(),
                    etag: String::new(),
                },
            ))
            .await;
        match result {
            Ok(_) => Ok(()),
            // Closed already (by the clinician in the record): the visit still ends.
            Err(status) if status.code() == Code::FailedPrecondition => Ok(()),
            Err(status) => Err(status.into()),
        }
    }
}
