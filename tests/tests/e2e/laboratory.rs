//! The laboratory over real gRPC and a real MLLP connection: a physician's referral becomes an
//! order, the ward collects and labels the specimens, the laboratory receives one and rejects
//! another (the ward is told), an analyser sends its ORU^R01 over MLLP, the results are
//! flagged against the patient's ranges, validated technically then medically and reach the
//! medical extract, a critical value alerts the ward until acknowledged, a correction keeps
//! the earlier value; malformed, truncated, oversized and dropped messages each get a NACK or
//! a clean close with nothing stored, and a retransmission is applied once.

use crate::support;

use std::net::SocketAddr;
use std::time::Duration;

use hmis_laboratory::LaboratoryOptions;
use hmis_platform::RequestContext;
use hmis_platform::auth::Scope;
use hmis_proto::openhmis::encounters::v1 as encounters_pb;
use hmis_proto::openhmis::laboratory::v1 as pb;
use pb::laboratory_service_client::LaboratoryServiceClient;
use support::{Session, TestApp, USER_PASSWORD, WardSpec, eventually, signed_in, violated_fields};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tonic::Code;
use tonic::transport::Channel;

fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn lab(app: &TestApp) -> LaboratoryServiceClient<Channel> {
    LaboratoryServiceClient::new(app.channel.clone())
}

fn encounters(
    app: &TestApp,
) -> encounters_pb::encounter_service_client::EncounterServiceClient<Channel> {
    encounters_pb::encounter_service_client::EncounterServiceClient::new(app.channel.clone())
}

/// One MLLP connection to the laboratory's listener.
struct Mllp(TcpStream);

impl Mllp {
    async fn connect(addr: SocketAddr) -> Self {
        Self(
            TcpStream::connect(addr)
                .await
                .expect("connect to the MLLP listener"),
        )
    }

    async fn send_raw(&mut self, bytes: &[u8]) {
        self.0.write_all(bytes).await.expect("write");
    }

    /// Sends one framed message and reads the framed answer.
    async fn exchange(&mut self, message: &str) -> String {
        let mut framed = vec![0x0b];
        framed.extend_from_slice(message.as_bytes());
        framed.extend_from_slice(&[0x1c, 0x0d]);
        self.send_raw(&framed).await;
        self.answer().await
    }

    async fn answer(&mut self) -> String {
        let mut answer = Vec::new();
        loop {
            let byte = tokio::time::timeout(Duration::from_secs(30), self.0.read_u8())
                .await
                .expect("an answer in time")
                .expect("the connection stays open for the answer");
            answer.push(byte);
            if answer.ends_with(&[0x1c, 0x0d]) {
                break;
            }
        }
        assert_eq!(answer.first(), Some(&0x0b), "framed with VT");
        String::from_utf8(answer[1..answer.len() - 2].to_vec()).expect("UTF-8 answer")
    }
}

/// MSA-1 of an answer (AA, AE, AR), and its ERR-2 location when it has one.
fn acknowledgment(answer: &str) -> (String, String) {
    let segments: Vec<&str> = answer.split('\r').collect();
    let field = |name: &str, number: usize| {
        segments
            .iter()
            .find(|segment| segment.starts_with(name))
            .and_then(|segment| segment.split('|').nth(number))
            .unwrap_or_default()
            .to_owned()
    };
    (field("MSA", 1), field("ERR", 2))
}

/// One OBX: value type, test code, value, unit.
type Observation<'a> = (&'a str, &'a str, &'a str, &'a str);

/// An ORU^R01 from the test's analyser: per specimen (accession number), its results.
fn oru(control_id: &str, specimens: &[(&str, &[Observation<'_>])]) -> String {
    let mut message = format!(
        "MSH|^~\\&|COBAS|LAB1|OPENHMIS|HOSP|20261206101500||ORU^R01|{control_id}|P|2.5\rPID|1\r"
    );
    let mut obx = 0;
    for (index, (accession, results)) in specimens.iter().enumerate() {
        message.push_str(&format!("OBR|{}||{accession}|PANEL^Panel^L\r", index + 1));
        for (value_type, code, value, unit) in *results {
            obx += 1;
            message.push_str(&format!(
                "OBX|{obx}|{value_type}|{code}^^LN||{value}|{unit}|||||F\r"
            ));
        }
    }
    message
}

/// A hospital with one internal medicine ward, the starter code systems and the laboratory's
/// starter catalogue, an analyser registered, and its staff.
struct Lab {
    app: TestApp,
    admin: Session,
    desk: Session,
    doctor: Session,
    nurse: Session,
    tech: Session,
    labdoc: Session,
    facility_id: String,
    ward_id: String,
    beds: Vec<String>,
    mllp: SocketAddr,
}

impl Lab {
    async fn open(laboratory: LaboratoryOptions) -> Self {
        let app = TestApp::spawn_with(openhmis_server::Options {
            laboratory,
            ..Default::default()
        })
        .await;
        let admin = app.coded_tenant("LAB").await;
        let tenant = admin.tenant_id;
        let module = app.laboratory.clone();
        module
            .load_starter(&RequestContext::system(tenant))
            .await
            .expect("the laboratory's starter catalogue");
        let listener = module
            .bind_mllp(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("bind the MLLP listener");
        let mllp = listener.local_addr().expect("bound");
        tokio::spawn(listener.serve());
        let facility = app.create_facility(&admin, "MAIN").await;
        let ward = app
            .open_ward(
                &admin,
                &facility.id,
                WardSpec::ward("INT", "Internal medicine").beds("R1", "Room 1", 4),
            )
            .await;
        let facility_uuid: uuid::Uuid = facility.id.parse().expect("facility id");
        let ward_uuid: uuid::Uuid = ward.id.parse().expect("ward id");
        for (name, role, scope) in [
            ("desk", "registrar", Scope::Facility(facility_uuid)),
            ("doctor", "physician", Scope::Department(ward_uuid)),
            ("nurse", "nurse", Scope::Department(ward_uuid)),
            ("tech", "lab_technician", Scope::Facility(facility_uuid)),
            ("labdoc", "lab_physician", Scope::Facility(facility_uuid)),
        ] {
            app.add_user(tenant, name, role, scope).await;
        }
        let login = |name: &'static str| {
            let app = &app;
            async move {
                app.login("LAB", name, USER_PASSWORD)
                    .await
                    .expect("signs in")
            }
        };
        let (desk, doctor, nurse, tech, labdoc) = (
            login("desk").await,
            login("doctor").await,
            login("nurse").await,
            login("tech").await,
            login("labdoc").await,
        );
        lab(&app)
            .register_analyser(signed_in(
                &admin,
                pb::RegisterAnalyserRequest {
                    request_id: request_id(),
                    analyser: Some(pb::Analyser {
                        code: "COBAS-1".to_owned(),
                        name: "Chemistry analyser".to_owned(),
                        sending_application: "COBAS".to_owned(),
                        sending_facility: "LAB1".to_owned(),
                        facility_id: facility.id.clone(),
                        section_code: "BIO".to_owned(),
                        ..Default::default()
                    }),
                },
            ))
            .await
            .expect("register the analyser");
        Self {
            app,
            admin,
            desk,
            doctor,
            nurse,
            tech,
            labdoc,
            facility_id: facility.id,
            ward_id: ward.id,
            beds: ward.beds,
            mllp,
        }
    }

    /// A woman born in 1961, admitted into bed `bed`, with her encounter open.
    async fn admitted(&self, family: &str, bed: usize) -> encounters_pb::Encounter {
        self.app
            .admitted(
                (&self.desk, &self.doctor),
                (&self.ward_id, &self.beds[bed]),
                family,
            )
            .await
    }

    /// The physician refers the encounter for `codes`; answers the laboratory's order once
    /// it has arrived.
    async fn ordered(&self, encounter: &encounters_pb::Encounter, codes: &[&str]) -> pb::Order {
        let referral = encounters(&self.app)
            .create_referral(signed_in(
                &self.doctor,
                encounters_pb::CreateReferralRequest {
                    request_id: request_id(),
                    referral: Some(encounters_pb::Referral {
                        encounter_id: encounter.id.clone(),
                        kind: encounters_pb::ReferralKind::Laboratory.into(),
                        investigation_codes: codes.iter().map(|c| (*c).to_owned()).collect(),
                        reason: "electrolytes and anaemia".to_owned(),
                        urgency: encounters_pb::Urgency::Urgent.into(),
                        ..Default::default()
                    }),
                },
            ))
            .await
            .expect("referral")
            .into_inner()
            .referral
            .expect("referral");
        eventually("the order reaches the laboratory", || async {
            let orders = lab(&self.app)
                .list_worklist(signed_in(
                    &self.tech,
                    pb::ListWorklistRequest {
                        facility_id: self.facility_id.clone(),
                        ..Default::default()
                    },
                ))
                .await
                .expect("worklist")
                .into_inner()
                .orders;
            orders
                .into_iter()
                .find(|order| order.referral_id == referral.id)
        })
        .await
    }

    async fn order(&self, who: &Session, order_id: &str) -> pb::Order {
        lab(&self.app)
            .get_order(signed_in(
                who,
                pb::GetOrderRequest {
                    order_id: order_id.to_owned(),
                },
            ))
            .await
            .expect("order")
            .into_inner()
            .order
            .expect("order")
    }

    async fn collect(&self, order_id: &str) -> Vec<pb::Specimen> {
        lab(&self.app)
            .collect_specimens(signed_in(
                &self.nurse,
                pb::CollectSpecimensRequest {
                    request_id: request_id(),
                    order_id: order_id.to_owned(),
                    collect_time: None,
                },
            ))
            .await
            .expect("collect")
            .into_inner()
            .collected
    }

    /// What a collection refused answers.
    async fn collect_refused(&self, order_id: &str) -> Code {
        lab(&self.app)
            .collect_specimens(signed_in(
                &self.nurse,
                pb::CollectSpecimensRequest {
                    request_id: request_id(),
                    order_id: order_id.to_owned(),
                    collect_time: None,
                },
            ))
            .await
            .expect_err("refused")
            .code()
    }

    async fn receive(&self, accession: &str) -> pb::Order {
        lab(&self.app)
            .receive_specimen(signed_in(
                &self.tech,
                pb::ReceiveSpecimenRequest {
                    request_id: request_id(),
                    accession: accession.to_owned(),
                },
            ))
            .await
            .expect("receive")
            .into_inner()
            .order
            .expect("order")
    }

    async fn validate(
        &self,
        who: &Session,
        order_id: &str,
        stage: pb::ValidationStage,
    ) -> pb::Order {
        lab(&self.app)
            .validate_results(signed_in(
                who,
                pb::ValidateResultsRequest {
                    request_id: request_id(),
                    order_id: order_id.to_owned(),
                    stage: stage.into(),
                    test_codes: Vec::new(),
                },
            ))
            .await
            .expect("validate")
            .into_inner()
            .order
            .expect("order")
    }

    async fn cumulative(&self, patient_id: &str, test_code: &str) -> Vec<pb::Result> {
        lab(&self.app)
            .get_cumulative_results(signed_in(
                &self.doctor,
                pb::GetCumulativeResultsRequest {
                    patient_id: patient_id.to_owned(),
                    test_code: test_code.to_owned(),
                },
            ))
            .await
            .expect("cumulative")
            .into_inner()
            .results
    }

    async fn messages(&self) -> Vec<pb::Hl7Message> {
        lab(&self.app)
            .list_hl7_messages(signed_in(
                &self.admin,
                pb::ListHl7MessagesRequest { page_size: 100 },
            ))
            .await
            .expect("message log")
            .into_inner()
            .messages
    }
}

fn specimen_for<'a>(specimens: &'a [pb::Specimen], code: &str) -> &'a pb::Specimen {
    specimens
        .iter()
        .find(|specimen| specimen.test_codes.iter().any(|c| c == code))
        .expect("a specimen for the test")
}

fn result<'a>(order: &'a pb::Order, code: &str) -> &'a pb::Result {
    order
        .results
        .iter()
        .find(|result| result.test_code == code)
        .expect("a result of the test")
}

#[tokio::test]
async fn an_order_goes_from_the_referral_to_the_medical_extract_with_its_critical_value_told() {
    let fixture = Lab::open(LaboratoryOptions::default()).await;
    let lab = &fixture;
    let encounter = lab.admitted("Rusu", 0).await;
    let order = lab
        .ordered(&encounter, &["2823-3", "2951-2", "718-7"])
        .await;
    assert_eq!(order.priority(), pb::Priority::Urgent);
    assert_eq!(order.status(), pb::OrderStatus::Ordered);
    let sections: Vec<&str> = order
        .tests
        .iter()
        .map(|t| t.section_code.as_str())
        .collect();
    assert_eq!(sections, ["BIO", "BIO", "HEM"]);

    // The ward sees its own orders (its staff's scope is the ward, not the facility).
    let ward_orders = self::lab(&lab.app)
        .list_worklist(signed_in(
            &lab.nurse,
            pb::ListWorklistRequest {
                facility_id: lab.facility_id.clone(),
                department_id: lab.ward_id.clone(),
                ..Default::default()
            },
        ))
        .await
        .expect("the ward's orders")
        .into_inner()
        .orders;
    assert_eq!(ward_orders.len(), 1);
    let facility_wide = self::lab(&lab.app)
        .list_worklist(signed_in(
            &lab.nurse,
            pb::ListWorklistRequest {
                facility_id: lab.facility_id.clone(),
                ..Default::default()
            },
        ))
        .await
        .expect_err("a ward nurse does not read the whole laboratory's worklist");
    assert_eq!(facility_wide.code(), Code::PermissionDenied);

    // The ward collects: potassium and sodium share a serum tube, haemoglobin has its own.
    let specimens = lab.collect(&order.id).await;
    assert_eq!(specimens.len(), 2);
    let serum = specimen_for(&specimens, "2823-3").clone();
    assert_eq!(serum.test_codes, ["2823-3", "2951-2"]);
    assert_eq!(serum.container, "gold top (SST)");
    let blood = specimen_for(&specimens, "718-7").clone();
    assert_ne!(serum.accession, blood.accession);
    let again = lab.collect_refused(&order.id).await;
    assert_eq!(
        again,
        Code::FailedPrecondition,
        "nothing is left to collect"
    );
    let label = self::lab(&lab.app)
        .get_specimen_label(signed_in(
            &lab.nurse,
            pb::GetSpecimenLabelRequest {
                accession: serum.accession.clone(),
            },
        ))
        .await
        .expect("label")
        .into_inner();
    assert_eq!(label.symbology, "code128");
    assert!(label.svg.starts_with("<svg") && label.svg.contains(&serum.accession));
    assert_eq!(
        lab.order(&lab.doctor, &order.id).await.status(),
        pb::OrderStatus::Collected
    );

    // The laboratory receives the serum and refuses the haemolysed blood: the ward collects
    // again, under a new accession number.
    let received = lab.receive(&serum.accession).await;
    assert_eq!(
        received.status(),
        pb::OrderStatus::Collected,
        "the blood is not in yet"
    );
    let rejected = self::lab(&lab.app)
        .reject_specimen(signed_in(
            &lab.tech,
            pb::RejectSpecimenRequest {
                request_id: request_id(),
                accession: blood.accession.clone(),
                reason: pb::RejectionReason::Haemolysed.into(),
                note: "pink serum".to_owned(),
            },
        ))
        .await
        .expect("reject")
        .into_inner()
        .order
        .expect("order");
    let refused = rejected
        .specimens
        .iter()
        .find(|s| s.accession == blood.accession)
        .expect("the rejected specimen stays listed");
    assert_eq!(refused.status(), pb::SpecimenStatus::Rejected);
    assert_eq!(refused.rejection_reason(), pb::RejectionReason::Haemolysed);
    let haemoglobin = rejected
        .tests
        .iter()
        .find(|t| t.code == "718-7")
        .expect("test");
    assert_eq!(haemoglobin.status(), pb::OrderStatus::Ordered);
    let recollected = lab.collect(&order.id).await;
    assert_eq!(recollected.len(), 1);
    let blood = recollected[0].clone();
    assert_eq!(blood.test_codes, ["718-7"]);
    assert_eq!(
        lab.receive(&blood.accession).await.status(),
        pb::OrderStatus::Received
    );

    // The analyser sends every result in one message; potassium 6.9 is beyond its critical
    // limit, haemoglobin 12.5 is normal for a woman (the range for men would flag it low).
    let message = oru(
        "MSG-1",
        &[
            (
                &serum.accession,
                &[
                    ("NM", "2823-3", "6.9", "mmol/L"),
                    ("NM", "2951-2", "140", "mmol/L"),
                ],
            ),
            (&blood.accession, &[("NM", "718-7", "12.5", "g/dL")]),
        ],
    );
    let mut analyser = Mllp::connect(lab.mllp).await;
    let answer = analyser.exchange(&message).await;
    assert_eq!(
        acknowledgment(&answer),
        ("AA".to_owned(), String::new()),
        "{answer}"
    );
    assert!(answer.contains("\rMSA|AA|MSG-1"), "{answer}");
    // Sent again (the analyser never saw the ACK): acknowledged, applied once.
    let answer = analyser.exchange(&message).await;
    assert_eq!(acknowledgment(&answer).0, "AA");
    let in_progress = lab.order(&lab.tech, &order.id).await;
    assert_eq!(in_progress.status(), pb::OrderStatus::InProgress);
    let potassium = result(&in_progress, "2823-3");
    assert_eq!(potassium.flag(), pb::Flag::CriticalHigh);
    assert_eq!(potassium.reference_range, "3.5-5.1");
    assert_eq!(potassium.source, "analyser:COBAS-1");
    assert_eq!(result(&in_progress, "2951-2").flag(), pb::Flag::Normal);
    let hb = result(&in_progress, "718-7");
    assert_eq!(
        (hb.flag(), hb.reference_range.as_str()),
        (pb::Flag::Normal, "12-15.5")
    );
    assert_eq!(lab.cumulative(&order.patient_id, "2823-3").await.len(), 1);
    let log = lab.messages().await;
    assert_eq!(log.len(), 1, "the retransmission stored nothing: {log:?}");
    assert_eq!(log[0].results, 3);

    // The ward sees the critical value until a nurse acknowledges it.
    let alerts = self::lab(&lab.app)
        .list_critical_alerts(signed_in(
            &lab.nurse,
            pb::ListCriticalAlertsRequest {
                facility_id: lab.facility_id.clone(),
                department_id: lab.ward_id.clone(),
                unacknowledged_only: true,
            },
        ))
        .await
        .expect("alerts")
        .into_inner()
        .alerts;
    assert_eq!(alerts.len(), 1);
    assert_eq!(
        (alerts[0].test_code.as_str(), alerts[0].value.as_str()),
        ("2823-3", "6.9")
    );
    assert_eq!(alerts[0].requested_by, order.requested_by);
    let acknowledge = |key: String| {
        let alert_id = alerts[0].id.clone();
        let nurse = lab.nurse.clone();
        let channel = lab.app.channel.clone();
        async move {
            LaboratoryServiceClient::new(channel)
                .acknowledge_critical_alert(signed_in(
                    &nurse,
                    pb::AcknowledgeCriticalAlertRequest {
                        request_id: key,
                        alert_id,
                        note: "physician informed, repeat ordered".to_owned(),
                    },
                ))
                .await
        }
    };
    let acknowledged = acknowledge(request_id())
        .await
        .expect("acknowledge")
        .into_inner();
    assert!(
        acknowledged
            .alert
            .expect("alert")
            .acknowledge_time
            .is_some()
    );
    assert_eq!(
        acknowledge(request_id()).await.expect_err("twice").code(),
        Code::FailedPrecondition
    );

    // Medical validation needs technical validation first; then the results are released.
    let early = self::lab(&lab.app)
        .validate_results(signed_in(
            &lab.labdoc,
            pb::ValidateResultsRequest {
                request_id: request_id(),
                order_id: order.id.clone(),
                stage: pb::ValidationStage::Medical.into(),
                test_codes: Vec::new(),
            },
        ))
        .await
        .expect_err("nothing awaits medical validation yet");
    assert_eq!(early.code(), Code::FailedPrecondition);
    let preliminary = lab
        .validate(&lab.tech, &order.id, pb::ValidationStage::Technical)
        .await;
    assert_eq!(preliminary.status(), pb::OrderStatus::Preliminary);
    let last = lab
        .validate(&lab.labdoc, &order.id, pb::ValidationStage::Medical)
        .await;
    assert_eq!(last.status(), pb::OrderStatus::Final);
    assert!(last.final_time.is_some());

    let extract = |expected: &'static str| {
        let encounter_id = encounter.id.clone();
        async move {
            eventually(expected, || async {
                let extract = encounters(&lab.app)
                    .get_medical_extract(signed_in(
                        &lab.doctor,
                        encounters_pb::GetMedicalExtractRequest {
                            encounter_id: encounter_id.clone(),
                        },
                    ))
                    .await
                    .expect("extract")
                    .into_inner()
                    .extract
                    .expect("extract");
                extract.text.contains(expected).then_some(extract)
            })
            .await
        }
    };
    let released = extract("Potassium: 6.9 mmol/L (reference 3.5-5.1) CRITICAL HIGH").await;
    assert_eq!(released.results.len(), 3);
    assert!(
        released
            .text
            .contains("Haemoglobin: 12.5 g/dL (reference 12-15.5)")
    );

    // The laboratory's turnaround by section: two chemistry tests and one haematology test
    // ordered, all released, in minutes from the order.
    let now = chrono::Utc::now();
    let stamp = |at: chrono::DateTime<chrono::Utc>| prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: 0,
    };
    let turnaround = self::lab(&lab.app)
        .get_turnaround(signed_in(
            &lab.tech,
            pb::GetTurnaroundRequest {
                facility_id: lab.facility_id.clone(),
                from_time: Some(stamp(now - chrono::Duration::hours(1))),
                to_time: Some(stamp(now + chrono::Duration::minutes(1))),
                group_by: pb::TurnaroundGrouping::Section.into(),
            },
        ))
        .await
        .expect("turnaround")
        .into_inner()
        .lines;
    let by_section: Vec<(&str, i32, i32)> = turnaround
        .iter()
        .map(|line| (line.key.as_str(), line.ordered, line.released))
        .collect();
    assert_eq!(by_section, [("BIO", 2, 2), ("HEM", 1, 1)]);
    // The workload by source: every released result came from the analyser.
    let by_source: Vec<(String, i32, i32)> = self::lab(&lab.app)
        .get_turnaround(signed_in(
            &lab.tech,
            pb::GetTurnaroundRequest {
                facility_id: lab.facility_id.clone(),
                from_time: Some(stamp(now - chrono::Duration::hours(1))),
                to_time: Some(stamp(now + chrono::Duration::minutes(1))),
                group_by: pb::TurnaroundGrouping::Source.into(),
            },
        ))
        .await
        .expect("workload by source")
        .into_inner()
        .lines
        .into_iter()
        .map(|line| (line.key, line.ordered, line.released))
        .collect();
    assert_eq!(by_source, [("analyser:COBAS-1".to_owned(), 3, 3)]);
    assert!(
        turnaround.iter().all(|line| line
            .median_minutes
            .parse::<f64>()
            .is_ok_and(|m| (0.0..60.0).contains(&m))),
        "{turnaround:?}"
    );

    // A correction keeps the earlier value and is released again once validated.
    let sodium = result(&last, "2951-2").id.clone();
    let corrected = self::lab(&lab.app)
        .correct_result(signed_in(
            &lab.labdoc,
            pb::CorrectResultRequest {
                request_id: request_id(),
                result_id: sodium.clone(),
                value: "139".to_owned(),
                reason: "transcription checked against the analyser's printout".to_owned(),
            },
        ))
        .await
        .expect("correct")
        .into_inner()
        .order
        .expect("order");
    assert_eq!(corrected.status(), pb::OrderStatus::Preliminary);
    let history = lab.cumulative(&order.patient_id, "2951-2").await;
    let values: Vec<(&str, pb::ResultStatus)> = history
        .iter()
        .map(|r| (r.value.as_str(), r.status()))
        .collect();
    assert_eq!(
        values,
        [
            ("140", pb::ResultStatus::Superseded),
            ("139", pb::ResultStatus::Preliminary)
        ]
    );
    assert_eq!(history[1].supersedes_id, sodium);
    assert!(history[1].corrected);
    lab.validate(&lab.labdoc, &order.id, pb::ValidationStage::Medical)
        .await;
    extract("Sodium: 139 mmol/L (reference 136-145) [corrected]").await;

    // An analyser's value for a released result is refused unless sent as a correction.
    let late = oru(
        "MSG-2",
        &[(&serum.accession, &[("NM", "2823-3", "4.1", "mmol/L")])],
    );
    let answer = analyser.exchange(&late).await;
    assert_eq!(
        acknowledgment(&answer),
        ("AE".to_owned(), "OBX^1^11".to_owned()),
        "{answer}"
    );
}

#[tokio::test]
async fn bad_hl7_gets_a_nack_or_a_clean_close_and_nothing_partial_is_stored() {
    let lab = Lab::open(LaboratoryOptions {
        mllp_max_message_bytes: Some(4096),
        ..Default::default()
    })
    .await;
    let encounter = lab.admitted("Ciobanu", 1).await;
    let order = lab.ordered(&encounter, &["2823-3", "2951-2"]).await;
    let serum = lab.collect(&order.id).await.remove(0);
    lab.receive(&serum.accession).await;
    let mut analyser = Mllp::connect(lab.mllp).await;

    let cases: Vec<(String, &str, &str)> = vec![
        // Not HL7 at all.
        ("\u{1}\u{2}garbage".to_owned(), "AR", "MSH^1"),
        // Truncated inside MSH: no control id.
        ("MSH|^~\\&|COBAS|LAB1".to_owned(), "AR", "MSH^1^10"),
        // Not a result message.
        (
            "MSH|^~\\&|COBAS|LAB1|||20261206||ADT^A01|X1|P|2.5\r".to_owned(),
            "AR",
            "MSH^1^9",
        ),
        // An unknown sender.
        (
            "MSH|^~\\&|OTHER|LAB9|||20261206||ORU^R01|X2|P|2.5\rOBR|1||1\rOBX|1|NM|1||1\r"
                .to_owned(),
            "AE",
            "MSH^1^3",
        ),
        // An accession number nobody collected.
        (
            oru("X3", &[("999999999", &[("NM", "2823-3", "4", "mmol/L")])]),
            "AE",
            "OBR^1^3",
        ),
        // The first result is good, the second in the wrong unit: neither is stored.
        (
            oru(
                "X4",
                &[(
                    &serum.accession,
                    &[
                        ("NM", "2951-2", "140", "mmol/L"),
                        ("NM", "2823-3", "4.0", "mg/dL"),
                    ],
                )],
            ),
            "AE",
            "OBX^2^6",
        ),
        // A value that is not a number.
        (
            oru(
                "X5",
                &[(&serum.accession, &[("NM", "2823-3", "high", "mmol/L")])],
            ),
            "AE",
            "OBX^1^5",
        ),
        // A test the specimen was not collected for.
        (
            oru(
                "X6",
                &[(&serum.accession, &[("NM", "718-7", "12", "g/dL")])],
            ),
            "AE",
            "OBX^1^3",
        ),
        // Longer than the listener takes.
        (
            format!(
                "MSH|^~\\&|COBAS|LAB1|||20261206||ORU^R01|X7|P|2.5\rNTE|1||{}\r",
                "x".repeat(5000)
            ),
            "AE",
            "MSH^1",
        ),
    ];
    for (message, code, location) in &cases {
        let answer = analyser.exchange(message).await;
        let (got_code, got_location) = acknowledgment(&answer);
        assert_eq!(
            (got_code.as_str(), got_location.as_str()),
            (*code, *location),
            "{answer:?}"
        );
    }
    assert!(
        lab.cumulative(&order.patient_id, "2951-2").await.is_empty(),
        "nothing partial"
    );
    assert!(lab.cumulative(&order.patient_id, "2823-3").await.is_empty());
    let logged = lab.messages().await;
    assert!(logged.iter().all(|m| m.acknowledgment_code != "AA"));
    assert!(
        logged
            .iter()
            .any(|m| m.control_id == "X4" && m.error.contains("OBX-6 (OBX 2)")),
        "{logged:?}"
    );

    // A connection dropped in the middle of a message stores nothing; the next one works.
    let mut dropped = Mllp::connect(lab.mllp).await;
    let half = oru(
        "X8",
        &[(&serum.accession, &[("NM", "2823-3", "4.4", "mmol/L")])],
    );
    let mut partial = vec![0x0b];
    partial.extend_from_slice(&half.as_bytes()[..half.len() / 2]);
    dropped.send_raw(&partial).await;
    drop(dropped);
    let good = oru(
        "X9",
        &[(&serum.accession, &[("NM", "2823-3", "4.2", "mmol/L")])],
    );
    let answer = analyser.exchange(&good).await;
    assert_eq!(acknowledgment(&answer).0, "AA", "{answer}");
    let potassium = lab.cumulative(&order.patient_id, "2823-3").await;
    let values: Vec<&str> = potassium.iter().map(|r| r.value.as_str()).collect();
    assert_eq!(values, ["4.2"], "the dropped message left nothing");
}

#[tokio::test]
async fn bad_requests_name_their_fields_and_only_the_laboratory_enters_results() {
    let lab = Lab::open(LaboratoryOptions::default()).await;
    let encounter = lab.admitted("Lungu", 2).await;
    let order = lab.ordered(&encounter, &["2823-3"]).await;
    let serum = lab.collect(&order.id).await.remove(0);
    let api = self::lab(&lab.app);

    let entry = |value: &str, unit: &str| pb::RecordResultsRequest {
        request_id: request_id(),
        order_id: order.id.clone(),
        results: vec![pb::ResultEntry {
            test_code: "2823-3".to_owned(),
            value: value.to_owned(),
            unit: unit.to_owned(),
        }],
    };
    // The ward may not enter results.
    let denied = api
        .clone()
        .record_results(signed_in(&lab.nurse, entry("4.0", "")))
        .await
        .expect_err("a nurse enters no result");
    assert_eq!(denied.code(), Code::PermissionDenied);
    // Not before the specimen is received.
    let early = api
        .clone()
        .record_results(signed_in(&lab.tech, entry("4.0", "")))
        .await
        .expect_err("not received");
    assert_eq!(early.code(), Code::FailedPrecondition);
    lab.receive(&serum.accession).await;
    let wrong = api
        .clone()
        .record_results(signed_in(&lab.tech, entry("four", "mg/dL")))
        .await
        .expect_err("not a number");
    assert_eq!(wrong.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&wrong), ["results[0].value"]);
    let unit = api
        .clone()
        .record_results(signed_in(&lab.tech, entry("4.0", "mg/dL")))
        .await
        .expect_err("wrong unit");
    assert_eq!(violated_fields(&unit), ["results[0].unit"]);
    let recorded = api
        .clone()
        .record_results(signed_in(&lab.tech, entry("2.5", "mmol/L")))
        .await
        .expect("recorded")
        .into_inner()
        .order
        .expect("order");
    assert_eq!(result(&recorded, "2823-3").flag(), pb::Flag::CriticalLow);

    let bad = api
        .clone()
        .reject_specimen(signed_in(
            &lab.tech,
            pb::RejectSpecimenRequest {
                request_id: String::new(),
                accession: "12-34".to_owned(),
                reason: pb::RejectionReason::Unspecified.into(),
                note: String::new(),
            },
        ))
        .await
        .expect_err("bad");
    assert_eq!(bad.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&bad), ["request_id", "accession", "reason"]);

    let bad_test = api
        .clone()
        .set_test(signed_in(
            &lab.admin,
            pb::SetTestRequest {
                test: Some(pb::Test {
                    code: "99999-9".to_owned(),
                    name: "Inverted".to_owned(),
                    result_kind: pb::ResultKind::Numeric.into(),
                    specimen_type: "serum".to_owned(),
                    container: "gold top".to_owned(),
                    loinc_class: "CHEM".to_owned(),
                    unit: String::new(),
                    ranges: vec![pb::ReferenceRange {
                        low: "5".to_owned(),
                        high: "3".to_owned(),
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
                etag: String::new(),
            },
        ))
        .await
        .expect_err("bad test");
    assert_eq!(violated_fields(&bad_test), ["test.unit", "test.ranges[0]"]);
    // A test without a section goes to the one that takes its LOINC class.
    let added = api
        .clone()
        .set_test(signed_in(
            &lab.admin,
            pb::SetTestRequest {
                test: Some(pb::Test {
                    code: "2777-1".to_owned(),
                    name: "Phosphate".to_owned(),
                    result_kind: pb::ResultKind::Numeric.into(),
                    specimen_type: "serum".to_owned(),
                    container: "gold top (SST)".to_owned(),
                    loinc_class: "CHEM".to_owned(),
                    unit: "mmol/L".to_owned(),
                    active: true,
                    ..Default::default()
                }),
                etag: String::new(),
            },
        ))
        .await
        .expect("added")
        .into_inner()
        .test
        .expect("test");
    assert_eq!(added.section_code, "BIO");
    let stale = api
        .clone()
        .set_test(signed_in(
            &lab.admin,
            pb::SetTestRequest {
                test: Some(added.clone()),
                etag: "\"7\"".to_owned(),
            },
        ))
        .await
        .expect_err("stale");
    assert_eq!(stale.code(), Code::Aborted);
}

/// An analyser that takes orders over MLLP: it hands each message it reads to the test, and
/// answers it as `answers` says in turn (`None`: the connection drops without an answer).
async fn order_taking_analyser(
    answers: Vec<Option<&'static str>>,
) -> (SocketAddr, tokio::sync::mpsc::UnboundedReceiver<String>) {
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("bind the analyser");
    let addr = listener.local_addr().expect("bound");
    let (sent, received) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        for answer in answers {
            let (mut stream, _) = listener.accept().await.expect("a connection");
            let mut frame = Vec::new();
            loop {
                let byte = stream.read_u8().await.expect("the order's bytes");
                frame.push(byte);
                if frame.ends_with(&[0x1c, 0x0d]) {
                    break;
                }
            }
            let message = String::from_utf8(frame[1..frame.len() - 2].to_vec()).expect("UTF-8");
            let control_id = message
                .split('\r')
                .next()
                .and_then(|msh| msh.split('|').nth(9))
                .unwrap_or_default()
                .to_owned();
            let _ = sent.send(message);
            if let Some(code) = answer {
                let ack = format!(
                    "MSH|^~\\&|ORD|LAB1|OPENHMIS|OPENHMIS|20261206101500||ACK^O01|A{control_id}|P|2.5\rMSA|{code}|{control_id}|{}\r",
                    if code == "AA" {
                        ""
                    } else {
                        "test not on this analyser"
                    }
                );
                let mut framed = vec![0x0b];
                framed.extend_from_slice(ack.as_bytes());
                framed.extend_from_slice(&[0x1c, 0x0d]);
                stream.write_all(&framed).await.expect("answer");
            }
        }
    });
    (addr, received)
}

#[tokio::test]
async fn a_received_specimen_is_ordered_from_its_analysers_until_acknowledged() {
    let lab = Lab::open(LaboratoryOptions {
        order_poll_ms: Some(20),
        order_retry_ms: Some(50),
        order_max_attempts: Some(3),
        ..Default::default()
    })
    .await;
    // One chemistry analyser drops the first connection, then acknowledges; another is
    // switched off (nothing listens at its endpoint); a haematology analyser refuses.
    let (chemistry, mut chemistry_reads) = order_taking_analyser(vec![None, Some("AA")]).await;
    let (haematology, mut haematology_reads) = order_taking_analyser(vec![Some("AE")]).await;
    let off = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        listener.local_addr().expect("bound")
    };
    for (code, application, section, endpoint) in [
        ("CHEM-2", "ORDCHEM", "BIO", chemistry.to_string()),
        ("CHEM-OFF", "ORDOFF", "BIO", off.to_string()),
        ("HEM-1", "ORDHEM", "HEM", haematology.to_string()),
    ] {
        self::lab(&lab.app)
            .register_analyser(signed_in(
                &lab.admin,
                pb::RegisterAnalyserRequest {
                    request_id: request_id(),
                    analyser: Some(pb::Analyser {
                        code: code.to_owned(),
                        name: code.to_owned(),
                        sending_application: application.to_owned(),
                        sending_facility: "LAB1".to_owned(),
                        facility_id: lab.facility_id.clone(),
                        section_code: section.to_owned(),
                        order_endpoint: endpoint,
                        ..Default::default()
                    }),
                },
            ))
            .await
            .expect("an analyser that takes orders");
    }
    let refused = self::lab(&lab.app)
        .register_analyser(signed_in(
            &lab.admin,
            pb::RegisterAnalyserRequest {
                request_id: request_id(),
                analyser: Some(pb::Analyser {
                    code: "BAD".to_owned(),
                    name: "Bad".to_owned(),
                    sending_application: "BAD".to_owned(),
                    facility_id: lab.facility_id.clone(),
                    section_code: "BIO".to_owned(),
                    order_endpoint: "no port here".to_owned(),
                    ..Default::default()
                }),
            },
        ))
        .await
        .expect_err("an endpoint without a port");
    assert_eq!(violated_fields(&refused), ["analyser.order_endpoint"]);

    let encounter = lab.admitted("Sirbu", 3).await;
    let order = lab
        .ordered(&encounter, &["2823-3", "2951-2", "718-7"])
        .await;
    let specimens = lab.collect(&order.id).await;
    let serum = specimens
        .iter()
        .find(|specimen| specimen.specimen_type == "serum")
        .expect("the serum tube");
    let blood = specimens
        .iter()
        .find(|specimen| specimen.specimen_type == "whole blood")
        .expect("the EDTA tube");
    // Nothing is ordered before the tubes reach the laboratory.
    assert!(chemistry_reads.try_recv().is_err());
    lab.receive(&serum.accession).await;
    lab.receive(&blood.accession).await;

    let first = tokio::time::timeout(Duration::from_secs(30), chemistry_reads.recv())
        .await
        .expect("the order reaches the chemistry analyser")
        .expect("a message");
    let again = tokio::time::timeout(Duration::from_secs(30), chemistry_reads.recv())
        .await
        .expect("sent again after the dropped connection")
        .expect("a message");
    assert_eq!(first, again, "the same message, the same control id");
    let segments: Vec<&str> = first.split('\r').collect();
    assert!(segments[0].contains("|ORM^O01^ORM_O01|"), "{first}");
    assert!(
        segments[0].contains("|ORDCHEM|LAB1|"),
        "addressed to the analyser: {first}"
    );
    let pid = segments.iter().find(|s| s.starts_with("PID")).expect("PID");
    assert!(
        pid.contains(&encounter.patient_id) && pid.ends_with("|19610517|F"),
        "{pid}"
    );
    let obrs: Vec<&&str> = segments.iter().filter(|s| s.starts_with("OBR")).collect();
    assert_eq!(
        obrs.len(),
        2,
        "potassium and sodium, not the haemoglobin: {first}"
    );
    assert!(
        obrs.iter()
            .all(|obr| obr.contains(&format!("|{}|", serum.accession)))
    );
    assert!(first.contains("2823-3^Potassium^LN") && first.contains("2951-2"));
    let orc = segments.iter().find(|s| s.starts_with("ORC")).expect("ORC");
    assert!(orc.contains("^^^^^A"), "urgent: {orc}");
    let haemoglobin = tokio::time::timeout(Duration::from_secs(30), haematology_reads.recv())
        .await
        .expect("the EDTA tube's order reaches haematology")
        .expect("a message");
    assert!(haemoglobin.contains(&blood.accession) && haemoglobin.contains("718-7"));

    // The message log: delivered after two attempts, refused with the analyser's words,
    // failed after three attempts at an analyser switched off.
    let outbound = eventually("every order settles", || async {
        let messages = self::lab(&lab.app)
            .list_hl7_messages(signed_in(
                &lab.admin,
                pb::ListHl7MessagesRequest { page_size: 50 },
            ))
            .await
            .expect("the message log")
            .into_inner()
            .messages;
        let outbound: Vec<pb::Hl7Message> = messages
            .into_iter()
            .filter(|message| message.direction == pb::Hl7Direction::Outbound as i32)
            .collect();
        let settled = outbound.len() == 3
            && outbound
                .iter()
                .all(|message| message.delivery != pb::DeliveryStatus::Pending as i32);
        settled.then_some(outbound)
    })
    .await;
    let by_analyser = |code: &str| {
        outbound
            .iter()
            .find(|message| message.analyser_code == code)
            .unwrap_or_else(|| panic!("a message to {code}"))
    };
    let delivered = by_analyser("CHEM-2");
    assert_eq!(
        (
            delivered.delivery,
            delivered.attempts,
            delivered.acknowledgment_code.as_str()
        ),
        (pb::DeliveryStatus::Delivered as i32, 2, "AA")
    );
    assert_eq!(delivered.accession, serum.accession);
    assert_eq!(delivered.message_type, "ORM^O01");
    let refused = by_analyser("HEM-1");
    assert_eq!(
        (
            refused.delivery,
            refused.attempts,
            refused.acknowledgment_code.as_str()
        ),
        (pb::DeliveryStatus::Refused as i32, 1, "AE")
    );
    assert!(
        refused.error.contains("not on this analyser"),
        "{}",
        refused.error
    );
    let failed = by_analyser("CHEM-OFF");
    assert_eq!(
        (failed.delivery, failed.attempts),
        (pb::DeliveryStatus::Failed as i32, 3)
    );
    assert!(!failed.error.is_empty());
}

#[tokio::test]
async fn the_mllp_listener_hears_only_the_analysers_networks() {
    let lab = Lab::open(LaboratoryOptions {
        mllp_allowed_sources: vec!["10.20.0.0/16".parse().expect("a network")],
        ..Default::default()
    })
    .await;
    let mut stranger = Mllp::connect(lab.mllp).await;
    let message = oru(
        "FROM-OUTSIDE",
        &[("260000001", &[("NM", "2823-3", "4.2", "mmol/L")])],
    );
    let mut framed = vec![0x0b];
    framed.extend_from_slice(message.as_bytes());
    framed.extend_from_slice(&[0x1c, 0x0d]);
    // The connection is closed unanswered: writing may or may not fail, reading ends.
    let _ = stranger.0.write_all(&framed).await;
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stranger.0.read_to_end(&mut answer))
        .await
        .expect("closed in time");
    assert!(
        read.is_err() || answer.is_empty(),
        "no answer to a stranger: {answer:?}"
    );
    let messages = self::lab(&lab.app)
        .list_hl7_messages(signed_in(
            &lab.admin,
            pb::ListHl7MessagesRequest { page_size: 10 },
        ))
        .await
        .expect("the message log")
        .into_inner()
        .messages;
    assert!(messages.is_empty(), "nothing logged from a stranger");
}
