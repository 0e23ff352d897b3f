//! The hospital a test needs, built through the public contracts as an administrator would:
//! departments with their rooms and beds ([`WardSpec`], [`TestApp::open_ward`]) and staff who
//! sign in ([`TestApp::staff`]), and patients admitted with their encounter open
//! ([`TestApp::admitted`]).

use hmis_platform::auth::Scope;
use hmis_proto::openhmis::admissions::v1 as admissions_pb;
use hmis_proto::openhmis::core::v1 as pb;
use hmis_proto::openhmis::encounters::v1 as encounters_pb;
use hmis_proto::openhmis::patients::v1 as patients_pb;

use super::{Session, TestApp, USER_PASSWORD, signed_in};

/// A department to create, with its rooms and their beds (bed codes "1", "2", ... per room).
#[derive(Debug, Clone)]
pub struct WardSpec {
    code: String,
    name: String,
    kind: pb::DepartmentKind,
    specialty: String,
    rooms: Vec<(String, String, Vec<pb::BedSex>)>,
}

impl WardSpec {
    /// A ward (inpatient department) named `name`.
    pub fn ward(code: &str, name: &str) -> Self {
        Self::department(code, name, pb::DepartmentKind::Ward)
    }

    pub fn department(code: &str, name: &str, kind: pb::DepartmentKind) -> Self {
        Self {
            code: code.to_owned(),
            name: name.to_owned(),
            kind,
            specialty: String::new(),
            rooms: Vec::new(),
        }
    }

    /// The specialty (an entry of the tenant's specialties dictionary).
    pub fn specialty(mut self, code: &str) -> Self {
        self.specialty = code.to_owned();
        self
    }

    /// A room and the sexes its beds take, one bed per entry.
    pub fn room(mut self, code: &str, name: &str, beds: &[pb::BedSex]) -> Self {
        self.rooms
            .push((code.to_owned(), name.to_owned(), beds.to_vec()));
        self
    }

    /// A room of `count` beds for any patient.
    pub fn beds(self, code: &str, name: &str, count: usize) -> Self {
        self.room(code, name, &vec![pb::BedSex::Any; count])
    }
}

/// A department as created: its id and its beds' ids, room by room.
#[derive(Debug, Clone)]
pub struct OpenWard {
    pub id: String,
    pub beds: Vec<String>,
}

fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl TestApp {
    /// A new tenant's administrator, signed in, with the starter code systems (ICD-10, ACHI,
    /// ATC, LOINC) loaded for the tenant.
    pub async fn coded_tenant(&self, code: &str) -> Session {
        let admin = self.create_tenant(code).await;
        hmis_terminology::TerminologyModule::new(
            self.db.database.clone(),
            std::sync::Arc::new(hmis_platform::clock::SystemClock),
        )
        .load_starter_set(admin.tenant_id)
        .await
        .expect("starter code systems");
        admin
    }

    /// Creates the department `spec` describes in `facility_id`, with its rooms and beds.
    pub async fn open_ward(&self, admin: &Session, facility_id: &str, spec: WardSpec) -> OpenWard {
        let mut facilities = self.facilities();
        let id = facilities
            .create_department(signed_in(
                admin,
                pb::CreateDepartmentRequest {
                    request_id: request_id(),
                    department: Some(pb::Department {
                        facility_id: facility_id.to_owned(),
                        code: spec.code.clone(),
                        name: spec.name.clone(),
                        kind: spec.kind.into(),
                        specialty_code: spec.specialty.clone(),
                        ..Default::default()
                    }),
                },
            ))
            .await
            .expect("create department")
            .into_inner()
            .department
            .expect("department")
            .id;
        let mut beds = Vec::new();
        for (code, name, sexes) in &spec.rooms {
            let room = facilities
                .create_room(signed_in(
                    admin,
                    pb::CreateRoomRequest {
                        request_id: request_id(),
                        room: Some(pb::Room {
                            department_id: id.clone(),
                            code: code.clone(),
                            name: name.clone(),
                            ..Default::default()
                        }),
                    },
                ))
                .await
                .expect("create room")
                .into_inner()
                .room
                .expect("room");
            for (index, sex) in sexes.iter().enumerate() {
                let bed = facilities
                    .create_bed(signed_in(
                        admin,
                        pb::CreateBedRequest {
                            request_id: request_id(),
                            bed: Some(pb::Bed {
                                room_id: room.id.clone(),
                                code: (index + 1).to_string(),
                                sex: (*sex).into(),
                                ..Default::default()
                            }),
                        },
                    ))
                    .await
                    .expect("create bed")
                    .into_inner()
                    .bed
                    .expect("bed");
                beds.push(bed.id);
            }
        }
        OpenWard { id, beds }
    }

    /// A member of staff of `admin`'s tenant (code `tenant_code`) with `role` in `scope`,
    /// signed in.
    pub async fn staff(
        &self,
        admin: &Session,
        tenant_code: &str,
        username: &str,
        role: &str,
        scope: Scope,
    ) -> Session {
        self.add_user(admin.tenant_id, username, role, scope).await;
        self.login(tenant_code, username, USER_PASSWORD)
            .await
            .unwrap_or_else(|status| panic!("{username} signs in: {status}"))
    }

    /// A woman born in 1961 registered at `desk`, admitted into the ward's bed with an
    /// emergency admission for pneumonia, and her encounter opened by `doctor`.
    pub async fn admitted(
        &self,
        (desk, doctor): (&Session, &Session),
        (ward_id, bed_id): (&str, &str),
        family: &str,
    ) -> encounters_pb::Encounter {
        let patient_id =
            patients_pb::patient_service_client::PatientServiceClient::new(self.channel.clone())
                .register_patient(signed_in(
                    desk,
                    patients_pb::RegisterPatientRequest {
                        request_id: request_id(),
                        patient: Some(patients_pb::Patient {
                            family_name: family.to_owned(),
                            given_names: "Ana".to_owned(),
                            sex: patients_pb::Sex::Female.into(),
                            birth_date: "1961-05-17".to_owned(),
                            ..Default::default()
                        }),
                        confirm_new_patient: true,
                    },
                ))
                .await
                .expect("register")
                .into_inner()
                .patient
                .expect("patient")
                .id;
        let admission = admissions_pb::admission_service_client::AdmissionServiceClient::new(
            self.channel.clone(),
        )
        .admit_patient(signed_in(
            desk,
            admissions_pb::AdmitPatientRequest {
                request_id: request_id(),
                admission: Some(admissions_pb::Admission {
                    patient_id,
                    department_id: ward_id.to_owned(),
                    bed_id: bed_id.to_owned(),
                    r#type: admissions_pb::AdmissionType::Emergency.into(),
                    admitting_diagnosis_code: "J18.9".to_owned(),
                    admitting_diagnosis_text: "Pneumonia".to_owned(),
                    ..Default::default()
                }),
            },
        ))
        .await
        .expect("admit")
        .into_inner()
        .admission
        .expect("admission");
        encounters_pb::encounter_service_client::EncounterServiceClient::new(self.channel.clone())
            .open_encounter(signed_in(
                doctor,
                encounters_pb::OpenEncounterRequest {
                    request_id: request_id(),
                    admission_id: admission.id,
                    ..Default::default()
                },
            ))
            .await
            .expect("encounter")
            .into_inner()
            .encounter
            .expect("encounter")
    }
}

/// Polls `found` until it answers (at most 30 seconds): what another module does after an
/// event, awaited without sleeping for a fixed time.
pub async fn eventually<T, F, Fut>(what: &str, found: F) -> T
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut poll = tokio::time::interval(std::time::Duration::from_millis(25));
    while tokio::time::Instant::now() < deadline {
        poll.tick().await;
        if let Some(value) = found().await {
            return value;
        }
    }
    panic!("never happened: {what}");
}
