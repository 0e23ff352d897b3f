//! What billing reads from other modules, through their contracts and on behalf of the
//! caller (or of the system, for charges captured from events): the register (a ward, a
//! facility's time zone, which cuts bed-days) and the registry (that a policy's patient
//! exists). Wire types of other modules stay in this file.

use hmis_core_api::{CoreClient, CoreError};
use hmis_patients_api::{PatientsClient, PatientsError};
use hmis_platform::RequestContext;
use hmis_platform::channel::ServiceChannel;
use uuid::Uuid;

use crate::error::{Error, Result};

/// How long a facility's time zone or a ward read from the register is used again: they
/// change rarely, and capture reads them for every discharge.
const REFERENCE_TTL: std::time::Duration = std::time::Duration::from_secs(60);

/// The channels to the modules billing reads.
#[derive(Debug, Clone)]
pub struct Channels {
    pub core: ServiceChannel,
    pub patients: ServiceChannel,
}

#[derive(Debug, Clone)]
pub struct Directory {
    core: CoreClient,
    patients: PatientsClient,
}

fn core_error(field: &'static str) -> impl Fn(CoreError) -> Error {
    move |error| {
        if error.is_not_found() {
            return Error::invalid(field, "was not found");
        }
        Error::Failure(error.into())
    }
}

impl Directory {
    pub fn new(channels: Channels) -> Self {
        Self {
            core: CoreClient::remembering(channels.core, REFERENCE_TTL),
            patients: PatientsClient::new(channels.patients),
        }
    }

    /// That `department_id` is a department of the register.
    pub async fn check_ward(
        &self,
        context: &RequestContext,
        department_id: Uuid,
        field: &'static str,
    ) -> Result<()> {
        self.core
            .department(context, department_id)
            .await
            .map_err(core_error(field))?;
        Ok(())
    }

    /// The IANA time zone of a facility (bed-days are cut in it).
    pub async fn time_zone(
        &self,
        context: &RequestContext,
        facility_id: Uuid,
    ) -> Result<chrono_tz::Tz> {
        let facility =
            (self.core.facility(context, facility_id).await).map_err(core_error("facility_id"))?;
        facility.zone().ok_or(Error::corrupt("facility time zone"))
    }

    /// That the patient is registered.
    pub async fn check_patient(&self, context: &RequestContext, id: Uuid) -> Result<()> {
        match self.patients.facts(context, id).await {
            Ok(_) => Ok(()),
            Err(error) if error.is_not_found() => {
                Err(Error::invalid("coverage.patient_id", "was not found"))
            }
            Err(PatientsError::Status(status)) => Err(status.into()),
            Err(PatientsError::Malformed(what)) => Err(Error::corrupt(what)),
        }
    }
}
