//! The demo hospital: one tenant, one facility with an emergency unit, wards with rooms and
//! beds, an ICU, an operating block, a pharmacy, and starter dictionaries. Loaded through the
//! modules' own service contracts (in-process), with fixed request ids, so loading twice
//! changes nothing.

use admissions_pb::admission_service_server::AdmissionService;
use encounters_pb::encounter_service_server::EncounterService;
use encounters_pb::formulary_service_server::FormularyService;
use hmis_admissions::AdmissionApi;
use hmis_core::CoreModule;
use hmis_encounters::{EncounterApi, FormularyApi};
use hmis_iam::{IamModule, SeedUser};
use hmis_inventory::InventoryApi;
use hmis_patients::PatientApi;
use hmis_patients::domain::national_id::MoldovaIdnp;
use hmis_platform::auth::Scope;
use hmis_platform::{RequestContext, TenantId};
use hmis_proto::openhmis::admissions::v1 as admissions_pb;
use hmis_proto::openhmis::core::v1 as pb;
use hmis_proto::openhmis::encounters::v1 as encounters_pb;
use hmis_proto::openhmis::inventory::v1 as inventory_pb;
use hmis_proto::openhmis::patients::v1 as patients_pb;
use inventory_pb::inventory_service_server::InventoryService;
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
/// The demo tenant's sign-in code.
pub const DEMO_TENANT_CODE: &str = "DEMO";

/// Makes the first start create the demo's tenant and administrator (unless the
/// configuration names others), so the README can name them.
pub fn apply_defaults(options: &mut hmis_platform::config::Options) {
    let defaults = hmis_platform::config::IamOptions::default();
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

/// A medicine of the demo formulary.
struct DemoMedicine {
    code: &'static str,
    name: &'static str,
    atc: &'static str,
    form: &'static str,
    strength: &'static str,
    unit: &'static str,
    max_daily: &'static str,
    restriction: encounters_pb::Restriction,
}

/// `name` is "<substance> <strength> <unit> <form>s" as printed on the pack.
const fn medicine(
    code: &'static str,
    name: &'static str,
    atc: &'static str,
    (form, strength, unit): (&'static str, &'static str, &'static str),
    max_daily: &'static str,
    restriction: encounters_pb::Restriction,
) -> DemoMedicine {
    DemoMedicine {
        code,
        name,
        atc,
        form,
        strength,
        unit,
        max_daily,
        restriction,
    }
}

/// The demo formulary, with the maximum daily doses of the product information.
const DEMO_MEDICINES: &[DemoMedicine] = &[
    medicine(
        "PARA500",
        "Paracetamol 500 mg tablets",
        "N02BE01",
        ("tablet", "500", "mg"),
        "4000",
        encounters_pb::Restriction::None,
    ),
    medicine(
        "IBU400",
        "Ibuprofen 400 mg tablets",
        "M01AE01",
        ("tablet", "400", "mg"),
        "2400",
        encounters_pb::Restriction::None,
    ),
    medicine(
        "AMOX500",
        "Amoxicillin 500 mg capsules",
        "J01CA04",
        ("capsule", "500", "mg"),
        "6000",
        encounters_pb::Restriction::None,
    ),
    medicine(
        "CEFTR1G",
        "Ceftriaxone 1 g powder for injection",
        "J01DD04",
        ("vial", "1000", "mg"),
        "4000",
        encounters_pb::Restriction::None,
    ),
    medicine(
        "MERO1G",
        "Meropenem 1 g powder for infusion",
        "J01DH02",
        ("vial", "1000", "mg"),
        "6000",
        encounters_pb::Restriction::ReserveAntibiotic,
    ),
    medicine(
        "VANCO1G",
        "Vancomycin 1 g powder for infusion",
        "J01XA01",
        ("vial", "1000", "mg"),
        "4000",
        encounters_pb::Restriction::ReserveAntibiotic,
    ),
    medicine(
        "LINEZ600",
        "Linezolid 600 mg tablets",
        "J01XX08",
        ("tablet", "600", "mg"),
        "1200",
        encounters_pb::Restriction::ReserveAntibiotic,
    ),
    medicine(
        "MORPH10",
        "Morphine 10 mg/ml injection",
        "N02AA01",
        ("ampoule", "10", "mg"),
        "200",
        encounters_pb::Restriction::Controlled,
    ),
    medicine(
        "TRAM50",
        "Tramadol 50 mg capsules",
        "N02AX02",
        ("capsule", "50", "mg"),
        "400",
        encounters_pb::Restriction::Controlled,
    ),
    medicine(
        "DIAZ5",
        "Diazepam 5 mg tablets",
        "N05BA01",
        ("tablet", "5", "mg"),
        "40",
        encounters_pb::Restriction::Controlled,
    ),
    medicine(
        "WARF5",
        "Warfarin 5 mg tablets",
        "B01AA03",
        ("tablet", "5", "mg"),
        "15",
        encounters_pb::Restriction::None,
    ),
    medicine(
        "ASA100",
        "Acetylsalicylic acid 100 mg tablets",
        "B01AC06",
        ("tablet", "100", "mg"),
        "325",
        encounters_pb::Restriction::None,
    ),
    medicine(
        "CLOP75",
        "Clopidogrel 75 mg tablets",
        "B01AC04",
        ("tablet", "75", "mg"),
        "300",
        encounters_pb::Restriction::None,
    ),
    medicine(
        "ENOX40",
        "Enoxaparin 40 mg/0.4 ml syringe",
        "B01AB05",
        ("syringe", "40", "mg"),
        "200",
        encounters_pb::Restriction::None,
    ),
    medicine(
        "BISO5",
        "Bisoprolol 5 mg tablets",
        "C07AB07",
        ("tablet", "5", "mg"),
        "20",
        encounters_pb::Restriction::None,
    ),
    medicine(
        "METO50",
        "Metoprolol 50 mg tablets",
        "C07AB02",
        ("tablet", "50", "mg"),
        "400",
        encounters_pb::Restriction::None,
    ),
    medicine(
        "ENAL10",
        "Enalapril 10 mg tablets",
        "C09AA02",
        ("tablet", "10", "mg"),
        "40",
        encounters_pb::Restriction::None,
    ),
    medicine(
        "FURO40",
        "Furosemide 40 mg tablets",
        "C03CA01",
        ("tablet", "40", "mg"),
        "1500",
        encounters_pb::Restriction::None,
    ),
    medicine(
        "SPIRO25",
        "Spironolactone 25 mg tablets",
        "C03DA01",
        ("tablet", "25", "mg"),
        "400",
        encounters_pb::Restriction::None,
    ),
    medicine(
        "AMIO200",
        "Amiodarone 200 mg tablets",
        "C01BD01",
        ("tablet", "200", "mg"),
        "1200",
        encounters_pb::Restriction::None,
    ),
    medicine(
        "DIGOX025",
        "Digoxin 0.25 mg tablets",
        "C01AA05",
        ("tablet", "0.25", "mg"),
        "0.5",
        encounters_pb::Restriction::None,
    ),
    medicine(
        "ATOR20",
        "Atorvastatin 20 mg tablets",
        "C10AA05",
        ("tablet", "20", "mg"),
        "80",
        encounters_pb::Restriction::None,
    ),
    medicine(
        "METF850",
        "Metformin 850 mg tablets",
        "A10BA02",
        ("tablet", "850", "mg"),
        "3000",
        encounters_pb::Restriction::None,
    ),
    medicine(
        "OMEP20",
        "Omeprazole 20 mg capsules",
        "A02BC01",
        ("capsule", "20", "mg"),
        "120",
        encounters_pb::Restriction::None,
    ),
    medicine(
        "CIPRO500",
        "Ciprofloxacin 500 mg tablets",
        "J01MA02",
        ("tablet", "500", "mg"),
        "1500",
        encounters_pb::Restriction::None,
    ),
    medicine(
        "CLARI500",
        "Clarithromycin 500 mg tablets",
        "J01FA09",
        ("tablet", "500", "mg"),
        "1000",
        encounters_pb::Restriction::None,
    ),
];

/// Interaction rules of the demo formulary: (ATC a, ATC b, severity, description).
const DEMO_INTERACTIONS: &[(&str, &str, encounters_pb::WarningSeverity, &str)] = &[
    (
        "B01AA",
        "B01AC",
        encounters_pb::WarningSeverity::Severe,
        "bleeding risk: avoid, or monitor INR closely",
    ),
    (
        "B01AA",
        "M01A",
        encounters_pb::WarningSeverity::Severe,
        "NSAIDs raise the bleeding risk of vitamin K antagonists",
    ),
    (
        "B01AA03",
        "C01BD01",
        encounters_pb::WarningSeverity::Moderate,
        "amiodarone raises the INR: halve the warfarin dose",
    ),
    (
        "C01AA05",
        "C01BD01",
        encounters_pb::WarningSeverity::Moderate,
        "amiodarone raises digoxin levels: halve the digoxin dose",
    ),
    (
        "C09AA",
        "C03DA",
        encounters_pb::WarningSeverity::Moderate,
        "hyperkalaemia risk: monitor potassium",
    ),
    (
        "N02A",
        "N05BA",
        encounters_pb::WarningSeverity::Severe,
        "opioids with benzodiazepines: respiratory depression",
    ),
    (
        "C10AA05",
        "J01FA09",
        encounters_pb::WarningSeverity::Moderate,
        "clarithromycin raises statin levels: myopathy risk",
    ),
];

/// Loads the demo formulary and its interaction rules (after the terminology's starter set,
/// which holds their ATC codes). Repeated loads keep what is there.
pub async fn load_formulary(formulary: &FormularyApi, tenant_id: TenantId) -> Result<(), Status> {
    let tolerate_existing = |result: Result<(), Status>| match result {
        Err(status) if status.code() == tonic::Code::AlreadyExists => Ok(()),
        other => other,
    };
    for DemoMedicine {
        code,
        name,
        atc,
        form,
        strength,
        unit,
        max_daily,
        restriction,
    } in DEMO_MEDICINES
    {
        tolerate_existing(
            formulary
                .create_medicine(request(
                    tenant_id,
                    encounters_pb::CreateMedicineRequest {
                        request_id: format!("demo-medicine-{code}"),
                        medicine: Some(encounters_pb::Medicine {
                            code: (*code).to_owned(),
                            name: (*name).to_owned(),
                            atc_code: (*atc).to_owned(),
                            form_unit: (*form).to_owned(),
                            strength: (*strength).to_owned(),
                            strength_unit: (*unit).to_owned(),
                            max_daily_dose: (*max_daily).to_owned(),
                            restriction: (*restriction).into(),
                            ..Default::default()
                        }),
                    },
                ))
                .await
                .map(|_| ()),
        )?;
    }
    for (a, b, severity, description) in DEMO_INTERACTIONS {
        tolerate_existing(
            formulary
                .create_interaction_rule(request(
                    tenant_id,
                    encounters_pb::CreateInteractionRuleRequest {
                        request_id: format!("demo-interaction-{a}-{b}"),
                        rule: Some(encounters_pb::InteractionRule {
                            atc_code_a: (*a).to_owned(),
                            atc_code_b: (*b).to_owned(),
                            severity: (*severity).into(),
                            description: (*description).to_owned(),
                            ..Default::default()
                        }),
                    },
                ))
                .await
                .map(|_| ()),
        )?;
    }
    Ok(())
}

/// What the demo's physicians recorded for each patient in a ward: a principal diagnosis
/// (the admitting one, confirmed), an admission examination and a first prescription.
/// Loaded once per admission: a second load finds the diagnosis and records nothing more.
pub async fn load_encounters(
    admissions: &AdmissionApi,
    encounters: &EncounterApi,
    formulary: &FormularyApi,
    tenant_id: TenantId,
    wards: &DemoWards,
) -> Result<(), Status> {
    let paracetamol = formulary
        .list_medicines(request(
            tenant_id,
            encounters_pb::ListMedicinesRequest {
                query: "PARA500".to_owned(),
                ..Default::default()
            },
        ))
        .await?
        .into_inner()
        .medicines
        .into_iter()
        .next()
        .ok_or_else(|| missing("paracetamol in the demo formulary"))?;
    for (code, _) in DEMO_STAYS {
        let ward = wards.get(code).ok_or_else(|| missing("demo ward"))?;
        let admitted = admissions
            .list_admissions(request(
                tenant_id,
                admissions_pb::ListAdmissionsRequest {
                    department_id: ward.clone(),
                    status: admissions_pb::AdmissionStatus::Admitted.into(),
                    page_size: 100,
                    ..Default::default()
                },
            ))
            .await?
            .into_inner()
            .admissions;
        for admission in admitted {
            let encounter = encounters
                .open_encounter(request(
                    tenant_id,
                    encounters_pb::OpenEncounterRequest {
                        request_id: format!("demo-encounter-{}", admission.id),
                        admission_id: admission.id.clone(),
                        ..Default::default()
                    },
                ))
                .await?
                .into_inner()
                .encounter
                .ok_or_else(|| missing("encounter"))?;
            let diagnosed = encounters
                .record_diagnosis(request(
                    tenant_id,
                    encounters_pb::RecordDiagnosisRequest {
                        request_id: format!("demo-diagnosis-{}", admission.id),
                        diagnosis: Some(encounters_pb::Diagnosis {
                            encounter_id: encounter.id.clone(),
                            code: admission.admitting_diagnosis_code.clone(),
                            role: encounters_pb::DiagnosisRole::Principal.into(),
                            certainty: encounters_pb::DiagnosisCertainty::Confirmed.into(),
                            ..Default::default()
                        }),
                    },
                ))
                .await;
            match diagnosed {
                Ok(_) => {}
                // Recorded by an earlier load whose request ids were purged since.
                Err(status) if status.code() == tonic::Code::FailedPrecondition => continue,
                Err(status) => return Err(status),
            }
            encounters
                .add_note(request(
                    tenant_id,
                    encounters_pb::AddNoteRequest {
                        request_id: format!("demo-examination-{}", admission.id),
                        note: Some(encounters_pb::Note {
                            encounter_id: encounter.id.clone(),
                            kind: encounters_pb::NoteKind::Examination.into(),
                            text: format!(
                                "demo: admission examination ({}).",
                                admission.admitting_diagnosis_text
                            ),
                            ..Default::default()
                        }),
                    },
                ))
                .await?;
            encounters
                .create_prescription(request(
                    tenant_id,
                    encounters_pb::CreatePrescriptionRequest {
                        request_id: format!("demo-prescription-{}", admission.id),
                        prescription: Some(encounters_pb::Prescription {
                            encounter_id: encounter.id.clone(),
                            medicine_id: paracetamol.id.clone(),
                            dose: "1".to_owned(),
                            dose_unit: paracetamol.form_unit.clone(),
                            route: encounters_pb::Route::Oral.into(),
                            times_per_day: 3,
                            times_of_day: vec![
                                "08:00".to_owned(),
                                "14:00".to_owned(),
                                "20:00".to_owned(),
                            ],
                            instructions: "after meals".to_owned(),
                            ..Default::default()
                        }),
                        override_reason: String::new(),
                    },
                ))
                .await?;
        }
    }
    Ok(())
}

/// The demo's stock: a central pharmacy holding the formulary's medicines (one lot each,
/// bought in boxes), a stock in each ward with paracetamol and ibuprofen from it, and the
/// pharmacy's reorder points. Loaded once: a tenant whose pharmacy exists keeps its stock.
pub async fn load_inventory(
    inventory: &InventoryApi,
    formulary: &FormularyApi,
    core: &CoreModule,
    tenant_id: TenantId,
    wards: &DemoWards,
) -> Result<(), Status> {
    let existing = inventory
        .list_warehouses(request(tenant_id, inventory_pb::ListWarehousesRequest {}))
        .await?
        .into_inner()
        .warehouses;
    if existing.iter().any(|warehouse| warehouse.code == "PHARM") {
        return Ok(());
    }
    let ward_ids: Vec<(&str, &String)> = DEMO_STAYS
        .iter()
        .filter_map(|(code, _)| wards.get(code).map(|id| (*code, id)))
        .collect();
    let (_, first_ward) = ward_ids.first().ok_or_else(|| missing("demo ward"))?;
    let facility_id = core
        .facility_api()
        .get_department(request(
            tenant_id,
            pb::GetDepartmentRequest {
                id: (*first_ward).clone(),
            },
        ))
        .await?
        .into_inner()
        .department
        .ok_or_else(|| missing("department"))?
        .facility_id;
    let warehouse =
        |code: String, name: String, kind: inventory_pb::WarehouseKind, department: String| {
            inventory.create_warehouse(request(
                tenant_id,
                inventory_pb::CreateWarehouseRequest {
                    request_id: format!("demo-warehouse-{code}"),
                    warehouse: Some(inventory_pb::Warehouse {
                        code,
                        name,
                        kind: kind.into(),
                        facility_id: facility_id.clone(),
                        department_id: department,
                        ..Default::default()
                    }),
                },
            ))
        };
    let pharmacy = warehouse(
        "PHARM".to_owned(),
        "Central pharmacy".to_owned(),
        inventory_pb::WarehouseKind::CentralPharmacy,
        String::new(),
    )
    .await?
    .into_inner()
    .warehouse
    .ok_or_else(|| missing("warehouse"))?
    .id;
    let medicines = formulary
        .list_medicines(request(
            tenant_id,
            encounters_pb::ListMedicinesRequest {
                page_size: 100,
                ..Default::default()
            },
        ))
        .await?
        .into_inner()
        .medicines;
    let mut items = std::collections::HashMap::new();
    let mut lines = Vec::new();
    for (index, medicine) in medicines.iter().enumerate() {
        let per_box = if matches!(medicine.form_unit.as_str(), "tablet" | "capsule") {
            20
        } else {
            10
        };
        let item = inventory
            .create_item(request(
                tenant_id,
                inventory_pb::CreateItemRequest {
                    request_id: format!("demo-item-{}", medicine.code),
                    item: Some(inventory_pb::Item {
                        code: medicine.code.clone(),
                        name: medicine.name.clone(),
                        item_class: inventory_pb::ItemClass::Medicine.into(),
                        atc_code: medicine.atc_code.clone(),
                        preparation_group: if per_box == 20 {
                            "tablets and capsules".to_owned()
                        } else {
                            "injectables".to_owned()
                        },
                        base_unit: medicine.form_unit.clone(),
                        pack_units: vec![inventory_pb::PackUnit {
                            name: "box".to_owned(),
                            base_quantity: per_box.to_string(),
                        }],
                        controlled: medicine.restriction
                            == encounters_pb::Restriction::Controlled as i32,
                        ..Default::default()
                    }),
                },
            ))
            .await?
            .into_inner()
            .item
            .ok_or_else(|| missing("item"))?;
        lines.push(inventory_pb::ReceiptLine {
            item_id: item.id.clone(),
            lot_number: format!("DEMO-{:03}", index + 1),
            expiry_date: "2028-06-30".to_owned(),
            quantity: "10".to_owned(),
            unit: "box".to_owned(),
            unit_cost: format!("{}.{:02}", 5 + index % 7 * 3, index * 13 % 100),
            provenance: inventory_pb::Provenance::Purchase.into(),
        });
        items.insert(medicine.code.clone(), item.id);
    }
    inventory
        .receive_stock(request(
            tenant_id,
            inventory_pb::ReceiveStockRequest {
                request_id: "demo-receipt-1".to_owned(),
                warehouse_id: pharmacy.clone(),
                supplier: "Demo Pharma Distribution".to_owned(),
                invoice_number: "DEMO-INV-0001".to_owned(),
                lines,
            },
        ))
        .await?;
    for item in items.values() {
        inventory
            .set_reorder_point(request(
                tenant_id,
                inventory_pb::SetReorderPointRequest {
                    request_id: format!("demo-reorder-{item}"),
                    warehouse_id: pharmacy.clone(),
                    item_id: item.clone(),
                    quantity: "60".to_owned(),
                },
            ))
            .await?;
    }
    for (code, department) in ward_ids {
        let stock = warehouse(
            format!("{code}-STOCK"),
            format!("Ward stock {code}"),
            inventory_pb::WarehouseKind::Ward,
            department.clone(),
        )
        .await?
        .into_inner()
        .warehouse
        .ok_or_else(|| missing("warehouse"))?
        .id;
        let lines = ["PARA500", "IBU400"]
            .iter()
            .filter_map(|code| items.get(*code))
            .map(|item| inventory_pb::ItemQuantity {
                item_id: item.clone(),
                quantity: "40".to_owned(),
                ..Default::default()
            })
            .collect();
        inventory
            .transfer_stock(request(
                tenant_id,
                inventory_pb::TransferStockRequest {
                    request_id: format!("demo-transfer-{code}"),
                    from_warehouse_id: pharmacy.clone(),
                    to_warehouse_id: stock,
                    document_id: format!("DEMO-REQ-{code}"),
                    lines,
                },
            ))
            .await?;
    }
    Ok(())
}
