//! Medical statistics over real gRPC: a scripted week of admissions, transfers, discharges
//! and a death (backdated, as desks record them), the daily census of each ward checked
//! against a hand count, the movement analysis, and a rebuild of the read models from the
//! events giving the same reports.

mod support;

use std::time::Duration;

use chrono::{NaiveDate, TimeZone};
use hmis_platform::auth::Scope;
use hmis_proto::openhmis::admissions::v1 as admissions_pb;
use hmis_proto::openhmis::core::v1 as core_pb;
use hmis_proto::openhmis::patients::v1 as patients_pb;
use hmis_proto::openhmis::statistics::v1 as pb;
use hmis_statistics::StatisticsModule;
use pb::statistics_service_client::StatisticsServiceClient;
use support::{Session, TestApp, USER_PASSWORD, signed_in};
use tonic::transport::Channel;

fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

const ZONE: &str = "Europe/Chisinau";

struct Week {
    app: TestApp,
    desk: Session,
    statistician: Session,
    facility_id: String,
    ward_a: String,
    ward_b: String,
    beds_a: Vec<String>,
    beds_b: Vec<String>,
    /// The first day of the scripted week, ten days ago in the facility's zone.
    first_day: NaiveDate,
}

/// The instant of `hour`:00 local time `day` days after the first day.
fn at(first_day: NaiveDate, day: i64, hour: u32) -> prost_types::Timestamp {
    let zone: chrono_tz::Tz = ZONE.parse().expect("zone");
    let local = (first_day + chrono::Duration::days(day))
        .and_hms_opt(hour, 0, 0)
        .expect("time");
    let instant = zone
        .from_local_datetime(&local)
        .earliest()
        .expect("local time")
        .with_timezone(&chrono::Utc);
    hmis_platform::wire::timestamp(instant).expect("timestamp")
}

async fn ward(app: &TestApp, admin: &Session, facility: &str, code: &str) -> (String, Vec<String>) {
    let department = app
        .facilities()
        .create_department(signed_in(
            admin,
            core_pb::CreateDepartmentRequest {
                request_id: request_id(),
                department: Some(core_pb::Department {
                    facility_id: facility.to_owned(),
                    code: code.to_owned(),
                    name: format!("Ward {code}"),
                    kind: core_pb::DepartmentKind::Ward.into(),
                    ..Default::default()
                }),
            },
        ))
        .await
        .expect("ward")
        .into_inner()
        .department
        .expect("department")
        .id;
    let room = app
        .facilities()
        .create_room(signed_in(
            admin,
            core_pb::CreateRoomRequest {
                request_id: request_id(),
                room: Some(core_pb::Room {
                    department_id: department.clone(),
                    code: format!("{code}-1"),
                    name: "Room".to_owned(),
                    ..Default::default()
                }),
            },
        ))
        .await
        .expect("room")
        .into_inner()
        .room
        .expect("room");
    let mut beds = Vec::new();
    for n in 1..=4 {
        beds.push(
            app.facilities()
                .create_bed(signed_in(
                    admin,
                    core_pb::CreateBedRequest {
                        request_id: request_id(),
                        bed: Some(core_pb::Bed {
                            room_id: room.id.clone(),
                            code: n.to_string(),
                            ..Default::default()
                        }),
                    },
                ))
                .await
                .expect("bed")
                .into_inner()
                .bed
                .expect("bed")
                .id,
        );
    }
    (department, beds)
}

fn admissions(
    app: &TestApp,
) -> admissions_pb::admission_service_client::AdmissionServiceClient<Channel> {
    admissions_pb::admission_service_client::AdmissionServiceClient::new(app.channel.clone())
}

fn statistics(app: &TestApp) -> StatisticsServiceClient<Channel> {
    StatisticsServiceClient::new(app.channel.clone())
}

impl Week {
    async fn open() -> Self {
        let app = TestApp::spawn().await;
        let admin = app.create_tenant("STAT").await;
        let facility = app.create_facility(&admin, "MAIN").await;
        let (ward_a, beds_a) = ward(&app, &admin, &facility.id, "A").await;
        let (ward_b, beds_b) = ward(&app, &admin, &facility.id, "B").await;
        app.add_user(admin.tenant_id, "desk", "registrar", Scope::Tenant)
            .await;
        app.add_user(admin.tenant_id, "stats", "statistician", Scope::Tenant)
            .await;
        let desk = app
            .login("STAT", "desk", USER_PASSWORD)
            .await
            .expect("desk");
        let statistician = app
            .login("STAT", "stats", USER_PASSWORD)
            .await
            .expect("statistician");
        let zone: chrono_tz::Tz = ZONE.parse().expect("zone");
        let first_day =
            chrono::Utc::now().with_timezone(&zone).date_naive() - chrono::Duration::days(10);
        Self {
            app,
            desk,
            statistician,
            facility_id: facility.id,
            ward_a,
            ward_b,
            beds_a,
            beds_b,
            first_day,
        }
    }

    async fn admit(&self, family: &str, ward: &str, bed: &str, day: i64, hour: u32) -> String {
        self.admit_person(
            family,
            patients_pb::Sex::Male,
            "1950-01-01",
            ward,
            bed,
            day,
            hour,
        )
        .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn admit_person(
        &self,
        family: &str,
        sex: patients_pb::Sex,
        birth_date: &str,
        ward: &str,
        bed: &str,
        day: i64,
        hour: u32,
    ) -> String {
        let patient = patients_pb::patient_service_client::PatientServiceClient::new(
            self.app.channel.clone(),
        )
        .register_patient(signed_in(
            &self.desk,
            patients_pb::RegisterPatientRequest {
                request_id: request_id(),
                patient: Some(patients_pb::Patient {
                    family_name: family.to_owned(),
                    given_names: "Ion".to_owned(),
                    sex: sex.into(),
                    birth_date: birth_date.to_owned(),
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
        admissions(&self.app)
            .admit_patient(signed_in(
                &self.desk,
                admissions_pb::AdmitPatientRequest {
                    request_id: request_id(),
                    admission: Some(admissions_pb::Admission {
                        patient_id: patient,
                        department_id: ward.to_owned(),
                        bed_id: bed.to_owned(),
                        r#type: admissions_pb::AdmissionType::Emergency.into(),
                        admit_time: Some(at(self.first_day, day, hour)),
                        admitting_diagnosis_code: "I21.0".to_owned(),
                        ..Default::default()
                    }),
                },
            ))
            .await
            .expect("admit")
            .into_inner()
            .admission
            .expect("admission")
            .id
    }

    async fn transfer(&self, admission: &str, ward: &str, bed: &str, day: i64, hour: u32) {
        admissions(&self.app)
            .transfer_patient(signed_in(
                &self.desk,
                admissions_pb::TransferPatientRequest {
                    request_id: request_id(),
                    admission_id: admission.to_owned(),
                    department_id: ward.to_owned(),
                    bed_id: bed.to_owned(),
                    transfer_time: Some(at(self.first_day, day, hour)),
                    ..Default::default()
                },
            ))
            .await
            .expect("transfer");
    }

    async fn discharge(
        &self,
        admission: &str,
        kind: admissions_pb::DischargeType,
        day: i64,
        hour: u32,
    ) {
        admissions(&self.app)
            .discharge_patient(signed_in(
                &self.desk,
                admissions_pb::DischargePatientRequest {
                    request_id: request_id(),
                    admission_id: admission.to_owned(),
                    r#type: kind.into(),
                    discharge_time: Some(at(self.first_day, day, hour)),
                    ..Default::default()
                },
            ))
            .await
            .expect("discharge");
    }

    async fn census(&self, ward: &str, day: i64) -> [i32; 8] {
        let census = statistics(&self.app)
            .get_daily_census(signed_in(
                &self.statistician,
                pb::GetDailyCensusRequest {
                    department_id: ward.to_owned(),
                    date: (self.first_day + chrono::Duration::days(day)).to_string(),
                },
            ))
            .await
            .expect("census")
            .into_inner()
            .census
            .expect("census");
        [
            census.present_at_start,
            census.admitted,
            census.transferred_in,
            census.transferred_out,
            census.discharged,
            census.deceased,
            census.present_at_end,
            census.bed_days,
        ]
    }

    /// Every census of the week, ward A then ward B.
    async fn week(&self) -> Vec<[i32; 8]> {
        let mut all = Vec::new();
        for ward in [&self.ward_a, &self.ward_b] {
            for day in 0..7 {
                all.push(self.census(ward, day).await);
            }
        }
        all
    }
}

/// The movement analysis's CSV: a header, then one row per line of the answer.
async fn analysis_csv_has_a_row_per_line(week: &Week) -> bool {
    let answer = statistics(&week.app)
        .get_movement_analysis(signed_in(
            &week.statistician,
            pb::GetMovementAnalysisRequest {
                facility_id: week.facility_id.clone(),
                from_date: week.first_day.to_string(),
                to_date: (week.first_day + chrono::Duration::days(6)).to_string(),
            },
        ))
        .await
        .expect("movement analysis")
        .into_inner();
    let rows: Vec<&str> = answer.csv.lines().collect();
    rows.first()
        .is_some_and(|header| header.starts_with("department_id,admitted,"))
        && rows.len() == answer.lines.len() + 1
        && rows.last().is_some_and(|row| row.starts_with("total,"))
}

#[tokio::test]
async fn the_census_of_a_scripted_week_matches_the_hand_count_and_survives_a_rebuild() {
    let week = Week::open().await;
    use admissions_pb::DischargeType::{Deceased, Improved, Recovered};
    let (a, b) = (week.ward_a.clone(), week.ward_b.clone());
    // Already in ward A before the week began; leaves on day 5.
    let p5 = week.admit("Before", &a, &week.beds_a[0], -1, 15).await;
    // Day 0 09:00 into A, to B on day 1 at 10:00, home on day 3.
    let p1 = week.admit("Mover", &a, &week.beds_a[1], 0, 9).await;
    // Day 0 22:00 into A: across midnight, home on day 1 at 08:00.
    let p2 = week.admit("Night", &a, &week.beds_a[2], 0, 22).await;
    // Day 2 12:00 into B; dies on day 4 at 03:00.
    let p3 = week.admit("Grave", &b, &week.beds_b[0], 2, 12).await;
    // Day 2 14:00 into A; still in.
    week.admit("Stayer", &a, &week.beds_a[3], 2, 14).await;
    week.transfer(&p1, &b, &week.beds_b[1], 1, 10).await;
    week.discharge(&p2, Recovered, 1, 8).await;
    week.discharge(&p1, Improved, 3, 11).await;
    week.discharge(&p3, Deceased, 4, 3).await;
    week.discharge(&p5, Recovered, 5, 9).await;

    // [at start, admitted, in, out, discharged, deceased, at end, bed-days], by hand.
    let expected: Vec<[i32; 8]> = vec![
        // ward A, days 0..6
        [1, 2, 0, 0, 0, 0, 3, 3],
        [3, 0, 0, 1, 1, 0, 1, 1],
        [1, 1, 0, 0, 0, 0, 2, 2],
        [2, 0, 0, 0, 0, 0, 2, 2],
        [2, 0, 0, 0, 0, 0, 2, 2],
        [2, 0, 0, 0, 1, 0, 1, 1],
        [1, 0, 0, 0, 0, 0, 1, 1],
        // ward B, days 0..6
        [0, 0, 0, 0, 0, 0, 0, 0],
        [0, 0, 1, 0, 0, 0, 1, 1],
        [1, 1, 0, 0, 0, 0, 2, 2],
        [2, 0, 0, 0, 1, 0, 1, 1],
        [1, 0, 0, 0, 0, 1, 0, 0],
        [0, 0, 0, 0, 0, 0, 0, 0],
        [0, 0, 0, 0, 0, 0, 0, 0],
    ];
    // The read models follow the events; wait until the last change has arrived.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut poll = tokio::time::interval(Duration::from_millis(50));
    loop {
        poll.tick().await;
        if week.census(&a, 5).await == expected[5] && week.census(&b, 4).await == expected[11] {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the read models never caught up"
        );
    }
    assert_eq!(week.week().await, expected);

    let analysis = statistics(&week.app)
        .get_movement_analysis(signed_in(
            &week.statistician,
            pb::GetMovementAnalysisRequest {
                facility_id: week.facility_id.clone(),
                from_date: week.first_day.to_string(),
                to_date: (week.first_day + chrono::Duration::days(6)).to_string(),
            },
        ))
        .await
        .expect("movement analysis")
        .into_inner()
        .lines;
    let ward_b = analysis
        .iter()
        .find(|line| line.department_id == b)
        .expect("ward B");
    assert_eq!(
        (
            ward_b.admitted,
            ward_b.transferred_in,
            ward_b.discharged,
            ward_b.deceased,
            ward_b.beds
        ),
        (1, 1, 1, 1, 4)
    );
    // P1 in B from day 1 10:00 to day 3 11:00, P3 from day 2 12:00 to day 4 03:00 (about
    // 3.67 days; computed from the instants, so a clock change in the week is counted right);
    // two leavers, one dead.
    let days = |from: (i64, u32), to: (i64, u32)| {
        let (from, to) = (
            at(week.first_day, from.0, from.1),
            at(week.first_day, to.0, to.1),
        );
        (to.seconds - from.seconds) as f64 / 86_400.0
    };
    let ward_b_days = days((1, 10), (3, 11)) + days((2, 12), (4, 3));
    assert_eq!(ward_b.bed_days, format!("{ward_b_days:.2}"));
    assert_eq!(
        ward_b.average_length_of_stay,
        format!("{:.2}", ward_b_days / 2.0)
    );
    assert_eq!(ward_b.mortality_percent, "50.00");
    let total = analysis.last().expect("total");
    assert!(total.department_id.is_empty());
    assert_eq!(
        (total.admitted, total.discharged, total.deceased, total.beds),
        (4, 3, 1, 8)
    );
    assert!(
        analysis_csv_has_a_row_per_line(&week).await,
        "the CSV export holds a header and every line"
    );

    // Everyone who left, by the ICD-10 chapter of the diagnosis (here the admitting I21.0):
    // P2, P1, P5 alive, P3 dead, over their whole stays.
    let by_diagnosis = statistics(&week.app)
        .get_movement_by_diagnosis(signed_in(
            &week.statistician,
            pb::GetMovementByDiagnosisRequest {
                facility_id: week.facility_id.clone(),
                from_date: week.first_day.to_string(),
                to_date: (week.first_day + chrono::Duration::days(6)).to_string(),
            },
        ))
        .await
        .expect("by diagnosis")
        .into_inner();
    assert_eq!(by_diagnosis.lines.len(), 1);
    let circulatory = &by_diagnosis.lines[0];
    assert_eq!(
        (
            circulatory.chapter.as_str(),
            circulatory.discharged,
            circulatory.deceased
        ),
        ("IX", 3, 1)
    );
    let whole_stays = days((0, 22), (1, 8))
        + days((0, 9), (3, 11))
        + days((2, 12), (4, 3))
        + days((-1, 15), (5, 9));
    assert_eq!(circulatory.bed_days, format!("{whole_stays:.2}"));
    assert_eq!(circulatory.mortality_percent, "25.00");
    assert!(by_diagnosis.csv.starts_with("chapter,title,"));
    assert!(
        by_diagnosis
            .csv
            .contains("IX,\"Diseases of the circulatory system\",3,1,")
    );

    // Built again from the events alone, the reports are the same.
    let module = StatisticsModule::new(
        week.app.db.database.clone(),
        hmis_platform::channel::in_process(week.app.core.facility_service()),
    );
    let read = module.rebuild(week.desk.tenant_id).await.expect("rebuild");
    assert!(read >= 10, "every admission event was read again ({read})");
    assert_eq!(week.week().await, expected);
    week.app.stop().await;
}

#[tokio::test]
async fn form_16_counts_sick_leave_cases_and_days_by_diagnosis_group_sex_and_age() {
    use hmis_proto::openhmis::encounters::v1 as encounters_pb;
    let week = Week::open().await;
    hmis_terminology::TerminologyModule::new(
        week.app.db.database.clone(),
        std::sync::Arc::new(hmis_platform::clock::SystemClock),
    )
    .load_starter_set(week.desk.tenant_id)
    .await
    .expect("ICD-10");
    week.app
        .add_user(week.desk.tenant_id, "doctor", "physician", Scope::Tenant)
        .await;
    let doctor = week
        .app
        .login("STAT", "doctor", USER_PASSWORD)
        .await
        .expect("doctor");
    let (a, b) = (week.ward_a.clone(), week.ward_b.clone());
    let her = week
        .admit_person(
            "Ana",
            patients_pb::Sex::Female,
            "1980-03-04",
            &a,
            &week.beds_a[0],
            0,
            9,
        )
        .await;
    let him = week.admit("Petru", &b, &week.beds_b[0], 0, 10).await;
    let mut encounters = encounters_pb::encounter_service_client::EncounterServiceClient::new(
        week.app.channel.clone(),
    );
    let mut certificates = encounters_pb::certificate_service_client::CertificateServiceClient::new(
        week.app.channel.clone(),
    );
    let mut issue = async |admission: &str, code: &str, start: &str, end: &str, previous: &str| {
        let encounter = encounters
            .open_encounter(signed_in(
                &doctor,
                encounters_pb::OpenEncounterRequest {
                    request_id: request_id(),
                    admission_id: admission.to_owned(),
                    ..Default::default()
                },
            ))
            .await
            .expect("encounter")
            .into_inner()
            .encounter
            .expect("encounter");
        certificates
            .issue_certificate(signed_in(
                &doctor,
                encounters_pb::IssueCertificateRequest {
                    request_id: request_id(),
                    certificate: Some(encounters_pb::Certificate {
                        encounter_id: encounter.id,
                        details: Some(encounters_pb::certificate::Details::SickLeave(
                            encounters_pb::SickLeave {
                                period_start: start.to_owned(),
                                period_end: end.to_owned(),
                                diagnosis_code: code.to_owned(),
                                previous_certificate_id: previous.to_owned(),
                                ..Default::default()
                            },
                        )),
                        ..Default::default()
                    }),
                },
            ))
            .await
            .expect("certificate")
            .into_inner()
            .certificate
            .expect("certificate")
            .id
    };
    // Hers: pneumonia, 1-10 November, extended 11-15 November (one case, 15 days).
    let first = issue(&her, "J18.9", "2026-11-01", "2026-11-10", "").await;
    issue(&her, "J18.9", "2026-11-11", "2026-11-15", &first).await;
    // His: infarction since 25 October (a case of October), 5 days of it in November.
    issue(&him, "I21.0", "2026-10-25", "2026-11-05", "").await;

    let form = || {
        let mut client = statistics(&week.app);
        let statistician = week.statistician.clone();
        let facility = week.facility_id.clone();
        async move {
            client
                .get_form16(signed_in(
                    &statistician,
                    pb::GetForm16Request {
                        facility_id: facility,
                        from_date: "2026-11-01".to_owned(),
                        to_date: "2026-11-30".to_owned(),
                    },
                ))
                .await
                .expect("form 16")
                .into_inner()
        }
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut poll = tokio::time::interval(Duration::from_millis(50));
    let form16 = loop {
        poll.tick().await;
        let answer = form().await;
        if answer.total_days == 20 && answer.lines.iter().all(|line| line.sex != "unknown") {
            break answer;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the read models never caught up"
        );
    };
    let lines: Vec<(&str, &str, &str, i32, i32)> = form16
        .lines
        .iter()
        .map(|l| {
            (
                l.chapter.as_str(),
                l.sex.as_str(),
                l.age_group.as_str(),
                l.cases,
                l.days,
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            ("IX", "male", "60 and over", 0, 5),
            ("X", "female", "40-49", 1, 15)
        ]
    );
    assert_eq!((form16.total_cases, form16.total_days), (1, 20));
    assert!(form16.csv.contains("X,female,40-49,1,15"));
    week.app.stop().await;
}
