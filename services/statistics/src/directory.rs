//! What statistics reads from the bed register (core), through its contract and on behalf of
//! the caller: a ward's facility, a facility's time zone, how many beds a ward has.

use core_pb::facility_service_client::FacilityServiceClient;
use hmis_platform::RequestContext;
use hmis_platform::channel::{ServiceChannel, forwarded};
use hmis_proto::openhmis::core::v1 as core_pb;
use tonic::Code;
use uuid::Uuid;

use crate::error::{Error, Result};

#[derive(Debug, Clone)]
pub struct Directory {
    facilities: FacilityServiceClient<ServiceChannel>,
}

impl Directory {
    pub fn new(core: ServiceChannel) -> Self {
        Self {
            facilities: FacilityServiceClient::new(core),
        }
    }

    /// A ward of the register (its facility, specialty).
    pub async fn department(
        &self,
        context: &RequestContext,
        department_id: Uuid,
    ) -> Result<core_pb::Department> {
        self.facilities
            .clone()
            .get_department(forwarded(
                context,
                core_pb::GetDepartmentRequest {
                    id: department_id.to_string(),
                },
            ))
            .await
            .map_err(|status| {
                if status.code() == Code::NotFound {
                    let mut violations = hmis_platform::Violations::default();
                    violations.add("department_id", "no such ward");
                    Error::InvalidArgument(violations)
                } else {
                    Error::Context(status)
                }
            })?
            .into_inner()
            .department
            .ok_or(Error::CorruptRow("department"))
    }

    /// The facility a ward belongs to.
    pub async fn facility_of(&self, context: &RequestContext, department_id: Uuid) -> Result<Uuid> {
        let department = self.department(context, department_id).await?;
        Uuid::parse_str(&department.facility_id).map_err(|_| Error::CorruptRow("department"))
    }

    /// A facility of the register (code, name, time zone).
    pub async fn facility(
        &self,
        context: &RequestContext,
        facility_id: Uuid,
    ) -> Result<core_pb::Facility> {
        self.facilities
            .clone()
            .get_facility(forwarded(
                context,
                core_pb::GetFacilityRequest {
                    id: facility_id.to_string(),
                },
            ))
            .await
            .map_err(|status| {
                if status.code() == Code::NotFound {
                    let mut violations = hmis_platform::Violations::default();
                    violations.add("facility_id", "no such facility");
                    Error::InvalidArgument(violations)
                } else {
                    Error::Context(status)
                }
            })?
            .into_inner()
            .facility
            .ok_or(Error::CorruptRow("facility"))
    }

    pub async fn time_zone(
        &self,
        context: &RequestContext,
        facility_id: Uuid,
    ) -> Result<chrono_tz::Tz> {
        self.facility(context, facility_id)
            .await?
            .time_zone
            .parse()
            .map_err(|_| Error::CorruptRow("facility time zone"))
    }

    /// Beds of a ward in use in the register.
    pub async fn beds_in_use(&self, context: &RequestContext, department_id: Uuid) -> Result<i32> {
        let mut count = 0;
        let mut page_token = String::new();
        loop {
            let page = self
                .facilities
                .clone()
                .list_beds(forwarded(
                    context,
                    core_pb::ListBedsRequest {
                        department_id: department_id.to_string(),
                        page_size: 500,
                        page_token: page_token.clone(),
                        ..Default::default()
                    },
                ))
                .await?
                .into_inner();
            count += page.beds.iter().filter(|bed| bed.active).count();
            if page.next_page_token.is_empty() {
                return Ok(i32::try_from(count).unwrap_or(i32::MAX));
            }
            page_token = page.next_page_token;
        }
    }
}
