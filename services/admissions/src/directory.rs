//! What admissions reads from other modules, through their contracts: wards and beds from
//! the bed register (core), patients from the registry. Each call is made on behalf of the
//! caller ([`forwarded`]), so the other module authorizes and audits the same person. The
//! clients run over a [`ServiceChannel`]: in-process today, a network channel once a module
//! runs elsewhere. Wire types of other modules stay in this file.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use core_pb::facility_service_client::FacilityServiceClient;
use hmis_platform::channel::{ServiceChannel, forwarded};
use hmis_platform::{RequestContext, TenantId};
use hmis_proto::openhmis::core::v1 as core_pb;
use hmis_proto::openhmis::patients::v1 as patients_pb;
use patients_pb::patient_service_client::PatientServiceClient;
use tonic::{Code, Status};
use uuid::Uuid;

use crate::domain::{BedSex, BedState, PatientSex};
use crate::error::{Error, Result};

/// A department as admissions needs it.
#[derive(Debug, Clone)]
pub struct Ward {
    pub id: Uuid,
    pub facility_id: Uuid,
    pub name: String,
    pub kind: WardKind,
    pub active: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WardKind {
    /// Wards and intensive care take inpatients.
    Inpatient,
    Emergency,
    /// Anything else (outpatient, pharmacy, laboratory...): no admissions.
    Other,
}

/// A bed of the register.
#[derive(Debug, Clone)]
pub struct Bed {
    pub id: Uuid,
    pub department_id: Uuid,
    pub room_id: Uuid,
    pub code: String,
    pub sex: BedSex,
    pub state: BedState,
    pub active: bool,
}

/// A patient as admissions needs it.
#[derive(Debug, Clone)]
pub struct Patient {
    pub id: Uuid,
    pub sex: PatientSex,
    pub deceased: bool,
    pub merged_into: Option<Uuid>,
}

/// A newborn to register.
#[derive(Debug, Clone)]
pub struct NewbornRecord {
    pub family_name: String,
    pub given_names: String,
    pub sex: patients_pb::Sex,
    pub birth_time: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct Directory {
    facilities: FacilityServiceClient<ServiceChannel>,
    patients: PatientServiceClient<ServiceChannel>,
    wards: Arc<Recent<Ward>>,
    time_zones: Arc<Recent<String>>,
}

/// How long a ward or a facility's time zone read from the register is used again. They
/// change rarely (a ward renamed or closed, a zone corrected), and reading them cost two
/// transactions per admission; a ward closed within this time may still take an admission.
const REFERENCE_TTL: Duration = Duration::from_secs(30);

/// Beyond this many entries the cache starts over (a deployment serving many tenants).
const REFERENCE_CAPACITY: usize = 10_000;

/// Values read recently, per tenant and id, for [`REFERENCE_TTL`].
#[derive(Debug)]
struct Recent<T> {
    entries: Mutex<HashMap<(TenantId, Uuid), (Instant, T)>>,
}

impl<T: Clone> Recent<T> {
    fn new() -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn get(&self, key: &(TenantId, Uuid)) -> Option<T> {
        let entries = self
            .entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        entries
            .get(key)
            .filter(|(read_at, _)| read_at.elapsed() < REFERENCE_TTL)
            .map(|(_, value)| value.clone())
    }

    fn put(&self, key: (TenantId, Uuid), value: T) {
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if entries.len() >= REFERENCE_CAPACITY {
            entries.clear();
        }
        entries.insert(key, (Instant::now(), value));
    }

    /// The value of `key` read within the TTL, or `read` it now and keep it.
    async fn get_or_read<F>(&self, key: (TenantId, Uuid), read: F) -> Result<T>
    where
        F: Future<Output = Result<T>>,
    {
        if let Some(value) = self.get(&key) {
            return Ok(value);
        }
        let value = read.await?;
        self.put(key, value.clone());
        Ok(value)
    }
}

/// A NOT_FOUND from the other module, said in this call's words (which field named it).
fn not_found(what: &str) -> impl Fn(Status) -> Error + '_ {
    move |status| {
        if status.code() == Code::NotFound {
            Error::NotFound(what.to_owned())
        } else {
            Error::Context(status)
        }
    }
}

fn parse_uuid(value: &str, what: &'static str) -> Result<Uuid> {
    Uuid::parse_str(value).map_err(|_| Error::CorruptRow(what))
}

impl Directory {
    /// `core` serves `openhmis.core.v1.FacilityService`, `patients` the registry.
    pub fn new(core: ServiceChannel, patients: ServiceChannel) -> Self {
        Self {
            facilities: FacilityServiceClient::new(core),
            patients: PatientServiceClient::new(patients),
            wards: Arc::new(Recent::new()),
            time_zones: Arc::new(Recent::new()),
        }
    }

    /// A department of the register (read at most every [`REFERENCE_TTL`]).
    pub async fn ward(&self, context: &RequestContext, id: Uuid) -> Result<Ward> {
        self.wards
            .get_or_read((context.tenant_id()?, id), self.read_ward(context, id))
            .await
    }

    async fn read_ward(&self, context: &RequestContext, id: Uuid) -> Result<Ward> {
        let department = self
            .facilities
            .clone()
            .get_department(forwarded(
                context,
                core_pb::GetDepartmentRequest { id: id.to_string() },
            ))
            .await
            .map_err(not_found(&format!("department {id}")))?
            .into_inner()
            .department
            .ok_or(Error::CorruptRow("department"))?;
        let kind = match core_pb::DepartmentKind::try_from(department.kind) {
            Ok(core_pb::DepartmentKind::Ward | core_pb::DepartmentKind::IntensiveCare) => {
                WardKind::Inpatient
            }
            Ok(core_pb::DepartmentKind::Emergency) => WardKind::Emergency,
            _ => WardKind::Other,
        };
        Ok(Ward {
            id,
            facility_id: parse_uuid(&department.facility_id, "department facility")?,
            name: department.name,
            kind,
            active: department.active,
        })
    }

    /// The IANA time zone of a facility (the admission year is the facility's).
    pub async fn time_zone(&self, context: &RequestContext, facility_id: Uuid) -> Result<String> {
        self.time_zones
            .get_or_read(
                (context.tenant_id()?, facility_id),
                self.read_time_zone(context, facility_id),
            )
            .await
    }

    async fn read_time_zone(&self, context: &RequestContext, facility_id: Uuid) -> Result<String> {
        Ok(self
            .facilities
            .clone()
            .get_facility(forwarded(
                context,
                core_pb::GetFacilityRequest {
                    id: facility_id.to_string(),
                },
            ))
            .await
            .map_err(not_found(&format!("facility {facility_id}")))?
            .into_inner()
            .facility
            .ok_or(Error::CorruptRow("facility"))?
            .time_zone)
    }

    pub async fn bed(&self, context: &RequestContext, id: Uuid) -> Result<Bed> {
        let bed = self
            .facilities
            .clone()
            .get_bed(forwarded(
                context,
                core_pb::GetBedRequest { id: id.to_string() },
            ))
            .await
            .map_err(not_found(&format!("bed {id}")))?
            .into_inner()
            .bed
            .ok_or(Error::CorruptRow("bed"))?;
        bed_from_pb(bed)
    }

    /// Every bed of a ward, in the register's order (room, then bed code).
    pub async fn beds_of(&self, context: &RequestContext, department_id: Uuid) -> Result<Vec<Bed>> {
        let mut beds = Vec::new();
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
                .await
                .map_err(not_found(&format!("department {department_id}")))?
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

    /// The codes of a ward's rooms, by room id.
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
                    core_pb::ListRoomsRequest {
                        department_id: department_id.to_string(),
                        page_size: 500,
                        page_token: page_token.clone(),
                    },
                ))
                .await
                .map_err(not_found(&format!("department {department_id}")))?
                .into_inner();
            for room in page.rooms {
                rooms.insert(parse_uuid(&room.id, "room id")?, room.code);
            }
            if page.next_page_token.is_empty() {
                return Ok(rooms);
            }
            page_token = page.next_page_token;
        }
    }

    pub async fn room_code(&self, context: &RequestContext, room_id: Uuid) -> Result<String> {
        Ok(self
            .facilities
            .clone()
            .get_room(forwarded(
                context,
                core_pb::GetRoomRequest {
                    id: room_id.to_string(),
                },
            ))
            .await
            .map_err(not_found(&format!("room {room_id}")))?
            .into_inner()
            .room
            .ok_or(Error::CorruptRow("room"))?
            .code)
    }

    /// The whole record, read from the registry (which audits the read under the caller).
    async fn record(&self, context: &RequestContext, id: Uuid) -> Result<patients_pb::Patient> {
        self.patients
            .clone()
            .get_patient(forwarded(
                context,
                patients_pb::GetPatientRequest { id: id.to_string() },
            ))
            .await
            .map_err(not_found(&format!("patient {id}")))?
            .into_inner()
            .patient
            .ok_or(Error::CorruptRow("patient"))
    }

    /// What admitting checks of a patient, read from the registry.
    pub async fn patient(&self, context: &RequestContext, id: Uuid) -> Result<Patient> {
        let patient = self.record(context, id).await?;
        let sex = match patients_pb::Sex::try_from(patient.sex) {
            Ok(patients_pb::Sex::Male) => PatientSex::Male,
            Ok(patients_pb::Sex::Female) => PatientSex::Female,
            _ => PatientSex::Unknown,
        };
        let merged_into = if patient.merged_into_id.is_empty() {
            None
        } else {
            Some(parse_uuid(&patient.merged_into_id, "merged_into_id")?)
        };
        Ok(Patient {
            id,
            sex,
            deceased: patient.deceased,
            merged_into,
        })
    }

    /// A patient's family name (a newborn's default), read from the registry.
    pub async fn family_name(&self, context: &RequestContext, id: Uuid) -> Result<String> {
        Ok(self.record(context, id).await?.family_name)
    }

    /// Registers a newborn in the registry and returns its id. `request_id` is derived from
    /// the admitting call's, so a retried admission finds the record its first try made.
    pub async fn register_newborn(
        &self,
        context: &RequestContext,
        request_id: String,
        newborn: &NewbornRecord,
    ) -> Result<Uuid> {
        let registered = self
            .patients
            .clone()
            .register_patient(forwarded(
                context,
                patients_pb::RegisterPatientRequest {
                    request_id,
                    patient: Some(patients_pb::Patient {
                        family_name: newborn.family_name.clone(),
                        given_names: newborn.given_names.clone(),
                        sex: newborn.sex.into(),
                        birth_date: newborn.birth_time.date_naive().to_string(),
                        ..Default::default()
                    }),
                    // Twins share a birth date and a family name; the mother's admission is
                    // what identifies them, not a duplicate check.
                    confirm_new_patient: true,
                },
            ))
            .await?
            .into_inner()
            .patient
            .ok_or(Error::CorruptRow("registered newborn"))?;
        parse_uuid(&registered.id, "newborn id")
    }
}

fn bed_from_pb(bed: core_pb::Bed) -> Result<Bed> {
    let sex = match core_pb::BedSex::try_from(bed.sex) {
        Ok(core_pb::BedSex::Male) => BedSex::Male,
        Ok(core_pb::BedSex::Female) => BedSex::Female,
        _ => BedSex::Any,
    };
    let state = match core_pb::BedState::try_from(bed.state) {
        Ok(core_pb::BedState::Free) => BedState::Free,
        Ok(core_pb::BedState::Occupied) => BedState::Occupied,
        Ok(core_pb::BedState::Reserved) => BedState::Reserved,
        Ok(core_pb::BedState::Cleaning) => BedState::Cleaning,
        Ok(core_pb::BedState::OutOfService) => BedState::OutOfService,
        _ => return Err(Error::CorruptRow("bed state")),
    };
    Ok(Bed {
        id: parse_uuid(&bed.id, "bed id")?,
        department_id: parse_uuid(&bed.department_id, "bed department")?,
        room_id: parse_uuid(&bed.room_id, "bed room")?,
        code: bed.code,
        sex,
        state,
        active: bed.active,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn recent_values_are_read_once_per_tenant_and_id() {
        let recent = Recent::new();
        let (tenant, other_tenant, id) =
            (TenantId::generate(), TenantId::generate(), Uuid::now_v7());
        let reads = std::sync::atomic::AtomicUsize::new(0);
        // Like the directory's reads, a future that does its work only when awaited.
        let read = |value: &'static str| {
            let reads = &reads;
            async move {
                reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                Ok(value.to_owned())
            }
        };
        assert_eq!(
            recent.get_or_read((tenant, id), read("first")).await.ok(),
            Some("first".to_owned())
        );
        assert_eq!(
            recent.get_or_read((tenant, id), read("second")).await.ok(),
            Some("first".to_owned())
        );
        assert_eq!(
            recent
                .get_or_read((other_tenant, id), read("other"))
                .await
                .ok(),
            Some("other".to_owned()),
            "another tenant's read is its own"
        );
        assert_eq!(
            reads.load(std::sync::atomic::Ordering::SeqCst),
            2,
            "the second read of the same tenant and id came from the cache"
        );
    }
}
