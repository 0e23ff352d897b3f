//! The tonic adapter: proto -> domain (parse and validate) -> store -> proto. Wire types live
//! only in this file.

use std::sync::Arc;

use hmis_platform::auth::Target;
use hmis_platform::call::Calls;
use hmis_platform::idempotency::RequestKey;
use hmis_platform::outbox::Outbox;
use hmis_platform::paging::{PageSize, decode_token, finish_page};
use hmis_platform::types::{Code, Name, Text, Version};
use hmis_platform::wire::{mask_paths, masked, timestamp};
use hmis_platform::{RequestContext, TenantId, TenantTx, Violations};
use hmis_proto::openhmis::core::v1 as pb;
use pb::dictionary_service_server::DictionaryService;
use pb::facility_service_server::FacilityService;
use pb::tenant_service_server::TenantService;
use tonic::{Request, Response, Status};

use crate::domain::{
    Bed, BedChanges, BedId, BedSex, BedState, Department, DepartmentChanges, DepartmentId,
    DepartmentKind, Dictionary, DictionaryEntry, DictionaryEntryChanges, Facility, FacilityChanges,
    FacilityId, Room, RoomChanges, RoomId, Tenant, parse_time_zone,
};
use crate::error::{Error, Result};
use crate::events;
use crate::store::{self, BedScope, Lock};

/// What every core handler shares.
#[derive(Debug)]
pub(crate) struct Core {
    pub(crate) calls: Calls<Error>,
    pub(crate) outbox: Outbox,
}

/// The caller's tenant and the call's context, if the caller may read the organisation
/// (in any scope: wards and beds are not patient data).
fn reader<T>(request: &Request<T>) -> Result<(TenantId, RequestContext)> {
    let context = RequestContext::of(request);
    let tenant_id = context.authorize_any("core.read")?.tenant_id;
    Ok((tenant_id, context))
}

/// The caller's tenant and the call's context, if the caller may change the organisation.
fn manager<T>(request: &Request<T>) -> Result<(TenantId, RequestContext)> {
    let context = RequestContext::of(request);
    let tenant_id = context.authorize("core.manage", &Target::TENANT)?.tenant_id;
    Ok((tenant_id, context))
}

impl Core {
    async fn read_tx(&self, tenant_id: TenantId, context: &RequestContext) -> Result<TenantTx> {
        Ok(self
            .calls
            .database()
            .begin(tenant_id, &context.request_id)
            .await?)
    }
}

// ---------------------------------------------------------------------------------------------
// wire <-> domain

fn tenant_to_pb(tenant: &Tenant) -> pb::Tenant {
    pb::Tenant {
        id: tenant.id.to_string(),
        code: tenant.code.to_string(),
        name: tenant.name.to_string(),
        create_time: timestamp(tenant.created_at),
    }
}

pub(crate) fn facility_to_pb(facility: &Facility) -> pb::Facility {
    pb::Facility {
        id: facility.id.to_string(),
        code: facility.code.to_string(),
        name: facility.name.to_string(),
        time_zone: facility.time_zone.name().to_owned(),
        address: facility.address.as_str().to_owned(),
        active: facility.active,
        etag: facility.version.etag(),
        create_time: timestamp(facility.created_at),
        update_time: timestamp(facility.updated_at),
    }
}

fn department_kind_to_pb(kind: DepartmentKind) -> pb::DepartmentKind {
    match kind {
        DepartmentKind::Ward => pb::DepartmentKind::Ward,
        DepartmentKind::Emergency => pb::DepartmentKind::Emergency,
        DepartmentKind::Outpatient => pb::DepartmentKind::Outpatient,
        DepartmentKind::IntensiveCare => pb::DepartmentKind::IntensiveCare,
        DepartmentKind::OperatingBlock => pb::DepartmentKind::OperatingBlock,
        DepartmentKind::Pharmacy => pb::DepartmentKind::Pharmacy,
        DepartmentKind::Laboratory => pb::DepartmentKind::Laboratory,
        DepartmentKind::Imaging => pb::DepartmentKind::Imaging,
        DepartmentKind::Administrative => pb::DepartmentKind::Administrative,
    }
}

fn parse_department_kind(value: i32) -> std::result::Result<DepartmentKind, &'static str> {
    match pb::DepartmentKind::try_from(value) {
        Ok(pb::DepartmentKind::Ward) => Ok(DepartmentKind::Ward),
        Ok(pb::DepartmentKind::Emergency) => Ok(DepartmentKind::Emergency),
        Ok(pb::DepartmentKind::Outpatient) => Ok(DepartmentKind::Outpatient),
        Ok(pb::DepartmentKind::IntensiveCare) => Ok(DepartmentKind::IntensiveCare),
        Ok(pb::DepartmentKind::OperatingBlock) => Ok(DepartmentKind::OperatingBlock),
        Ok(pb::DepartmentKind::Pharmacy) => Ok(DepartmentKind::Pharmacy),
        Ok(pb::DepartmentKind::Laboratory) => Ok(DepartmentKind::Laboratory),
        Ok(pb::DepartmentKind::Imaging) => Ok(DepartmentKind::Imaging),
        Ok(pb::DepartmentKind::Administrative) => Ok(DepartmentKind::Administrative),
        Ok(pb::DepartmentKind::Unspecified) => Err("is required"),
        Err(_) => Err("is not a known department kind"),
    }
}

pub(crate) fn department_to_pb(department: &Department) -> pb::Department {
    pb::Department {
        id: department.id.to_string(),
        facility_id: department.facility_id.to_string(),
        code: department.code.to_string(),
        name: department.name.to_string(),
        kind: department_kind_to_pb(department.kind).into(),
        specialty_code: department
            .specialty_code
            .as_ref()
            .map(Code::to_string)
            .unwrap_or_default(),
        active: department.active,
        etag: department.version.etag(),
        create_time: timestamp(department.created_at),
        update_time: timestamp(department.updated_at),
    }
}

fn room_to_pb(room: &Room) -> pb::Room {
    pb::Room {
        id: room.id.to_string(),
        department_id: room.department_id.to_string(),
        code: room.code.to_string(),
        name: room.name.to_string(),
        active: room.active,
        etag: room.version.etag(),
        create_time: timestamp(room.created_at),
        update_time: timestamp(room.updated_at),
    }
}

fn bed_sex_to_pb(sex: BedSex) -> pb::BedSex {
    match sex {
        BedSex::Any => pb::BedSex::Any,
        BedSex::Male => pb::BedSex::Male,
        BedSex::Female => pb::BedSex::Female,
    }
}

fn parse_bed_sex(value: i32) -> std::result::Result<BedSex, &'static str> {
    match pb::BedSex::try_from(value) {
        // A bed with no sex restriction is the common case; unspecified means "any".
        Ok(pb::BedSex::Unspecified | pb::BedSex::Any) => Ok(BedSex::Any),
        Ok(pb::BedSex::Male) => Ok(BedSex::Male),
        Ok(pb::BedSex::Female) => Ok(BedSex::Female),
        Err(_) => Err("is not a known bed sex"),
    }
}

pub(crate) fn bed_state_to_pb(state: BedState) -> pb::BedState {
    match state {
        BedState::Free => pb::BedState::Free,
        BedState::Occupied => pb::BedState::Occupied,
        BedState::Reserved => pb::BedState::Reserved,
        BedState::Cleaning => pb::BedState::Cleaning,
        BedState::OutOfService => pb::BedState::OutOfService,
    }
}

/// `None` for UNSPECIFIED (no filter / not given).
fn parse_bed_state(value: i32) -> std::result::Result<Option<BedState>, &'static str> {
    match pb::BedState::try_from(value) {
        Ok(pb::BedState::Unspecified) => Ok(None),
        Ok(pb::BedState::Free) => Ok(Some(BedState::Free)),
        Ok(pb::BedState::Occupied) => Ok(Some(BedState::Occupied)),
        Ok(pb::BedState::Reserved) => Ok(Some(BedState::Reserved)),
        Ok(pb::BedState::Cleaning) => Ok(Some(BedState::Cleaning)),
        Ok(pb::BedState::OutOfService) => Ok(Some(BedState::OutOfService)),
        Err(_) => Err("is not a known bed state"),
    }
}

pub(crate) fn bed_to_pb(bed: &Bed) -> pb::Bed {
    pb::Bed {
        id: bed.id.to_string(),
        room_id: bed.room_id.to_string(),
        department_id: bed.department_id.to_string(),
        code: bed.code.to_string(),
        sex: bed_sex_to_pb(bed.sex).into(),
        isolation: bed.isolation,
        intensive_care: bed.intensive_care,
        state: bed_state_to_pb(bed.state).into(),
        active: bed.active,
        etag: bed.version.etag(),
        create_time: timestamp(bed.created_at),
        update_time: timestamp(bed.updated_at),
    }
}

fn dictionary_to_pb(dictionary: &Dictionary) -> pb::Dictionary {
    pb::Dictionary {
        code: dictionary.code.to_string(),
        name: dictionary.name.to_string(),
        description: dictionary.description.as_str().to_owned(),
        create_time: timestamp(dictionary.created_at),
    }
}

fn entry_to_pb(entry: &DictionaryEntry) -> pb::DictionaryEntry {
    pb::DictionaryEntry {
        dictionary_code: entry.dictionary_code.to_string(),
        code: entry.code.to_string(),
        display: entry.display.to_string(),
        sort_order: entry.sort_order,
        active: entry.active,
        etag: entry.version.etag(),
        create_time: timestamp(entry.created_at),
        update_time: timestamp(entry.updated_at),
    }
}

/// A required sub-message, or a violation naming it.
fn required<'a, T>(
    value: Option<&'a T>,
    field: &str,
    violations: &mut Violations,
) -> Option<&'a T> {
    if value.is_none() {
        violations.add(field, "is required");
    }
    value
}

fn page_size(value: i32, violations: &mut Violations) -> PageSize {
    violations
        .check("page_size", PageSize::parse(value))
        .unwrap_or(PageSize::parse(0).unwrap_or_else(|_| unreachable!("0 is the default size")))
}

fn check_etag(stored: Version, etag: Version, what: &'static str) -> Result<()> {
    if stored == etag {
        Ok(())
    } else {
        Err(Error::StaleEtag { what })
    }
}

// ---------------------------------------------------------------------------------------------
// TenantService

#[derive(Debug, Clone)]
pub struct TenantApi {
    pub(crate) core: Arc<Core>,
}

#[tonic::async_trait]
impl TenantService for TenantApi {
    #[tracing::instrument(skip_all)]
    async fn create_tenant(
        &self,
        request: Request<pb::CreateTenantRequest>,
    ) -> std::result::Result<Response<pb::CreateTenantResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize("core.tenants.create", &Target::TENANT)?;
        let message = request.into_inner();
        let mut violations = Violations::default();
        let key = violations.check("request_id", RequestKey::parse(&message.request_id));
        let tenant = required(message.tenant.as_ref(), "tenant", &mut violations);
        let code = tenant.and_then(|t| violations.check("tenant.code", Code::parse(&t.code)));
        let name = tenant.and_then(|t| violations.check("tenant.name", Name::parse(&t.name)));
        let (Some(key), Some(code), Some(name)) = (key, code, name) else {
            return Err(Error::from(violations).into());
        };
        // A new tenant's row passes the tenant policy only in a transaction acting for that
        // tenant, so its id is fixed before the transaction opens: derived from the request id,
        // so that a retry acts for the same tenant and finds the first call's stored answer.
        let tenant = Tenant {
            id: tenant_id_for_request(key.as_str()),
            code,
            name,
            created_at: self.core.calls.now(),
        };
        let response = self
            .core
            .calls
            .keys()
            .run(
                self.core.calls.database(),
                tenant.id,
                &context.request_id,
                "/openhmis.core.v1.TenantService/CreateTenant",
                &key,
                &message,
                async |tx| {
                    store::insert_tenant(tx, &tenant).await?;
                    Ok::<_, Error>(pb::CreateTenantResponse {
                        tenant: Some(tenant_to_pb(&tenant)),
                    })
                },
            )
            .await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all)]
    async fn get_current_tenant(
        &self,
        request: Request<pb::GetCurrentTenantRequest>,
    ) -> std::result::Result<Response<pb::GetCurrentTenantResponse>, Status> {
        let context = RequestContext::of(&request);
        let tenant_id = context.tenant_id()?;
        let mut tx = self.core.read_tx(tenant_id, &context).await?;
        let tenant = store::current_tenant(&mut tx).await?;
        Ok(Response::new(pb::GetCurrentTenantResponse {
            tenant: Some(tenant_to_pb(&tenant)),
        }))
    }
}

/// The id of the tenant a `CreateTenant` request creates, derived from its request id so a
/// retry looks for its first answer under the same tenant (UUID v5 in a fixed namespace).
pub fn tenant_id_for_request(request_id: &str) -> TenantId {
    const NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x6f70_656e_686d_6973_2d74_656e_616e_7473);
    TenantId::new(uuid::Uuid::new_v5(&NAMESPACE, request_id.as_bytes()))
}

// ---------------------------------------------------------------------------------------------
// FacilityService

#[derive(Debug, Clone)]
pub struct FacilityApi {
    pub(crate) core: Arc<Core>,
}

#[tonic::async_trait]
impl FacilityService for FacilityApi {
    #[tracing::instrument(skip_all)]
    async fn create_facility(
        &self,
        request: Request<pb::CreateFacilityRequest>,
    ) -> std::result::Result<Response<pb::CreateFacilityResponse>, Status> {
        let (_, context) = manager(&request)?;
        let message = request.into_inner();
        let mut violations = Violations::default();
        let key = violations.check("request_id", RequestKey::parse(&message.request_id));
        let facility = required(message.facility.as_ref(), "facility", &mut violations);
        let code = facility.and_then(|f| violations.check("facility.code", Code::parse(&f.code)));
        let name = facility.and_then(|f| violations.check("facility.name", Name::parse(&f.name)));
        let time_zone = facility
            .and_then(|f| violations.check("facility.time_zone", parse_time_zone(&f.time_zone)));
        let address =
            facility.and_then(|f| violations.check("facility.address", Text::parse(&f.address)));
        let (Some(key), Some(code), Some(name), Some(time_zone), Some(address)) =
            (key, code, name, time_zone, address)
        else {
            return Err(Error::from(violations).into());
        };
        let now = self.core.calls.now();
        let facility = Facility {
            id: FacilityId::generate(),
            code,
            name,
            time_zone,
            address,
            active: true,
            version: Version::FIRST,
            created_at: now,
            updated_at: now,
        };
        let core = self.core.clone();
        let response = self
            .core
            .calls
            .write(
                &context,
                "/openhmis.core.v1.FacilityService/CreateFacility",
                &key,
                &message,
                async |tx| {
                    store::insert_facility(tx, &facility).await?;
                    events::facility_changed(&core, tx, &facility).await?;
                    Ok::<_, Error>(pb::CreateFacilityResponse {
                        facility: Some(facility_to_pb(&facility)),
                    })
                },
            )
            .await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all)]
    async fn get_facility(
        &self,
        request: Request<pb::GetFacilityRequest>,
    ) -> std::result::Result<Response<pb::GetFacilityResponse>, Status> {
        let (tenant_id, context) = reader(&request)?;
        let mut violations = Violations::default();
        let id = violations.check("id", FacilityId::parse(&request.get_ref().id));
        let Some(id) = id else {
            return Err(Error::from(violations).into());
        };
        let mut tx = self.core.read_tx(tenant_id, &context).await?;
        let facility = store::get_facility(&mut tx, id, Lock::None).await?;
        Ok(Response::new(pb::GetFacilityResponse {
            facility: Some(facility_to_pb(&facility)),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn list_facilities(
        &self,
        request: Request<pb::ListFacilitiesRequest>,
    ) -> std::result::Result<Response<pb::ListFacilitiesResponse>, Status> {
        let (tenant_id, context) = reader(&request)?;
        let message = request.get_ref();
        let mut violations = Violations::default();
        let size = page_size(message.page_size, &mut violations);
        let after = violations
            .check("page_token", decode_token::<String>(&message.page_token))
            .flatten();
        violations.into_result().map_err(Error::from)?;
        let mut tx = self.core.read_tx(tenant_id, &context).await?;
        let rows = store::list_facilities(&mut tx, after.as_deref(), size.fetch_limit()).await?;
        let (rows, next_page_token) = finish_page(rows, size, |f| f.code.to_string());
        Ok(Response::new(pb::ListFacilitiesResponse {
            facilities: rows.iter().map(facility_to_pb).collect(),
            next_page_token,
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn update_facility(
        &self,
        request: Request<pb::UpdateFacilityRequest>,
    ) -> std::result::Result<Response<pb::UpdateFacilityResponse>, Status> {
        let (tenant_id, context) = manager(&request)?;
        let message = request.into_inner();
        let mut violations = Violations::default();
        let paths = mask_paths(
            message.update_mask.as_ref(),
            &["name", "time_zone", "address", "active"],
            &mut violations,
        );
        let Some(facility) = required(message.facility.as_ref(), "facility", &mut violations)
        else {
            return Err(Error::from(violations).into());
        };
        let id = violations.check("facility.id", FacilityId::parse(&facility.id));
        let etag = violations.check("facility.etag", Version::parse_etag(&facility.etag));
        let mut changes = FacilityChanges::default();
        if masked(&paths, "name") {
            changes.name = violations.check("facility.name", Name::parse(&facility.name));
        }
        if masked(&paths, "time_zone") {
            changes.time_zone =
                violations.check("facility.time_zone", parse_time_zone(&facility.time_zone));
        }
        if masked(&paths, "address") {
            changes.address = violations.check("facility.address", Text::parse(&facility.address));
        }
        if masked(&paths, "active") {
            changes.active = Some(facility.active);
        }
        let (Some(id), Some(etag), true) = (id, etag, violations.is_empty()) else {
            return Err(Error::from(violations).into());
        };
        let mut tx = self.core.read_tx(tenant_id, &context).await?;
        let mut facility = store::get_facility(&mut tx, id, Lock::ForUpdate).await?;
        check_etag(facility.version, etag, "facility")?;
        facility.apply(changes);
        facility.updated_at = self.core.calls.now();
        store::update_facility(&mut tx, &mut facility).await?;
        events::facility_changed(&self.core, &mut tx, &facility).await?;
        tx.commit().await.map_err(Error::from)?;
        Ok(Response::new(pb::UpdateFacilityResponse {
            facility: Some(facility_to_pb(&facility)),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn create_department(
        &self,
        request: Request<pb::CreateDepartmentRequest>,
    ) -> std::result::Result<Response<pb::CreateDepartmentResponse>, Status> {
        let (_, context) = manager(&request)?;
        let message = request.into_inner();
        let mut violations = Violations::default();
        let key = violations.check("request_id", RequestKey::parse(&message.request_id));
        let department = required(message.department.as_ref(), "department", &mut violations);
        let facility_id = department.and_then(|d| {
            violations.check("department.facility_id", FacilityId::parse(&d.facility_id))
        });
        let code =
            department.and_then(|d| violations.check("department.code", Code::parse(&d.code)));
        let name =
            department.and_then(|d| violations.check("department.name", Name::parse(&d.name)));
        let kind = department
            .and_then(|d| violations.check("department.kind", parse_department_kind(d.kind)));
        let specialty_code = department.and_then(|d| {
            violations.check(
                "department.specialty_code",
                optional_code(&d.specialty_code),
            )
        });
        let (
            Some(key),
            Some(facility_id),
            Some(code),
            Some(name),
            Some(kind),
            Some(specialty_code),
        ) = (key, facility_id, code, name, kind, specialty_code)
        else {
            return Err(Error::from(violations).into());
        };
        let now = self.core.calls.now();
        let department = Department {
            id: DepartmentId::generate(),
            facility_id,
            code,
            name,
            kind,
            specialty_code,
            active: true,
            version: Version::FIRST,
            created_at: now,
            updated_at: now,
        };
        let core = self.core.clone();
        let response = self
            .core
            .calls
            .write(
                &context,
                "/openhmis.core.v1.FacilityService/CreateDepartment",
                &key,
                &message,
                async |tx| {
                    // The facility must exist (and be this tenant's); lock it so it
                    // cannot be deactivated while its new department is being added.
                    let facility = store::get_facility(tx, department.facility_id, Lock::ForUpdate)
                        .await
                        .map_err(|error| refers_to(error, "department.facility_id"))?;
                    if !facility.active {
                        return Err(Error::FailedPrecondition(
                            "the facility is inactive".to_owned(),
                        ));
                    }
                    check_specialty(tx, department.specialty_code.as_ref()).await?;
                    store::insert_department(tx, &department).await?;
                    events::department_changed(&core, tx, &department).await?;
                    Ok::<_, Error>(pb::CreateDepartmentResponse {
                        department: Some(department_to_pb(&department)),
                    })
                },
            )
            .await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all)]
    async fn get_department(
        &self,
        request: Request<pb::GetDepartmentRequest>,
    ) -> std::result::Result<Response<pb::GetDepartmentResponse>, Status> {
        let (tenant_id, context) = reader(&request)?;
        let mut violations = Violations::default();
        let Some(id) = violations.check("id", DepartmentId::parse(&request.get_ref().id)) else {
            return Err(Error::from(violations).into());
        };
        let mut tx = self.core.read_tx(tenant_id, &context).await?;
        let department = store::get_department(&mut tx, id, Lock::None).await?;
        Ok(Response::new(pb::GetDepartmentResponse {
            department: Some(department_to_pb(&department)),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn list_departments(
        &self,
        request: Request<pb::ListDepartmentsRequest>,
    ) -> std::result::Result<Response<pb::ListDepartmentsResponse>, Status> {
        let (tenant_id, context) = reader(&request)?;
        let message = request.get_ref();
        let mut violations = Violations::default();
        let facility_id = violations.check("facility_id", FacilityId::parse(&message.facility_id));
        let kind = if message.kind == i32::from(pb::DepartmentKind::Unspecified) {
            None
        } else {
            violations.check("kind", parse_department_kind(message.kind))
        };
        let size = page_size(message.page_size, &mut violations);
        let after = violations
            .check("page_token", decode_token::<String>(&message.page_token))
            .flatten();
        let (Some(facility_id), true) = (facility_id, violations.is_empty()) else {
            return Err(Error::from(violations).into());
        };
        let mut tx = self.core.read_tx(tenant_id, &context).await?;
        let rows = store::list_departments(
            &mut tx,
            facility_id,
            kind,
            after.as_deref(),
            size.fetch_limit(),
        )
        .await?;
        let (rows, next_page_token) = finish_page(rows, size, |d| d.code.to_string());
        Ok(Response::new(pb::ListDepartmentsResponse {
            departments: rows.iter().map(department_to_pb).collect(),
            next_page_token,
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn update_department(
        &self,
        request: Request<pb::UpdateDepartmentRequest>,
    ) -> std::result::Result<Response<pb::UpdateDepartmentResponse>, Status> {
        let (tenant_id, context) = manager(&request)?;
        let message = request.into_inner();
        let mut violations = Violations::default();
        let paths = mask_paths(
            message.update_mask.as_ref(),
            &["name", "kind", "specialty_code", "active"],
            &mut violations,
        );
        let Some(department) = required(message.department.as_ref(), "department", &mut violations)
        else {
            return Err(Error::from(violations).into());
        };
        let id = violations.check("department.id", DepartmentId::parse(&department.id));
        let etag = violations.check("department.etag", Version::parse_etag(&department.etag));
        let mut changes = DepartmentChanges::default();
        if masked(&paths, "name") {
            changes.name = violations.check("department.name", Name::parse(&department.name));
        }
        if masked(&paths, "kind") {
            changes.kind =
                violations.check("department.kind", parse_department_kind(department.kind));
        }
        if masked(&paths, "specialty_code") {
            changes.specialty_code = violations.check(
                "department.specialty_code",
                optional_code(&department.specialty_code),
            );
        }
        if masked(&paths, "active") {
            changes.active = Some(department.active);
        }
        let (Some(id), Some(etag), true) = (id, etag, violations.is_empty()) else {
            return Err(Error::from(violations).into());
        };
        let mut tx = self.core.read_tx(tenant_id, &context).await?;
        let mut department = store::get_department(&mut tx, id, Lock::ForUpdate).await?;
        check_etag(department.version, etag, "department")?;
        if let Some(specialty_code) = &changes.specialty_code {
            check_specialty(&mut tx, specialty_code.as_ref()).await?;
        }
        department.apply(changes);
        department.updated_at = self.core.calls.now();
        store::update_department(&mut tx, &mut department).await?;
        events::department_changed(&self.core, &mut tx, &department).await?;
        tx.commit().await.map_err(Error::from)?;
        Ok(Response::new(pb::UpdateDepartmentResponse {
            department: Some(department_to_pb(&department)),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn create_room(
        &self,
        request: Request<pb::CreateRoomRequest>,
    ) -> std::result::Result<Response<pb::CreateRoomResponse>, Status> {
        let (_, context) = manager(&request)?;
        let message = request.into_inner();
        let mut violations = Violations::default();
        let key = violations.check("request_id", RequestKey::parse(&message.request_id));
        let room = required(message.room.as_ref(), "room", &mut violations);
        let department_id = room.and_then(|r| {
            violations.check("room.department_id", DepartmentId::parse(&r.department_id))
        });
        let code = room.and_then(|r| violations.check("room.code", Code::parse(&r.code)));
        let name = room.and_then(|r| violations.check("room.name", Name::parse(&r.name)));
        let (Some(key), Some(department_id), Some(code), Some(name)) =
            (key, department_id, code, name)
        else {
            return Err(Error::from(violations).into());
        };
        let now = self.core.calls.now();
        let room = Room {
            id: RoomId::generate(),
            department_id,
            code,
            name,
            active: true,
            version: Version::FIRST,
            created_at: now,
            updated_at: now,
        };
        let response = self
            .core
            .calls
            .write(
                &context,
                "/openhmis.core.v1.FacilityService/CreateRoom",
                &key,
                &message,
                async |tx| {
                    let department = store::get_department(tx, room.department_id, Lock::ForUpdate)
                        .await
                        .map_err(|error| refers_to(error, "room.department_id"))?;
                    if !department.active {
                        return Err(Error::FailedPrecondition(
                            "the department is inactive".to_owned(),
                        ));
                    }
                    store::insert_room(tx, &room).await?;
                    Ok::<_, Error>(pb::CreateRoomResponse {
                        room: Some(room_to_pb(&room)),
                    })
                },
            )
            .await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all)]
    async fn get_room(
        &self,
        request: Request<pb::GetRoomRequest>,
    ) -> std::result::Result<Response<pb::GetRoomResponse>, Status> {
        let (tenant_id, context) = reader(&request)?;
        let mut violations = Violations::default();
        let Some(id) = violations.check("id", RoomId::parse(&request.get_ref().id)) else {
            return Err(Error::from(violations).into());
        };
        let mut tx = self.core.read_tx(tenant_id, &context).await?;
        let room = store::get_room(&mut tx, id, Lock::None).await?;
        Ok(Response::new(pb::GetRoomResponse {
            room: Some(room_to_pb(&room)),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn list_rooms(
        &self,
        request: Request<pb::ListRoomsRequest>,
    ) -> std::result::Result<Response<pb::ListRoomsResponse>, Status> {
        let (tenant_id, context) = reader(&request)?;
        let message = request.get_ref();
        let mut violations = Violations::default();
        let department_id =
            violations.check("department_id", DepartmentId::parse(&message.department_id));
        let size = page_size(message.page_size, &mut violations);
        let after = violations
            .check("page_token", decode_token::<String>(&message.page_token))
            .flatten();
        let (Some(department_id), true) = (department_id, violations.is_empty()) else {
            return Err(Error::from(violations).into());
        };
        let mut tx = self.core.read_tx(tenant_id, &context).await?;
        let rows =
            store::list_rooms(&mut tx, department_id, after.as_deref(), size.fetch_limit()).await?;
        let (rows, next_page_token) = finish_page(rows, size, |r| r.code.to_string());
        Ok(Response::new(pb::ListRoomsResponse {
            rooms: rows.iter().map(room_to_pb).collect(),
            next_page_token,
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn update_room(
        &self,
        request: Request<pb::UpdateRoomRequest>,
    ) -> std::result::Result<Response<pb::UpdateRoomResponse>, Status> {
        let (tenant_id, context) = manager(&request)?;
        let message = request.into_inner();
        let mut violations = Violations::default();
        let paths = mask_paths(
            message.update_mask.as_ref(),
            &["name", "active"],
            &mut violations,
        );
        let Some(room) = required(message.room.as_ref(), "room", &mut violations) else {
            return Err(Error::from(violations).into());
        };
        let id = violations.check("room.id", RoomId::parse(&room.id));
        let etag = violations.check("room.etag", Version::parse_etag(&room.etag));
        let mut changes = RoomChanges::default();
        if masked(&paths, "name") {
            changes.name = violations.check("room.name", Name::parse(&room.name));
        }
        if masked(&paths, "active") {
            changes.active = Some(room.active);
        }
        let (Some(id), Some(etag), true) = (id, etag, violations.is_empty()) else {
            return Err(Error::from(violations).into());
        };
        let mut tx = self.core.read_tx(tenant_id, &context).await?;
        let mut room = store::get_room(&mut tx, id, Lock::ForUpdate).await?;
        check_etag(room.version, etag, "room")?;
        room.apply(changes);
        room.updated_at = self.core.calls.now();
        store::update_room(&mut tx, &mut room).await?;
        tx.commit().await.map_err(Error::from)?;
        Ok(Response::new(pb::UpdateRoomResponse {
            room: Some(room_to_pb(&room)),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn create_bed(
        &self,
        request: Request<pb::CreateBedRequest>,
    ) -> std::result::Result<Response<pb::CreateBedResponse>, Status> {
        let (_, context) = manager(&request)?;
        let message = request.into_inner();
        let mut violations = Violations::default();
        let key = violations.check("request_id", RequestKey::parse(&message.request_id));
        let bed = required(message.bed.as_ref(), "bed", &mut violations);
        let room_id = bed.and_then(|b| violations.check("bed.room_id", RoomId::parse(&b.room_id)));
        let code = bed.and_then(|b| violations.check("bed.code", Code::parse(&b.code)));
        let sex = bed.and_then(|b| violations.check("bed.sex", parse_bed_sex(b.sex)));
        let (Some(key), Some(room_id), Some(code), Some(sex), Some(bed)) =
            (key, room_id, code, sex, bed)
        else {
            return Err(Error::from(violations).into());
        };
        let now = self.core.calls.now();
        let (isolation, intensive_care) = (bed.isolation, bed.intensive_care);
        let core = self.core.clone();
        let response = self
            .core
            .calls
            .write(
                &context,
                "/openhmis.core.v1.FacilityService/CreateBed",
                &key,
                &message,
                async |tx| {
                    let room = store::get_room(tx, room_id, Lock::ForUpdate)
                        .await
                        .map_err(|error| refers_to(error, "bed.room_id"))?;
                    if !room.active {
                        return Err(Error::FailedPrecondition("the room is inactive".to_owned()));
                    }
                    let bed = Bed {
                        id: BedId::generate(),
                        room_id,
                        department_id: room.department_id,
                        code,
                        sex,
                        isolation,
                        intensive_care,
                        state: BedState::Free,
                        state_reason: String::new(),
                        active: true,
                        version: Version::FIRST,
                        created_at: now,
                        updated_at: now,
                    };
                    store::insert_bed(tx, &bed).await?;
                    events::bed_changed(&core, tx, &bed, None).await?;
                    Ok::<_, Error>(pb::CreateBedResponse {
                        bed: Some(bed_to_pb(&bed)),
                    })
                },
            )
            .await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all)]
    async fn get_bed(
        &self,
        request: Request<pb::GetBedRequest>,
    ) -> std::result::Result<Response<pb::GetBedResponse>, Status> {
        let (tenant_id, context) = reader(&request)?;
        let mut violations = Violations::default();
        let Some(id) = violations.check("id", BedId::parse(&request.get_ref().id)) else {
            return Err(Error::from(violations).into());
        };
        let mut tx = self.core.read_tx(tenant_id, &context).await?;
        let bed = store::get_bed(&mut tx, id, Lock::None).await?;
        Ok(Response::new(pb::GetBedResponse {
            bed: Some(bed_to_pb(&bed)),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn list_beds(
        &self,
        request: Request<pb::ListBedsRequest>,
    ) -> std::result::Result<Response<pb::ListBedsResponse>, Status> {
        let (tenant_id, context) = reader(&request)?;
        let message = request.get_ref();
        let mut violations = Violations::default();
        let scope = match (message.department_id.is_empty(), message.room_id.is_empty()) {
            (false, true) => violations
                .check("department_id", DepartmentId::parse(&message.department_id))
                .map(BedScope::Department),
            (true, false) => violations
                .check("room_id", RoomId::parse(&message.room_id))
                .map(BedScope::Room),
            _ => {
                violations.add(
                    "department_id",
                    "give exactly one of department_id or room_id",
                );
                None
            }
        };
        let state = violations
            .check("state", parse_bed_state(message.state))
            .flatten();
        let size = page_size(message.page_size, &mut violations);
        let after = violations
            .check(
                "page_token",
                decode_token::<(String, String)>(&message.page_token),
            )
            .flatten();
        let (Some(scope), true) = (scope, violations.is_empty()) else {
            return Err(Error::from(violations).into());
        };
        let mut tx = self.core.read_tx(tenant_id, &context).await?;
        let rows = store::list_beds(
            &mut tx,
            scope,
            state,
            after
                .as_ref()
                .map(|(room, bed)| (room.as_str(), bed.as_str())),
            size.fetch_limit(),
        )
        .await?;
        let (rows, next_page_token) = finish_page(rows, size, |(bed, room_code)| {
            (room_code.clone(), bed.code.to_string())
        });
        Ok(Response::new(pb::ListBedsResponse {
            beds: rows.iter().map(|(bed, _)| bed_to_pb(bed)).collect(),
            next_page_token,
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn update_bed(
        &self,
        request: Request<pb::UpdateBedRequest>,
    ) -> std::result::Result<Response<pb::UpdateBedResponse>, Status> {
        let (tenant_id, context) = manager(&request)?;
        let message = request.into_inner();
        let mut violations = Violations::default();
        let paths = mask_paths(
            message.update_mask.as_ref(),
            &["sex", "isolation", "intensive_care", "active"],
            &mut violations,
        );
        let Some(bed) = required(message.bed.as_ref(), "bed", &mut violations) else {
            return Err(Error::from(violations).into());
        };
        let id = violations.check("bed.id", BedId::parse(&bed.id));
        let etag = violations.check("bed.etag", Version::parse_etag(&bed.etag));
        let mut changes = BedChanges::default();
        if masked(&paths, "sex") {
            changes.sex = violations.check("bed.sex", parse_bed_sex(bed.sex));
        }
        if masked(&paths, "isolation") {
            changes.isolation = Some(bed.isolation);
        }
        if masked(&paths, "intensive_care") {
            changes.intensive_care = Some(bed.intensive_care);
        }
        if masked(&paths, "active") {
            changes.active = Some(bed.active);
        }
        let (Some(id), Some(etag), true) = (id, etag, violations.is_empty()) else {
            return Err(Error::from(violations).into());
        };
        let mut tx = self.core.read_tx(tenant_id, &context).await?;
        let mut bed = store::get_bed(&mut tx, id, Lock::ForUpdate).await?;
        check_etag(bed.version, etag, "bed")?;
        let previous_state = bed.state;
        bed.apply(changes).map_err(Error::from)?;
        bed.updated_at = self.core.calls.now();
        store::update_bed(&mut tx, &mut bed).await?;
        events::bed_changed(&self.core, &mut tx, &bed, Some(previous_state)).await?;
        tx.commit().await.map_err(Error::from)?;
        Ok(Response::new(pb::UpdateBedResponse {
            bed: Some(bed_to_pb(&bed)),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn set_bed_state(
        &self,
        request: Request<pb::SetBedStateRequest>,
    ) -> std::result::Result<Response<pb::SetBedStateResponse>, Status> {
        let context = RequestContext::of(&request);
        let principal = context.authorize_any("core.beds.manage")?.clone();
        let message = request.into_inner();
        let mut violations = Violations::default();
        let key = violations.check("request_id", RequestKey::parse(&message.request_id));
        let id = violations.check("bed_id", BedId::parse(&message.bed_id));
        let state = match violations.check("state", parse_bed_state(message.state)) {
            Some(None) => {
                violations.add("state", "is required");
                None
            }
            other => other.flatten(),
        };
        let etag = violations.check("etag", Version::parse_etag(&message.etag));
        let reason = violations.check("reason", Text::parse(&message.reason));
        let (Some(key), Some(id), Some(state), Some(etag), Some(reason)) =
            (key, id, state, etag, reason)
        else {
            return Err(Error::from(violations).into());
        };
        let now = self.core.calls.now();
        let core = self.core.clone();
        let response = self
            .core
            .calls
            .write(
                &context,
                "/openhmis.core.v1.FacilityService/SetBedState",
                &key,
                &message,
                async |tx| {
                    let mut bed = store::get_bed(tx, id, Lock::ForUpdate).await?;
                    let department =
                        store::get_department(tx, bed.department_id, Lock::None).await?;
                    principal.authorize(
                        "core.beds.manage",
                        &Target::department(
                            department.facility_id.as_uuid(),
                            department.id.as_uuid(),
                        ),
                    )?;
                    check_etag(bed.version, etag, "bed")?;
                    let previous_state = bed.state;
                    bed.change_state(state, &reason)?;
                    bed.updated_at = now;
                    store::update_bed(tx, &mut bed).await?;
                    events::bed_changed(&core, tx, &bed, Some(previous_state)).await?;
                    Ok::<_, Error>(pb::SetBedStateResponse {
                        bed: Some(bed_to_pb(&bed)),
                    })
                },
            )
            .await?;
        Ok(Response::new(response))
    }
}

fn optional_code(
    value: &str,
) -> std::result::Result<Option<Code>, hmis_platform::types::ParseError> {
    if value.trim().is_empty() {
        Ok(None)
    } else {
        Code::parse(value).map(Some)
    }
}

/// A parent named in the request that does not exist is the caller's mistake in that field.
fn refers_to(error: Error, field: &str) -> Error {
    match error {
        Error::NotFound { what, .. } => {
            let mut violations = Violations::default();
            violations.add(field, format!("no such {what}"));
            Error::InvalidArgument(violations)
        }
        other => other,
    }
}

async fn check_specialty(tx: &mut TenantTx, specialty_code: Option<&Code>) -> Result<()> {
    let Some(specialty_code) = specialty_code else {
        return Ok(());
    };
    if store::entry_is_active(tx, store::SPECIALTIES, specialty_code).await? {
        return Ok(());
    }
    let mut violations = Violations::default();
    violations.add(
        "department.specialty_code",
        format!(
            "is not an active entry of the {} dictionary",
            store::SPECIALTIES
        ),
    );
    Err(Error::InvalidArgument(violations))
}

// ---------------------------------------------------------------------------------------------
// DictionaryService

#[derive(Debug, Clone)]
pub struct DictionaryApi {
    pub(crate) core: Arc<Core>,
}

#[tonic::async_trait]
impl DictionaryService for DictionaryApi {
    #[tracing::instrument(skip_all)]
    async fn create_dictionary(
        &self,
        request: Request<pb::CreateDictionaryRequest>,
    ) -> std::result::Result<Response<pb::CreateDictionaryResponse>, Status> {
        let (_, context) = manager(&request)?;
        let message = request.into_inner();
        let mut violations = Violations::default();
        let key = violations.check("request_id", RequestKey::parse(&message.request_id));
        let dictionary = required(message.dictionary.as_ref(), "dictionary", &mut violations);
        let code =
            dictionary.and_then(|d| violations.check("dictionary.code", Code::parse(&d.code)));
        let name =
            dictionary.and_then(|d| violations.check("dictionary.name", Name::parse(&d.name)));
        let description = dictionary
            .and_then(|d| violations.check("dictionary.description", Text::parse(&d.description)));
        let (Some(key), Some(code), Some(name), Some(description)) = (key, code, name, description)
        else {
            return Err(Error::from(violations).into());
        };
        let dictionary = Dictionary {
            code,
            name,
            description,
            created_at: self.core.calls.now(),
        };
        let response = self
            .core
            .calls
            .write(
                &context,
                "/openhmis.core.v1.DictionaryService/CreateDictionary",
                &key,
                &message,
                async |tx| {
                    store::insert_dictionary(tx, &dictionary).await?;
                    Ok::<_, Error>(pb::CreateDictionaryResponse {
                        dictionary: Some(dictionary_to_pb(&dictionary)),
                    })
                },
            )
            .await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all)]
    async fn list_dictionaries(
        &self,
        request: Request<pb::ListDictionariesRequest>,
    ) -> std::result::Result<Response<pb::ListDictionariesResponse>, Status> {
        let (tenant_id, context) = reader(&request)?;
        let message = request.get_ref();
        let mut violations = Violations::default();
        let size = page_size(message.page_size, &mut violations);
        let after = violations
            .check("page_token", decode_token::<String>(&message.page_token))
            .flatten();
        violations.into_result().map_err(Error::from)?;
        let mut tx = self.core.read_tx(tenant_id, &context).await?;
        let rows = store::list_dictionaries(&mut tx, after.as_deref(), size.fetch_limit()).await?;
        let (rows, next_page_token) = finish_page(rows, size, |d| d.code.to_string());
        Ok(Response::new(pb::ListDictionariesResponse {
            dictionaries: rows.iter().map(dictionary_to_pb).collect(),
            next_page_token,
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn create_dictionary_entry(
        &self,
        request: Request<pb::CreateDictionaryEntryRequest>,
    ) -> std::result::Result<Response<pb::CreateDictionaryEntryResponse>, Status> {
        let (_, context) = manager(&request)?;
        let message = request.into_inner();
        let mut violations = Violations::default();
        let key = violations.check("request_id", RequestKey::parse(&message.request_id));
        let entry = required(message.entry.as_ref(), "entry", &mut violations);
        let dictionary_code = entry.and_then(|e| {
            violations.check("entry.dictionary_code", Code::parse(&e.dictionary_code))
        });
        let code = entry.and_then(|e| violations.check("entry.code", Code::parse(&e.code)));
        let display =
            entry.and_then(|e| violations.check("entry.display", Name::parse(&e.display)));
        let (Some(key), Some(dictionary_code), Some(code), Some(display), Some(entry)) =
            (key, dictionary_code, code, display, entry)
        else {
            return Err(Error::from(violations).into());
        };
        let now = self.core.calls.now();
        let entry = DictionaryEntry {
            dictionary_code,
            code,
            display,
            sort_order: entry.sort_order,
            active: true,
            version: Version::FIRST,
            created_at: now,
            updated_at: now,
        };
        let response = self
            .core
            .calls
            .write(
                &context,
                "/openhmis.core.v1.DictionaryService/CreateDictionaryEntry",
                &key,
                &message,
                async |tx| {
                    if !store::dictionary_exists(tx, &entry.dictionary_code).await? {
                        let mut violations = Violations::default();
                        violations.add("entry.dictionary_code", "no such dictionary");
                        return Err(Error::InvalidArgument(violations));
                    }
                    store::insert_entry(tx, &entry).await?;
                    Ok::<_, Error>(pb::CreateDictionaryEntryResponse {
                        dictionary_entry: Some(entry_to_pb(&entry)),
                    })
                },
            )
            .await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all)]
    async fn list_dictionary_entries(
        &self,
        request: Request<pb::ListDictionaryEntriesRequest>,
    ) -> std::result::Result<Response<pb::ListDictionaryEntriesResponse>, Status> {
        let (tenant_id, context) = reader(&request)?;
        let message = request.get_ref();
        let mut violations = Violations::default();
        let dictionary_code =
            violations.check("dictionary_code", Code::parse(&message.dictionary_code));
        let size = page_size(message.page_size, &mut violations);
        let after = violations
            .check(
                "page_token",
                decode_token::<(i32, String)>(&message.page_token),
            )
            .flatten();
        let (Some(dictionary_code), true) = (dictionary_code, violations.is_empty()) else {
            return Err(Error::from(violations).into());
        };
        let mut tx = self.core.read_tx(tenant_id, &context).await?;
        if !store::dictionary_exists(&mut tx, &dictionary_code).await? {
            return Err(Error::NotFound {
                what: "dictionary",
                id: dictionary_code.to_string(),
            }
            .into());
        }
        let rows = store::list_entries(
            &mut tx,
            &dictionary_code,
            message.include_inactive,
            after
                .as_ref()
                .map(|(sort_order, code)| (*sort_order, code.as_str())),
            size.fetch_limit(),
        )
        .await?;
        let (rows, next_page_token) =
            finish_page(rows, size, |e| (e.sort_order, e.code.to_string()));
        Ok(Response::new(pb::ListDictionaryEntriesResponse {
            entries: rows.iter().map(entry_to_pb).collect(),
            next_page_token,
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn update_dictionary_entry(
        &self,
        request: Request<pb::UpdateDictionaryEntryRequest>,
    ) -> std::result::Result<Response<pb::UpdateDictionaryEntryResponse>, Status> {
        let (tenant_id, context) = manager(&request)?;
        let message = request.into_inner();
        let mut violations = Violations::default();
        let paths = mask_paths(
            message.update_mask.as_ref(),
            &["display", "sort_order", "active"],
            &mut violations,
        );
        let Some(entry) = required(message.entry.as_ref(), "entry", &mut violations) else {
            return Err(Error::from(violations).into());
        };
        let dictionary_code =
            violations.check("entry.dictionary_code", Code::parse(&entry.dictionary_code));
        let code = violations.check("entry.code", Code::parse(&entry.code));
        let etag = violations.check("entry.etag", Version::parse_etag(&entry.etag));
        let mut changes = DictionaryEntryChanges::default();
        if masked(&paths, "display") {
            changes.display = violations.check("entry.display", Name::parse(&entry.display));
        }
        if masked(&paths, "sort_order") {
            changes.sort_order = Some(entry.sort_order);
        }
        if masked(&paths, "active") {
            changes.active = Some(entry.active);
        }
        let (Some(dictionary_code), Some(code), Some(etag), true) =
            (dictionary_code, code, etag, violations.is_empty())
        else {
            return Err(Error::from(violations).into());
        };
        let mut tx = self.core.read_tx(tenant_id, &context).await?;
        let mut entry = store::get_entry(&mut tx, &dictionary_code, &code, Lock::ForUpdate).await?;
        check_etag(entry.version, etag, "dictionary entry")?;
        entry.apply(changes);
        entry.updated_at = self.core.calls.now();
        store::update_entry(&mut tx, &mut entry).await?;
        tx.commit().await.map_err(Error::from)?;
        Ok(Response::new(pb::UpdateDictionaryEntryResponse {
            dictionary_entry: Some(entry_to_pb(&entry)),
        }))
    }
}
