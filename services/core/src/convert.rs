//! The wire forms of the domain.

use hmis_platform::types::Code;
use hmis_platform::wire::timestamp;
use hmis_proto::openhmis::core::v1 as pb;

use crate::domain::{
    Bed, BedSex, BedState, Department, DepartmentKind, Dictionary, DictionaryEntry, Facility, Room,
    Tenant,
};

pub(crate) fn tenant_to_pb(tenant: &Tenant) -> pb::Tenant {
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

pub(crate) fn department_kind_to_pb(kind: DepartmentKind) -> pb::DepartmentKind {
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

pub(crate) fn parse_department_kind(
    value: i32,
) -> std::result::Result<DepartmentKind, &'static str> {
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

pub(crate) fn room_to_pb(room: &Room) -> pb::Room {
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

pub(crate) fn bed_sex_to_pb(sex: BedSex) -> pb::BedSex {
    match sex {
        BedSex::Any => pb::BedSex::Any,
        BedSex::Male => pb::BedSex::Male,
        BedSex::Female => pb::BedSex::Female,
    }
}

pub(crate) fn parse_bed_sex(value: i32) -> std::result::Result<BedSex, &'static str> {
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
pub(crate) fn parse_bed_state(value: i32) -> std::result::Result<Option<BedState>, &'static str> {
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

pub(crate) fn dictionary_to_pb(dictionary: &Dictionary) -> pb::Dictionary {
    pb::Dictionary {
        code: dictionary.code.to_string(),
        name: dictionary.name.to_string(),
        description: dictionary.description.as_str().to_owned(),
        create_time: timestamp(dictionary.created_at),
    }
}

pub(crate) fn entry_to_pb(entry: &DictionaryEntry) -> pb::DictionaryEntry {
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
