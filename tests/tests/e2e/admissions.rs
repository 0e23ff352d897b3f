//! Admissions over real gRPC: a patient's whole stay (emergency, admission, transfer,
//! discharge, undo), beds and admissions raced for by many desks at once, bad input, the info
//! desk, the ward board, corrections and cancellation until the ward's first clinical act, and
//! the observation conversion job. Bed states are read
//! from the bed register, which follows the admissions module's events.

use crate::support;

use std::time::Duration;

use hmis_platform::auth::Scope;
use hmis_proto::openhmis::admissions::v1 as pb;
use hmis_proto::openhmis::core::v1 as core_pb;
use hmis_proto::openhmis::patients::v1 as patients_pb;
use patients_pb::patient_service_client::PatientServiceClient;
use pb::admission_service_client::AdmissionServiceClient;
use sqlx::{Connection, PgConnection};
use support::{Session, TestApp, USER_PASSWORD, WardSpec, signed_in, violated_fields};
use tonic::Code;
use tonic::transport::Channel;

/// A small hospital: an emergency unit, two wards with beds, and its staff.
struct Hospital {
    app: TestApp,
    admin: Session,
    desk: Session,
    records: Session,
    ward_b_nurse: Session,
    emergency_id: String,
    ward_a: String,
    ward_b: String,
    /// Beds of ward A (room A-1: 4 beds, one for women only) and ward B (room B-1: 2 beds).
    beds_a: Vec<String>,
    beds_b: Vec<String>,
}

fn admissions(app: &TestApp) -> AdmissionServiceClient<Channel> {
    AdmissionServiceClient::new(app.channel.clone())
}

fn patients(app: &TestApp) -> PatientServiceClient<Channel> {
    PatientServiceClient::new(app.channel.clone())
}

fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl Hospital {
    async fn open() -> Self {
        Self::open_with(openhmis_server::Options::default()).await
    }

    async fn open_with(options: openhmis_server::Options) -> Self {
        Self::open_in(options, false).await
    }

    /// With the starter code systems (ICD-10, ACHI) when `coded`.
    async fn open_in(options: openhmis_server::Options, coded: bool) -> Self {
        let app = TestApp::spawn_with(options).await;
        let admin = if coded {
            app.coded_tenant("ADT").await
        } else {
            app.create_tenant("ADT").await
        };
        let facility = app.create_facility(&admin, "MAIN").await;
        use core_pb::BedSex::{Any, Female};
        let emergency_id = app
            .open_ward(
                &admin,
                &facility.id,
                WardSpec::department("ER", "Ward ER", core_pb::DepartmentKind::Emergency),
            )
            .await
            .id;
        let ward_a = app
            .open_ward(
                &admin,
                &facility.id,
                WardSpec::ward("A", "Ward A").room("A-1", "Room A-1", &[Any, Any, Any, Female]),
            )
            .await;
        let ward_b = app
            .open_ward(
                &admin,
                &facility.id,
                WardSpec::ward("B", "Ward B").beds("B-1", "Room B-1", 2),
            )
            .await;
        let (ward_a, beds_a) = (ward_a.id, ward_a.beds);
        let (ward_b, beds_b) = (ward_b.id, ward_b.beds);
        let facility_uuid: uuid::Uuid = facility.id.parse().expect("facility id");
        let ward_b_uuid: uuid::Uuid = ward_b.parse().expect("ward id");
        let desk = app
            .staff(
                &admin,
                "ADT",
                "desk",
                "registrar",
                Scope::Facility(facility_uuid),
            )
            .await;
        let records = app
            .staff(&admin, "ADT", "records", "records", Scope::Tenant)
            .await;
        let ward_b_nurse = app
            .staff(
                &admin,
                "ADT",
                "nurse-b",
                "nurse",
                Scope::Department(ward_b_uuid),
            )
            .await;
        Self {
            app,
            admin,
            desk,
            records,
            ward_b_nurse,
            emergency_id,
            ward_a,
            ward_b,
            beds_a,
            beds_b,
        }
    }

    async fn register(&self, family: &str, sex: patients_pb::Sex) -> String {
        self.register_record(family, sex).await.id
    }

    async fn register_record(&self, family: &str, sex: patients_pb::Sex) -> patients_pb::Patient {
        patients(&self.app)
            .register_patient(signed_in(
                &self.desk,
                patients_pb::RegisterPatientRequest {
                    request_id: request_id(),
                    patient: Some(patients_pb::Patient {
                        family_name: family.to_owned(),
                        given_names: "Ion".to_owned(),
                        sex: sex.into(),
                        birth_date: "1970-03-04".to_owned(),
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
    }

    fn admission(&self, patient_id: &str, ward: &str, bed: &str) -> pb::Admission {
        pb::Admission {
            patient_id: patient_id.to_owned(),
            department_id: ward.to_owned(),
            bed_id: bed.to_owned(),
            r#type: pb::AdmissionType::Emergency.into(),
            admitting_diagnosis_code: "I21.0".to_owned(),
            admitting_diagnosis_text: "Acute transmural myocardial infarction".to_owned(),
            ..Default::default()
        }
    }

    async fn admit(
        &self,
        request_id: &str,
        admission: pb::Admission,
    ) -> Result<pb::Admission, tonic::Status> {
        admissions(&self.app)
            .admit_patient(signed_in(
                &self.desk,
                pb::AdmitPatientRequest {
                    request_id: request_id.to_owned(),
                    admission: Some(admission),
                },
            ))
            .await
            .map(|response| response.into_inner().admission.expect("admission"))
    }

    async fn bed_state(&self, bed_id: &str) -> core_pb::BedState {
        let bed = self
            .app
            .facilities()
            .get_bed(signed_in(
                &self.admin,
                core_pb::GetBedRequest {
                    id: bed_id.to_owned(),
                },
            ))
            .await
            .expect("get bed")
            .into_inner()
            .bed
            .expect("bed");
        core_pb::BedState::try_from(bed.state).expect("known state")
    }

    /// Waits until the bed register has followed the admissions events to `state`.
    async fn expect_bed(&self, bed_id: &str, state: core_pb::BedState) {
        eventually(&format!("bed {bed_id} becomes {state:?}"), || async {
            self.bed_state(bed_id).await == state
        })
        .await;
    }

    /// Waits until ward B's nurse can (or no longer can) read the patient: the registry's
    /// placements follow the admission events.
    async fn expect_nurse_reach(&self, patient_id: &str, reached: bool) {
        let what = format!("ward B's nurse reach of {patient_id} becomes {reached}");
        eventually(&what, || async {
            let read = patients(&self.app)
                .get_patient(signed_in(
                    &self.ward_b_nurse,
                    patients_pb::GetPatientRequest {
                        id: patient_id.to_owned(),
                    },
                ))
                .await;
            match read {
                Ok(_) => reached,
                Err(status) => !reached && status.code() == Code::PermissionDenied,
            }
        })
        .await;
    }

    /// The visit history the registry keeps for a patient.
    async fn visits(&self, patient_id: &str) -> Vec<patients_pb::Visit> {
        patients(&self.app)
            .list_patient_visits(signed_in(
                &self.desk,
                patients_pb::ListPatientVisitsRequest {
                    patient_id: patient_id.to_owned(),
                    ..Default::default()
                },
            ))
            .await
            .expect("list visits")
            .into_inner()
            .visits
    }

    async fn get_admission(&self, id: &str) -> pb::Admission {
        admissions(&self.app)
            .get_admission(signed_in(
                &self.desk,
                pb::GetAdmissionRequest { id: id.to_owned() },
            ))
            .await
            .expect("get admission")
            .into_inner()
            .admission
            .expect("admission")
    }

    async fn owner(&self) -> PgConnection {
        PgConnection::connect_with(&self.app.db.owner_options())
            .await
            .expect("owner connection")
    }
}

/// Waits until `holds` is true. What other modules do with the events comes after the commit
/// (the outbox releases events once no older transaction runs anywhere in the shared test
/// cluster); what is awaited is the observable outcome itself, for at most 30 s.
async fn eventually<F, Fut>(what: &str, holds: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut poll = tokio::time::interval(Duration::from_millis(25));
    while tokio::time::Instant::now() < deadline {
        poll.tick().await;
        if holds().await {
            return;
        }
    }
    panic!("never happened: {what}");
}

/// The event types the admissions outbox holds for one aggregate, in commit order.
async fn events_of(connection: &mut PgConnection, aggregate_id: &str) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT event_type FROM admissions.outbox WHERE aggregate_id = $1 ORDER BY txid, id",
    )
    .bind(aggregate_id)
    .fetch_all(connection)
    .await
    .expect("read the outbox")
    .into_iter()
    .map(|event_type: String| {
        event_type
            .trim_start_matches("openhmis.admissions.v1.")
            .to_owned()
    })
    .collect()
}

#[tokio::test]
async fn a_stay_from_the_emergency_unit_to_discharge_moves_beds_and_publishes_each_step() {
    let h = Hospital::open().await;
    let client = admissions(&h.app);
    let patient_id = h.register("Rusu", patients_pb::Sex::Male).await;

    // Emergency unit: arrival by ambulance, referred by the family doctor.
    let visit = client
        .clone()
        .register_emergency_visit(signed_in(
            &h.desk,
            pb::RegisterEmergencyVisitRequest {
                request_id: request_id(),
                visit: Some(pb::EmergencyVisit {
                    patient_id: patient_id.clone(),
                    department_id: h.emergency_id.clone(),
                    arrival_mode: pb::ArrivalMode::Ambulance.into(),
                    triage_level: pb::TriageLevel::Emergent.into(),
                    chief_complaint: "chest pain for two hours".to_owned(),
                    referral: Some(pb::Referral {
                        source: pb::ReferralSource::FamilyDoctor.into(),
                        referring_doctor_name: "Dr. Ceban".to_owned(),
                        referring_doctor_registration: "MD-4411".to_owned(),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
            },
        ))
        .await
        .expect("register the emergency visit")
        .into_inner()
        .visit
        .expect("visit");
    assert_eq!(visit.outcome, i32::from(pb::EmergencyOutcome::Unspecified));
    assert_eq!(
        visit
            .referral
            .as_ref()
            .map(|r| r.referring_doctor_registration.as_str()),
        Some("MD-4411")
    );

    // Admission from the visit into ward A, bed 1.
    let bed_a1 = h.beds_a[0].clone();
    let admission = h
        .admit(
            &request_id(),
            pb::Admission {
                emergency_visit_id: visit.id.clone(),
                ..h.admission(&patient_id, &h.ward_a, &bed_a1)
            },
        )
        .await
        .expect("admit");
    assert_eq!(admission.status, i32::from(pb::AdmissionStatus::Admitted));
    assert!(
        admission
            .admission_number
            .ends_with(&format!("/{}", chrono::Utc::now().format("%Y"))),
        "{}",
        admission.admission_number
    );
    assert_eq!(admission.bed_id, bed_a1);
    assert_eq!(admission.stays.len(), 1);
    let visit_now = client
        .clone()
        .get_emergency_visit(signed_in(
            &h.desk,
            pb::GetEmergencyVisitRequest {
                id: visit.id.clone(),
            },
        ))
        .await
        .expect("get visit")
        .into_inner()
        .visit
        .expect("visit");
    assert_eq!(visit_now.outcome, i32::from(pb::EmergencyOutcome::Admitted));
    assert_eq!(visit_now.admission_id, admission.id);
    h.expect_bed(&bed_a1, core_pb::BedState::Occupied).await;

    // Transfer to ward B, bed 1: A1 goes to cleaning, B1 is occupied, the history has two stays.
    let bed_b1 = h.beds_b[0].clone();
    let transferred = client
        .clone()
        .transfer_patient(signed_in(
            &h.desk,
            pb::TransferPatientRequest {
                request_id: request_id(),
                admission_id: admission.id.clone(),
                department_id: h.ward_b.clone(),
                bed_id: bed_b1.clone(),
                reason: "needs telemetry".to_owned(),
                etag: admission.etag.clone(),
                ..Default::default()
            },
        ))
        .await
        .expect("transfer")
        .into_inner()
        .admission
        .expect("admission");
    assert_eq!(transferred.department_id, h.ward_b);
    assert_eq!(transferred.stays.len(), 2);
    assert!(transferred.stays[0].end_time.is_some());
    assert_eq!(
        transferred.stays[0].end_time,
        transferred.stays[1].start_time
    );
    assert_eq!(transferred.stays[1].reason, "needs telemetry");
    h.expect_bed(&bed_a1, core_pb::BedState::Cleaning).await;
    h.expect_bed(&bed_b1, core_pb::BedState::Occupied).await;
    // The registry follows too: ward B's nurse now reaches the patient placed in her ward.
    h.expect_nurse_reach(&patient_id, true).await;

    // A stale etag is refused.
    let stale = client
        .clone()
        .discharge_patient(signed_in(
            &h.desk,
            pb::DischargePatientRequest {
                request_id: request_id(),
                admission_id: admission.id.clone(),
                r#type: pb::DischargeType::Improved.into(),
                etag: admission.etag.clone(),
                ..Default::default()
            },
        ))
        .await
        .expect_err("stale etag");
    assert_eq!(stale.code(), Code::Aborted);

    // The info desk finds the patient in ward B, room B-1; the ward board shows the bed.
    let located = client
        .clone()
        .locate_patient(signed_in(
            &h.desk,
            pb::LocatePatientRequest {
                patient_id: patient_id.clone(),
            },
        ))
        .await
        .expect("locate")
        .into_inner();
    assert!(located.in_hospital);
    assert_eq!(
        (located.department_name.as_str(), located.room_code.as_str()),
        ("Ward B", "B-1")
    );
    let board = client
        .clone()
        .get_ward_board(signed_in(
            &h.ward_b_nurse,
            pb::GetWardBoardRequest {
                department_id: h.ward_b.clone(),
            },
        ))
        .await
        .expect("ward board")
        .into_inner()
        .board
        .expect("board");
    let slot = board
        .beds
        .iter()
        .find(|slot| slot.bed_id == bed_b1)
        .expect("bed on the board");
    assert_eq!(slot.occupancy, i32::from(pb::BedOccupancy::Occupied));
    assert_eq!(slot.patient_id, patient_id);
    assert_eq!(board.patients.len(), 1);
    assert_eq!(board.beds.len(), 2);

    // Discharge: the bed goes to cleaning and the patient out of the hospital.
    let discharged = client
        .clone()
        .discharge_patient(signed_in(
            &h.desk,
            pb::DischargePatientRequest {
                request_id: request_id(),
                admission_id: admission.id.clone(),
                r#type: pb::DischargeType::Improved.into(),
                destination: "home".to_owned(),
                ..Default::default()
            },
        ))
        .await
        .expect("discharge")
        .into_inner()
        .admission
        .expect("admission");
    assert_eq!(
        discharged.status,
        i32::from(pb::AdmissionStatus::Discharged)
    );
    assert_eq!(
        discharged
            .discharge
            .as_ref()
            .map(|d| d.destination.as_str()),
        Some("home")
    );
    h.expect_bed(&bed_b1, core_pb::BedState::Cleaning).await;
    h.expect_nurse_reach(&patient_id, false).await;
    let gone = client
        .clone()
        .locate_patient(signed_in(
            &h.desk,
            pb::LocatePatientRequest {
                patient_id: patient_id.clone(),
            },
        ))
        .await
        .expect("locate")
        .into_inner();
    assert!(!gone.in_hospital);

    // The desk may not undo a discharge; the records officer may, and the bed is taken again.
    let refused = client
        .clone()
        .undo_discharge(signed_in(
            &h.desk,
            pb::UndoDischargeRequest {
                request_id: request_id(),
                admission_id: admission.id.clone(),
                reason: "wrong patient discharged".to_owned(),
                ..Default::default()
            },
        ))
        .await
        .expect_err("the desk cannot undo");
    assert_eq!(refused.code(), Code::PermissionDenied);
    let undone = client
        .clone()
        .undo_discharge(signed_in(
            &h.records,
            pb::UndoDischargeRequest {
                request_id: request_id(),
                admission_id: admission.id.clone(),
                reason: "wrong patient discharged".to_owned(),
                ..Default::default()
            },
        ))
        .await
        .expect("undo")
        .into_inner()
        .admission
        .expect("admission");
    assert_eq!(undone.status, i32::from(pb::AdmissionStatus::Admitted));
    assert_eq!(undone.bed_id, bed_b1);
    assert!(undone.discharge.is_none());
    assert!(
        undone
            .stays
            .last()
            .is_some_and(|stay| stay.end_time.is_none())
    );
    h.expect_bed(&bed_b1, core_pb::BedState::Occupied).await;

    // And discharged again, for good.
    client
        .clone()
        .discharge_patient(signed_in(
            &h.desk,
            pb::DischargePatientRequest {
                request_id: request_id(),
                admission_id: admission.id.clone(),
                r#type: pb::DischargeType::Recovered.into(),
                ..Default::default()
            },
        ))
        .await
        .expect("discharge again");
    h.expect_bed(&bed_b1, core_pb::BedState::Cleaning).await;

    // The registry's visit history follows: one stay, finished, under its admission number.
    eventually("the registry records the finished stay", || async {
        let visits = h.visits(&patient_id).await;
        visits.len() == 1
            && visits[0].status == i32::from(patients_pb::VisitStatus::Finished)
            && visits[0].end_time.is_some()
    })
    .await;
    let visits = h.visits(&patient_id).await;
    assert_eq!(visits[0].admission_id, admission.id);
    assert_eq!(visits[0].admission_number, admission.admission_number);
    assert_eq!(visits[0].department_id, h.ward_b);
    assert_eq!(visits[0].admission_type, "emergency");

    let mut owner = h.owner().await;
    assert_eq!(
        events_of(&mut owner, &admission.id).await,
        [
            "PatientAdmitted",
            "PatientTransferred",
            "PatientDischarged",
            "DischargeUndone",
            "PatientDischarged"
        ]
    );
    assert_eq!(
        events_of(&mut owner, &visit.id).await,
        ["EmergencyVisitClosed"]
    );
    assert_eq!(
        events_of(&mut owner, &bed_a1).await,
        ["BedOccupancyChanged", "BedOccupancyChanged"]
    );
    assert_eq!(events_of(&mut owner, &bed_b1).await.len(), 4);
    // Every call left an audit record naming the patient.
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit.records WHERE $1 = ANY (patient_ids) AND method LIKE '/openhmis.admissions.v1.%'",
    )
    .bind(uuid::Uuid::parse_str(&patient_id).expect("uuid"))
    .fetch_one(&mut owner)
    .await
    .expect("count audit records");
    assert!(audited >= 9, "{audited} audit records");
}

#[tokio::test]
async fn thirty_two_desks_racing_for_one_bed_admit_one_patient() {
    let h = Hospital::open().await;
    let mut patient_ids = Vec::new();
    for index in 0..32 {
        patient_ids.push(
            h.register(&format!("Racer{index}"), patients_pb::Sex::Male)
                .await,
        );
    }
    let bed = h.beds_a[1].clone();
    let attempts = patient_ids.iter().map(|patient_id| {
        let admission = h.admission(patient_id, &h.ward_a, &bed);
        let h = &h;
        async move { h.admit(&request_id(), admission).await }
    });
    let results = futures::future::join_all(attempts).await;
    let admitted: Vec<_> = results
        .iter()
        .filter_map(|result| result.as_ref().ok())
        .collect();
    assert_eq!(admitted.len(), 1, "exactly one desk wins the bed");
    for result in &results {
        if let Err(status) = result {
            assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
        }
    }
    let mut owner = h.owner().await;
    let holders: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM admissions.stays WHERE bed_id = $1 AND end_time IS NULL AND NOT cancelled",
    )
    .bind(uuid::Uuid::parse_str(&bed).expect("uuid"))
    .fetch_one(&mut owner)
    .await
    .expect("count");
    assert_eq!(holders, 1);
}

#[tokio::test]
async fn desks_racing_to_admit_one_patient_make_one_admission() {
    let h = Hospital::open().await;
    let patient_id = h.register("Ciobanu", patients_pb::Sex::Male).await;
    let attempts = (0..16).map(|index| {
        // Half without a bed, half into different beds: only the patient is shared.
        let bed = if index % 2 == 0 {
            String::new()
        } else {
            h.beds_a[index % 3].clone()
        };
        let admission = h.admission(&patient_id, &h.ward_a, &bed);
        let h = &h;
        async move { h.admit(&request_id(), admission).await }
    });
    let results = futures::future::join_all(attempts).await;
    assert_eq!(results.iter().filter(|result| result.is_ok()).count(), 1);
    for status in results.iter().filter_map(|result| result.as_ref().err()) {
        assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    }
    let mut owner = h.owner().await;
    let open: i64 =
        sqlx::query_scalar("SELECT count(*) FROM admissions.admissions WHERE patient_id = $1")
            .bind(uuid::Uuid::parse_str(&patient_id).expect("uuid"))
            .fetch_one(&mut owner)
            .await
            .expect("count");
    assert_eq!(open, 1);
}

#[tokio::test]
async fn bad_admissions_are_refused_whole_retries_replay_and_beds_keep_their_rules() {
    let h = Hospital::open().await;
    let patient_id = h.register("Munteanu", patients_pb::Sex::Male).await;
    let bad = h
        .admit(
            &request_id(),
            pb::Admission {
                patient_id: "not-a-uuid".to_owned(),
                department_id: h.ward_a.clone(),
                r#type: 0,
                admit_time: Some(prost_types::Timestamp {
                    seconds: chrono::Utc::now().timestamp() + 86_400,
                    nanos: 0,
                }),
                admitting_diagnosis_code: "heart".to_owned(),
                consent_document_ids: vec!["x".to_owned()],
                ..Default::default()
            },
        )
        .await
        .expect_err("bad admission");
    assert_eq!(bad.code(), Code::InvalidArgument);
    let mut fields = violated_fields(&bad);
    fields.sort();
    assert_eq!(
        fields,
        [
            "admission.admit_time",
            "admission.admitting_diagnosis_code",
            "admission.consent_document_ids[0]",
            "admission.patient_id",
            "admission.type",
        ]
    );
    let unknown_type = h
        .admit(
            &request_id(),
            pb::Admission {
                r#type: 42,
                ..h.admission(&patient_id, &h.ward_a, "")
            },
        )
        .await
        .expect_err("unknown enum value");
    assert_eq!(violated_fields(&unknown_type), ["admission.type"]);

    // A woman-only bed refuses a man; the emergency unit takes no inpatients.
    let wrong_bed = h
        .admit(
            &request_id(),
            h.admission(&patient_id, &h.ward_a, &h.beds_a[3]),
        )
        .await
        .expect_err("bed for women");
    assert_eq!(wrong_bed.code(), Code::FailedPrecondition);
    let wrong_ward = h
        .admit(&request_id(), h.admission(&patient_id, &h.emergency_id, ""))
        .await
        .expect_err("not a ward");
    assert_eq!(wrong_ward.code(), Code::FailedPrecondition);
    let mut owner = h.owner().await;
    let written: i64 = sqlx::query_scalar("SELECT count(*) FROM admissions.admissions")
        .fetch_one(&mut owner)
        .await
        .expect("count");
    assert_eq!(written, 0, "nothing written by refused calls");

    // A retry with the same request id answers the first admission, even though the bed now
    // reads as occupied.
    let key = request_id();
    let first = h
        .admit(&key, h.admission(&patient_id, &h.ward_a, &h.beds_a[0]))
        .await
        .expect("admit");
    h.expect_bed(&h.beds_a[0], core_pb::BedState::Occupied)
        .await;
    let again = h
        .admit(&key, h.admission(&patient_id, &h.ward_a, &h.beds_a[0]))
        .await
        .expect("retry");
    assert_eq!(again.id, first.id);
    assert_eq!(again.admission_number, first.admission_number);
    let written: i64 = sqlx::query_scalar("SELECT count(*) FROM admissions.admissions")
        .fetch_one(&mut owner)
        .await
        .expect("count");
    assert_eq!(written, 1);

    // A transfer dated before the stay began is refused, naming the field that carried it.
    let too_early = admissions(&h.app)
        .transfer_patient(signed_in(
            &h.desk,
            pb::TransferPatientRequest {
                request_id: request_id(),
                admission_id: first.id.clone(),
                department_id: h.ward_b.clone(),
                transfer_time: Some(prost_types::Timestamp {
                    seconds: chrono::Utc::now().timestamp() - 86_400,
                    nanos: 0,
                }),
                ..Default::default()
            },
        ))
        .await
        .expect_err("before the stay began");
    assert_eq!(violated_fields(&too_early), ["transfer_time"]);

    // A nurse may read her ward's board but not admit.
    let nurse_admits = admissions(&h.app)
        .admit_patient(signed_in(
            &h.ward_b_nurse,
            pb::AdmitPatientRequest {
                request_id: request_id(),
                admission: Some(h.admission(&patient_id, &h.ward_b, "")),
            },
        ))
        .await
        .expect_err("nurses do not admit");
    assert_eq!(nurse_admits.code(), Code::PermissionDenied);
    let other_board = admissions(&h.app)
        .get_ward_board(signed_in(
            &h.ward_b_nurse,
            pb::GetWardBoardRequest {
                department_id: h.ward_a.clone(),
            },
        ))
        .await
        .expect_err("another ward's board");
    assert_eq!(other_board.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn a_mistaken_admission_is_cancelled_and_its_bed_freed_and_observations_convert() {
    let h = Hospital::open().await;
    let client = admissions(&h.app);
    let patient_id = h.register("Lungu", patients_pb::Sex::Female).await;
    let bed = h.beds_a[2].clone();
    let admission = h
        .admit(&request_id(), h.admission(&patient_id, &h.ward_a, &bed))
        .await
        .expect("admit");
    h.expect_bed(&bed, core_pb::BedState::Occupied).await;
    let no_reason = client
        .clone()
        .cancel_admission(signed_in(
            &h.records,
            pb::CancelAdmissionRequest {
                request_id: request_id(),
                admission_id: admission.id.clone(),
                ..Default::default()
            },
        ))
        .await
        .expect_err("a reason is required");
    assert_eq!(violated_fields(&no_reason), ["reason"]);
    let cancelled = client
        .clone()
        .cancel_admission(signed_in(
            &h.records,
            pb::CancelAdmissionRequest {
                request_id: request_id(),
                admission_id: admission.id.clone(),
                reason: "admitted to the wrong ward".to_owned(),
                ..Default::default()
            },
        ))
        .await
        .expect("cancel")
        .into_inner()
        .admission
        .expect("admission");
    assert_eq!(cancelled.status, i32::from(pb::AdmissionStatus::Cancelled));
    h.expect_bed(&bed, core_pb::BedState::Free).await;

    // The patient can be admitted again, into the same bed.
    let observation = h
        .admit(
            &request_id(),
            pb::Admission {
                r#type: pb::AdmissionType::Observation.into(),
                admit_time: Some(prost_types::Timestamp {
                    seconds: chrono::Utc::now().timestamp() - 7 * 3600,
                    nanos: 0,
                }),
                ..h.admission(&patient_id, &h.ward_a, &bed)
            },
        )
        .await
        .expect("observation stay, backdated 7 hours");
    let other = h.register("Popa", patients_pb::Sex::Female).await;
    let recent = h
        .admit(
            &request_id(),
            pb::Admission {
                r#type: pb::AdmissionType::Observation.into(),
                admit_time: Some(prost_types::Timestamp {
                    seconds: chrono::Utc::now().timestamp() - 5 * 3600,
                    nanos: 0,
                }),
                ..h.admission(&other, &h.ward_a, "")
            },
        )
        .await
        .expect("observation stay, 5 hours ago");

    // The ward's listing pages newest first, each admission with its stays.
    let list = |page_token: String| {
        let client = client.clone();
        let session = h.desk.clone();
        let ward = h.ward_a.clone();
        async move {
            client
                .clone()
                .list_admissions(signed_in(
                    &session,
                    pb::ListAdmissionsRequest {
                        department_id: ward,
                        page_size: 2,
                        page_token,
                        ..Default::default()
                    },
                ))
                .await
                .expect("list ward A")
                .into_inner()
        }
    };
    let first_page = list(String::new()).await;
    assert_eq!(first_page.admissions.len(), 2);
    assert!(!first_page.next_page_token.is_empty());
    let second_page = list(first_page.next_page_token.clone()).await;
    assert_eq!(second_page.admissions.len(), 1);
    let listed: Vec<&pb::Admission> = first_page
        .admissions
        .iter()
        .chain(&second_page.admissions)
        .collect();
    assert_eq!(
        listed.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(),
        [
            cancelled.id.as_str(),
            recent.id.as_str(),
            observation.id.as_str()
        ],
        "newest admission first"
    );
    assert!(listed.iter().all(|admission| admission.stays.len() == 1));

    let converted = h
        .app
        .admissions
        .convert_due_observations()
        .await
        .expect("conversion job");
    assert_eq!(converted, 1);
    let long = h.get_admission(&observation.id).await;
    assert_eq!(long.r#type, i32::from(pb::AdmissionType::Emergency));
    assert!(long.converted_time.is_some());
    let short = h.get_admission(&recent.id).await;
    assert_eq!(short.r#type, i32::from(pb::AdmissionType::Observation));
    let mut owner = h.owner().await;
    assert_eq!(
        events_of(&mut owner, &observation.id).await,
        ["PatientAdmitted", "AdmissionConverted"]
    );
    assert_eq!(
        h.app
            .admissions
            .convert_due_observations()
            .await
            .expect("again"),
        0
    );
}

#[tokio::test]
async fn a_newborn_is_registered_and_admitted_with_the_mother() {
    let h = Hospital::open().await;
    let mother_id = h.register("Moraru", patients_pb::Sex::Female).await;
    let mother = h
        .admit(
            &request_id(),
            h.admission(&mother_id, &h.ward_a, &h.beds_a[3]),
        )
        .await
        .expect("admit mother");
    let key = request_id();
    let birth = |key: String| {
        let client = admissions(&h.app);
        let session = h.desk.clone();
        let mother_admission_id = mother.id.clone();
        async move {
            client
                .clone()
                .admit_newborn(signed_in(
                    &session,
                    pb::AdmitNewbornRequest {
                        request_id: key,
                        mother_admission_id,
                        newborn: Some(pb::Newborn {
                            sex: patients_pb::Sex::Female.into(),
                            ..Default::default()
                        }),
                        bed_id: String::new(),
                    },
                ))
                .await
                .expect("admit newborn")
                .into_inner()
                .admission
                .expect("admission")
        }
    };
    let baby = birth(key.clone()).await;
    assert_eq!(baby.mother_admission_id, mother.id);
    assert_eq!(baby.department_id, h.ward_a);
    assert_ne!(baby.patient_id, mother_id);
    let again = birth(key).await;
    assert_eq!(again.id, baby.id, "a retried birth admits once");
    let record = patients(&h.app)
        .get_patient(signed_in(
            &h.desk,
            patients_pb::GetPatientRequest {
                id: baby.patient_id.clone(),
            },
        ))
        .await
        .expect("the baby is in the registry")
        .into_inner()
        .patient
        .expect("patient");
    assert_eq!(record.family_name, "Moraru");
    assert_eq!(
        record.birth_date,
        chrono::Utc::now().date_naive().to_string()
    );
}

#[tokio::test]
async fn the_ward_board_is_sent_again_when_the_ward_changes() {
    use tokio_stream::StreamExt;
    let h = Hospital::open().await;
    let mut watch = admissions(&h.app)
        .watch_ward_board(signed_in(
            &h.ward_b_nurse,
            pb::WatchWardBoardRequest {
                department_id: h.ward_b.clone(),
            },
        ))
        .await
        .expect("watch ward B")
        .into_inner();
    let mut next = async || -> pb::WardBoard {
        tokio::time::timeout(Duration::from_secs(30), watch.next())
            .await
            .expect("a board within 30 s")
            .expect("the stream goes on")
            .expect("a board, not an error")
            .board
            .expect("board")
    };
    let empty = next().await;
    assert!(empty.patients.is_empty());
    assert!(
        empty
            .beds
            .iter()
            .all(|slot| slot.occupancy == i32::from(pb::BedOccupancy::Free))
    );

    let patient_id = h.register("Vrabie", patients_pb::Sex::Male).await;
    let bed = h.beds_b[1].clone();
    let admission = h
        .admit(&request_id(), h.admission(&patient_id, &h.ward_b, &bed))
        .await
        .expect("admit into ward B");
    let occupied = next().await;
    assert_eq!(occupied.patients.len(), 1);
    assert_eq!(occupied.patients[0].admission_id, admission.id);
    let slot = occupied
        .beds
        .iter()
        .find(|slot| slot.bed_id == bed)
        .expect("the bed");
    assert_eq!(slot.occupancy, i32::from(pb::BedOccupancy::Occupied));

    admissions(&h.app)
        .discharge_patient(signed_in(
            &h.desk,
            pb::DischargePatientRequest {
                request_id: request_id(),
                admission_id: admission.id.clone(),
                r#type: pb::DischargeType::Recovered.into(),
                ..Default::default()
            },
        ))
        .await
        .expect("discharge");
    // Once discharged the patient is gone from the board and the bed awaits cleaning (the
    // register may report it in a later board than the discharge itself).
    loop {
        let board = next().await;
        let slot = board
            .beds
            .iter()
            .find(|slot| slot.bed_id == bed)
            .expect("the bed");
        if board.patients.is_empty() && slot.occupancy == i32::from(pb::BedOccupancy::Cleaning) {
            break;
        }
    }
}

#[tokio::test]
async fn admissions_follow_a_merge_of_patient_records_and_its_undoing() {
    let h = Hospital::open().await;
    let survivor = h.register_record("Cojocaru", patients_pb::Sex::Male).await;
    let duplicate = h.register_record("Cojocaru", patients_pb::Sex::Male).await;
    let admission = h
        .admit(&request_id(), h.admission(&duplicate.id, &h.ward_a, ""))
        .await
        .expect("admit the duplicate record");
    patients(&h.app)
        .merge_patients(signed_in(
            &h.records,
            patients_pb::MergePatientsRequest {
                request_id: request_id(),
                survivor_id: survivor.id.clone(),
                survivor_etag: survivor.etag.clone(),
                merged_id: duplicate.id.clone(),
                merged_etag: duplicate.etag.clone(),
                reason: "same person registered twice".to_owned(),
            },
        ))
        .await
        .expect("merge");
    eventually(
        "the admission follows the merge to the survivor",
        || async { h.get_admission(&admission.id).await.patient_id == survivor.id },
    )
    .await;
    // The survivor's visit history shows the duplicate's stay too.
    eventually("the survivor's history shows the stay", || async {
        h.visits(&survivor.id)
            .await
            .iter()
            .any(|visit| visit.admission_id == admission.id)
    })
    .await;
    let listed = admissions(&h.app)
        .list_admissions(signed_in(
            &h.desk,
            pb::ListAdmissionsRequest {
                patient_id: survivor.id.clone(),
                ..Default::default()
            },
        ))
        .await
        .expect("list the survivor's admissions")
        .into_inner();
    assert_eq!(listed.admissions.len(), 1);
    assert_eq!(listed.admissions[0].id, admission.id);

    patients(&h.app)
        .unmerge_patient(signed_in(
            &h.records,
            patients_pb::UnmergePatientRequest {
                request_id: request_id(),
                merged_id: duplicate.id.clone(),
                reason: "different people after all".to_owned(),
            },
        ))
        .await
        .expect("unmerge");
    eventually("the admission goes back with the unmerge", || async {
        h.get_admission(&admission.id).await.patient_id == duplicate.id
    })
    .await;
}

#[tokio::test]
async fn admitting_checks_what_the_registry_announced_about_the_patient() {
    let h = Hospital::open().await;
    let patient = h.register_record("Guțu", patients_pb::Sex::Male).await;
    let owner = sqlx::PgPool::connect_with(h.app.db.owner_options())
        .await
        .expect("owner pool");
    let patient_uuid = uuid::Uuid::parse_str(&patient.id).expect("uuid");
    let known_deceased = |expected: bool| {
        let owner = owner.clone();
        async move {
            let deceased: Option<bool> = sqlx::query_scalar(
                "SELECT deceased FROM admissions.known_patients WHERE patient_id = $1",
            )
            .bind(patient_uuid)
            .fetch_optional(&owner)
            .await
            .expect("read what admissions knows");
            deceased == Some(expected)
        }
    };
    eventually("admissions learns of the registration", || {
        known_deceased(false)
    })
    .await;
    patients(&h.app)
        .update_patient(signed_in(
            &h.desk,
            patients_pb::UpdatePatientRequest {
                request_id: request_id(),
                patient: Some(patients_pb::Patient {
                    deceased: true,
                    death_date: chrono::Utc::now().date_naive().to_string(),
                    ..patient.clone()
                }),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["deceased".to_owned(), "death_date".to_owned()],
                }),
            },
        ))
        .await
        .expect("record the death");
    eventually("admissions learns of the death", || known_deceased(true)).await;
    let refused = h
        .admit(&request_id(), h.admission(&patient.id, &h.ward_a, ""))
        .await
        .expect_err("a deceased patient is not admitted");
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert!(
        refused.message().contains("deceased"),
        "{}",
        refused.message()
    );
}

#[tokio::test]
async fn a_ward_board_watch_ends_when_its_access_token_expires() {
    use tokio_stream::StreamExt;
    let mut options = openhmis_server::Options::default();
    options.iam.access_token_ttl = Duration::from_secs(4);
    let h = Hospital::open_with(options).await;
    let nurse = h
        .app
        .login("ADT", "nurse-b", USER_PASSWORD)
        .await
        .expect("the nurse signs in again");
    let mut watch = admissions(&h.app)
        .watch_ward_board(signed_in(
            &nurse,
            pb::WatchWardBoardRequest {
                department_id: h.ward_b.clone(),
            },
        ))
        .await
        .expect("watch ward B")
        .into_inner();
    let first = tokio::time::timeout(Duration::from_secs(30), watch.next())
        .await
        .expect("the first board")
        .expect("the stream goes on");
    assert!(first.is_ok());
    let ended = tokio::time::timeout(Duration::from_secs(30), watch.next())
        .await
        .expect("the stream ends within 30 s")
        .expect("an end message");
    assert_eq!(
        ended.expect_err("ended by the token's expiry").code(),
        Code::Unauthenticated
    );
}

#[tokio::test]
async fn admissions_in_a_process_of_their_own_reach_core_and_the_registry_over_the_network() {
    let h = Hospital::open().await;
    // A second process over the same database mounts only admissions; the bed register and
    // the registry are the first process's, reached over gRPC with the caller's token.
    let mut options = openhmis_server::Options::default();
    options.server.listen_addr = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    options.server.modules = vec!["admissions".to_owned()];
    // Every process of a deployment holds the same signing-key secret.
    options.iam.signing_key_secret = Some(hmis_platform::config::Secret::new(
        support::SIGNING_KEY_SECRET,
    ));
    let first = format!("http://{}", h.app.addr);
    options.server.upstreams = [
        ("core".to_owned(), first.clone()),
        ("patients".to_owned(), first.clone()),
        ("terminology".to_owned(), first),
    ]
    .into();
    // Its own pools, as a process of its own has (stopping it closes them).
    let database = hmis_platform::Database::connect(
        h.app.db.owner_options(),
        &hmis_platform::config::DatabaseOptions::default(),
    )
    .await
    .expect("the admissions process's pools");
    let second = openhmis_server::Application::new(
        options,
        database,
        std::sync::Arc::new(hmis_platform::clock::SystemClock),
    )
    .await
    .expect("the admissions process");
    let listener = second.bind().await.expect("bind port 0");
    let addr = listener.local_addr().expect("bound address");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(second.serve(listener, async {
        let _ = stopped.await;
    }));
    let channel = Channel::from_shared(format!("http://{addr}"))
        .expect("valid uri")
        .connect()
        .await
        .expect("connect to the admissions process");

    let patient_id = h.register("Grosu", patients_pb::Sex::Male).await;
    let admission = AdmissionServiceClient::new(channel.clone())
        .admit_patient(signed_in(
            &h.desk,
            pb::AdmitPatientRequest {
                request_id: request_id(),
                admission: Some(h.admission(&patient_id, &h.ward_a, &h.beds_a[0])),
            },
        ))
        .await
        .expect("admitted through the admissions process")
        .into_inner()
        .admission
        .expect("admission");
    assert_eq!(admission.bed_id, h.beds_a[0]);
    let board = AdmissionServiceClient::new(channel)
        .get_ward_board(signed_in(
            &h.desk,
            pb::GetWardBoardRequest {
                department_id: h.ward_a.clone(),
            },
        ))
        .await
        .expect("the board, with the register's beds read over the network")
        .into_inner()
        .board
        .expect("board");
    assert_eq!(board.beds.len(), 4);
    assert_eq!(board.patients.len(), 1);
    // The register's reads were made under the desk's name in the first process.
    let mut owner = h.owner().await;
    let remote_reads: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit.records WHERE username = 'desk' \
         AND method = '/openhmis.admissions.v1.AdmissionService/AdmitPatient'",
    )
    .fetch_one(&mut owner)
    .await
    .expect("count");
    assert_eq!(remote_reads, 1, "one audit record of the admission itself");
    let _ = stop.send(());
    server.await.expect("server task").expect("served");
}

/// The info desk finds a patient wherever they are: waiting or being seen in the emergency
/// unit as well as lying in a ward.
#[tokio::test]
async fn the_info_desk_finds_a_patient_in_the_emergency_unit() {
    let h = Hospital::open().await;
    let client = admissions(&h.app);
    let patient_id = h.register("Lungu", patients_pb::Sex::Female).await;
    let locate = || {
        let mut client = client.clone();
        let request = signed_in(
            &h.desk,
            pb::LocatePatientRequest {
                patient_id: patient_id.clone(),
            },
        );
        async move {
            client
                .locate_patient(request)
                .await
                .expect("locate")
                .into_inner()
        }
    };
    assert!(!locate().await.in_hospital);
    client
        .clone()
        .register_emergency_visit(signed_in(
            &h.desk,
            pb::RegisterEmergencyVisitRequest {
                request_id: request_id(),
                visit: Some(pb::EmergencyVisit {
                    patient_id: patient_id.clone(),
                    department_id: h.emergency_id.clone(),
                    arrival_mode: pb::ArrivalMode::WalkIn.into(),
                    triage_level: pb::TriageLevel::Urgent.into(),
                    chief_complaint: "a sprained ankle".to_owned(),
                    ..Default::default()
                }),
            },
        ))
        .await
        .expect("register the emergency visit");
    let located = locate().await;
    assert!(located.in_hospital);
    assert_eq!(located.department_id, h.emergency_id);
    assert!(!located.department_name.is_empty());
    assert_eq!(located.room_code, "");
}

/// A death in hospital reaches the registry: the deceased discharge marks the patient deceased
/// with the time of death (on the audit trail, under the event), who is then neither admitted
/// again nor registered in the emergency unit; undoing that discharge restores the record, on
/// the audit trail too.
#[tokio::test]
async fn a_death_in_hospital_marks_the_registry_and_undoing_the_discharge_restores_it() {
    let h = Hospital::open().await;
    let client = admissions(&h.app);
    let patient_id = h.register("Ciobanu", patients_pb::Sex::Male).await;
    let admission = h
        .admit(
            &request_id(),
            h.admission(&patient_id, &h.ward_a, &h.beds_a[0]),
        )
        .await
        .expect("admit");
    let discharged = client
        .clone()
        .discharge_patient(signed_in(
            &h.desk,
            pb::DischargePatientRequest {
                request_id: request_id(),
                admission_id: admission.id.clone(),
                r#type: pb::DischargeType::Deceased.into(),
                destination: "morgue".to_owned(),
                ..Default::default()
            },
        ))
        .await
        .expect("a deceased discharge")
        .into_inner()
        .admission
        .expect("admission");
    let death_time = discharged
        .discharge
        .as_ref()
        .and_then(|discharge| discharge.discharge_time);
    let record = || async {
        patients(&h.app)
            .get_patient(signed_in(
                &h.records,
                patients_pb::GetPatientRequest {
                    id: patient_id.clone(),
                },
            ))
            .await
            .expect("read the record")
            .into_inner()
            .patient
            .expect("patient")
    };
    eventually("the registry records the death", || async {
        record().await.deceased
    })
    .await;
    let dead = record().await;
    assert_eq!(
        dead.death_time, death_time,
        "the time of death is the discharge's"
    );
    assert!(!dead.death_date.is_empty());

    let refused = h
        .admit(&request_id(), h.admission(&patient_id, &h.ward_b, ""))
        .await
        .expect_err("a deceased patient is not admitted again");
    assert_eq!(refused.code(), Code::FailedPrecondition);
    let refused = client
        .clone()
        .register_emergency_visit(signed_in(
            &h.desk,
            pb::RegisterEmergencyVisitRequest {
                request_id: request_id(),
                visit: Some(pb::EmergencyVisit {
                    patient_id: patient_id.clone(),
                    department_id: h.emergency_id.clone(),
                    arrival_mode: pb::ArrivalMode::Ambulance.into(),
                    triage_level: pb::TriageLevel::Urgent.into(),
                    chief_complaint: "brought in".to_owned(),
                    ..Default::default()
                }),
            },
        ))
        .await
        .expect_err("nor registered in the emergency unit");
    assert_eq!(refused.code(), Code::FailedPrecondition);

    client
        .clone()
        .undo_discharge(signed_in(
            &h.records,
            pb::UndoDischargeRequest {
                request_id: request_id(),
                admission_id: admission.id.clone(),
                reason: "the wrong patient was discharged as deceased".to_owned(),
                ..Default::default()
            },
        ))
        .await
        .expect("undo the discharge");
    eventually("the registry withdraws the death", || async {
        !record().await.deceased
    })
    .await;
    let restored = record().await;
    assert_eq!(
        (restored.death_date.as_str(), restored.death_time),
        ("", None)
    );

    // Both changes are versions of the record and on the audit trail, under their events.
    let mut owner = h.owner().await;
    let patient_uuid = uuid::Uuid::parse_str(&patient_id).expect("uuid");
    let audited: Vec<String> = sqlx::query_scalar(
        "SELECT method FROM audit.records WHERE $1 = ANY(patient_ids) AND username = 'system' \
         ORDER BY occurred_at",
    )
    .bind(patient_uuid)
    .fetch_all(&mut owner)
    .await
    .expect("read the audit trail");
    assert_eq!(
        audited,
        [
            "openhmis.admissions.v1.PatientDischarged",
            "openhmis.admissions.v1.DischargeUndone"
        ]
    );
    let versions: Vec<Vec<String>> = sqlx::query_scalar(
        "SELECT changed_fields FROM patients.versions WHERE patient_id = $1 ORDER BY version",
    )
    .bind(patient_uuid)
    .fetch_all(&mut owner)
    .await
    .expect("read the versions");
    assert_eq!(
        versions.len(),
        3,
        "registered, died, restored: {versions:?}"
    );
    assert!(versions[1].contains(&"deceased".to_owned()));
}

/// One rule for a patient beyond the caller's wards: a read of that patient (the record, its
/// admissions, its encounters) is refused, on the audit trail; a search leaves it out.
#[tokio::test]
async fn a_patient_beyond_the_callers_wards_is_refused_alike_by_every_read() {
    use hmis_proto::openhmis::encounters::v1 as encounters_pb;
    let h = Hospital::open().await;
    let patient = h.register_record("Munteanu", patients_pb::Sex::Male).await;
    h.admit(
        &request_id(),
        h.admission(&patient.id, &h.ward_a, &h.beds_a[0]),
    )
    .await
    .expect("admit to ward A");
    let nurse = &h.ward_b_nurse;

    let record = patients(&h.app)
        .get_patient(signed_in(
            nurse,
            patients_pb::GetPatientRequest {
                id: patient.id.clone(),
            },
        ))
        .await
        .expect_err("ward B's nurse does not read a ward A patient");
    assert_eq!(record.code(), Code::PermissionDenied);
    let by_patient = pb::ListAdmissionsRequest {
        patient_id: patient.id.clone(),
        ..Default::default()
    };
    let admissions_read = admissions(&h.app)
        .list_admissions(signed_in(nurse, by_patient.clone()))
        .await
        .expect_err("nor the patient's admissions");
    assert_eq!(admissions_read.code(), Code::PermissionDenied);
    let encounters_read =
        encounters_pb::encounter_service_client::EncounterServiceClient::new(h.app.channel.clone())
            .list_encounters(signed_in(
                nurse,
                encounters_pb::ListEncountersRequest {
                    patient_id: patient.id.clone(),
                    ..Default::default()
                },
            ))
            .await
            .expect_err("nor the patient's encounters");
    assert_eq!(encounters_read.code(), Code::PermissionDenied);
    let found = patients(&h.app)
        .search_patients(signed_in(
            nurse,
            patients_pb::SearchPatientsRequest {
                mrn: patient.mrn.clone(),
                ..Default::default()
            },
        ))
        .await
        .expect("a search is not refused")
        .into_inner()
        .matches;
    assert!(found.is_empty(), "a search leaves the patient out");

    // The desk serves the facility: it reads the admissions.
    let listed = admissions(&h.app)
        .list_admissions(signed_in(&h.desk, by_patient))
        .await
        .expect("the desk reads them")
        .into_inner()
        .admissions;
    assert_eq!(listed.len(), 1);

    // The refusal is on the audit trail, naming the patient.
    let mut owner = h.owner().await;
    let refused: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit.records WHERE $1 = ANY(patient_ids) \
         AND username = 'nurse-b' AND outcome = 'PERMISSION_DENIED' \
         AND method = '/openhmis.admissions.v1.AdmissionService/ListAdmissions'",
    )
    .bind(uuid::Uuid::parse_str(&patient.id).expect("uuid"))
    .fetch_one(&mut owner)
    .await
    .expect("read the audit trail");
    assert_eq!(refused, 1);
}

/// Admitting reads what the registry says of the patient: nothing before the birth, and the
/// unpaid-debt flag is told to the desk at admission and in the emergency unit, not only at
/// registration.
#[tokio::test]
async fn admission_refuses_a_time_before_birth_and_warns_of_unpaid_debt() {
    let h = Hospital::open().await;
    let today = chrono::Utc::now().date_naive();
    let newborn = patients(&h.app)
        .register_patient(signed_in(
            &h.desk,
            patients_pb::RegisterPatientRequest {
                request_id: request_id(),
                patient: Some(patients_pb::Patient {
                    family_name: "Rotaru".to_owned(),
                    given_names: "Ana".to_owned(),
                    sex: patients_pb::Sex::Female.into(),
                    birth_date: today.to_string(),
                    unpaid_debt: true,
                    ..Default::default()
                }),
                confirm_new_patient: true,
            },
        ))
        .await
        .expect("register")
        .into_inner()
        .patient
        .expect("patient");
    let two_days_ago = chrono::Utc::now() - chrono::Duration::days(2);
    let before_birth = h
        .admit(
            &request_id(),
            pb::Admission {
                admit_time: Some(prost_types::Timestamp {
                    seconds: two_days_ago.timestamp(),
                    nanos: 0,
                }),
                ..h.admission(&newborn.id, &h.ward_a, "")
            },
        )
        .await
        .expect_err("an admission before the patient's birth");
    assert_eq!(before_birth.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&before_birth), ["admission.admit_time"]);

    let visit = admissions(&h.app)
        .register_emergency_visit(signed_in(
            &h.desk,
            pb::RegisterEmergencyVisitRequest {
                request_id: request_id(),
                visit: Some(pb::EmergencyVisit {
                    patient_id: newborn.id.clone(),
                    department_id: h.emergency_id.clone(),
                    arrival_mode: pb::ArrivalMode::WalkIn.into(),
                    triage_level: pb::TriageLevel::Urgent.into(),
                    chief_complaint: "fever".to_owned(),
                    ..Default::default()
                }),
            },
        ))
        .await
        .expect("register the emergency visit")
        .into_inner();
    assert!(visit.unpaid_debt, "the emergency desk is warned");
    let admitted = admissions(&h.app)
        .admit_patient(signed_in(
            &h.desk,
            pb::AdmitPatientRequest {
                request_id: request_id(),
                admission: Some(h.admission(&newborn.id, &h.ward_a, "")),
            },
        ))
        .await
        .expect("admitted all the same")
        .into_inner();
    assert!(admitted.unpaid_debt, "the admitting desk is warned");
}

/// A movement further back than the backdating window is refused to the desk; the records
/// office records it with the permission and a reason, and it is kept for review.
#[tokio::test]
async fn backdating_beyond_the_window_needs_the_permission_and_a_reason() {
    let h = Hospital::open().await;
    let patient_id = h.register("Cojocaru", patients_pb::Sex::Male).await;
    let forty_days_ago = chrono::Utc::now() - chrono::Duration::days(40);
    let old = pb::Admission {
        admit_time: Some(prost_types::Timestamp {
            seconds: forty_days_ago.timestamp(),
            nanos: 0,
        }),
        ..h.admission(&patient_id, &h.ward_a, "")
    };
    let refused = h
        .admit(&request_id(), old.clone())
        .await
        .expect_err("the desk may not backdate that far");
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&refused), ["admission.admit_time"]);
    assert!(
        refused.message().contains("admissions.backdate"),
        "{}",
        refused.message()
    );

    let as_records = |reason: Option<&str>| {
        let mut request = signed_in(
            &h.records,
            pb::AdmitPatientRequest {
                request_id: request_id(),
                admission: Some(old.clone()),
            },
        );
        if let Some(reason) = reason {
            request
                .metadata_mut()
                .insert("x-backdating-reason", reason.parse().expect("ascii"));
        }
        let mut client = admissions(&h.app);
        async move { client.admit_patient(request).await }
    };
    let without_reason = as_records(None).await.expect_err("a reason is required");
    assert_eq!(violated_fields(&without_reason), ["admission.admit_time"]);
    let admitted = as_records(Some("entered from the paper register after the outage"))
        .await
        .expect("the records office backdates with a reason")
        .into_inner()
        .admission
        .expect("admission");
    assert_eq!(
        admitted.admit_time.map(|at| at.seconds),
        Some(forty_days_ago.timestamp())
    );
    let mut owner = h.owner().await;
    let kept: Vec<(String, String)> =
        sqlx::query_as("SELECT field, reason FROM admissions.backdated_movements")
            .fetch_all(&mut owner)
            .await
            .expect("read the backdated movements");
    assert_eq!(
        kept,
        [(
            "admission.admit_time".to_owned(),
            "entered from the paper register after the outage".to_owned()
        )]
    );
}

impl Hospital {
    async fn correct(
        &self,
        session: &Session,
        request: pb::CorrectAdmissionRequest,
    ) -> Result<pb::CorrectAdmissionResponse, tonic::Status> {
        admissions(&self.app)
            .correct_admission(signed_in(
                session,
                pb::CorrectAdmissionRequest {
                    request_id: request_id(),
                    reason: "entered wrong at the desk".to_owned(),
                    ..request
                },
            ))
            .await
            .map(tonic::Response::into_inner)
    }

    async fn cancel(&self, admission_id: &str) -> Result<pb::Admission, tonic::Status> {
        admissions(&self.app)
            .cancel_admission(signed_in(
                &self.desk,
                pb::CancelAdmissionRequest {
                    request_id: request_id(),
                    admission_id: admission_id.to_owned(),
                    reason: "the wrong patient was admitted".to_owned(),
                    ..Default::default()
                },
            ))
            .await
            .map(|response| response.into_inner().admission.expect("admission"))
    }

    async fn corrections(&self, admission_id: &str) -> Vec<pb::AdmissionCorrection> {
        admissions(&self.app)
            .list_admission_corrections(signed_in(
                &self.desk,
                pb::ListAdmissionCorrectionsRequest {
                    admission_id: admission_id.to_owned(),
                },
            ))
            .await
            .expect("corrections")
            .into_inner()
            .corrections
    }

    async fn move_to(&self, admission_id: &str, ward: &str, bed: &str) {
        admissions(&self.app)
            .transfer_patient(signed_in(
                &self.desk,
                pb::TransferPatientRequest {
                    request_id: request_id(),
                    admission_id: admission_id.to_owned(),
                    department_id: ward.to_owned(),
                    bed_id: bed.to_owned(),
                    reason: "moved".to_owned(),
                    ..Default::default()
                },
            ))
            .await
            .expect("move");
    }
}

/// The fields a correction changed, as (field, before, after).
fn changed(correction: &pb::AdmissionCorrection) -> Vec<(&str, &str, &str)> {
    correction
        .changes
        .iter()
        .map(|change| {
            (
                change.field.as_str(),
                change.before.as_str(),
                change.after.as_str(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_desk_corrects_and_cancels_admissions_until_the_wards_first_clinical_act() {
    use hmis_proto::openhmis::encounters::v1 as encounters_pb;
    let h = Hospital::open_in(openhmis_server::Options::default(), true).await;
    let doctor = h
        .app
        .staff(&h.admin, "ADT", "doctor", "physician", Scope::Tenant)
        .await;
    let physician_id = uuid::Uuid::new_v4().to_string();

    // Admitted into ward A, then given another bed of it by the nurse: a movement, not yet care.
    let patient_id = h.register("Munteanu", patients_pb::Sex::Male).await;
    let admission = h
        .admit(
            &request_id(),
            h.admission(&patient_id, &h.ward_a, &h.beds_a[0]),
        )
        .await
        .expect("admit");
    h.move_to(&admission.id, &h.ward_a, &h.beds_a[1]).await;
    h.expect_bed(&h.beds_a[1], core_pb::BedState::Occupied)
        .await;

    // Wrong input is named; a code ICD-10 does not have is refused by the terminology.
    let ask = |request: pb::CorrectAdmissionRequest| pb::CorrectAdmissionRequest {
        admission_id: admission.id.clone(),
        ..request
    };
    let nothing = h
        .correct(&h.desk, ask(Default::default()))
        .await
        .expect_err("nothing to correct");
    assert_eq!(violated_fields(&nothing), ["type"]);
    let unknown = h
        .correct(
            &h.desk,
            ask(pb::CorrectAdmissionRequest {
                admitting_diagnosis_code: "Q99.8".to_owned(),
                ..Default::default()
            }),
        )
        .await
        .expect_err("not in ICD-10");
    assert_eq!(unknown.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&unknown), ["admitting_diagnosis_code"]);
    let not_mine = h
        .correct(
            &h.ward_b_nurse,
            ask(pb::CorrectAdmissionRequest {
                r#type: pb::AdmissionType::Planned.into(),
                ..Default::default()
            }),
        )
        .await
        .expect_err("a nurse does not correct admissions");
    assert_eq!(not_mine.code(), Code::PermissionDenied);

    // Type, ward, physician and diagnosis corrected at once: the periods in ward A become one
    // period in ward B without a bed, and ward A's bed is free again.
    let corrected = h
        .correct(
            &h.desk,
            ask(pb::CorrectAdmissionRequest {
                r#type: pb::AdmissionType::Planned.into(),
                department_id: h.ward_b.clone(),
                admitting_physician_id: physician_id.clone(),
                admitting_diagnosis_code: "i50.9".to_owned(),
                etag: h.get_admission(&admission.id).await.etag,
                ..Default::default()
            }),
        )
        .await
        .expect("corrected");
    let now = corrected.admission.expect("admission");
    assert_eq!(now.r#type, i32::from(pb::AdmissionType::Planned));
    assert_eq!(
        (
            now.department_id.as_str(),
            now.admitting_department_id.as_str(),
            now.bed_id.as_str()
        ),
        (h.ward_b.as_str(), h.ward_b.as_str(), "")
    );
    assert_eq!(now.admitting_physician_id, physician_id);
    assert_eq!(
        (
            now.admitting_diagnosis_code.as_str(),
            now.admitting_diagnosis_text.as_str()
        ),
        ("I50.9", "Heart failure, unspecified")
    );
    assert_eq!(now.admission_number, admission.admission_number);
    let stays: Vec<(&str, &str)> = (now.stays.iter())
        .map(|stay| (stay.department_id.as_str(), stay.bed_id.as_str()))
        .collect();
    assert_eq!(stays, [(h.ward_b.as_str(), "")]);
    assert_eq!(now.stays[0].start_time, admission.admit_time);
    assert!(now.stays[0].end_time.is_none());
    h.expect_bed(&h.beds_a[1], core_pb::BedState::Free).await;
    let correction = corrected.correction.expect("correction");
    assert_eq!(
        changed(&correction),
        [
            ("type", "ADMISSION_TYPE_EMERGENCY", "ADMISSION_TYPE_PLANNED"),
            ("admitting_physician_id", "", physician_id.as_str()),
            ("admitting_diagnosis_code", "I21.0", "I50.9"),
            (
                "admitting_diagnosis_text",
                "Acute transmural myocardial infarction",
                "Heart failure, unspecified"
            ),
            ("department_id", h.ward_a.as_str(), h.ward_b.as_str()),
            ("bed_id", h.beds_a[1].as_str(), ""),
        ]
    );
    assert_eq!(correction.reason, "entered wrong at the desk");
    assert!(uuid::Uuid::parse_str(&correction.corrected_by).is_ok());
    // Saying again what the admission already says corrects nothing.
    let same = h
        .correct(
            &h.desk,
            ask(pb::CorrectAdmissionRequest {
                r#type: pb::AdmissionType::Planned.into(),
                ..Default::default()
            }),
        )
        .await
        .expect_err("nothing changes");
    assert_eq!(same.code(), Code::FailedPrecondition);

    // The ward's first clinical act (a procedure in the stay's encounter) ends corrections.
    let mut encounters =
        encounters_pb::encounter_service_client::EncounterServiceClient::new(h.app.channel.clone());
    let encounter = encounters
        .open_encounter(signed_in(
            &doctor,
            encounters_pb::OpenEncounterRequest {
                request_id: request_id(),
                admission_id: admission.id.clone(),
                ..Default::default()
            },
        ))
        .await
        .expect("the stay's encounter")
        .into_inner()
        .encounter
        .expect("encounter");
    encounters
        .record_procedure(signed_in(
            &doctor,
            encounters_pb::RecordProcedureRequest {
                request_id: request_id(),
                procedure: Some(encounters_pb::Procedure {
                    encounter_id: encounter.id.clone(),
                    code: "58500-00".to_owned(),
                    ..Default::default()
                }),
            },
        ))
        .await
        .expect("procedure");
    eventually("admissions learn of the first clinical act", || async {
        h.get_admission(&admission.id)
            .await
            .first_clinical_act_time
            .is_some()
    })
    .await;
    let late = h
        .correct(
            &h.desk,
            ask(pb::CorrectAdmissionRequest {
                admitting_diagnosis_code: "I21.9".to_owned(),
                ..Default::default()
            }),
        )
        .await
        .expect_err("care was recorded");
    assert_eq!(late.code(), Code::FailedPrecondition);
    let too_late = h
        .cancel(&admission.id)
        .await
        .expect_err("care was recorded");
    assert_eq!(too_late.code(), Code::FailedPrecondition);
    assert!(too_late.message().contains("discharge instead"));

    // The history: one correction, and the events that told the other modules.
    let history = h.corrections(&admission.id).await;
    assert_eq!(history.len(), 1);
    assert_eq!(history[0], correction);
    let mut owner = h.owner().await;
    assert_eq!(
        events_of(&mut owner, &admission.id).await,
        [
            "PatientAdmitted",
            "PatientTransferred",
            "AdmissionCorrected"
        ]
    );

    // Another admission: into ward A without a bed, moved to ward B's bed, its admitting ward
    // corrected to B (the current stay stays as it is), then cancelled: moves do not prevent
    // it before any care, the bed is freed and the history holds both.
    let other = h.register("Stan", patients_pb::Sex::Male).await;
    let second = h
        .admit(&request_id(), h.admission(&other, &h.ward_a, ""))
        .await
        .expect("admit without a bed");
    h.move_to(&second.id, &h.ward_b, &h.beds_b[1]).await;
    let rebased = h
        .correct(
            &h.desk,
            pb::CorrectAdmissionRequest {
                admission_id: second.id.clone(),
                department_id: h.ward_b.clone(),
                ..Default::default()
            },
        )
        .await
        .expect("admitting ward corrected")
        .admission
        .expect("admission");
    let stays: Vec<(&str, &str)> = (rebased.stays.iter())
        .map(|stay| (stay.department_id.as_str(), stay.bed_id.as_str()))
        .collect();
    assert_eq!(
        stays,
        [
            (h.ward_b.as_str(), ""),
            (h.ward_b.as_str(), h.beds_b[1].as_str())
        ]
    );
    assert_eq!(rebased.bed_id, h.beds_b[1]);
    assert_eq!(rebased.stays[0].end_time, rebased.stays[1].start_time);
    let cancelled = h.cancel(&second.id).await.expect("cancelled after moves");
    assert_eq!(cancelled.status, i32::from(pb::AdmissionStatus::Cancelled));
    h.expect_bed(&h.beds_b[1], core_pb::BedState::Free).await;
    let history = h.corrections(&second.id).await;
    assert_eq!(
        history.iter().map(changed).collect::<Vec<_>>(),
        [
            vec![("department_id", h.ward_a.as_str(), h.ward_b.as_str())],
            vec![(
                "status",
                "ADMISSION_STATUS_ADMITTED",
                "ADMISSION_STATUS_CANCELLED"
            )],
        ]
    );
    assert_eq!(history[1].reason, "the wrong patient was admitted");
}

#[tokio::test]
async fn a_discharged_stays_record_is_handed_over_to_medical_records_once() {
    let h = Hospital::open().await;
    let client = admissions(&h.app);
    let patient_id = h.register("Rusu", patients_pb::Sex::Male).await;
    let admission = h
        .admit(
            &request_id(),
            h.admission(&patient_id, &h.ward_a, &h.beds_a[0]),
        )
        .await
        .expect("admit");
    let hand_over = |location: &str| {
        let mut client = client.clone();
        let desk = h.desk.clone();
        let request = pb::HandOverRecordRequest {
            request_id: request_id(),
            admission_id: admission.id.clone(),
            paper_file_location: location.to_owned(),
            note: "discharge letter signed".to_owned(),
        };
        async move { client.hand_over_record(signed_in(&desk, request)).await }
    };
    let early = hand_over("ward A office")
        .await
        .expect_err("not before the discharge");
    assert_eq!(early.code(), Code::FailedPrecondition);
    client
        .clone()
        .discharge_patient(signed_in(
            &h.desk,
            pb::DischargePatientRequest {
                request_id: request_id(),
                admission_id: admission.id.clone(),
                r#type: pb::DischargeType::Recovered.into(),
                ..Default::default()
            },
        ))
        .await
        .expect("discharge");
    let nowhere = hand_over(" ").await.expect_err("where is the paper file?");
    assert_eq!(violated_fields(&nowhere), ["paper_file_location"]);
    let sent = hand_over("ward A office, shelf 2")
        .await
        .expect("handed over")
        .into_inner()
        .handover
        .expect("handover");
    assert_eq!(sent.admission_id, admission.id);
    assert_eq!(sent.patient_id, patient_id);
    assert!(!sent.sent_by.is_empty() && sent.received_by.is_empty());
    let twice = hand_over("ward A office").await.expect_err("once");
    assert_eq!(twice.code(), Code::FailedPrecondition);

    // Medical records sees what is on its way, and receives it.
    let list = |session: &Session, awaiting_only: bool| {
        let mut client = client.clone();
        let request = pb::ListRecordHandoversRequest {
            facility_id: admission.facility_id.clone(),
            awaiting_only,
            ..Default::default()
        };
        let session = session.clone();
        async move {
            client
                .list_record_handovers(signed_in(&session, request))
                .await
                .map(|answer| answer.into_inner().handovers)
        }
    };
    let desk = list(&h.desk, true)
        .await
        .expect_err("the desk is not records");
    assert_eq!(desk.code(), Code::PermissionDenied);
    let awaiting = list(&h.records, true).await.expect("awaiting");
    assert_eq!(awaiting, std::slice::from_ref(&sent));
    let receive = || {
        let mut client = client.clone();
        let records = h.records.clone();
        let request = pb::ReceiveRecordRequest {
            request_id: request_id(),
            handover_id: sent.id.clone(),
            paper_file_location: "archive room 3, box 2026/12".to_owned(),
        };
        async move { client.receive_record(signed_in(&records, request)).await }
    };
    let received = receive()
        .await
        .expect("received")
        .into_inner()
        .handover
        .expect("handover");
    assert!(!received.received_by.is_empty() && received.receive_time.is_some());
    assert_ne!(received.received_by, received.sent_by);
    assert_eq!(received.paper_file_location, "archive room 3, box 2026/12");
    assert!(list(&h.records, true).await.expect("awaiting").is_empty());
    assert_eq!(list(&h.records, false).await.expect("all"), [received]);
    let again = receive().await.expect_err("received once");
    assert_eq!(again.code(), Code::FailedPrecondition);
}
