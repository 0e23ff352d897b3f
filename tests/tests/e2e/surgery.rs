//! The operating block over real gRPC: theatres in an operating-block department, bookings
//! whose theatre, team and patient the database keeps from double booking (16 clients racing
//! for one slot), surgical privileges (refused, granted, suspended, overridden in an emergency
//! and reviewed), emergencies bumping elective lists, and the day's theatre list.

use crate::support;

use hmis_platform::auth::Scope;
use hmis_proto::openhmis::admissions::v1 as admissions_pb;
use hmis_proto::openhmis::core::v1 as core_pb;
use hmis_proto::openhmis::iam::v1 as iam_pb;
use hmis_proto::openhmis::inventory::v1 as inventory_pb;
use hmis_proto::openhmis::patients::v1 as patients_pb;
use hmis_proto::openhmis::statistics::v1 as statistics_pb;
use hmis_proto::openhmis::surgery::v1 as pb;
use pb::surgery_service_client::SurgeryServiceClient;
use sqlx::{Connection, PgConnection};
use support::{Session, TestApp, USER_PASSWORD, WardSpec, signed_in, violated_fields};
use tonic::Code;
use tonic::transport::Channel;

pub(crate) fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// 2026-12-07 (a Monday) at `hour`:`minute` in Chisinau (UTC+2 in winter).
fn at(hour: i64, minute: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: 1_796_601_600 + (hour - 2) * 3600 + minute * 60,
        nanos: 0,
    }
}

const DAY: &str = "2026-12-07";

/// A hospital with a surgical ward, an operating block of two theatres, the starter code
/// systems with graded procedures, and its staff: a desk, surgeons (the first holds grades up
/// to 3), an anaesthetist, a theatre nurse, a coordinator and the medical office.
pub(crate) struct Block {
    pub(crate) app: TestApp,
    pub(crate) admin: Session,
    pub(crate) desk: Session,
    pub(crate) coordinator: Session,
    pub(crate) office: Session,
    /// Surgeons' sessions and user ids.
    pub(crate) surgeons: Vec<(Session, String)>,
    pub(crate) anaesthetist: String,
    pub(crate) nurse: String,
    pub(crate) facility_id: String,
    pub(crate) ward_id: String,
    pub(crate) block_id: String,
    pub(crate) beds: Vec<String>,
    pub(crate) theatres: Vec<String>,
}

async fn user_id(app: &TestApp, session: &Session) -> String {
    iam_pb::auth_service_client::AuthServiceClient::new(app.channel.clone())
        .get_me(signed_in(session, iam_pb::GetMeRequest {}))
        .await
        .expect("who am i")
        .into_inner()
        .user_id
}

fn surgery(app: &TestApp) -> SurgeryServiceClient<Channel> {
    SurgeryServiceClient::new(app.channel.clone())
}

impl Block {
    pub(crate) async fn open(surgeons: usize) -> Self {
        let app = TestApp::spawn().await;
        let admin = app.coded_tenant("SRG").await;
        let facility = app.create_facility(&admin, "MAIN").await;
        let facility_uuid: uuid::Uuid = facility.id.parse().expect("facility id");
        let ward = app
            .open_ward(
                &admin,
                &facility.id,
                WardSpec::ward("SUR", "General surgery").beds("R1", "Room 1", 4),
            )
            .await;
        let block = app
            .open_ward(
                &admin,
                &facility.id,
                WardSpec::department(
                    "OB",
                    "Operating block",
                    core_pb::DepartmentKind::OperatingBlock,
                )
                .room("OR1", "Theatre 1", &[])
                .room("OR2", "Theatre 2", &[]),
            )
            .await;
        let rooms = app
            .facilities()
            .list_rooms(signed_in(
                &admin,
                core_pb::ListRoomsRequest {
                    department_id: block.id.clone(),
                    page_size: 10,
                    ..Default::default()
                },
            ))
            .await
            .expect("rooms")
            .into_inner()
            .rooms;
        let mut theatres = Vec::new();
        for room in &rooms {
            let theatre = surgery(&app)
                .create_theatre(signed_in(
                    &admin,
                    pb::CreateTheatreRequest {
                        request_id: request_id(),
                        room_id: room.id.clone(),
                        code: room.code.clone(),
                        name: room.name.clone(),
                        specialty_codes: vec!["general-surgery".to_owned()],
                        equipment: vec!["laparoscopy tower".to_owned()],
                    },
                ))
                .await
                .expect("theatre")
                .into_inner()
                .theatre
                .expect("theatre");
            theatres.push(theatre.id);
        }
        let tenant = admin.tenant_id;
        let facility_scope = Scope::Facility(facility_uuid);
        app.add_user(tenant, "desk", "registrar", facility_scope)
            .await;
        app.add_user(tenant, "coordinator", "theatre_coordinator", facility_scope)
            .await;
        app.add_user(tenant, "office", "medical_office", Scope::Tenant)
            .await;
        app.add_user(tenant, "anaesthetist", "physician", facility_scope)
            .await;
        app.add_user(tenant, "scrub", "nurse", facility_scope).await;
        let login = async |name: &str| {
            app.login("SRG", name, USER_PASSWORD)
                .await
                .expect("signs in")
        };
        let mut surgeon_sessions = Vec::new();
        for index in 0..surgeons {
            let name = format!("surgeon{index}");
            app.add_user(tenant, &name, "physician", facility_scope)
                .await;
            let session = login(&name).await;
            let id = user_id(&app, &session).await;
            surgeon_sessions.push((session, id));
        }
        let (desk, coordinator, office) = (
            login("desk").await,
            login("coordinator").await,
            login("office").await,
        );
        let anaesthetist = user_id(&app, &login("anaesthetist").await).await;
        let nurse = user_id(&app, &login("scrub").await).await;
        let block = Self {
            app,
            admin,
            desk,
            coordinator,
            office,
            surgeons: surgeon_sessions,
            anaesthetist,
            nurse,
            facility_id: facility.id,
            ward_id: ward.id,
            block_id: block.id.clone(),
            beds: ward.beds,
            theatres,
        };
        block
            .surgery()
            .set_procedure_grades(signed_in(
                &block.admin,
                pb::SetProcedureGradesRequest {
                    request_id: request_id(),
                    grades: [("30571-00", 2), ("30445-00", 3), ("38500-00", 5)]
                        .into_iter()
                        .map(|(code, grade)| pb::ProcedureGrade {
                            code: code.to_owned(),
                            grade,
                        })
                        .collect(),
                },
            ))
            .await
            .expect("grades");
        if let Some((_, first)) = block.surgeons.first() {
            block.grant(first, 3).await;
        }
        block
    }

    pub(crate) fn surgery(&self) -> SurgeryServiceClient<Channel> {
        surgery(&self.app)
    }

    pub(crate) fn surgeon(&self, index: usize) -> &str {
        &self.surgeons[index].1
    }

    async fn grant(&self, surgeon_id: &str, max_grade: i32) -> pb::Privilege {
        self.surgery()
            .grant_privilege(signed_in(
                &self.office,
                pb::GrantPrivilegeRequest {
                    request_id: request_id(),
                    surgeon_id: surgeon_id.to_owned(),
                    extent: Some(pb::grant_privilege_request::Extent::MaxGrade(max_grade)),
                    valid_from: "2026-01-01".to_owned(),
                    valid_until: "2027-12-31".to_owned(),
                },
            ))
            .await
            .expect("grant")
            .into_inner()
            .privilege
            .expect("privilege")
    }

    pub(crate) async fn register(&self, family: &str) -> String {
        patients_pb::patient_service_client::PatientServiceClient::new(self.app.channel.clone())
            .register_patient(signed_in(
                &self.desk,
                patients_pb::RegisterPatientRequest {
                    request_id: request_id(),
                    patient: Some(patients_pb::Patient {
                        family_name: family.to_owned(),
                        given_names: "Ion".to_owned(),
                        sex: patients_pb::Sex::Male.into(),
                        birth_date: "1970-03-02".to_owned(),
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
            .id
    }

    pub(crate) async fn admitted(&self, family: &str, bed: usize) -> admissions_pb::Admission {
        let patient_id = self.register(family).await;
        admissions_pb::admission_service_client::AdmissionServiceClient::new(
            self.app.channel.clone(),
        )
        .admit_patient(signed_in(
            &self.desk,
            admissions_pb::AdmitPatientRequest {
                request_id: request_id(),
                admission: Some(admissions_pb::Admission {
                    patient_id,
                    department_id: self.ward_id.clone(),
                    bed_id: self.beds[bed].clone(),
                    r#type: admissions_pb::AdmissionType::Emergency.into(),
                    admitting_diagnosis_code: "K35.8".to_owned(),
                    admitting_diagnosis_text: "Acute appendicitis".to_owned(),
                    ..Default::default()
                }),
            },
        ))
        .await
        .expect("admit")
        .into_inner()
        .admission
        .expect("admission")
    }

    /// A booking of `patient_id` in theatre `theatre` by surgeon `surgeon`, for an hour from
    /// `start`, of an appendicectomy (grade 2) unless `codes` says otherwise.
    pub(crate) fn booking(
        &self,
        theatre: usize,
        patient_id: &str,
        surgeon: usize,
        start: prost_types::Timestamp,
    ) -> pb::BookOperationRequest {
        pb::BookOperationRequest {
            request_id: request_id(),
            theatre_id: self.theatres[theatre].clone(),
            patient_id: patient_id.to_owned(),
            start_time: Some(start),
            duration_minutes: 60,
            priority: pb::Priority::Elective.into(),
            anaesthesia_type: pb::AnaesthesiaType::General.into(),
            procedure_codes: vec!["30571-00".to_owned()],
            primary_surgeon_id: self.surgeon(surgeon).to_owned(),
            ..Default::default()
        }
    }

    pub(crate) async fn book(
        &self,
        request: pb::BookOperationRequest,
    ) -> Result<pb::BookOperationResponse, tonic::Status> {
        self.surgery()
            .book_operation(signed_in(&self.coordinator, request))
            .await
            .map(tonic::Response::into_inner)
    }

    async fn list(&self, theatre_id: &str, surgeon_id: &str) -> pb::GetTheatreListResponse {
        self.surgery()
            .get_theatre_list(signed_in(
                &self.coordinator,
                pb::GetTheatreListRequest {
                    facility_id: self.facility_id.clone(),
                    day: DAY.to_owned(),
                    theatre_id: theatre_id.to_owned(),
                    surgeon_id: surgeon_id.to_owned(),
                },
            ))
            .await
            .expect("theatre list")
            .into_inner()
    }

    /// Waits until surgery has learnt the patient and the admission from their events.
    pub(crate) async fn known(&self, admission: &admissions_pb::Admission) {
        let mut owner = self.owner().await;
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
        let mut poll = tokio::time::interval(std::time::Duration::from_millis(25));
        loop {
            poll.tick().await;
            let (known,): (i64,) = sqlx::query_as(
                "SELECT (SELECT count(*) FROM surgery.known_patients WHERE patient_id = $1::uuid) \
                 + (SELECT count(*) FROM surgery.known_admissions WHERE admission_id = $2::uuid)",
            )
            .bind(&admission.patient_id)
            .bind(&admission.id)
            .fetch_one(&mut owner)
            .await
            .expect("known");
            if known == 2 {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "surgery never learnt the admission"
            );
        }
    }

    pub(crate) async fn owner(&self) -> PgConnection {
        PgConnection::connect_with(&self.app.db.owner_options())
            .await
            .expect("owner connection")
    }
}

/// Sixteen bookings racing: how many won, and every loser's status.
async fn race(
    block: &Block,
    requests: Vec<pb::BookOperationRequest>,
) -> (usize, Vec<tonic::Status>) {
    let attempts = requests.into_iter().map(|request| {
        let mut client = block.surgery();
        let session = block.coordinator.clone();
        tokio::spawn(async move { client.book_operation(signed_in(&session, request)).await })
    });
    let mut won = 0;
    let mut lost = Vec::new();
    for attempt in futures::future::join_all(attempts).await {
        match attempt.expect("the booking task ran") {
            Ok(_) => won += 1,
            Err(status) => lost.push(status),
        }
    }
    (won, lost)
}

#[tokio::test]
async fn sixteen_bookings_of_one_theatre_at_one_time_one_wins() {
    let block = Block::open(16).await;
    for index in 1..16 {
        block.grant(block.surgeon(index), 2).await;
    }
    let mut requests = Vec::new();
    for index in 0..16 {
        let patient = block.register(&format!("Racer{index}")).await;
        // Overlapping hours in theatre 1, each with its own surgeon and patient.
        let start = at(9, i64::try_from(index).expect("small") * 3);
        requests.push(block.booking(0, &patient, index, start));
    }
    let (won, lost) = race(&block, requests).await;
    assert_eq!(won, 1, "{lost:?}");
    assert_eq!(lost.len(), 15);
    for status in &lost {
        assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
        assert!(status.message().contains("theatre"), "{}", status.message());
    }
    assert_eq!(block.list(&block.theatres[0], "").await.operations.len(), 1);
}

#[tokio::test]
async fn one_surgeon_racing_into_two_theatres_is_booked_once() {
    let block = Block::open(1).await;
    let mut requests = Vec::new();
    for index in 0..16 {
        let patient = block.register(&format!("Twin{index}")).await;
        let start = at(13, i64::try_from(index).expect("small") * 2);
        requests.push(block.booking(index % 2, &patient, 0, start));
    }
    let (won, lost) = race(&block, requests).await;
    assert_eq!(won, 1, "{lost:?}");
    for status in &lost {
        assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    }
    let surgeon_list = block.list("", block.surgeon(0)).await;
    assert_eq!(surgeon_list.operations.len(), 1);
}

#[tokio::test]
async fn a_booking_is_listed_moved_cancelled_told_and_audited() {
    let block = Block::open(2).await;
    let admission = block.admitted("Munteanu", 0).await;
    // Surgery learns the patient and the admission from their events; once it has, a booking
    // asks neither module again, and its one audit record names the patient.
    block.known(&admission).await;
    let mut request = block.booking(0, &admission.patient_id, 0, at(8, 0));
    request.admission_id = admission.id.clone();
    request.assistant_ids = vec![block.surgeon(1).to_owned()];
    request.anaesthetist_id = block.anaesthetist.clone();
    request.scrub_nurse_id = block.nurse.clone();
    let retry = request.clone();
    let booked = block
        .book(request)
        .await
        .expect("booked")
        .operation
        .expect("operation");
    assert_eq!(booked.status, pb::OperationStatus::Scheduled as i32);
    assert_eq!(booked.procedures[0].grade, 2);
    assert_eq!(booked.procedures[0].display, "Appendicectomy");
    assert_eq!(booked.team.len(), 4);
    assert_eq!(booked.team[0].role, pb::TeamRole::PrimarySurgeon as i32);
    // The desk's retry (same request id) makes no second booking.
    let again = block
        .book(retry)
        .await
        .expect("replayed")
        .operation
        .expect("operation");
    assert_eq!(again.id, booked.id);

    // The assistant's own list, and the theatre's, have it; the other theatre's does not.
    let assistant_list = block.list("", block.surgeon(1)).await;
    assert_eq!(assistant_list.operations.len(), 1);
    assert!(
        block
            .list(&block.theatres[1], "")
            .await
            .operations
            .is_empty()
    );
    // The assistant cannot be in theatre 2 at the same time.
    let other = block.register("Other").await;
    let mut clash = block.booking(1, &other, 1, at(8, 30));
    clash.primary_surgeon_id = block.surgeon(1).to_owned();
    block.grant(block.surgeon(1), 2).await;
    let refused = block.book(clash).await.expect_err("the assistant is busy");
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert!(refused.message().contains("team"), "{}", refused.message());

    let moved = block
        .surgery()
        .reschedule_operation(signed_in(
            &block.coordinator,
            pb::RescheduleOperationRequest {
                request_id: request_id(),
                operation_id: booked.id.clone(),
                start_time: Some(at(11, 0)),
                duration_minutes: 90,
                theatre_id: block.theatres[1].clone(),
                etag: booked.etag.clone(),
            },
        ))
        .await
        .expect("rescheduled")
        .into_inner()
        .operation
        .expect("operation");
    assert_eq!(
        (moved.theatre_id.as_str(), moved.duration_minutes),
        (block.theatres[1].as_str(), 90)
    );
    // A stale screen cannot cancel it.
    let stale = block
        .surgery()
        .cancel_operation(signed_in(
            &block.coordinator,
            pb::CancelOperationRequest {
                request_id: request_id(),
                operation_id: booked.id.clone(),
                reason: "patient unfit".to_owned(),
                etag: booked.etag.clone(),
            },
        ))
        .await
        .expect_err("stale");
    assert_eq!(stale.code(), Code::Aborted);
    let cancelled = block
        .surgery()
        .cancel_operation(signed_in(
            &block.coordinator,
            pb::CancelOperationRequest {
                request_id: request_id(),
                operation_id: booked.id.clone(),
                reason: "patient unfit for anaesthesia".to_owned(),
                etag: moved.etag.clone(),
            },
        ))
        .await
        .expect("cancelled")
        .into_inner()
        .operation
        .expect("operation");
    assert_eq!(cancelled.status, pb::OperationStatus::Cancelled as i32);
    // The day's list keeps the cancelled booking, marked so.
    let list = block.list("", "").await;
    assert_eq!(list.operations.len(), 1);
    assert_eq!(
        list.operations[0].cancel_reason,
        "patient unfit for anaesthesia"
    );

    let mut owner = block.owner().await;
    let events: Vec<(String,)> =
        sqlx::query_as("SELECT event_type FROM surgery.outbox WHERE aggregate_id = $1 ORDER BY id")
            .bind(&booked.id)
            .fetch_all(&mut owner)
            .await
            .expect("events");
    let events: Vec<&str> = events.iter().map(|(kind,)| kind.as_str()).collect();
    assert_eq!(
        events,
        [
            "openhmis.surgery.v1.OperationScheduled",
            "openhmis.surgery.v1.OperationRescheduled",
            "openhmis.surgery.v1.OperationCancelled"
        ]
    );
    let patient: uuid::Uuid = admission.patient_id.parse().expect("patient id");
    let methods: Vec<(String, String)> = sqlx::query_as(
        "SELECT method, outcome FROM audit.records WHERE $1 = ANY(patient_ids) \
         AND method LIKE '/openhmis.surgery.v1.%' ORDER BY id",
    )
    .bind(patient)
    .fetch_all(&mut owner)
    .await
    .expect("audit records");
    let methods: Vec<String> = (methods.iter())
        .map(|(method, outcome)| {
            format!(
                "{} {outcome}",
                method.trim_start_matches("/openhmis.surgery.v1.SurgeryService/")
            )
        })
        .collect();
    assert_eq!(
        methods,
        [
            "BookOperation OK",
            "GetTheatreList OK",
            "RescheduleOperation OK",
            "CancelOperation OK",
            "GetTheatreList OK"
        ],
        "one record per call naming the patient (the retry is answered from the first)"
    );
}

#[tokio::test]
async fn privileges_refuse_allow_and_refuse_again_and_an_emergency_override_is_reviewed() {
    let block = Block::open(2).await;
    let patient = block.register("Rusu").await;
    let mut cholecystectomy = block.booking(0, &patient, 1, at(8, 0));
    cholecystectomy.procedure_codes = vec!["30445-00".to_owned()];

    let refused = block
        .book(cholecystectomy.clone())
        .await
        .expect_err("no privilege");
    assert_eq!(refused.code(), Code::PermissionDenied);
    assert!(
        refused.message().contains("30445-00"),
        "{}",
        refused.message()
    );

    let privilege = block.grant(block.surgeon(1), 3).await;
    let booked = block
        .book(pb::BookOperationRequest {
            request_id: request_id(),
            ..cholecystectomy.clone()
        })
        .await
        .expect("allowed after the grant")
        .operation
        .expect("operation");
    block
        .surgery()
        .cancel_operation(signed_in(
            &block.coordinator,
            pb::CancelOperationRequest {
                request_id: request_id(),
                operation_id: booked.id,
                reason: "moved to another day".to_owned(),
                etag: String::new(),
            },
        ))
        .await
        .expect("cancelled");

    let suspended = block
        .surgery()
        .change_privilege_status(signed_in(
            &block.office,
            pb::ChangePrivilegeStatusRequest {
                request_id: request_id(),
                privilege_id: privilege.id.clone(),
                status: pb::PrivilegeStatus::Suspended.into(),
                reason: "pending outcome review".to_owned(),
                etag: privilege.etag.clone(),
            },
        ))
        .await
        .expect("suspended")
        .into_inner()
        .privilege
        .expect("privilege");
    assert_eq!(suspended.status_reason, "pending outcome review");
    let refused = block
        .book(pb::BookOperationRequest {
            request_id: request_id(),
            ..cholecystectomy.clone()
        })
        .await
        .expect_err("suspended");
    assert_eq!(refused.code(), Code::PermissionDenied);
    // The coordinator may not grant privileges.
    let denied = block
        .surgery()
        .grant_privilege(signed_in(
            &block.coordinator,
            pb::GrantPrivilegeRequest {
                request_id: request_id(),
                surgeon_id: block.surgeon(1).to_owned(),
                extent: Some(pb::grant_privilege_request::Extent::MaxGrade(5)),
                ..Default::default()
            },
        ))
        .await
        .expect_err("not the medical office");
    assert_eq!(denied.code(), Code::PermissionDenied);

    // An emergency may go beyond, with a reason, and is listed for review.
    let emergency = block
        .book(pb::BookOperationRequest {
            request_id: request_id(),
            priority: pb::Priority::Emergency.into(),
            privilege_override_reason: "only surgeon on site, perforated gallbladder".to_owned(),
            ..cholecystectomy
        })
        .await
        .expect("emergency override")
        .operation
        .expect("operation");
    assert!(!emergency.privilege_override_reason.is_empty());
    let overrides = block
        .surgery()
        .list_privilege_overrides(signed_in(
            &block.office,
            pb::ListPrivilegeOverridesRequest {
                unreviewed_only: true,
            },
        ))
        .await
        .expect("overrides")
        .into_inner()
        .overrides;
    assert_eq!(overrides.len(), 1);
    assert_eq!(overrides[0].operation_id, emergency.id);
    assert_eq!(overrides[0].procedure_codes, ["30445-00"]);
    block
        .surgery()
        .review_privilege_override(signed_in(
            &block.office,
            pb::ReviewPrivilegeOverrideRequest {
                request_id: request_id(),
                override_id: overrides[0].id.clone(),
                note: "justified".to_owned(),
            },
        ))
        .await
        .expect("reviewed");
    let unreviewed = block
        .surgery()
        .list_privilege_overrides(signed_in(
            &block.office,
            pb::ListPrivilegeOverridesRequest {
                unreviewed_only: true,
            },
        ))
        .await
        .expect("overrides")
        .into_inner()
        .overrides;
    assert!(unreviewed.is_empty());

    // A grade-5 procedure is beyond the first surgeon's grade 3 until it is named.
    let other = block.register("Cojocaru").await;
    let mut bypass = block.booking(1, &other, 0, at(14, 0));
    bypass.procedure_codes = vec!["38500-00".to_owned()];
    let refused = block.book(bypass.clone()).await.expect_err("grade 5");
    assert!(
        refused.message().contains("38500-00"),
        "{}",
        refused.message()
    );
    block
        .surgery()
        .grant_privilege(signed_in(
            &block.office,
            pb::GrantPrivilegeRequest {
                request_id: request_id(),
                surgeon_id: block.surgeon(0).to_owned(),
                extent: Some(pb::grant_privilege_request::Extent::ProcedureCode(
                    "38500-00".to_owned(),
                )),
                valid_from: "2026-12-01".to_owned(),
                valid_until: String::new(),
            },
        ))
        .await
        .expect("named procedure");
    block
        .book(pb::BookOperationRequest {
            request_id: request_id(),
            ..bypass
        })
        .await
        .expect("allowed by name");
}

#[tokio::test]
async fn an_emergency_bumps_elective_bookings_but_not_urgent_ones() {
    let block = Block::open(1).await;
    let elective_patient = block.register("Elective").await;
    let urgent_patient = block.register("Urgent").await;
    let emergency_patient = block.register("Emergency").await;
    let elective = block
        .book(block.booking(0, &elective_patient, 0, at(10, 0)))
        .await
        .expect("elective")
        .operation
        .expect("operation");
    let mut urgent = block.booking(0, &urgent_patient, 0, at(11, 0));
    urgent.priority = pb::Priority::Urgent.into();
    block.book(urgent).await.expect("urgent");

    let mut emergency = block.booking(0, &emergency_patient, 0, at(10, 30));
    emergency.priority = pb::Priority::Emergency.into();
    emergency.bump_elective = true;
    let blocked = block
        .book(emergency.clone())
        .await
        .expect_err("the urgent one stays");
    assert_eq!(blocked.code(), Code::FailedPrecondition);

    emergency.request_id = request_id();
    emergency.start_time = Some(at(10, 0));
    emergency.duration_minutes = 45;
    let bumping = block.book(emergency).await.expect("bumps the elective");
    assert_eq!(
        bumping.bumped_operation_ids,
        std::slice::from_ref(&elective.id)
    );
    let bumped = block
        .surgery()
        .get_operation(signed_in(
            &block.coordinator,
            pb::GetOperationRequest {
                id: elective.id.clone(),
            },
        ))
        .await
        .expect("get")
        .into_inner()
        .operation
        .expect("operation");
    assert_eq!(bumped.status, pb::OperationStatus::Bumped as i32);
    assert_eq!(
        bumped.bumped_by_operation_id,
        bumping.operation.expect("operation").id
    );
    let mut owner = block.owner().await;
    let (told,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM surgery.outbox WHERE aggregate_id = $1 \
         AND event_type = 'openhmis.surgery.v1.OperationCancelled'",
    )
    .bind(&elective.id)
    .fetch_one(&mut owner)
    .await
    .expect("events");
    assert_eq!(told, 1);
}

#[tokio::test]
async fn wrong_bookings_name_their_fields() {
    let block = Block::open(1).await;
    let status = block
        .book(pb::BookOperationRequest::default())
        .await
        .expect_err("empty");
    assert_eq!(status.code(), Code::InvalidArgument);
    let fields = violated_fields(&status);
    for field in [
        "request_id",
        "theatre_id",
        "patient_id",
        "start_time",
        "priority",
        "anaesthesia_type",
        "procedure_codes",
        "primary_surgeon_id",
    ] {
        assert!(fields.iter().any(|f| f == field), "{field} in {fields:?}");
    }
    let patient = block.register("Fields").await;
    let mut wrong = block.booking(0, &patient, 0, at(9, 0));
    wrong.bump_elective = true;
    wrong.duration_minutes = 3000;
    wrong.assistant_ids = vec![block.surgeon(0).to_owned()];
    let status = block.book(wrong).await.expect_err("wrong");
    assert_eq!(
        violated_fields(&status),
        ["duration_minutes", "assistant_ids", "bump_elective"]
    );
    let mut unknown = block.booking(0, &patient, 0, at(9, 0));
    unknown.procedure_codes = vec!["99999-99".to_owned()];
    let status = block.book(unknown).await.expect_err("unknown code");
    assert_eq!(violated_fields(&status), ["procedure_codes"]);
}

/// The WHO checklist's items of each pause, all confirmed.
pub(crate) const SIGN_IN: &[&str] = &[
    "identity",
    "site-marked",
    "consent",
    "anaesthesia-check",
    "pulse-oximeter",
    "allergy",
    "airway",
    "blood-loss-risk",
];
pub(crate) const TIME_OUT: &[&str] = &[
    "team-introduced",
    "patient-site-procedure",
    "antibiotic-prophylaxis",
    "critical-events",
    "imaging-displayed",
];
pub(crate) const SIGN_OUT: &[&str] = &[
    "procedure-recorded",
    "counts-correct",
    "specimens-labelled",
    "equipment-problems",
    "recovery-concerns",
];

pub(crate) fn minutes_ago(minutes: i64) -> prost_types::Timestamp {
    let at = chrono::Utc::now() - chrono::Duration::minutes(minutes);
    prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: 0,
    }
}

pub(crate) fn inventory(
    app: &TestApp,
) -> inventory_pb::inventory_service_client::InventoryServiceClient<Channel> {
    inventory_pb::inventory_service_client::InventoryServiceClient::new(app.channel.clone())
}

#[tokio::test]
async fn the_day_of_surgery_runs_checklist_times_records_and_consumption_through_the_ledger() {
    let block = Block::open(1).await;
    let tenant = block.admin.tenant_id;
    let block_uuid: uuid::Uuid = block.block_id.parse().expect("block id");
    let facility_uuid: uuid::Uuid = block.facility_id.parse().expect("facility id");
    block
        .app
        .add_user(
            tenant,
            "theatre_nurse",
            "theatre_nurse",
            Scope::Department(block_uuid),
        )
        .await;
    block
        .app
        .add_user(
            tenant,
            "pharmacist",
            "pharmacist",
            Scope::Facility(facility_uuid),
        )
        .await;
    let nurse = block
        .app
        .login("SRG", "theatre_nurse", USER_PASSWORD)
        .await
        .expect("nurse");
    let pharmacist = block
        .app
        .login("SRG", "pharmacist", USER_PASSWORD)
        .await
        .expect("pharmacist");
    let surgeon = block.surgeons[0].0.clone();

    // The operating block's warehouse holds ten sutures.
    let warehouse = inventory(&block.app)
        .create_warehouse(signed_in(
            &pharmacist,
            inventory_pb::CreateWarehouseRequest {
                request_id: request_id(),
                warehouse: Some(inventory_pb::Warehouse {
                    code: "OB-STOCK".to_owned(),
                    name: "Operating block stock".to_owned(),
                    kind: inventory_pb::WarehouseKind::OperatingBlock.into(),
                    facility_id: block.facility_id.clone(),
                    department_id: block.block_id.clone(),
                    ..Default::default()
                }),
            },
        ))
        .await
        .expect("warehouse")
        .into_inner()
        .warehouse
        .expect("warehouse")
        .id;
    let suture = inventory(&block.app)
        .create_item(signed_in(
            &pharmacist,
            inventory_pb::CreateItemRequest {
                request_id: request_id(),
                item: Some(inventory_pb::Item {
                    code: "SUT-30".to_owned(),
                    name: "Absorbable suture 3-0".to_owned(),
                    item_class: inventory_pb::ItemClass::Auxiliary.into(),
                    base_unit: "piece".to_owned(),
                    ..Default::default()
                }),
            },
        ))
        .await
        .expect("item")
        .into_inner()
        .item
        .expect("item")
        .id;
    inventory(&block.app)
        .receive_stock(signed_in(
            &pharmacist,
            inventory_pb::ReceiveStockRequest {
                request_id: request_id(),
                warehouse_id: warehouse.clone(),
                supplier: "Medsupply".to_owned(),
                invoice_number: "INV-77".to_owned(),
                lines: vec![inventory_pb::ReceiptLine {
                    item_id: suture.clone(),
                    lot_number: "L1".to_owned(),
                    expiry_date: "2029-01-01".to_owned(),
                    quantity: "10".to_owned(),
                    unit: String::new(),
                    unit_cost: "4.5".to_owned(),
                    provenance: inventory_pb::Provenance::Purchase.into(),
                }],
            },
        ))
        .await
        .expect("received");
    block
        .surgery()
        .set_procedure_pack(signed_in(
            &block.admin,
            pb::SetProcedurePackRequest {
                request_id: request_id(),
                procedure_code: "30571-00".to_owned(),
                lines: vec![pb::ConsumedItem {
                    item_id: suture.clone(),
                    quantity: "2".to_owned(),
                }],
            },
        ))
        .await
        .expect("pack");

    let admission = block.admitted("Ciobanu", 1).await;
    block.known(&admission).await;
    let mut request = block.booking(0, &admission.patient_id, 0, minutes_ago(40));
    request.admission_id = admission.id.clone();
    request.scrub_nurse_id = block.nurse.clone();
    let operation = block
        .book(request)
        .await
        .expect("booked")
        .operation
        .expect("operation");
    let id = operation.id.clone();
    let mut api = block.surgery();

    let milestone = |milestone: pb::Milestone, ago: i64| pb::RecordMilestoneRequest {
        request_id: request_id(),
        operation_id: id.clone(),
        milestone: milestone.into(),
        time: Some(minutes_ago(ago)),
    };
    let phase = |phase: pb::ChecklistPhase, items: &[&str]| pb::ConfirmChecklistPhaseRequest {
        request_id: request_id(),
        operation_id: id.clone(),
        phase: phase.into(),
        confirmed_items: items.iter().map(|item| (*item).to_owned()).collect(),
    };
    let started = api
        .record_milestone(signed_in(&nurse, milestone(pb::Milestone::IntoRoom, 30)))
        .await
        .expect("into the room")
        .into_inner()
        .operation
        .expect("operation");
    assert_eq!(started.status, pb::OperationStatus::InProgress as i32);
    let early = api
        .record_milestone(signed_in(
            &nurse,
            milestone(pb::Milestone::AnaesthesiaStart, 28),
        ))
        .await
        .expect_err("no sign in yet");
    assert_eq!(early.code(), Code::FailedPrecondition);
    assert!(early.message().contains("sign_in"), "{}", early.message());
    let partial = api
        .confirm_checklist_phase(signed_in(
            &nurse,
            phase(pb::ChecklistPhase::SignIn, &SIGN_IN[1..]),
        ))
        .await
        .expect_err("identity left out");
    assert_eq!(violated_fields(&partial), ["confirmed_items"]);
    assert!(
        partial.message().contains("identity"),
        "{}",
        partial.message()
    );
    api.confirm_checklist_phase(signed_in(
        &nurse,
        phase(pb::ChecklistPhase::SignIn, SIGN_IN),
    ))
    .await
    .expect("sign in");
    api.record_milestone(signed_in(
        &nurse,
        milestone(pb::Milestone::AnaesthesiaStart, 28),
    ))
    .await
    .expect("anaesthesia");
    let no_time_out = api
        .record_milestone(signed_in(&nurse, milestone(pb::Milestone::Incision, 25)))
        .await
        .expect_err("no time out");
    assert_eq!(no_time_out.code(), Code::FailedPrecondition);
    api.confirm_checklist_phase(signed_in(
        &nurse,
        phase(pb::ChecklistPhase::TimeOut, TIME_OUT),
    ))
    .await
    .expect("time out");
    api.record_milestone(signed_in(&nurse, milestone(pb::Milestone::Incision, 25)))
        .await
        .expect("incision");
    let backwards = api
        .record_milestone(signed_in(&nurse, milestone(pb::Milestone::Closure, 27)))
        .await
        .expect_err("before the incision");
    assert_eq!(violated_fields(&backwards), ["time"]);
    api.record_milestone(signed_in(&nurse, milestone(pb::Milestone::Closure, 8)))
        .await
        .expect("closure");

    // The operation's record: a draft, then signed, then only amended with a reason.
    let note = |findings: &str| pb::OperationNote {
        performed_procedure_codes: vec!["30571-00".to_owned()],
        findings: findings.to_owned(),
        complications: String::new(),
        blood_loss_ml: 50,
        implants: vec![],
        specimens: vec![pb::Specimen {
            description: "Appendix".to_owned(),
            to_pathology: true,
        }],
    };
    let write = |content, sign: bool, reason: &str, etag: &str| pb::WriteRecordRequest {
        request_id: request_id(),
        operation_id: id.clone(),
        content: Some(content),
        sign,
        amendment_reason: reason.to_owned(),
        etag: etag.to_owned(),
    };
    use pb::write_record_request::Content;
    let draft = api
        .write_record(signed_in(
            &surgeon,
            write(Content::Operation(note("Inflamed appendix")), false, "", ""),
        ))
        .await
        .expect("draft")
        .into_inner()
        .record
        .expect("record");
    let signed = api
        .write_record(signed_in(
            &surgeon,
            write(
                Content::Operation(note("Phlegmonous appendix")),
                true,
                "",
                &draft.etag,
            ),
        ))
        .await
        .expect("signed")
        .into_inner()
        .record
        .expect("record");
    assert!(signed.signed);
    let unexplained = api
        .write_record(signed_in(
            &surgeon,
            write(
                Content::Operation(note("Gangrenous appendix")),
                true,
                "",
                &signed.etag,
            ),
        ))
        .await
        .expect_err("a signed record needs a reason to change");
    assert_eq!(violated_fields(&unexplained), ["amendment_reason"]);
    let amended = api
        .write_record(signed_in(
            &surgeon,
            write(
                Content::Operation(note("Gangrenous appendix")),
                true,
                "pathology of the specimen seen",
                &signed.etag,
            ),
        ))
        .await
        .expect("amended")
        .into_inner()
        .record
        .expect("record");
    assert_eq!(amended.version, 3);
    let stale = api
        .write_record(signed_in(
            &surgeon,
            write(
                Content::Operation(note("again")),
                true,
                "typo",
                &signed.etag,
            ),
        ))
        .await
        .expect_err("stale");
    assert_eq!(stale.code(), Code::Aborted);
    let anaesthesia = pb::AnaesthesiaNote {
        asa_class: 2,
        asa_emergency: true,
        technique: pb::AnaesthesiaType::General.into(),
        drugs: vec![pb::AnaesthesiaDrug {
            name: "Propofol".to_owned(),
            dose: "150".to_owned(),
            unit: "mg".to_owned(),
            time: Some(minutes_ago(28)),
        }],
        vitals: vec![pb::VitalSign {
            time: Some(minutes_ago(20)),
            code: "8867-4".to_owned(),
            value: "72".to_owned(),
            unit: "/min".to_owned(),
        }],
        events: vec![],
    };
    api.write_record(signed_in(
        &surgeon,
        write(Content::Anaesthesia(anaesthesia), true, "", ""),
    ))
    .await
    .expect("anaesthesia record");
    let versions = api
        .list_record_versions(signed_in(
            &block.coordinator,
            pb::ListRecordVersionsRequest {
                operation_id: id.clone(),
                kind: pb::RecordKind::Operation.into(),
            },
        ))
        .await
        .expect("versions")
        .into_inner()
        .versions;
    let kept: Vec<(i32, bool, &str)> = (versions.iter())
        .map(|version| {
            (
                version.version,
                version.signed,
                version.amendment_reason.as_str(),
            )
        })
        .collect();
    assert_eq!(
        kept,
        [
            (1, false, ""),
            (2, true, ""),
            (3, true, "pathology of the specimen seen")
        ]
    );

    // What the operation used, pre-filled from the pack, leaves the ledger to the patient.
    let pack = api
        .get_operation_pack(signed_in(
            &nurse,
            pb::GetOperationPackRequest {
                operation_id: id.clone(),
            },
        ))
        .await
        .expect("pack")
        .into_inner()
        .lines;
    assert_eq!(pack.len(), 1);
    assert_eq!(
        (pack[0].item_id.as_str(), pack[0].quantity.as_str()),
        (suture.as_str(), "2")
    );
    let consume = |quantity: &str| pb::RecordConsumptionRequest {
        request_id: request_id(),
        operation_id: id.clone(),
        warehouse_id: warehouse.clone(),
        lines: vec![pb::ConsumedItem {
            item_id: suture.clone(),
            quantity: quantity.to_owned(),
        }],
    };
    let too_much = api
        .record_consumption(signed_in(&nurse, consume("20")))
        .await
        .expect_err("only ten in stock");
    assert_eq!(too_much.code(), Code::FailedPrecondition);
    let consumed = api
        .record_consumption(signed_in(&nurse, consume("3")))
        .await
        .expect("consumed")
        .into_inner();
    assert_eq!(consumed.consumed[0].quantity, "3");
    let stock = inventory(&block.app)
        .get_stock(signed_in(
            &pharmacist,
            inventory_pb::GetStockRequest {
                warehouse_id: warehouse.clone(),
                item_id: suture.clone(),
            },
        ))
        .await
        .expect("stock")
        .into_inner()
        .lines;
    assert_eq!(stock[0].quantity, "7");
    let movements = inventory(&block.app)
        .list_movements(signed_in(
            &pharmacist,
            inventory_pb::ListMovementsRequest {
                warehouse_id: warehouse.clone(),
                item_id: suture.clone(),
                page_size: 10,
                page_token: String::new(),
            },
        ))
        .await
        .expect("movements")
        .into_inner()
        .movements;
    let issue = movements
        .iter()
        .find(|movement| movement.id == consumed.movement_ids[0])
        .expect("the issue is in the ledger");
    assert_eq!(
        (
            issue.document_type.as_str(),
            issue.document_id.as_str(),
            issue.patient_id.as_str()
        ),
        ("operation", id.as_str(), admission.patient_id.as_str())
    );

    // Out of the room only after the sign out; then the operation is completed.
    let not_yet = api
        .record_milestone(signed_in(&nurse, milestone(pb::Milestone::OutOfRoom, 2)))
        .await
        .expect_err("no sign out");
    assert_eq!(not_yet.code(), Code::FailedPrecondition);
    api.confirm_checklist_phase(signed_in(
        &nurse,
        phase(pb::ChecklistPhase::SignOut, SIGN_OUT),
    ))
    .await
    .expect("sign out");
    let completed = api
        .record_milestone(signed_in(&nurse, milestone(pb::Milestone::OutOfRoom, 2)))
        .await
        .expect("out of the room")
        .into_inner()
        .operation
        .expect("operation");
    assert_eq!(completed.status, pb::OperationStatus::Completed as i32);
    assert_eq!(completed.checklist.len(), 3);
    assert_eq!(completed.times.len(), 5);
    assert_eq!(
        completed.checklist[0].confirmed_by,
        user_id(&block.app, &nurse).await
    );

    let mut owner = block.owner().await;
    let events: Vec<(String,)> =
        sqlx::query_as("SELECT event_type FROM surgery.outbox WHERE aggregate_id = $1 ORDER BY id")
            .bind(&id)
            .fetch_all(&mut owner)
            .await
            .expect("events");
    let events: Vec<&str> = events
        .iter()
        .map(|(kind,)| kind.trim_start_matches("openhmis.surgery.v1."))
        .collect();
    assert_eq!(
        events,
        [
            "OperationScheduled",
            "OperationStarted",
            "OperationCompleted"
        ]
    );

    // She bleeds: an urgent return to theatre 2 within the 30 days.
    let mut back = block.booking(1, &admission.patient_id, 0, minutes_ago(1));
    back.admission_id = admission.id.clone();
    back.priority = pb::Priority::Urgent.into();
    let back = block
        .book(back)
        .await
        .expect("return to theatre")
        .operation
        .expect("operation");
    api.record_milestone(signed_in(
        &nurse,
        pb::RecordMilestoneRequest {
            request_id: request_id(),
            operation_id: back.id.clone(),
            milestone: pb::Milestone::IntoRoom.into(),
            time: None,
        },
    ))
    .await
    .expect("back into the room");

    // The statistics office counts it from the events: completed in its specialty, the return
    // to theatre, and the theatre's used minutes from into the room to out of it.
    block
        .app
        .add_user(
            tenant,
            "statistician",
            "statistician",
            Scope::Facility(facility_uuid),
        )
        .await;
    let statistician = block
        .app
        .login("SRG", "statistician", USER_PASSWORD)
        .await
        .expect("statistician");
    let today = chrono::Utc::now().date_naive();
    let (from, to) = (
        (today - chrono::Duration::days(1)).to_string(),
        (today + chrono::Duration::days(1)).to_string(),
    );
    let mut statistics = statistics_pb::statistics_service_client::StatisticsServiceClient::new(
        block.app.channel.clone(),
    );
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut poll = tokio::time::interval(std::time::Duration::from_millis(50));
    let activity = loop {
        poll.tick().await;
        let activity = statistics
            .get_surgical_activity(signed_in(
                &statistician,
                statistics_pb::GetSurgicalActivityRequest {
                    facility_id: block.facility_id.clone(),
                    from_date: from.clone(),
                    to_date: to.clone(),
                    grouping: statistics_pb::SurgicalGrouping::Specialty.into(),
                },
            ))
            .await
            .expect("surgical activity")
            .into_inner();
        if activity.unplanned_returns == 1
            && activity
                .lines
                .last()
                .is_some_and(|total| total.completed == 1 && total.open == 1)
        {
            break activity;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never counted: {activity:?}"
        );
    };
    assert_eq!(activity.lines[0].group, "general-surgery");
    assert_eq!(
        (activity.lines[0].completed, activity.lines[0].cancelled),
        (1, 0)
    );
    let utilisation = statistics
        .get_theatre_utilisation(signed_in(
            &statistician,
            statistics_pb::GetTheatreUtilisationRequest {
                facility_id: block.facility_id.clone(),
                from_date: from,
                to_date: to,
            },
        ))
        .await
        .expect("utilisation")
        .into_inner();
    assert_eq!(utilisation.lines.len(), 2, "both theatres");
    let theatre = (utilisation.lines.iter())
        .find(|line| line.theatre_id == block.theatres[0])
        .expect("theatre 1");
    assert_eq!(
        (
            theatre.theatre_id.as_str(),
            theatre.operations,
            theatre.booked_minutes,
            theatre.used_minutes
        ),
        (block.theatres[0].as_str(), 1, 60, 28)
    );
    assert_eq!(
        theatre.late_starts, 0,
        "into the room 10 minutes after the planned start"
    );

    // One record per call that touched the patient (refused and failed attempts leave none,
    // the ledger's issue is the consumption's record).
    let patient: uuid::Uuid = admission.patient_id.parse().expect("patient id");
    let methods: Vec<(String, i64)> = sqlx::query_as(
        "SELECT method, count(*) FROM audit.records WHERE $1 = ANY(patient_ids) \
         AND method LIKE '/openhmis.surgery.v1.%' GROUP BY method ORDER BY method",
    )
    .bind(patient)
    .fetch_all(&mut owner)
    .await
    .expect("audit records");
    let methods: Vec<(&str, i64)> = (methods.iter())
        .map(|(method, count)| {
            (
                method.trim_start_matches("/openhmis.surgery.v1.SurgeryService/"),
                *count,
            )
        })
        .collect();
    assert_eq!(
        methods,
        [
            ("BookOperation", 2),
            ("ConfirmChecklistPhase", 3),
            ("ListRecordVersions", 1),
            ("RecordConsumption", 1),
            ("RecordMilestone", 6),
            ("WriteRecord", 4),
        ]
    );
}
