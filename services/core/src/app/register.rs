//! The register of the organisation: facilities, their departments (wards, clinics) and the
//! departments' rooms. Not patient data: reads are not audited.

use chrono_tz::Tz;
use hmis_platform::RequestContext;
use hmis_platform::idempotency::RequestKey;
use hmis_platform::paging::{PageSize, finish_page};
use hmis_platform::types::{Code, Name, Text, Version};
use hmis_proto::openhmis::core::v1 as pb;

use super::{Core, check_etag, check_specialty, method, refers_to};
use crate::convert::{department_to_pb, facility_to_pb, room_to_pb};
use crate::domain::{
    Department, DepartmentChanges, DepartmentId, DepartmentKind, Facility, FacilityChanges,
    FacilityId, Room, RoomChanges, RoomId,
};
use crate::error::{Error, Result};
use crate::events;
use crate::store::{self, Lock};

const SERVICE: &str = "FacilityService";

/// A change of the fields the mask named, against the version the caller read.
pub(crate) struct Update<Id, Changes> {
    pub(crate) id: Id,
    pub(crate) etag: Version,
    pub(crate) changes: Changes,
}

pub(crate) struct NewFacility {
    pub(crate) key: RequestKey,
    pub(crate) code: Code,
    pub(crate) name: Name,
    pub(crate) time_zone: Tz,
    pub(crate) address: Text,
}

pub(crate) struct NewDepartment {
    pub(crate) key: RequestKey,
    pub(crate) facility_id: FacilityId,
    pub(crate) code: Code,
    pub(crate) name: Name,
    pub(crate) kind: DepartmentKind,
    pub(crate) specialty_code: Option<Code>,
}

/// A facility's departments by code, of one kind when one is named.
pub(crate) struct DepartmentsPage {
    pub(crate) facility_id: FacilityId,
    pub(crate) kind: Option<DepartmentKind>,
    pub(crate) size: PageSize,
    pub(crate) after: Option<String>,
}

pub(crate) struct NewRoom {
    pub(crate) key: RequestKey,
    pub(crate) department_id: DepartmentId,
    pub(crate) code: Code,
    pub(crate) name: Name,
}

impl Core {
    pub(crate) async fn create_facility(
        &self,
        context: &RequestContext,
        message: &pb::CreateFacilityRequest,
        new: NewFacility,
    ) -> Result<pb::CreateFacilityResponse> {
        let now = self.calls.now();
        let facility = Facility {
            id: FacilityId::generate(),
            code: new.code,
            name: new.name,
            time_zone: new.time_zone,
            address: new.address,
            active: true,
            version: Version::FIRST,
            created_at: now,
            updated_at: now,
        };
        let method = method(SERVICE, "CreateFacility");
        (self.calls)
            .write(context, &method, &new.key, message, async |tx| {
                store::insert_facility(tx, &facility).await?;
                events::facility_changed(self, tx, &facility).await?;
                Ok::<_, Error>(pb::CreateFacilityResponse {
                    facility: Some(facility_to_pb(&facility)),
                })
            })
            .await
    }

    pub(crate) async fn get_facility(
        &self,
        context: &RequestContext,
        id: FacilityId,
    ) -> Result<pb::GetFacilityResponse> {
        let facility = (self.calls)
            .transaction(context, async |tx| {
                store::get_facility(tx, id, Lock::None).await
            })
            .await?;
        Ok(pb::GetFacilityResponse {
            facility: Some(facility_to_pb(&facility)),
        })
    }

    pub(crate) async fn list_facilities(
        &self,
        context: &RequestContext,
        (size, after): (PageSize, Option<String>),
    ) -> Result<pb::ListFacilitiesResponse> {
        let rows = (self.calls)
            .transaction(context, async |tx| {
                store::list_facilities(tx, after.as_deref(), size.fetch_limit()).await
            })
            .await?;
        let (rows, next_page_token) = finish_page(rows, size, |f| f.code.to_string());
        Ok(pb::ListFacilitiesResponse {
            facilities: rows.iter().map(facility_to_pb).collect(),
            next_page_token,
        })
    }

    pub(crate) async fn update_facility(
        &self,
        context: &RequestContext,
        update: Update<FacilityId, FacilityChanges>,
    ) -> Result<pb::UpdateFacilityResponse> {
        let now = self.calls.now();
        let facility = (self.calls)
            .transaction(context, async |tx| {
                let mut facility = store::get_facility(tx, update.id, Lock::ForUpdate).await?;
                check_etag(facility.version, update.etag, "facility")?;
                facility.apply(update.changes);
                facility.updated_at = now;
                store::update_facility(tx, &mut facility).await?;
                events::facility_changed(self, tx, &facility).await?;
                Ok(facility)
            })
            .await?;
        Ok(pb::UpdateFacilityResponse {
            facility: Some(facility_to_pb(&facility)),
        })
    }

    pub(crate) async fn create_department(
        &self,
        context: &RequestContext,
        message: &pb::CreateDepartmentRequest,
        new: NewDepartment,
    ) -> Result<pb::CreateDepartmentResponse> {
        let now = self.calls.now();
        let department = Department {
            id: DepartmentId::generate(),
            facility_id: new.facility_id,
            code: new.code,
            name: new.name,
            kind: new.kind,
            specialty_code: new.specialty_code,
            active: true,
            version: Version::FIRST,
            created_at: now,
            updated_at: now,
        };
        let method = method(SERVICE, "CreateDepartment");
        (self.calls)
            .write(context, &method, &new.key, message, async |tx| {
                // The facility must exist (and be this tenant's); lock it so it cannot be
                // deactivated while its new department is being added.
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
                events::department_changed(self, tx, &department).await?;
                Ok::<_, Error>(pb::CreateDepartmentResponse {
                    department: Some(department_to_pb(&department)),
                })
            })
            .await
    }

    pub(crate) async fn get_department(
        &self,
        context: &RequestContext,
        id: DepartmentId,
    ) -> Result<pb::GetDepartmentResponse> {
        let department = (self.calls)
            .transaction(context, async |tx| {
                store::get_department(tx, id, Lock::None).await
            })
            .await?;
        Ok(pb::GetDepartmentResponse {
            department: Some(department_to_pb(&department)),
        })
    }

    pub(crate) async fn list_departments(
        &self,
        context: &RequestContext,
        page: DepartmentsPage,
    ) -> Result<pb::ListDepartmentsResponse> {
        let DepartmentsPage {
            facility_id,
            kind,
            size,
            after,
        } = page;
        let rows = (self.calls)
            .transaction(context, async |tx| {
                let after = after.as_deref();
                store::list_departments(tx, facility_id, kind, after, size.fetch_limit()).await
            })
            .await?;
        let (rows, next_page_token) = finish_page(rows, size, |d| d.code.to_string());
        Ok(pb::ListDepartmentsResponse {
            departments: rows.iter().map(department_to_pb).collect(),
            next_page_token,
        })
    }

    pub(crate) async fn update_department(
        &self,
        context: &RequestContext,
        update: Update<DepartmentId, DepartmentChanges>,
    ) -> Result<pb::UpdateDepartmentResponse> {
        let now = self.calls.now();
        let department = (self.calls)
            .transaction(context, async |tx| {
                let mut department = store::get_department(tx, update.id, Lock::ForUpdate).await?;
                check_etag(department.version, update.etag, "department")?;
                if let Some(specialty_code) = &update.changes.specialty_code {
                    check_specialty(tx, specialty_code.as_ref()).await?;
                }
                department.apply(update.changes);
                department.updated_at = now;
                store::update_department(tx, &mut department).await?;
                events::department_changed(self, tx, &department).await?;
                Ok(department)
            })
            .await?;
        Ok(pb::UpdateDepartmentResponse {
            department: Some(department_to_pb(&department)),
        })
    }

    pub(crate) async fn create_room(
        &self,
        context: &RequestContext,
        message: &pb::CreateRoomRequest,
        new: NewRoom,
    ) -> Result<pb::CreateRoomResponse> {
        let now = self.calls.now();
        let room = Room {
            id: RoomId::generate(),
            department_id: new.department_id,
            code: new.code,
            name: new.name,
            active: true,
            version: Version::FIRST,
            created_at: now,
            updated_at: now,
        };
        let method = method(SERVICE, "CreateRoom");
        (self.calls)
            .write(context, &method, &new.key, message, async |tx| {
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
            })
            .await
    }

    pub(crate) async fn get_room(
        &self,
        context: &RequestContext,
        id: RoomId,
    ) -> Result<pb::GetRoomResponse> {
        let room = (self.calls)
            .transaction(context, async |tx| {
                store::get_room(tx, id, Lock::None).await
            })
            .await?;
        Ok(pb::GetRoomResponse {
            room: Some(room_to_pb(&room)),
        })
    }

    pub(crate) async fn list_rooms(
        &self,
        context: &RequestContext,
        department_id: DepartmentId,
        (size, after): (PageSize, Option<String>),
    ) -> Result<pb::ListRoomsResponse> {
        let rows = (self.calls)
            .transaction(context, async |tx| {
                store::list_rooms(tx, department_id, after.as_deref(), size.fetch_limit()).await
            })
            .await?;
        let (rows, next_page_token) = finish_page(rows, size, |r| r.code.to_string());
        Ok(pb::ListRoomsResponse {
            rooms: rows.iter().map(room_to_pb).collect(),
            next_page_token,
        })
    }

    pub(crate) async fn update_room(
        &self,
        context: &RequestContext,
        update: Update<RoomId, RoomChanges>,
    ) -> Result<pb::UpdateRoomResponse> {
        let now = self.calls.now();
        let room = (self.calls)
            .transaction(context, async |tx| {
                let mut room = store::get_room(tx, update.id, Lock::ForUpdate).await?;
                check_etag(room.version, update.etag, "room")?;
                room.apply(update.changes);
                room.updated_at = now;
                store::update_room(tx, &mut room).await?;
                Ok(room)
            })
            .await?;
        Ok(pb::UpdateRoomResponse {
            room: Some(room_to_pb(&room)),
        })
    }
}
