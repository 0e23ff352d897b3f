//! Requests of core's services, parsed into what the use cases are asked: every wrong field
//! is named at once (`INVALID_ARGUMENT` with field violations), nothing is echoed back.

use hmis_platform::Violations;
use hmis_platform::paging::{PageSize, decode_token};
use hmis_platform::types::{Code, Name, ParseError, Text, Version};
use hmis_platform::wire::{mask_paths, masked};
use hmis_proto::openhmis::core::v1 as pb;
use serde::de::DeserializeOwned;

use crate::app::{
    BedStateChange, BedsPage, DepartmentsPage, EntriesPage, EntryUpdate, NewBed, NewDepartment,
    NewDictionary, NewEntry, NewFacility, NewRoom, NewTenant, Update,
};
use crate::convert::{parse_bed_sex, parse_bed_state, parse_department_kind};
use crate::domain::{
    BedChanges, BedId, DepartmentChanges, DepartmentId, DictionaryEntryChanges, FacilityChanges,
    FacilityId, RoomChanges, RoomId, parse_time_zone,
};
use crate::error::Result;
use crate::store::BedScope;

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

/// A page: its size and where it starts.
pub(crate) fn page<After: DeserializeOwned>(
    page_size: i32,
    page_token: &str,
) -> Result<(PageSize, Option<After>)> {
    let mut violations = Violations::default();
    let size = violations.check("page_size", PageSize::parse(page_size));
    let after = violations.check("page_token", decode_token::<After>(page_token));
    Ok(violations.finish(|| Some((size?, after?)))?)
}

/// One id of the register, the whole request of a read by id.
pub(crate) fn id<Id>(field: &str, parsed: std::result::Result<Id, ParseError>) -> Result<Id> {
    let mut violations = Violations::default();
    let id = violations.check(field, parsed);
    Ok(violations.finish(|| id)?)
}

/// A department's rooms: the department, the page size and where it starts.
pub(crate) fn rooms_page(
    message: &pb::ListRoomsRequest,
) -> Result<(DepartmentId, (PageSize, Option<String>))> {
    let mut violations = Violations::default();
    let department_id =
        violations.check("department_id", DepartmentId::parse(&message.department_id));
    let size = violations.check("page_size", PageSize::parse(message.page_size));
    let after = violations.check("page_token", decode_token(&message.page_token));
    Ok(violations.finish(|| Some((department_id?, (size?, after?))))?)
}

fn optional_code(value: &str) -> std::result::Result<Option<Code>, ParseError> {
    if value.trim().is_empty() {
        Ok(None)
    } else {
        Code::parse(value).map(Some)
    }
}

pub(crate) fn new_facility(message: &pb::CreateFacilityRequest) -> Result<NewFacility> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let facility = required(message.facility.as_ref(), "facility", &mut violations);
    let code = facility.and_then(|f| violations.check("facility.code", Code::parse(&f.code)));
    let name = facility.and_then(|f| violations.check("facility.name", Name::parse(&f.name)));
    let time_zone = facility
        .and_then(|f| violations.check("facility.time_zone", parse_time_zone(&f.time_zone)));
    let address =
        facility.and_then(|f| violations.check("facility.address", Text::parse(&f.address)));
    Ok(violations.finish(|| {
        Some(NewFacility {
            key: key?,
            code: code?,
            name: name?,
            time_zone: time_zone?,
            address: address?,
        })
    })?)
}

pub(crate) fn facility_update(
    message: &pb::UpdateFacilityRequest,
) -> Result<Update<FacilityId, FacilityChanges>> {
    let mut violations = Violations::default();
    let fields = ["name", "time_zone", "address", "active"];
    let paths = mask_paths(message.update_mask.as_ref(), &fields, &mut violations);
    let Some(facility) = required(message.facility.as_ref(), "facility", &mut violations) else {
        return Err(violations.into());
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
    Ok(violations.finish(|| {
        Some(Update {
            id: id?,
            etag: etag?,
            changes,
        })
    })?)
}

pub(crate) fn new_department(message: &pb::CreateDepartmentRequest) -> Result<NewDepartment> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let department = required(message.department.as_ref(), "department", &mut violations);
    let facility_id = department.and_then(|d| {
        violations.check("department.facility_id", FacilityId::parse(&d.facility_id))
    });
    let code = department.and_then(|d| violations.check("department.code", Code::parse(&d.code)));
    let name = department.and_then(|d| violations.check("department.name", Name::parse(&d.name)));
    let kind =
        department.and_then(|d| violations.check("department.kind", parse_department_kind(d.kind)));
    let specialty_code = department.and_then(|d| {
        violations.check(
            "department.specialty_code",
            optional_code(&d.specialty_code),
        )
    });
    Ok(violations.finish(|| {
        Some(NewDepartment {
            key: key?,
            facility_id: facility_id?,
            code: code?,
            name: name?,
            kind: kind?,
            specialty_code: specialty_code?,
        })
    })?)
}

pub(crate) fn departments_page(message: &pb::ListDepartmentsRequest) -> Result<DepartmentsPage> {
    let mut violations = Violations::default();
    let facility_id = violations.check("facility_id", FacilityId::parse(&message.facility_id));
    let kind = if message.kind == i32::from(pb::DepartmentKind::Unspecified) {
        Some(None)
    } else {
        violations
            .check("kind", parse_department_kind(message.kind))
            .map(Some)
    };
    let size = violations.check("page_size", PageSize::parse(message.page_size));
    let after = violations.check("page_token", decode_token(&message.page_token));
    Ok(violations.finish(|| {
        Some(DepartmentsPage {
            facility_id: facility_id?,
            kind: kind?,
            size: size?,
            after: after?,
        })
    })?)
}

pub(crate) fn department_update(
    message: &pb::UpdateDepartmentRequest,
) -> Result<Update<DepartmentId, DepartmentChanges>> {
    let mut violations = Violations::default();
    let fields = ["name", "kind", "specialty_code", "active"];
    let paths = mask_paths(message.update_mask.as_ref(), &fields, &mut violations);
    let Some(department) = required(message.department.as_ref(), "department", &mut violations)
    else {
        return Err(violations.into());
    };
    let id = violations.check("department.id", DepartmentId::parse(&department.id));
    let etag = violations.check("department.etag", Version::parse_etag(&department.etag));
    let mut changes = DepartmentChanges::default();
    if masked(&paths, "name") {
        changes.name = violations.check("department.name", Name::parse(&department.name));
    }
    if masked(&paths, "kind") {
        changes.kind = violations.check("department.kind", parse_department_kind(department.kind));
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
    Ok(violations.finish(|| {
        Some(Update {
            id: id?,
            etag: etag?,
            changes,
        })
    })?)
}

pub(crate) fn new_room(message: &pb::CreateRoomRequest) -> Result<NewRoom> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let room = required(message.room.as_ref(), "room", &mut violations);
    let department_id = room.and_then(|r| {
        violations.check("room.department_id", DepartmentId::parse(&r.department_id))
    });
    let code = room.and_then(|r| violations.check("room.code", Code::parse(&r.code)));
    let name = room.and_then(|r| violations.check("room.name", Name::parse(&r.name)));
    Ok(violations.finish(|| {
        Some(NewRoom {
            key: key?,
            department_id: department_id?,
            code: code?,
            name: name?,
        })
    })?)
}

pub(crate) fn room_update(message: &pb::UpdateRoomRequest) -> Result<Update<RoomId, RoomChanges>> {
    let mut violations = Violations::default();
    let paths = mask_paths(
        message.update_mask.as_ref(),
        &["name", "active"],
        &mut violations,
    );
    let Some(room) = required(message.room.as_ref(), "room", &mut violations) else {
        return Err(violations.into());
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
    Ok(violations.finish(|| {
        Some(Update {
            id: id?,
            etag: etag?,
            changes,
        })
    })?)
}

pub(crate) fn new_bed(message: &pb::CreateBedRequest) -> Result<NewBed> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let bed = required(message.bed.as_ref(), "bed", &mut violations);
    let room_id = bed.and_then(|b| violations.check("bed.room_id", RoomId::parse(&b.room_id)));
    let code = bed.and_then(|b| violations.check("bed.code", Code::parse(&b.code)));
    let sex = bed.and_then(|b| violations.check("bed.sex", parse_bed_sex(b.sex)));
    Ok(violations.finish(|| {
        let bed = bed?;
        Some(NewBed {
            key: key?,
            room_id: room_id?,
            code: code?,
            sex: sex?,
            isolation: bed.isolation,
            intensive_care: bed.intensive_care,
        })
    })?)
}

pub(crate) fn beds_page(message: &pb::ListBedsRequest) -> Result<BedsPage> {
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
    let state = violations.check("state", parse_bed_state(message.state));
    let size = violations.check("page_size", PageSize::parse(message.page_size));
    let after = violations.check("page_token", decode_token(&message.page_token));
    Ok(violations.finish(|| {
        Some(BedsPage {
            scope: scope?,
            state: state?,
            size: size?,
            after: after?,
        })
    })?)
}

pub(crate) fn bed_update(message: &pb::UpdateBedRequest) -> Result<Update<BedId, BedChanges>> {
    let mut violations = Violations::default();
    let fields = ["sex", "isolation", "intensive_care", "active"];
    let paths = mask_paths(message.update_mask.as_ref(), &fields, &mut violations);
    let Some(bed) = required(message.bed.as_ref(), "bed", &mut violations) else {
        return Err(violations.into());
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
    Ok(violations.finish(|| {
        Some(Update {
            id: id?,
            etag: etag?,
            changes,
        })
    })?)
}

pub(crate) fn bed_state(message: &pb::SetBedStateRequest) -> Result<BedStateChange> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
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
    Ok(violations.finish(|| {
        Some(BedStateChange {
            key: key?,
            id: id?,
            state: state?,
            etag: etag?,
            reason: reason?,
        })
    })?)
}

pub(crate) fn new_dictionary(message: &pb::CreateDictionaryRequest) -> Result<NewDictionary> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let dictionary = required(message.dictionary.as_ref(), "dictionary", &mut violations);
    let code = dictionary.and_then(|d| violations.check("dictionary.code", Code::parse(&d.code)));
    let name = dictionary.and_then(|d| violations.check("dictionary.name", Name::parse(&d.name)));
    let description = dictionary
        .and_then(|d| violations.check("dictionary.description", Text::parse(&d.description)));
    Ok(violations.finish(|| {
        Some(NewDictionary {
            key: key?,
            code: code?,
            name: name?,
            description: description?,
        })
    })?)
}

pub(crate) fn new_entry(message: &pb::CreateDictionaryEntryRequest) -> Result<NewEntry> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let entry = required(message.entry.as_ref(), "entry", &mut violations);
    let dictionary_code = entry
        .and_then(|e| violations.check("entry.dictionary_code", Code::parse(&e.dictionary_code)));
    let code = entry.and_then(|e| violations.check("entry.code", Code::parse(&e.code)));
    let display = entry.and_then(|e| violations.check("entry.display", Name::parse(&e.display)));
    Ok(violations.finish(|| {
        Some(NewEntry {
            key: key?,
            dictionary_code: dictionary_code?,
            code: code?,
            display: display?,
            sort_order: entry?.sort_order,
        })
    })?)
}

pub(crate) fn entries_page(message: &pb::ListDictionaryEntriesRequest) -> Result<EntriesPage> {
    let mut violations = Violations::default();
    let dictionary_code =
        violations.check("dictionary_code", Code::parse(&message.dictionary_code));
    let size = violations.check("page_size", PageSize::parse(message.page_size));
    let after = violations.check("page_token", decode_token(&message.page_token));
    Ok(violations.finish(|| {
        Some(EntriesPage {
            dictionary_code: dictionary_code?,
            include_inactive: message.include_inactive,
            size: size?,
            after: after?,
        })
    })?)
}

pub(crate) fn entry_update(message: &pb::UpdateDictionaryEntryRequest) -> Result<EntryUpdate> {
    let mut violations = Violations::default();
    let fields = ["display", "sort_order", "active"];
    let paths = mask_paths(message.update_mask.as_ref(), &fields, &mut violations);
    let Some(entry) = required(message.entry.as_ref(), "entry", &mut violations) else {
        return Err(violations.into());
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
    Ok(violations.finish(|| {
        Some(EntryUpdate {
            dictionary_code: dictionary_code?,
            code: code?,
            etag: etag?,
            changes,
        })
    })?)
}

pub(crate) fn new_tenant(message: &pb::CreateTenantRequest) -> Result<NewTenant> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let tenant = required(message.tenant.as_ref(), "tenant", &mut violations);
    let code = tenant.and_then(|t| violations.check("tenant.code", Code::parse(&t.code)));
    let name = tenant.and_then(|t| violations.check("tenant.name", Name::parse(&t.name)));
    Ok(violations.finish(|| {
        Some(NewTenant {
            key: key?,
            code: code?,
            name: name?,
        })
    })?)
}
