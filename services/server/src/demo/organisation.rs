//! The demo tenant: its facility, departments, rooms and beds, dictionaries and staff.

use hmis_core::CoreModule;
use hmis_iam::{IamModule, SeedUser};
use hmis_platform::TenantId;
use hmis_platform::auth::Scope;
use hmis_proto::openhmis::core::v1 as pb;
use pb::dictionary_service_server::DictionaryService;
use pb::facility_service_server::FacilityService;
use tonic::Status;

use super::{missing, request};

/// A starter dictionary: code, name, and its (code, display) entries in pick-list order.
struct DemoDictionary {
    code: &'static str,
    name: &'static str,
    entries: &'static [(&'static str, &'static str)],
}

/// A department and its rooms; wards get `rooms` rooms of `beds_per_room` beds.
struct DemoDepartment {
    code: &'static str,
    name: &'static str,
    kind: pb::DepartmentKind,
    specialty: &'static str,
    rooms: u32,
    beds_per_room: u32,
}

const DICTIONARIES: &[DemoDictionary] = &[
    DemoDictionary {
        code: "specialties",
        name: "Medical specialties",
        entries: &[
            ("cardiology", "Cardiology"),
            ("internal_medicine", "Internal medicine"),
            ("general_surgery", "General surgery"),
            ("pediatrics", "Pediatrics"),
            ("neurology", "Neurology"),
            ("anesthesiology", "Anesthesiology and intensive care"),
            ("emergency_medicine", "Emergency medicine"),
        ],
    },
    DemoDictionary {
        code: "countries",
        name: "Countries (ISO 3166-1)",
        entries: &[
            ("MD", "Moldova"),
            ("RO", "Romania"),
            ("UA", "Ukraine"),
            ("IR", "Iran"),
            ("CN", "China"),
        ],
    },
    DemoDictionary {
        code: "insurers",
        name: "Health insurers",
        entries: &[
            ("CNAM", "National Health Insurance Company"),
            ("UNINSURED", "Uninsured"),
        ],
    },
    DemoDictionary {
        code: "admission_sources",
        name: "Admission sources",
        entries: &[
            ("emergency", "Emergency unit"),
            ("referral", "Referral from a family doctor"),
            ("transfer", "Transfer from another hospital"),
            ("self", "Self-referred"),
        ],
    },
];

const DEPARTMENTS: &[DemoDepartment] = &[
    DemoDepartment {
        code: "ER",
        name: "Emergency unit",
        kind: pb::DepartmentKind::Emergency,
        specialty: "emergency_medicine",
        rooms: 2,
        beds_per_room: 4,
    },
    DemoDepartment {
        code: "CARD",
        name: "Cardiology",
        kind: pb::DepartmentKind::Ward,
        specialty: "cardiology",
        rooms: 4,
        beds_per_room: 3,
    },
    DemoDepartment {
        code: "INT",
        name: "Internal medicine",
        kind: pb::DepartmentKind::Ward,
        specialty: "internal_medicine",
        rooms: 4,
        beds_per_room: 4,
    },
    DemoDepartment {
        code: "SURG",
        name: "General surgery",
        kind: pb::DepartmentKind::Ward,
        specialty: "general_surgery",
        rooms: 3,
        beds_per_room: 4,
    },
    DemoDepartment {
        code: "PED",
        name: "Pediatrics",
        kind: pb::DepartmentKind::Ward,
        specialty: "pediatrics",
        rooms: 3,
        beds_per_room: 3,
    },
    DemoDepartment {
        code: "ICU",
        name: "Intensive care",
        kind: pb::DepartmentKind::IntensiveCare,
        specialty: "anesthesiology",
        rooms: 1,
        beds_per_room: 6,
    },
    DemoDepartment {
        code: "OR",
        name: "Operating block",
        kind: pb::DepartmentKind::OperatingBlock,
        specialty: "",
        // The theatres: rooms without beds.
        rooms: 3,
        beds_per_room: 0,
    },
    DemoDepartment {
        code: "KIT",
        name: "Kitchen",
        kind: pb::DepartmentKind::Administrative,
        specialty: "",
        rooms: 0,
        beds_per_room: 0,
    },
    DemoDepartment {
        code: "PHARM",
        name: "Hospital pharmacy",
        kind: pb::DepartmentKind::Pharmacy,
        specialty: "",
        rooms: 0,
        beds_per_room: 0,
    },
];

/// The password of every demo account (printed in the README; demo data only).
pub const DEMO_PASSWORD: &str = "Demo-Hospital-2026";
/// The demo tenant's sign-in code.
pub const DEMO_TENANT_CODE: &str = "DEMO";

/// Makes the first start create the demo's tenant and administrator (unless the
/// configuration names others), so the README can name them.
pub fn apply_defaults(options: &mut crate::Options) {
    let defaults = hmis_iam::IamOptions::default();
    if options.iam.bootstrap_tenant_code == defaults.bootstrap_tenant_code {
        options.iam.bootstrap_tenant_code = DEMO_TENANT_CODE.to_owned();
        options.iam.bootstrap_tenant_name = "Demo Regional Hospital".to_owned();
    }
    if options.iam.bootstrap_admin_password.is_none() {
        options.iam.bootstrap_admin_password =
            Some(hmis_platform::config::Secret::new(DEMO_PASSWORD));
    }
}

fn iam_error(error: hmis_iam::Error) -> Status {
    Status::internal(format!("demo staff: {error}"))
}

/// The demo hospital's departments with beds, by code.
pub type DemoWards = std::collections::HashMap<&'static str, String>;

/// Loads (or finds) the demo hospital and its staff in `tenant_id`; returns its wards.
pub async fn load(
    core: &CoreModule,
    iam: &IamModule,
    tenant_id: TenantId,
) -> Result<DemoWards, Status> {
    let dictionaries = core.dictionary_api();
    for DemoDictionary {
        code,
        name,
        entries,
    } in DICTIONARIES
    {
        dictionaries
            .create_dictionary(request(
                tenant_id,
                pb::CreateDictionaryRequest {
                    request_id: format!("demo-dictionary-{code}"),
                    dictionary: Some(pb::Dictionary {
                        code: (*code).to_owned(),
                        name: (*name).to_owned(),
                        ..Default::default()
                    }),
                },
            ))
            .await?;
        for (position, (entry_code, display)) in entries.iter().enumerate() {
            dictionaries
                .create_dictionary_entry(request(
                    tenant_id,
                    pb::CreateDictionaryEntryRequest {
                        request_id: format!("demo-entry-{code}-{entry_code}"),
                        entry: Some(pb::DictionaryEntry {
                            dictionary_code: (*code).to_owned(),
                            code: (*entry_code).to_owned(),
                            display: (*display).to_owned(),
                            sort_order: i32::try_from(position).unwrap_or(i32::MAX),
                            ..Default::default()
                        }),
                    },
                ))
                .await?;
        }
    }

    let facilities = core.facility_api();
    let facility = facilities
        .create_facility(request(
            tenant_id,
            pb::CreateFacilityRequest {
                request_id: "demo-facility".to_owned(),
                facility: Some(pb::Facility {
                    code: "DRH".to_owned(),
                    name: "Demo Regional Hospital, main site".to_owned(),
                    time_zone: "Europe/Chisinau".to_owned(),
                    address: "1 Hospital Street".to_owned(),
                    ..Default::default()
                }),
            },
        ))
        .await?
        .into_inner()
        .facility
        .ok_or_else(|| missing("facility"))?;

    let mut ward_ids = std::collections::HashMap::new();
    for DemoDepartment {
        code,
        name,
        kind,
        specialty,
        rooms,
        beds_per_room,
    } in DEPARTMENTS
    {
        let department = facilities
            .create_department(request(
                tenant_id,
                pb::CreateDepartmentRequest {
                    request_id: format!("demo-department-{code}"),
                    department: Some(pb::Department {
                        facility_id: facility.id.clone(),
                        code: (*code).to_owned(),
                        name: (*name).to_owned(),
                        kind: (*kind).into(),
                        specialty_code: (*specialty).to_owned(),
                        ..Default::default()
                    }),
                },
            ))
            .await?
            .into_inner()
            .department
            .ok_or_else(|| missing("department"))?;
        ward_ids.insert(*code, department.id.clone());
        for room_number in 1..=*rooms {
            let room_code = format!("{code}-{room_number:02}");
            let room = facilities
                .create_room(request(
                    tenant_id,
                    pb::CreateRoomRequest {
                        request_id: format!("demo-room-{room_code}"),
                        room: Some(pb::Room {
                            department_id: department.id.clone(),
                            code: room_code.clone(),
                            name: format!("{name}, room {room_number}"),
                            ..Default::default()
                        }),
                    },
                ))
                .await?
                .into_inner()
                .room
                .ok_or_else(|| missing("room"))?;
            for bed_number in 1..=*beds_per_room {
                facilities
                    .create_bed(request(
                        tenant_id,
                        pb::CreateBedRequest {
                            request_id: format!("demo-bed-{room_code}-{bed_number}"),
                            bed: Some(pb::Bed {
                                room_id: room.id.clone(),
                                code: format!("{bed_number}"),
                                sex: pb::BedSex::Any.into(),
                                intensive_care: *kind == pb::DepartmentKind::IntensiveCare,
                                // One isolation bed per ward, in its first room.
                                isolation: room_number == 1 && bed_number == 1,
                                ..Default::default()
                            }),
                        },
                    ))
                    .await?;
            }
        }
    }

    // One account per role, in the scope such a person works in.
    let facility_id: uuid::Uuid = facility
        .id
        .parse()
        .map_err(|_| Status::internal("demo: facility id is not a UUID"))?;
    let cardiology: uuid::Uuid = ward_ids
        .get("CARD")
        .and_then(|id| id.parse().ok())
        .ok_or_else(|| missing("cardiology ward"))?;
    let staff = [
        (
            "registrar",
            "Ana Registrar",
            "registrar",
            Scope::Facility(facility_id),
        ),
        (
            "nurse",
            "Nina Nurse (cardiology)",
            "nurse",
            Scope::Department(cardiology),
        ),
        (
            "physician",
            "Dr. Petru Physician",
            "physician",
            Scope::Facility(facility_id),
        ),
        (
            "pharmacist",
            "Paula Pharmacist",
            "pharmacist",
            Scope::Facility(facility_id),
        ),
        (
            "records",
            "Radu Records (medical records office)",
            "records",
            Scope::Tenant,
        ),
        (
            "statistician",
            "Sergiu Statistician",
            "statistician",
            Scope::Tenant,
        ),
        // Theatre staff care for the patients of every ward: the facility is their scope
        // (the registry shows them the names on the theatre list).
        (
            "theatre",
            "Tudor Theatre Nurse (operating block)",
            "theatre_nurse",
            Scope::Facility(facility_id),
        ),
        (
            "office",
            "Olga Office (medical office, surgical privileges)",
            "medical_office",
            Scope::Tenant,
        ),
        (
            "cashier",
            "Carolina Cashier (cash desk)",
            "cashier",
            Scope::Facility(facility_id),
        ),
        (
            "billing",
            "Boris Billing (tariffs, insurance, adjustments)",
            "billing_officer",
            Scope::Tenant,
        ),
        (
            "lab",
            "Laura Lab (laboratory technician)",
            "lab_technician",
            Scope::Facility(facility_id),
        ),
        (
            "labdoc",
            "Dr. Lucia Laboratory (laboratory physician)",
            "lab_physician",
            Scope::Facility(facility_id),
        ),
        (
            "radiographer",
            "Radu Radiographer (imaging)",
            "radiographer",
            Scope::Facility(facility_id),
        ),
        (
            "radiologist",
            "Dr. Irina Imaging (radiologist)",
            "radiologist",
            Scope::Facility(facility_id),
        ),
        (
            "dietitian",
            "Diana Dietitian",
            "dietitian",
            Scope::Facility(facility_id),
        ),
        (
            "kitchen",
            "Costel Cook (kitchen)",
            "kitchen",
            Scope::Facility(facility_id),
        ),
    ];
    for (username, display_name, role_code, scope) in staff {
        iam.ensure_user(
            tenant_id,
            &SeedUser {
                username,
                display_name,
                password: DEMO_PASSWORD,
                role_code,
                scope,
            },
        )
        .await
        .map_err(iam_error)?;
    }
    Ok(ward_ids)
}
