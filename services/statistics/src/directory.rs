//! What statistics reads from the bed register (core), through its contract and on behalf of
//! the caller: a ward's facility, a facility's time zone, how many beds a ward has.

use std::time::Duration;

use hmis_core_api::{CoreClient, CoreError, Department, Facility};
use hmis_platform::channel::ServiceChannel;
use hmis_platform::{RequestContext, Violations};
use uuid::Uuid;

use crate::error::{Error, Result};

/// How long a ward's facility or a facility's time zone read from the register is used again:
/// they change rarely (a ward moved, a zone corrected), and every census and the whole
/// hospital's occupancy read them, each read a transaction in core. Beds are always read.
const REFERENCE_TTL: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
pub struct Directory {
    core: CoreClient,
}

/// A failed read of the register; a NOT_FOUND is a wrong `field` of the request.
fn refused(field: &'static str, description: &'static str) -> impl Fn(CoreError) -> Error {
    move |error| {
        if error.is_not_found() {
            let mut violations = Violations::default();
            violations.add(field, description);
            return Error::from(violations);
        }
        error.into()
    }
}

impl Directory {
    pub fn new(core: ServiceChannel) -> Self {
        Self {
            core: CoreClient::remembering(core, REFERENCE_TTL),
        }
    }

    /// A ward of the register (its facility, specialty).
    pub async fn department(
        &self,
        context: &RequestContext,
        department_id: Uuid,
    ) -> Result<Department> {
        self.core
            .department(context, department_id)
            .await
            .map_err(refused("department_id", "no such ward"))
    }

    /// The facility a ward belongs to.
    pub async fn facility_of(&self, context: &RequestContext, department_id: Uuid) -> Result<Uuid> {
        Ok(self.department(context, department_id).await?.facility_id)
    }

    /// A facility of the register (code, name, time zone).
    pub async fn facility(&self, context: &RequestContext, facility_id: Uuid) -> Result<Facility> {
        self.core
            .facility(context, facility_id)
            .await
            .map_err(refused("facility_id", "no such facility"))
    }

    pub async fn time_zone(
        &self,
        context: &RequestContext,
        facility_id: Uuid,
    ) -> Result<chrono_tz::Tz> {
        self.facility(context, facility_id)
            .await?
            .zone()
            .ok_or(Error::corrupt("facility time zone"))
    }

    /// Beds of a ward in use in the register.
    pub async fn beds_in_use(&self, context: &RequestContext, department_id: Uuid) -> Result<i32> {
        let beds = self.core.beds_of(context, department_id).await?;
        let count = beds.iter().filter(|bed| bed.active).count();
        Ok(i32::try_from(count).unwrap_or(i32::MAX))
    }
}
