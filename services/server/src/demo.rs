//! The demo hospital: one tenant, one facility with an emergency unit, wards with rooms and
//! beds, an ICU, an operating block, a pharmacy, and starter dictionaries. Loaded through the
//! modules' own service contracts (in-process), with fixed request ids, so loading twice
//! changes nothing.

use admissions_pb::admission_service_server::AdmissionService;
use hmis_admissions::AdmissionApi;
use hmis_core::CoreModule;
use hmis_iam::{IamModule, SeedUser};
use hmis_patients::PatientApi;
use hmis_patients::domain::national_id::MoldovaIdnp;
use hmis_platform::auth::Scope;
use hmis_platform::{RequestContext, TenantId};
use hmis_proto::openhmis::admissions::v1 as admissions_pb;
use hmis_proto::openhmis::core::v1 as pb;
use hmis_proto::openhmis::patients::v1 as patients_pb;
use patients_pb::patient_service_server::PatientService;
use pb::dictionary_service_server::DictionaryService;
use pb::facility_service_server::FacilityService;
use tonic::{Request, Status};

fn request<T>(tenant_id: TenantId, message: T) -> Request<T> {
    let mut request = Request::new(message);
    request
        .extensions_mut()
        .insert(RequestContext::system(tenant_id));
    request
}

fn missing(what: &str) -> Status {
    Status::internal(format!("demo: the response carries no {what}"))
}

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

const FAMILY_NAMES: &[&str] = &[
    "Rusu", "Ceban", "Popa", "Lungu", "Ciobanu", "Cojocaru", "Munteanu", "Moraru", "Țurcanu",
    "Sârbu", "Rotari", "Melnic", "Bălan", "Ursu", "Guțu", "Căldare", "Botnari", "Grosu",
];
const MEN: &[&str] = &[
    "Ion",
    "Vasile",
    "Andrei",
    "Mihai",
    "Nicolae",
    "Sergiu",
    "Victor",
    "Dumitru",
    "Alexandru",
];
const WOMEN: &[&str] = &[
    "Maria",
    "Elena",
    "Ana",
    "Natalia",
    "Tatiana",
    "Olga",
    "Ecaterina",
    "Galina",
    "Cristina",
];

/// How many demo patients the registry gets.
pub const DEMO_PATIENTS: u32 = 120;

/// Registers the demo patients: Moldovan names, valid IDNPs, most insured by CNAM, a few
/// flagged (confidential, unpaid debt) so the desk sees every case.
pub async fn load_patients(
    patients: &PatientApi,
    tenant_id: TenantId,
) -> Result<Vec<String>, Status> {
    let mut ids = Vec::new();
    for n in 0..DEMO_PATIENTS {
        let index = usize::try_from(n).unwrap_or(0);
        let female = n % 2 == 1;
        let given = if female {
            WOMEN[index % WOMEN.len()]
        } else {
            MEN[index % MEN.len()]
        };
        let family = FAMILY_NAMES[(index / 2) % FAMILY_NAMES.len()];
        let birth_date = format!(
            "{}-{:02}-{:02}",
            1940 + (n * 7) % 80,
            n % 12 + 1,
            n % 28 + 1
        );
        let idnp = MoldovaIdnp::complete(&format!("20{:010}", 1_000_000 + u64::from(n) * 7919))
            .map_err(|error| Status::internal(format!("demo: IDNP: {error}")))?;
        let patient = patients_pb::Patient {
            family_name: family.to_owned(),
            given_names: given.to_owned(),
            sex: if female {
                patients_pb::Sex::Female
            } else {
                patients_pb::Sex::Male
            }
            .into(),
            birth_date,
            citizenship: "MD".to_owned(),
            language: if n % 5 == 0 { "ru" } else { "ro" }.to_owned(),
            identifiers: vec![patients_pb::Identifier {
                r#type: patients_pb::IdentifierType::NationalId.into(),
                country: "MD".to_owned(),
                value: idnp,
            }],
            address: Some(patients_pb::Address {
                country: "MD".to_owned(),
                locality: "Chișinău".to_owned(),
                street: format!("str. Demo {}", n + 1),
                ..Default::default()
            }),
            phones: vec![format!("+373 69 {:06}", 100_000 + n)],
            insurance_policies: if n % 10 == 9 {
                Vec::new()
            } else {
                vec![patients_pb::InsurancePolicy {
                    insurer: "CNAM".to_owned(),
                    number: format!("CNAM{:08}", n + 1),
                    valid_from: "2026-01-01".to_owned(),
                    valid_until: "2026-12-31".to_owned(),
                    rank: patients_pb::InsuranceRank::Primary.into(),
                }]
            },
            confidential: n % 40 == 7,
            unpaid_debt: n % 25 == 3,
            ..Default::default()
        };
        let registered = patients
            .register_patient(request(
                tenant_id,
                patients_pb::RegisterPatientRequest {
                    request_id: format!("demo-patient-{n}"),
                    patient: Some(patient),
                    // The generator makes namesakes on purpose; they are different people.
                    confirm_new_patient: true,
                },
            ))
            .await?
            .into_inner()
            .patient
            .ok_or_else(|| missing("patient"))?;
        ids.push(registered.id);
    }
    Ok(ids)
}

/// The wards demo patients lie in, and how many each: most beds taken, a few free.
const DEMO_STAYS: &[(&str, usize)] = &[("CARD", 9), ("INT", 12), ("SURG", 8), ("ICU", 3)];

/// Puts demo patients into the wards' beds (the first patients of the registry, skipping the
/// confidential ones), and three more into the emergency unit as open visits. A patient the
/// demo admitted on an earlier start is still in; the retry then answers as the first time
/// did, or, once its request id was forgotten, is refused as already admitted, which is
/// the same outcome.
pub async fn load_admissions(
    admissions: &AdmissionApi,
    core: &CoreModule,
    tenant_id: TenantId,
    wards: &DemoWards,
    patients: &[String],
) -> Result<(), Status> {
    let facilities = core.facility_api();
    let mut candidates = patients
        .iter()
        .enumerate()
        .filter(|(n, _)| n % 40 != 7)
        .map(|(_, id)| id.clone());
    for (code, count) in DEMO_STAYS {
        let ward = wards.get(code).ok_or_else(|| missing("demo ward"))?;
        let beds = facilities
            .list_beds(request(
                tenant_id,
                pb::ListBedsRequest {
                    department_id: ward.clone(),
                    page_size: 100,
                    ..Default::default()
                },
            ))
            .await?
            .into_inner()
            .beds;
        for (index, bed) in beds.iter().take(*count).enumerate() {
            let patient_id = candidates.next().ok_or_else(|| missing("demo patient"))?;
            let admission = admissions_pb::Admission {
                patient_id: patient_id.clone(),
                department_id: ward.clone(),
                bed_id: bed.id.clone(),
                r#type: if index % 3 == 0 {
                    admissions_pb::AdmissionType::Planned
                } else {
                    admissions_pb::AdmissionType::Emergency
                }
                .into(),
                admitting_diagnosis_code: DEMO_DIAGNOSES[index % DEMO_DIAGNOSES.len()].0.to_owned(),
                admitting_diagnosis_text: DEMO_DIAGNOSES[index % DEMO_DIAGNOSES.len()].1.to_owned(),
                ..Default::default()
            };
            let admitted = admissions
                .admit_patient(request(
                    tenant_id,
                    admissions_pb::AdmitPatientRequest {
                        request_id: format!("demo-admission-{patient_id}"),
                        admission: Some(admission),
                    },
                ))
                .await;
            match admitted {
                Ok(_) => {}
                Err(status) if status.code() == tonic::Code::FailedPrecondition => {}
                Err(status) => return Err(status),
            }
        }
    }
    let emergency = wards.get("ER").ok_or_else(|| missing("emergency unit"))?;
    for (index, patient_id) in candidates.take(3).enumerate() {
        admissions
            .register_emergency_visit(request(
                tenant_id,
                admissions_pb::RegisterEmergencyVisitRequest {
                    request_id: format!("demo-visit-{patient_id}"),
                    visit: Some(admissions_pb::EmergencyVisit {
                        patient_id,
                        department_id: emergency.clone(),
                        arrival_mode: if index == 0 {
                            admissions_pb::ArrivalMode::Ambulance
                        } else {
                            admissions_pb::ArrivalMode::WalkIn
                        }
                        .into(),
                        triage_level: i32::try_from(index + 2).unwrap_or(3),
                        chief_complaint: "demo: presenting complaint".to_owned(),
                        ..Default::default()
                    }),
                },
            ))
            .await?;
    }
    Ok(())
}

/// ICD-10 codes the demo admits with.
const DEMO_DIAGNOSES: &[(&str, &str)] = &[
    (
        "I21.0",
        "Acute transmural myocardial infarction of anterior wall",
    ),
    ("I50.0", "Congestive heart failure"),
    ("J18.9", "Pneumonia, unspecified"),
    ("K35.8", "Acute appendicitis, other and unspecified"),
    ("E11.9", "Type 2 diabetes mellitus without complications"),
    ("I63.9", "Cerebral infarction, unspecified"),
];
