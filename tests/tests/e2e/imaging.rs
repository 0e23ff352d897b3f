//! Imaging over real gRPC: a physician's imaging referral becomes an order with one
//! examination per procedure, each with its accession number and study instance UID; the
//! radiographers' worklist by modality and room, the ward's view, scheduling into a room of
//! the right modality, the examination performed with the modality's own UID; the
//! radiologist's draft, signed (a draft written over since is refused), amended as a new
//! version that keeps the signed one; the signed report in the medical extract; a signed
//! report the database refuses to change, and one altered behind its back found not intact;
//! turnaround and workload by modality.

use crate::support;

use hmis_platform::auth::Scope;
use hmis_proto::openhmis::encounters::v1 as encounters_pb;
use hmis_proto::openhmis::imaging::v1 as pb;
use pb::imaging_service_client::ImagingServiceClient;
use sqlx::{Connection, PgConnection};
use support::{Session, TestApp, WardSpec, eventually, signed_in, violated_fields};
use tonic::Code;
use tonic::transport::Channel;

fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn imaging(app: &TestApp) -> ImagingServiceClient<Channel> {
    ImagingServiceClient::new(app.channel.clone())
}

fn encounters(
    app: &TestApp,
) -> encounters_pb::encounter_service_client::EncounterServiceClient<Channel> {
    encounters_pb::encounter_service_client::EncounterServiceClient::new(app.channel.clone())
}

const CHEST: &str = "58500-00";
const ABDOMEN: &str = "55036-00";
/// In the procedure classification, not in the imaging catalogue of this test.
const CT_BRAIN: &str = "56001-00";

fn status(exam: &pb::Exam) -> pb::ExamStatus {
    pb::ExamStatus::try_from(exam.status).expect("a known status")
}

fn exam_of<'a>(order: &'a pb::Order, code: &str) -> &'a pb::Exam {
    order
        .exams
        .iter()
        .find(|exam| exam.service_code == code)
        .unwrap_or_else(|| panic!("an examination for {code}"))
}

/// What every examination answer is, unwrapped.
trait Answered {
    fn exam(self) -> pb::Exam;
}

macro_rules! answered {
    ($($response:ty),+) => {
        $(impl Answered for tonic::Response<$response> {
            fn exam(self) -> pb::Exam {
                self.into_inner().exam.expect("the examination")
            }
        })+
    };
}

answered!(
    pb::ScheduleExamResponse,
    pb::StartExamResponse,
    pb::CompleteExamResponse,
    pb::SaveReportResponse,
    pb::SignReportResponse,
    pb::CancelExamResponse
);

/// A hospital with one ward and its imaging department: two services, a radiography and an
/// ultrasound room, a radiographer and a radiologist.
struct Radiology {
    app: TestApp,
    desk: Session,
    doctor: Session,
    nurse: Session,
    radiographer: Session,
    radiologist: Session,
    facility_id: String,
    ward_id: String,
    beds: Vec<String>,
    xray_room: String,
    us_room: String,
}

impl Radiology {
    async fn open() -> Self {
        let app = TestApp::spawn().await;
        let admin = app.coded_tenant("IMG").await;
        let facility = app.create_facility(&admin, "MAIN").await;
        let ward = app
            .open_ward(
                &admin,
                &facility.id,
                WardSpec::ward("INT", "Internal medicine").beds("R1", "Room 1", 2),
            )
            .await;
        let facility_uuid: uuid::Uuid = facility.id.parse().expect("facility id");
        let ward_uuid: uuid::Uuid = ward.id.parse().expect("ward id");
        let staff = |name: &'static str, role: &'static str, scope: Scope| {
            let (app, admin) = (&app, &admin);
            async move { app.staff(admin, "IMG", name, role, scope).await }
        };
        let desk = staff("desk", "registrar", Scope::Facility(facility_uuid)).await;
        let doctor = staff("doctor", "physician", Scope::Department(ward_uuid)).await;
        let nurse = staff("nurse", "nurse", Scope::Department(ward_uuid)).await;
        let radiographer = staff(
            "radiographer",
            "radiographer",
            Scope::Facility(facility_uuid),
        )
        .await;
        let radiologist = staff("radiologist", "radiologist", Scope::Facility(facility_uuid)).await;
        for (code, name, modality) in [
            (CHEST, "Radiography of chest", pb::Modality::Xray),
            (ABDOMEN, "Ultrasound of abdomen", pb::Modality::Ultrasound),
        ] {
            imaging(&app)
                .set_service(signed_in(
                    &admin,
                    pb::SetServiceRequest {
                        service: Some(pb::Service {
                            code: code.to_owned(),
                            name: name.to_owned(),
                            modality: modality.into(),
                            duration_minutes: 15,
                            active: true,
                            ..Default::default()
                        }),
                        etag: String::new(),
                    },
                ))
                .await
                .expect("a service of the catalogue");
        }
        let mut rooms = Vec::new();
        for (code, modality) in [
            ("RX-1", pb::Modality::Xray),
            ("US-1", pb::Modality::Ultrasound),
        ] {
            let room = imaging(&app)
                .set_room(signed_in(
                    &admin,
                    pb::SetRoomRequest {
                        request_id: request_id(),
                        room: Some(pb::Room {
                            code: code.to_owned(),
                            name: format!("Room {code}"),
                            facility_id: facility.id.clone(),
                            modality: modality.into(),
                            ae_title: format!("MAIN_{code}"),
                            active: true,
                            ..Default::default()
                        }),
                    },
                ))
                .await
                .expect("a room")
                .into_inner()
                .room
                .expect("the room");
            rooms.push(room.id);
        }
        Self {
            app,
            desk,
            doctor,
            nurse,
            radiographer,
            radiologist,
            facility_id: facility.id,
            ward_id: ward.id,
            beds: ward.beds,
            us_room: rooms.pop().expect("ultrasound room"),
            xray_room: rooms.pop().expect("radiography room"),
        }
    }

    /// The physician refers the encounter for `codes`; answers imaging's order once it has
    /// arrived.
    async fn ordered(&self, encounter: &encounters_pb::Encounter, codes: &[&str]) -> pb::Order {
        encounters(&self.app)
            .create_referral(signed_in(
                &self.doctor,
                encounters_pb::CreateReferralRequest {
                    request_id: request_id(),
                    referral: Some(encounters_pb::Referral {
                        encounter_id: encounter.id.clone(),
                        kind: encounters_pb::ReferralKind::Imaging.into(),
                        investigation_codes: codes.iter().map(|c| (*c).to_owned()).collect(),
                        reason: "fever and cough, abdominal pain".to_owned(),
                        urgency: encounters_pb::Urgency::Urgent.into(),
                        ..Default::default()
                    }),
                },
            ))
            .await
            .expect("referral");
        eventually("the order reaches imaging", || async {
            imaging(&self.app)
                .list_patient_orders(signed_in(
                    &self.radiographer,
                    pb::ListPatientOrdersRequest {
                        patient_id: encounter.patient_id.clone(),
                    },
                ))
                .await
                .expect("patient's orders")
                .into_inner()
                .orders
                .pop()
        })
        .await
    }

    async fn order(&self, order_id: &str) -> pb::Order {
        imaging(&self.app)
            .get_order(signed_in(
                &self.nurse,
                pb::GetOrderRequest {
                    order_id: order_id.to_owned(),
                },
            ))
            .await
            .expect("the order")
            .into_inner()
            .order
            .expect("order")
    }

    async fn worklist(&self, session: &Session, request: pb::ListWorklistRequest) -> Vec<pb::Exam> {
        imaging(&self.app)
            .list_worklist(signed_in(session, request))
            .await
            .expect("worklist")
            .into_inner()
            .exams
    }

    async fn schedule(&self, exam: &pb::Exam, room: &str) -> Result<pb::Exam, tonic::Status> {
        imaging(&self.app)
            .schedule_exam(signed_in(
                &self.radiographer,
                pb::ScheduleExamRequest {
                    request_id: request_id(),
                    exam_id: exam.id.clone(),
                    room_id: room.to_owned(),
                    scheduled_time: Some(prost_types::Timestamp::from(
                        std::time::SystemTime::now() + std::time::Duration::from_secs(3600),
                    )),
                },
            ))
            .await
            .map(Answered::exam)
    }

    async fn start(&self, exam: &pb::Exam) -> Result<pb::Exam, tonic::Status> {
        imaging(&self.app)
            .start_exam(signed_in(
                &self.radiographer,
                pb::StartExamRequest {
                    request_id: request_id(),
                    exam_id: exam.id.clone(),
                },
            ))
            .await
            .map(Answered::exam)
    }

    async fn complete(&self, exam: &pb::Exam, study_uid: &str) -> Result<pb::Exam, tonic::Status> {
        imaging(&self.app)
            .complete_exam(signed_in(
                &self.radiographer,
                pb::CompleteExamRequest {
                    request_id: request_id(),
                    exam_id: exam.id.clone(),
                    study_instance_uid: study_uid.to_owned(),
                    technique_note: "PA and lateral views".to_owned(),
                },
            ))
            .await
            .map(Answered::exam)
    }

    async fn save(
        &self,
        session: &Session,
        exam: &pb::Exam,
        (findings, conclusion, amendment): (&str, &str, &str),
    ) -> Result<pb::Exam, tonic::Status> {
        imaging(&self.app)
            .save_report(signed_in(
                session,
                pb::SaveReportRequest {
                    request_id: request_id(),
                    exam_id: exam.id.clone(),
                    findings: findings.to_owned(),
                    conclusion: conclusion.to_owned(),
                    amendment_reason: amendment.to_owned(),
                },
            ))
            .await
            .map(Answered::exam)
    }

    async fn sign(&self, exam: &pb::Exam, report_id: &str) -> Result<pb::Exam, tonic::Status> {
        imaging(&self.app)
            .sign_report(signed_in(
                &self.radiologist,
                pb::SignReportRequest {
                    request_id: request_id(),
                    exam_id: exam.id.clone(),
                    report_id: report_id.to_owned(),
                },
            ))
            .await
            .map(Answered::exam)
    }
}

#[tokio::test]
async fn an_imaging_referral_goes_from_the_worklist_to_a_signed_report_in_the_record() {
    let rad = Radiology::open().await;
    let encounter = rad
        .app
        .admitted(
            (&rad.desk, &rad.doctor),
            (&rad.ward_id, &rad.beds[0]),
            "Munteanu",
        )
        .await;
    let order = rad.ordered(&encounter, &[CHEST, ABDOMEN, CT_BRAIN]).await;
    assert_eq!(order.status, pb::ExamStatus::Ordered as i32);
    assert_eq!(order.priority, pb::Priority::Urgent as i32);
    assert_eq!(order.exams.len(), 3, "one examination per procedure");
    for exam in &order.exams {
        assert!(exam.accession.len() <= 16 && exam.accession.starts_with('I'));
        assert!(
            exam.study_instance_uid.starts_with("2.25."),
            "a UUID-derived UID"
        );
        assert!(exam.study_instance_uid.len() <= 64);
    }
    let chest = exam_of(&order, CHEST).clone();
    let abdomen = exam_of(&order, ABDOMEN).clone();
    let ct = exam_of(&order, CT_BRAIN).clone();
    assert_eq!(chest.modality, pb::Modality::Xray as i32);
    assert_eq!(
        ct.modality,
        pb::Modality::Unspecified as i32,
        "a procedure the catalogue lacks waits without a modality"
    );

    // A referral seen twice (the follower's retry) is one order.
    let again = imaging(&rad.app)
        .list_patient_orders(signed_in(
            &rad.radiographer,
            pb::ListPatientOrdersRequest {
                patient_id: encounter.patient_id.clone(),
            },
        ))
        .await
        .expect("orders")
        .into_inner()
        .orders;
    assert_eq!(again.len(), 1);

    // The radiographers' worklist by modality; the ward's view of its own.
    let xray = rad
        .worklist(
            &rad.radiographer,
            pb::ListWorklistRequest {
                facility_id: rad.facility_id.clone(),
                modality: pb::Modality::Xray.into(),
                ..Default::default()
            },
        )
        .await;
    assert_eq!(
        xray.iter()
            .map(|e| e.service_code.as_str())
            .collect::<Vec<_>>(),
        [CHEST]
    );
    assert_eq!(xray[0].patient_id, encounter.patient_id);
    let ward = rad
        .worklist(
            &rad.nurse,
            pb::ListWorklistRequest {
                facility_id: rad.facility_id.clone(),
                department_id: rad.ward_id.clone(),
                ..Default::default()
            },
        )
        .await;
    assert_eq!(ward.len(), 3);
    let denied = imaging(&rad.app)
        .list_worklist(signed_in(
            &rad.nurse,
            pb::ListWorklistRequest {
                facility_id: rad.facility_id.clone(),
                ..Default::default()
            },
        ))
        .await
        .expect_err("a ward nurse does not read the whole facility's worklist");
    assert_eq!(denied.code(), Code::PermissionDenied);

    // Scheduling: a room of another modality is refused; the right one takes it, once per
    // request id.
    let wrong = rad
        .schedule(&chest, &rad.us_room)
        .await
        .expect_err("an ultrasound room for a radiograph");
    assert_eq!(violated_fields(&wrong), ["room_id"]);
    let early = rad
        .start(&abdomen)
        .await
        .expect_err("started before it has a room");
    assert_eq!(early.code(), Code::FailedPrecondition);
    let scheduled = rad
        .schedule(&chest, &rad.xray_room)
        .await
        .expect("scheduled");
    assert_eq!(status(&scheduled), pb::ExamStatus::Scheduled);
    assert_eq!(scheduled.room_id, rad.xray_room);
    let in_room = rad
        .worklist(
            &rad.radiographer,
            pb::ListWorklistRequest {
                facility_id: rad.facility_id.clone(),
                room_id: rad.xray_room.clone(),
                ..Default::default()
            },
        )
        .await;
    assert_eq!(in_room.len(), 1);

    // The CT has no room here: cancelled with a reason.
    let cancelled = imaging(&rad.app)
        .cancel_exam(signed_in(
            &rad.radiographer,
            pb::CancelExamRequest {
                request_id: request_id(),
                exam_id: ct.id.clone(),
                reason: "no CT in this hospital; referred out".to_owned(),
            },
        ))
        .await
        .map(Answered::exam)
        .expect("cancelled");
    assert_eq!(status(&cancelled), pb::ExamStatus::Cancelled);

    // Performed, with the UID the modality used (a malformed one refused).
    rad.start(&chest).await.expect("started");
    let bad = rad
        .complete(&chest, "1.2.03.x")
        .await
        .expect_err("not a DICOM UID");
    assert_eq!(violated_fields(&bad), ["study_instance_uid"]);
    let modality_uid = "1.2.826.0.1.3680043.8.498.12345";
    let performed = rad.complete(&chest, modality_uid).await.expect("performed");
    assert_eq!(status(&performed), pb::ExamStatus::Performed);
    assert_eq!(performed.study_instance_uid, modality_uid);

    // Only a radiologist writes the report; the draft may be written over; signing names
    // the draft read, so a stale one is refused.
    let refused = rad
        .save(&rad.radiographer, &chest, ("f", "c", ""))
        .await
        .expect_err("a radiographer does not report");
    assert_eq!(refused.code(), Code::PermissionDenied);
    let first = rad
        .save(
            &rad.radiologist,
            &chest,
            (
                "Patchy opacity in the right lower zone.",
                "Right lower lobe pneumonia.",
                "",
            ),
        )
        .await
        .expect("draft");
    assert_eq!(status(&first), pb::ExamStatus::Preliminary);
    let read = first.report.clone().expect("the draft");
    assert_eq!(read.status, pb::ReportStatus::Draft as i32);
    let rewritten = rad
        .save(
            &rad.radiologist,
            &chest,
            (
                "Patchy consolidation in the right lower zone; no effusion.",
                "Right lower lobe pneumonia.",
                "",
            ),
        )
        .await
        .expect("draft written over");
    let draft = rewritten.report.clone().expect("draft");
    assert_eq!(draft.version, 1, "still the first version");
    let stale = rad
        .sign(&chest, &read.id)
        .await
        .expect_err("the draft read was written over since");
    assert_eq!(stale.code(), Code::Aborted);
    let signed = rad.sign(&chest, &draft.id).await.expect("signed");
    assert_eq!(status(&signed), pb::ExamStatus::Final);
    let report = signed.report.clone().expect("signed report");
    assert_eq!(report.status, pb::ReportStatus::Signed as i32);
    assert!(report.intact);
    assert_eq!(report.content_sha256.len(), 64);
    assert!(!report.signed_by.is_empty() && report.sign_time.is_some());

    // An amendment needs its reason; once signed it supersedes the first, which is kept.
    let unexplained = rad
        .save(
            &rad.radiologist,
            &chest,
            ("x", "Left lower lobe pneumonia.", ""),
        )
        .await
        .expect_err("amending without a reason");
    assert_eq!(violated_fields(&unexplained), ["amendment_reason"]);
    let amending = rad
        .save(
            &rad.radiologist,
            &chest,
            (
                "Patchy consolidation in the left lower zone; no effusion.",
                "Left lower lobe pneumonia.",
                "side reported wrongly",
            ),
        )
        .await
        .expect("amendment drafted");
    assert_eq!(
        amending.report.as_ref().map(|r| r.version),
        Some(1),
        "the signed report stands while the amendment is written"
    );
    let amendment = amending.amendment.clone().expect("the amendment draft");
    assert_eq!(amendment.version, 2);
    let amended = rad
        .sign(&chest, &amendment.id)
        .await
        .expect("amendment signed");
    let current = amended.report.clone().expect("current report");
    assert_eq!(
        (current.version, current.conclusion.as_str()),
        (2, "Left lower lobe pneumonia.")
    );
    assert_eq!(amended.earlier_reports.len(), 1);
    assert_eq!(
        amended.earlier_reports[0].conclusion,
        "Right lower lobe pneumonia."
    );
    assert_eq!(
        amended.earlier_reports[0].status,
        pb::ReportStatus::Superseded as i32
    );

    // The abdomen: the whole way, then the order is final.
    rad.schedule(&abdomen, &rad.us_room)
        .await
        .expect("scheduled");
    rad.start(&abdomen).await.expect("started");
    rad.complete(&abdomen, "").await.expect("performed");
    let drafted = rad
        .save(
            &rad.radiologist,
            &abdomen,
            (
                "Liver, gallbladder and kidneys normal.",
                "Normal abdominal ultrasound.",
                "",
            ),
        )
        .await
        .expect("draft");
    let report_id = drafted.report.expect("draft").id;
    rad.sign(&abdomen, &report_id).await.expect("signed");
    let order = rad.order(&order.id).await;
    assert_eq!(order.status, pb::ExamStatus::Final as i32);
    assert!(order.final_time.is_some());

    // The signed reports reach the patient's record.
    let extract = eventually("the reports reach the medical extract", || async {
        let extract = encounters(&rad.app)
            .get_medical_extract(signed_in(
                &rad.doctor,
                encounters_pb::GetMedicalExtractRequest {
                    encounter_id: encounter.id.clone(),
                },
            ))
            .await
            .expect("extract")
            .into_inner()
            .extract
            .expect("extract");
        let amended = extract
            .imaging_reports
            .iter()
            .any(|report| report.amended && report.conclusion == "Left lower lobe pneumonia.");
        (extract.imaging_reports.len() == 2 && amended).then_some(extract)
    })
    .await;
    assert!(extract.text.contains("IMAGING REPORTS"));
    assert!(
        extract
            .text
            .contains("Left lower lobe pneumonia. [amended]")
    );
    let chest_report = extract
        .imaging_reports
        .iter()
        .find(|report| report.service_code == CHEST)
        .expect("chest report");
    assert_eq!(chest_report.study_instance_uid, modality_uid);
    assert_eq!(chest_report.modality, "xray");

    // Turnaround and workload by modality: the cancelled CT is not counted.
    let now = std::time::SystemTime::now();
    let lines = imaging(&rad.app)
        .get_turnaround(signed_in(
            &rad.radiologist,
            pb::GetTurnaroundRequest {
                facility_id: rad.facility_id.clone(),
                from_time: Some((now - std::time::Duration::from_secs(3600)).into()),
                to_time: Some((now + std::time::Duration::from_secs(60)).into()),
                group_by: pb::TurnaroundGrouping::Modality.into(),
            },
        ))
        .await
        .expect("turnaround")
        .into_inner()
        .lines;
    let counts: Vec<(&str, i32, i32, i32)> = lines
        .iter()
        .map(|line| {
            (
                line.key.as_str(),
                line.ordered,
                line.performed,
                line.reported,
            )
        })
        .collect();
    assert_eq!(counts, [("ultrasound", 1, 1, 1), ("xray", 1, 1, 1)]);
    assert!(lines.iter().all(|line| !line.median_minutes.is_empty()));

    // A signed report is never changed, not even by the database's owner; one altered
    // behind the triggers is shown as no longer intact.
    let mut owner = PgConnection::connect_with(&rad.app.db.owner_options())
        .await
        .expect("owner connection");
    let refused = sqlx::query("UPDATE imaging.reports SET conclusion = 'Normal.' WHERE id = $1")
        .bind(uuid::Uuid::parse_str(&current.id).expect("report id"))
        .execute(&mut owner)
        .await
        .expect_err("the trigger keeps a signed report");
    assert!(refused.to_string().contains("never changed"), "{refused}");
    sqlx::query("SET session_replication_role = replica")
        .execute(&mut owner)
        .await
        .expect("bypass triggers");
    sqlx::query("UPDATE imaging.reports SET conclusion = 'Normal.' WHERE id = $1")
        .bind(uuid::Uuid::parse_str(&current.id).expect("report id"))
        .execute(&mut owner)
        .await
        .expect("altered behind the triggers");
    let order = rad.order(&order.id).await;
    let chest = exam_of(&order, CHEST);
    assert!(!chest.report.as_ref().expect("report").intact);
    assert!(chest.earlier_reports[0].intact);
}
