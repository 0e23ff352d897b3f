//! What other modules read of the bed register (the `core` module), in domain words: wards
//! ([`Department`]), facilities and the time zone their days are cut in ([`Facility`]), rooms
//! and beds ([`Bed`]), read through core's contract by [`CoreClient`]. This crate is the one
//! place another module meets core's wire types, so a module depends on it, never on core.
//!
//! Every read is made on behalf of the caller ([`forwarded`]): core authorizes the same person
//! the outer call serves. The client runs over a [`ServiceChannel`], in-process or remote.

mod recent;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use hmis_platform::RequestContext;
use hmis_platform::channel::{CallError, ServiceChannel, answered_id, forwarded};
use hmis_proto::openhmis::core::v1 as pb;
use pb::facility_service_client::FacilityServiceClient;
use tonic::Code;
use uuid::Uuid;

use crate::recent::Recent;

/// What a department is for, as the modules that read the register care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DepartmentKind {
    Ward,
    IntensiveCare,
    Emergency,
    Outpatient,
    OperatingBlock,
    Pharmacy,
    Laboratory,
    Imaging,
    Administrative,
}

/// A department of the register (wards are departments of kind [`DepartmentKind::Ward`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Department {
    pub id: Uuid,
    pub facility_id: Uuid,
    pub code: String,
    pub name: String,
    pub kind: DepartmentKind,
    /// Entry code of the tenant's specialties dictionary; empty when not clinical.
    pub specialty_code: String,
    pub active: bool,
}

/// A facility of the register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facility {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    /// The IANA zone the facility's days (admission years, report days) are cut in.
    pub time_zone: String,
    /// Its postal address, free text (what letterheads print).
    pub address: String,
}

impl Facility {
    /// The facility's zone, parsed; `None` only if the register holds a zone this build does
    /// not know.
    pub fn zone(&self) -> Option<chrono_tz::Tz> {
        self.time_zone.parse().ok()
    }
}

/// Which patients a bed takes, by sex.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BedSex {
    Any,
    Male,
    Female,
}

/// The register's housekeeping state of a bed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BedState {
    Free,
    Occupied,
    Reserved,
    Cleaning,
    OutOfService,
}

impl BedState {
    /// Whether a patient may be put into the bed, as far as the register says: free, or
    /// reserved (whose hold it is, the admissions module's database decides). An occupied
    /// bed needs cleaning once its patient leaves.
    pub fn takes_patients(&self) -> bool {
        matches!(self, BedState::Free | BedState::Reserved)
    }
}

/// A bed of the register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bed {
    pub id: Uuid,
    pub department_id: Uuid,
    pub room_id: Uuid,
    pub code: String,
    pub sex: BedSex,
    pub state: BedState,
    pub active: bool,
}

/// A room of the register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Room {
    pub id: Uuid,
    pub department_id: Uuid,
    pub code: String,
    pub name: String,
    pub active: bool,
}

/// Why a read of the register failed: core's status, or an answer lacking what its contract
/// promises.
pub type CoreError = CallError;

pub type Result<T, E = CoreError> = std::result::Result<T, E>;

/// A typed client of the register. Departments and facilities may be kept for a while
/// ([`CoreClient::remembering`]): they change rarely (a ward renamed or closed, a zone
/// corrected), and a hot path that reads them on every call pays two transactions for it.
#[derive(Debug, Clone)]
pub struct CoreClient {
    facilities: FacilityServiceClient<ServiceChannel>,
    departments: Arc<Recent<Department>>,
    facility_cache: Arc<Recent<Facility>>,
}

impl CoreClient {
    /// A client that reads the register on every call. `channel` serves
    /// `openhmis.core.v1.FacilityService`.
    pub fn new(channel: ServiceChannel) -> Self {
        Self::remembering(channel, Duration::ZERO)
    }

    /// A client that uses a department or facility read within `for_how_long` again (per
    /// tenant and id); a ward closed within that time may still be taken for open.
    pub fn remembering(channel: ServiceChannel, for_how_long: Duration) -> Self {
        Self {
            facilities: FacilityServiceClient::new(channel),
            departments: Arc::new(Recent::new(for_how_long)),
            facility_cache: Arc::new(Recent::new(for_how_long)),
        }
    }

    /// A department of the register.
    pub async fn department(&self, context: &RequestContext, id: Uuid) -> Result<Department> {
        let read = async {
            let department = self
                .facilities
                .clone()
                .get_department(forwarded(
                    context,
                    pb::GetDepartmentRequest { id: id.to_string() },
                ))
                .await?
                .into_inner()
                .department
                .ok_or(CoreError::Malformed("department"))?;
            department_from_pb(department)
        };
        self.departments
            .get_or_read((context.tenant_id()?, id), read)
            .await
    }

    /// A facility of the register.
    pub async fn facility(&self, context: &RequestContext, id: Uuid) -> Result<Facility> {
        let read = async {
            let facility = self
                .facilities
                .clone()
                .get_facility(forwarded(
                    context,
                    pb::GetFacilityRequest { id: id.to_string() },
                ))
                .await?
                .into_inner()
                .facility
                .ok_or(CoreError::Malformed("facility"))?;
            Ok(Facility {
                id: answered_id(&facility.id, "facility id")?,
                code: facility.code,
                name: facility.name,
                time_zone: facility.time_zone,
                address: facility.address,
            })
        };
        self.facility_cache
            .get_or_read((context.tenant_id()?, id), read)
            .await
    }

    /// One bed, as the register has it now (never kept: beds change with every movement).
    pub async fn bed(&self, context: &RequestContext, id: Uuid) -> Result<Bed> {
        let bed = self
            .facilities
            .clone()
            .get_bed(forwarded(context, pb::GetBedRequest { id: id.to_string() }))
            .await?
            .into_inner()
            .bed
            .ok_or(CoreError::Malformed("bed"))?;
        bed_from_pb(bed)
    }

    /// Every bed of a department, in the register's order (room, then bed code).
    pub async fn beds_of(&self, context: &RequestContext, department_id: Uuid) -> Result<Vec<Bed>> {
        let mut beds = Vec::new();
        let mut page_token = String::new();
        loop {
            let page = self
                .facilities
                .clone()
                .list_beds(forwarded(
                    context,
                    pb::ListBedsRequest {
                        department_id: department_id.to_string(),
                        page_size: 500,
                        page_token: page_token.clone(),
                        ..Default::default()
                    },
                ))
                .await?
                .into_inner();
            for bed in page.beds {
                beds.push(bed_from_pb(bed)?);
            }
            if page.next_page_token.is_empty() {
                return Ok(beds);
            }
            page_token = page.next_page_token;
        }
    }

    /// The codes of a department's rooms, by room id.
    pub async fn room_codes(
        &self,
        context: &RequestContext,
        department_id: Uuid,
    ) -> Result<HashMap<Uuid, String>> {
        let mut rooms = HashMap::new();
        let mut page_token = String::new();
        loop {
            let page = self
                .facilities
                .clone()
                .list_rooms(forwarded(
                    context,
                    pb::ListRoomsRequest {
                        department_id: department_id.to_string(),
                        page_size: 500,
                        page_token: page_token.clone(),
                    },
                ))
                .await?
                .into_inner();
            for room in page.rooms {
                rooms.insert(answered_id(&room.id, "room id")?, room.code);
            }
            if page.next_page_token.is_empty() {
                return Ok(rooms);
            }
            page_token = page.next_page_token;
        }
    }

    /// The code of one room.
    pub async fn room_code(&self, context: &RequestContext, room_id: Uuid) -> Result<String> {
        Ok(self.room(context, room_id).await?.code)
    }

    /// One room of the register.
    pub async fn room(&self, context: &RequestContext, room_id: Uuid) -> Result<Room> {
        let room = self
            .facilities
            .clone()
            .get_room(forwarded(
                context,
                pb::GetRoomRequest {
                    id: room_id.to_string(),
                },
            ))
            .await?
            .into_inner()
            .room
            .ok_or(CoreError::Malformed("room"))?;
        Ok(Room {
            id: answered_id(&room.id, "room id")?,
            department_id: answered_id(&room.department_id, "room department")?,
            code: room.code,
            name: room.name,
            active: room.active,
        })
    }
}

fn department_from_pb(department: pb::Department) -> Result<Department> {
    let kind = match pb::DepartmentKind::try_from(department.kind) {
        Ok(pb::DepartmentKind::Ward) => DepartmentKind::Ward,
        Ok(pb::DepartmentKind::IntensiveCare) => DepartmentKind::IntensiveCare,
        Ok(pb::DepartmentKind::Emergency) => DepartmentKind::Emergency,
        Ok(pb::DepartmentKind::Outpatient) => DepartmentKind::Outpatient,
        Ok(pb::DepartmentKind::OperatingBlock) => DepartmentKind::OperatingBlock,
        Ok(pb::DepartmentKind::Pharmacy) => DepartmentKind::Pharmacy,
        Ok(pb::DepartmentKind::Laboratory) => DepartmentKind::Laboratory,
        Ok(pb::DepartmentKind::Imaging) => DepartmentKind::Imaging,
        Ok(pb::DepartmentKind::Administrative) => DepartmentKind::Administrative,
        Ok(pb::DepartmentKind::Unspecified) | Err(_) => {
            return Err(CoreError::Malformed("department kind"));
        }
    };
    Ok(Department {
        id: answered_id(&department.id, "department id")?,
        facility_id: answered_id(&department.facility_id, "department facility")?,
        code: department.code,
        name: department.name,
        kind,
        specialty_code: department.specialty_code,
        active: department.active,
    })
}

fn bed_from_pb(bed: pb::Bed) -> Result<Bed> {
    let sex = match pb::BedSex::try_from(bed.sex) {
        Ok(pb::BedSex::Male) => BedSex::Male,
        Ok(pb::BedSex::Female) => BedSex::Female,
        _ => BedSex::Any,
    };
    let state = match pb::BedState::try_from(bed.state) {
        Ok(pb::BedState::Free) => BedState::Free,
        Ok(pb::BedState::Occupied) => BedState::Occupied,
        Ok(pb::BedState::Reserved) => BedState::Reserved,
        Ok(pb::BedState::Cleaning) => BedState::Cleaning,
        Ok(pb::BedState::OutOfService) => BedState::OutOfService,
        _ => return Err(CoreError::Malformed("bed state")),
    };
    Ok(Bed {
        id: answered_id(&bed.id, "bed id")?,
        department_id: answered_id(&bed.department_id, "bed department")?,
        room_id: answered_id(&bed.room_id, "bed room")?,
        code: bed.code,
        sex,
        state,
        active: bed.active,
    })
}

/// The register of tenants as the other modules may ask it: whether a tenant exists and its
/// code. Asked on the system's behalf in that tenant (in-process), as operators' tools do.
#[derive(Debug, Clone)]
pub struct CoreTenants {
    tenants: pb::tenant_service_client::TenantServiceClient<ServiceChannel>,
}

impl CoreTenants {
    pub fn new(channel: ServiceChannel) -> Self {
        Self {
            tenants: pb::tenant_service_client::TenantServiceClient::new(channel),
        }
    }

    /// The code `tenant_id` was created with, or `None` when no tenant has that id.
    pub async fn code_of(&self, tenant_id: hmis_platform::TenantId) -> Result<Option<String>> {
        let context = RequestContext::system(tenant_id);
        match self
            .tenants
            .clone()
            .get_current_tenant(forwarded(&context, pb::GetCurrentTenantRequest {}))
            .await
        {
            Ok(response) => {
                let tenant = response.into_inner().tenant;
                Ok(Some(tenant.ok_or(CoreError::Malformed("tenant"))?.code))
            }
            Err(status) if status.code() == Code::NotFound => Ok(None),
            Err(status) => Err(CoreError::Status(status)),
        }
    }
}
