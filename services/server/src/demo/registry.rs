//! The demo patients and the stays they are in.

use admissions_pb::admission_service_server::AdmissionService;
use hmis_admissions::AdmissionApi;
use hmis_core::CoreModule;
use hmis_patients::PatientApi;
use hmis_patients::domain::national_id::MoldovaIdnp;
use hmis_platform::TenantId;
use hmis_proto::openhmis::admissions::v1 as admissions_pb;
use hmis_proto::openhmis::core::v1 as pb;
use hmis_proto::openhmis::patients::v1 as patients_pb;
use patients_pb::patient_service_server::PatientService;
use pb::facility_service_server::FacilityService;
use tonic::Status;

use super::organisation::DemoWards;
use super::{missing, request};

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
pub(super) const DEMO_STAYS: &[(&str, usize)] =
    &[("CARD", 9), ("INT", 12), ("SURG", 8), ("ICU", 3)];

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
        let registered = admissions
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
            .await;
        match registered {
            Ok(_) => {}
            // In the unit already, or admitted since: the demo leaves them where they are.
            Err(status) if status.code() == tonic::Code::FailedPrecondition => {}
            Err(status) => return Err(status),
        }
    }
    Ok(())
}

/// ICD-10 codes the demo admits with.
pub(super) const DEMO_DIAGNOSES: &[(&str, &str)] = &[
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
