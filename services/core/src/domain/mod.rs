//! Core's pure types and rules: no tonic, no sqlx. Values arrive here already parsed.

mod bed;
mod department;

pub use bed::{BedSex, BedState};
pub use department::DepartmentKind;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use hmis_platform::define_id;
use hmis_platform::types::{Code, Name, ParseError, Text, Version};

define_id!(
    /// A facility (hospital site).
    FacilityId
);
define_id!(
    /// A department of a facility; wards are departments.
    DepartmentId
);
define_id!(
    /// A room of a department.
    RoomId
);
define_id!(
    /// A bed of a room.
    BedId
);

/// Parses an IANA time zone name; reports cut days at midnight there.
pub fn parse_time_zone(value: &str) -> Result<Tz, ParseError> {
    value
        .trim()
        .parse::<Tz>()
        .map_err(|_| ParseError::new("must be an IANA time zone such as Europe/Chisinau"))
}

#[derive(Debug, Clone, PartialEq)]
pub struct Tenant {
    pub id: hmis_platform::TenantId,
    pub code: Code,
    pub name: Name,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Facility {
    pub id: FacilityId,
    pub code: Code,
    pub name: Name,
    pub time_zone: Tz,
    pub address: Text,
    pub active: bool,
    pub version: Version,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The editable fields of a facility; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FacilityChanges {
    pub name: Option<Name>,
    pub time_zone: Option<Tz>,
    pub address: Option<Text>,
    pub active: Option<bool>,
}

impl Facility {
    pub fn apply(&mut self, changes: FacilityChanges) {
        if let Some(name) = changes.name {
            self.name = name;
        }
        if let Some(time_zone) = changes.time_zone {
            self.time_zone = time_zone;
        }
        if let Some(address) = changes.address {
            self.address = address;
        }
        if let Some(active) = changes.active {
            self.active = active;
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Department {
    pub id: DepartmentId,
    pub facility_id: FacilityId,
    pub code: Code,
    pub name: Name,
    pub kind: DepartmentKind,
    /// An entry of the `specialties` dictionary.
    pub specialty_code: Option<Code>,
    pub active: bool,
    pub version: Version,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct DepartmentChanges {
    pub name: Option<Name>,
    pub kind: Option<DepartmentKind>,
    pub specialty_code: Option<Option<Code>>,
    pub active: Option<bool>,
}

impl Department {
    pub fn apply(&mut self, changes: DepartmentChanges) {
        if let Some(name) = changes.name {
            self.name = name;
        }
        if let Some(kind) = changes.kind {
            self.kind = kind;
        }
        if let Some(specialty_code) = changes.specialty_code {
            self.specialty_code = specialty_code;
        }
        if let Some(active) = changes.active {
            self.active = active;
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Room {
    pub id: RoomId,
    pub department_id: DepartmentId,
    pub code: Code,
    pub name: Name,
    pub active: bool,
    pub version: Version,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RoomChanges {
    pub name: Option<Name>,
    pub active: Option<bool>,
}

impl Room {
    pub fn apply(&mut self, changes: RoomChanges) {
        if let Some(name) = changes.name {
            self.name = name;
        }
        if let Some(active) = changes.active {
            self.active = active;
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Bed {
    pub id: BedId,
    pub room_id: RoomId,
    pub department_id: DepartmentId,
    pub code: Code,
    pub sex: BedSex,
    pub isolation: bool,
    pub intensive_care: bool,
    pub state: BedState,
    pub state_reason: String,
    pub active: bool,
    pub version: Version,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct BedChanges {
    pub sex: Option<BedSex>,
    pub isolation: Option<bool>,
    pub intensive_care: Option<bool>,
    pub active: Option<bool>,
}

impl Bed {
    pub fn apply(&mut self, changes: BedChanges) -> Result<(), BedRuleError> {
        if changes.active == Some(false)
            && matches!(self.state, BedState::Occupied | BedState::Reserved)
        {
            return Err(BedRuleError::InUse(self.state));
        }
        if let Some(sex) = changes.sex {
            self.sex = sex;
        }
        if let Some(isolation) = changes.isolation {
            self.isolation = isolation;
        }
        if let Some(intensive_care) = changes.intensive_care {
            self.intensive_care = intensive_care;
        }
        if let Some(active) = changes.active {
            self.active = active;
        }
        Ok(())
    }

    /// Moves the bed to `target` if the transition is allowed.
    pub fn change_state(&mut self, target: BedState, reason: &Text) -> Result<(), BedRuleError> {
        if !self.active && matches!(target, BedState::Occupied | BedState::Reserved) {
            return Err(BedRuleError::Inactive);
        }
        if target == BedState::OutOfService && reason.as_str().is_empty() {
            return Err(BedRuleError::ReasonRequired);
        }
        if !self.state.can_become(target) {
            return Err(BedRuleError::Transition {
                from: self.state,
                to: target,
            });
        }
        self.state = target;
        self.state_reason = reason.as_str().to_owned();
        Ok(())
    }
}

/// Bed rules a request can break.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BedRuleError {
    #[error("a bed cannot go from {from} to {to}")]
    Transition { from: BedState, to: BedState },
    #[error("an inactive bed cannot be occupied or reserved")]
    Inactive,
    #[error("a bed that is {0} cannot be deactivated")]
    InUse(BedState),
    #[error("taking a bed out of service needs a reason")]
    ReasonRequired,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Dictionary {
    pub code: Code,
    pub name: Name,
    pub description: Text,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DictionaryEntry {
    pub dictionary_code: Code,
    pub code: Code,
    pub display: Name,
    pub sort_order: i32,
    pub active: bool,
    pub version: Version,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct DictionaryEntryChanges {
    pub display: Option<Name>,
    pub sort_order: Option<i32>,
    pub active: Option<bool>,
}

impl DictionaryEntry {
    pub fn apply(&mut self, changes: DictionaryEntryChanges) {
        if let Some(display) = changes.display {
            self.display = display;
        }
        if let Some(sort_order) = changes.sort_order {
            self.sort_order = sort_order;
        }
        if let Some(active) = changes.active {
            self.active = active;
        }
    }
}
