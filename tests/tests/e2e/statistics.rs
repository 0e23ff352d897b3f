//! Medical statistics over real gRPC: a scripted week of admissions, transfers, discharges
//! and a death (backdated, as desks record them), the daily census of each ward checked
//! against a hand count, the movement analysis, and a rebuild of the read models from the
//! events giving the same reports.

use crate::support;

use std::time::Duration;

use chrono::{NaiveDate, TimeZone};
use hmis_platform::auth::Scope;
use hmis_proto::openhmis::admissions::v1 as admissions_pb;
use hmis_proto::openhmis::core::v1 as core_pb;
use hmis_proto::openhmis::iam::v1 as iam_pb;
use hmis_proto::openhmis::patients::v1 as patients_pb;
use hmis_proto::openhmis::statistics::v1 as pb;
use openhmis_server::Options;
use pb::statistics_service_client::StatisticsServiceClient;
use support::{Session, TestApp, USER_PASSWORD, WardSpec, signed_in, violated_fields};
use tonic::Code;
use tonic::transport::Channel;

fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

const ZONE: &str = "Europe/Chisinau";

struct Week {
    app: TestApp,
    admin: Session,
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

async fn ward(
    app: &TestApp,
    admin: &Session,
    facility: &str,
    code: &str,
    specialty: &str,
) -> (String, Vec<String>) {
    let spec = WardSpec::ward(code, &format!("Ward {code}"))
        .specialty(specialty)
        .beds(&format!("{code}-1"), "Room", 4);
    let ward = app.open_ward(admin, facility, spec).await;
    (ward.id, ward.beds)
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
        Self::open_with(Options::default()).await
    }

    /// Ward A is a cardiology ward, ward B an internal medicine one.
    async fn open_with(options: Options) -> Self {
        Self::open_on(
            options,
            std::sync::Arc::new(hmis_platform::clock::SystemClock),
        )
        .await
    }

    /// On `clock` (a manual clock the test moves, ahead of the real time).
    async fn open_on(options: Options, clock: hmis_platform::clock::SharedClock) -> Self {
        let app = TestApp::spawn_with_clock(options, clock).await;
        let admin = app.create_tenant("STAT").await;
        let facility = app.create_facility(&admin, "MAIN").await;
        app.dictionaries()
            .create_dictionary(signed_in(
                &admin,
                core_pb::CreateDictionaryRequest {
                    request_id: request_id(),
                    dictionary: Some(core_pb::Dictionary {
                        code: "specialties".to_owned(),
                        name: "Specialties".to_owned(),
                        ..Default::default()
                    }),
                },
            ))
            .await
            .expect("specialties");
        for (code, display) in [
            ("cardiology", "Cardiology"),
            ("internal", "Internal medicine"),
        ] {
            app.dictionaries()
                .create_dictionary_entry(signed_in(
                    &admin,
                    core_pb::CreateDictionaryEntryRequest {
                        request_id: request_id(),
                        entry: Some(core_pb::DictionaryEntry {
                            dictionary_code: "specialties".to_owned(),
                            code: code.to_owned(),
                            display: display.to_owned(),
                            active: true,
                            ..Default::default()
                        }),
                    },
                ))
                .await
                .expect("specialty");
        }
        let (ward_a, beds_a) = ward(&app, &admin, &facility.id, "A", "cardiology").await;
        let (ward_b, beds_b) = ward(&app, &admin, &facility.id, "B", "internal").await;
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
            admin,
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
                ..Default::default()
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
                ..Default::default()
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

    // By specialty: ward A is cardiology, ward B internal medicine; then the total.
    let by_specialty = statistics(&week.app)
        .get_movement_analysis(signed_in(
            &week.statistician,
            pb::GetMovementAnalysisRequest {
                facility_id: week.facility_id.clone(),
                from_date: week.first_day.to_string(),
                to_date: (week.first_day + chrono::Duration::days(6)).to_string(),
                grouping: pb::MovementGrouping::Specialty.into(),
            },
        ))
        .await
        .expect("movement by specialty")
        .into_inner()
        .lines;
    let specialties: Vec<(&str, i32, i32, i32)> = by_specialty
        .iter()
        .map(|line| {
            (
                line.specialty_code.as_str(),
                line.admitted,
                line.transferred_in,
                line.deceased,
            )
        })
        .collect();
    assert_eq!(
        specialties,
        [
            ("cardiology", 3, 0, 0),
            ("internal", 1, 1, 1),
            ("", 4, 1, 1)
        ]
    );
    assert_eq!(by_specialty[1].bed_days, ward_b.bed_days);

    // The same through the nightly batch job (`openhmis report movement --by specialty`),
    // signed in as a service account with the statistician's role.
    let job = week.batch_job("nightly-movement").await;
    let csv = openhmis_server::report::run(
        &job,
        &openhmis_server::report::Report::Movement {
            facility_id: week.facility_id.clone(),
            from: week.first_day.to_string(),
            to: (week.first_day + chrono::Duration::days(6)).to_string(),
            grouping: openhmis_server::report::Grouping::Specialty,
        },
        openhmis_server::report::Format::Csv,
    )
    .await
    .expect("the batch job's report");
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(
        rows.len(),
        4,
        "a header, two specialties and the total: {csv}"
    );
    assert!(rows[0].ends_with(",specialty_code"), "{}", rows[0]);
    // Lines of specialties name no ward.
    assert!(
        rows[1].starts_with(',') && rows[1].ends_with(",cardiology"),
        "{}",
        rows[1]
    );
    assert!(
        rows[2].starts_with(',') && rows[2].ends_with(",internal"),
        "{}",
        rows[2]
    );

    // The registers: who was admitted, moved and discharged in the week, with filters.
    let week_register = |register: pb::RegisterKind| pb::ListRegisterRequest {
        register: register.into(),
        facility_id: week.facility_id.clone(),
        from_date: week.first_day.to_string(),
        to_date: (week.first_day + chrono::Duration::days(6)).to_string(),
        ..Default::default()
    };
    let list = async |request: pb::ListRegisterRequest| {
        statistics(&week.app)
            .list_register(signed_in(&week.statistician, request))
            .await
    };
    let admitted = list(week_register(pb::RegisterKind::Admissions))
        .await
        .expect("admissions register")
        .into_inner();
    let admitted_ids: Vec<&str> = admitted
        .entries
        .iter()
        .map(|entry| entry.admission_id.as_str())
        .collect();
    assert_eq!(
        admitted_ids.len(),
        4,
        "P1, P2, P3 and the stayer; P5 came before"
    );
    assert_eq!(&admitted_ids[..3], [p1.as_str(), p2.as_str(), p3.as_str()]);
    assert!(
        admitted
            .entries
            .iter()
            .all(|entry| !entry.admission_number.is_empty()
                && entry.diagnosis_code == "I21.0"
                && entry.admission_type == "emergency")
    );
    assert_eq!(admitted.csv.lines().count(), 5);
    // The register (and its CSV) names patients: its read is on record with every one of them.
    let mut owner =
        <sqlx::PgConnection as sqlx::Connection>::connect_with(&week.app.db.owner_options())
            .await
            .expect("owner");
    let named: Vec<Vec<uuid::Uuid>> = sqlx::query_scalar(
        "SELECT patient_ids FROM audit.records \
         WHERE method = '/openhmis.statistics.v1.StatisticsService/ListRegister'",
    )
    .fetch_all(&mut owner)
    .await
    .expect("audit records");
    assert_eq!(named.len(), 1, "one read, one record");
    for entry in &admitted.entries {
        let patient: uuid::Uuid = entry.patient_id.parse().expect("patient id");
        assert!(named[0].contains(&patient), "{patient} is on record");
    }
    assert!(
        admitted
            .csv
            .starts_with("admission_number,admission_id,patient_id,")
    );
    let into_b = list(pb::ListRegisterRequest {
        department_id: b.clone(),
        ..week_register(pb::RegisterKind::Admissions)
    })
    .await
    .expect("admissions to B")
    .into_inner();
    assert_eq!(into_b.entries.len(), 1);
    assert_eq!(into_b.entries[0].admission_id, p3);

    let moved = list(pb::ListRegisterRequest {
        department_id: a.clone(),
        ..week_register(pb::RegisterKind::Transfers)
    })
    .await
    .expect("transfers out of A")
    .into_inner()
    .entries;
    assert_eq!(moved.len(), 1);
    assert_eq!(
        (
            moved[0].admission_id.as_str(),
            moved[0].from_department_id.as_str(),
            moved[0].department_id.as_str()
        ),
        (p1.as_str(), a.as_str(), b.as_str())
    );
    assert_eq!(moved[0].time, Some(at(week.first_day, 1, 10)));

    let dead = list(pb::ListRegisterRequest {
        discharge_type: "deceased".to_owned(),
        ..week_register(pb::RegisterKind::Discharges)
    })
    .await
    .expect("deaths")
    .into_inner()
    .entries;
    assert_eq!(dead.len(), 1);
    assert_eq!(
        (
            dead[0].admission_id.as_str(),
            dead[0].department_id.as_str()
        ),
        (p3.as_str(), b.as_str())
    );
    assert_eq!(
        dead[0].length_of_stay_days,
        format!("{:.2}", days((2, 12), (4, 3)))
    );
    // Every discharge of the week, two to a page, each once.
    let mut pages = 0;
    let mut discharged = Vec::new();
    let mut token = String::new();
    loop {
        let page = list(pb::ListRegisterRequest {
            page_size: 2,
            page_token: token.clone(),
            ..week_register(pb::RegisterKind::Discharges)
        })
        .await
        .expect("discharges page")
        .into_inner();
        pages += 1;
        discharged.extend(page.entries.into_iter().map(|entry| entry.admission_id));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(pages, 2);
    assert_eq!(discharged, [p2.clone(), p1.clone(), p3.clone(), p5.clone()]);
    let other_chapter = list(pb::ListRegisterRequest {
        diagnosis_prefix: "j".to_owned(),
        ..week_register(pb::RegisterKind::Discharges)
    })
    .await
    .expect("respiratory discharges")
    .into_inner();
    assert!(other_chapter.entries.is_empty());
    let refused = list(pb::ListRegisterRequest {
        discharge_type: "escaped".to_owned(),
        ..week_register(pb::RegisterKind::Discharges)
    })
    .await
    .expect_err("an unknown discharge type");
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    assert_eq!(support::violated_fields(&refused), ["discharge_type"]);

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
    let read = week
        .app
        .statistics
        .rebuild(week.desk.tenant_id)
        .await
        .expect("rebuild");
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

/// The statistics institute's receiver, as the tests script it: it checks each document's
/// signature and schema as the real one would, then answers what the script says.
mod institute {
    use std::collections::VecDeque;
    use std::sync::{Arc, Mutex};

    use axum::extract::{Path, State};
    use axum::http::{HeaderMap, StatusCode};
    use axum::routing::{get, post};
    use axum::{Json, Router};
    use base64::Engine;
    use ed25519_dalek::{Signature, Verifier, VerifyingKey};
    use serde_json::{Value, json};

    /// One POST the receiver took: its idempotency key, body, and whether signature and
    /// schema held.
    #[derive(Debug, Clone)]
    pub struct Received {
        pub idempotency_key: String,
        pub body: Vec<u8>,
        pub signature_valid: bool,
        pub schema_problems: Vec<String>,
    }

    #[derive(Default)]
    pub struct Script {
        /// Answers to POSTs, in order.
        pub posts: VecDeque<(StatusCode, Value)>,
        /// Answers to status questions, in order.
        pub checks: VecDeque<(StatusCode, Value)>,
        pub received: Vec<Received>,
        pub asked: Vec<String>,
    }

    #[derive(Clone)]
    struct Institute {
        key: VerifyingKey,
        schema: Arc<jsonschema::Validator>,
        script: Arc<Mutex<Script>>,
    }

    async fn submit(
        State(institute): State<Institute>,
        headers: HeaderMap,
        body: axum::body::Bytes,
    ) -> (StatusCode, Json<Value>) {
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|value| value.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let signature_valid = base64::engine::general_purpose::STANDARD
            .decode(header("x-report-signature"))
            .ok()
            .and_then(|bytes| Signature::from_slice(&bytes).ok())
            .is_some_and(|signature| institute.key.verify(&body, &signature).is_ok());
        let schema_problems = match serde_json::from_slice::<Value>(&body) {
            Ok(document) => institute
                .schema
                .iter_errors(&document)
                .map(|error| error.to_string())
                .collect(),
            Err(error) => vec![error.to_string()],
        };
        let mut script = institute.script.lock().expect("script");
        script.received.push(Received {
            idempotency_key: header("idempotency-key"),
            body: body.to_vec(),
            signature_valid,
            schema_problems,
        });
        let (status, answer) = script
            .posts
            .pop_front()
            .unwrap_or((StatusCode::INTERNAL_SERVER_ERROR, json!({})));
        (status, Json(answer))
    }

    async fn check(
        State(institute): State<Institute>,
        Path(receipt): Path<String>,
    ) -> (StatusCode, Json<Value>) {
        let mut script = institute.script.lock().expect("script");
        script.asked.push(receipt);
        let (status, answer) = script
            .checks
            .pop_front()
            .unwrap_or((StatusCode::NOT_FOUND, json!({})));
        (status, Json(answer))
    }

    /// Starts the receiver on a free port; its endpoint URL and the shared script.
    pub async fn start(key: VerifyingKey) -> (String, Arc<Mutex<Script>>) {
        let schema: Value =
            serde_json::from_str(hmis_statistics::REPORT_SCHEMA).expect("the published schema");
        let institute = Institute {
            key,
            schema: Arc::new(jsonschema::validator_for(&schema).expect("schema compiles")),
            script: Arc::new(Mutex::new(Script::default())),
        };
        let script = institute.script.clone();
        let app = Router::new()
            .route("/v1/submissions", post(submit))
            .route("/v1/submissions/{receipt}", get(check))
            .with_state(institute);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        tokio::spawn(async move {
            axum::serve(listener, app).await.expect("receiver");
        });
        (format!("http://{addr}/v1/submissions"), script)
    }
}

impl Week {
    /// A batch job's sign-in: a service account with the statistician's role.
    async fn batch_job(&self, name: &str) -> openhmis_server::report::Job {
        let week = self;
        let account = week
            .app
            .admin()
            .create_service_account(signed_in(
                &week.admin,
                iam_pb::CreateServiceAccountRequest {
                    request_id: request_id(),
                    name: name.to_owned(),
                },
            ))
            .await
            .expect("service account")
            .into_inner();
        week.app
            .admin()
            .assign_role(signed_in(
                &week.admin,
                iam_pb::AssignRoleRequest {
                    request_id: request_id(),
                    assignment: Some(iam_pb::Assignment {
                        user_id: account.user_id.clone(),
                        role_code: "statistician".to_owned(),
                        scope: "tenant".to_owned(),
                        ..Default::default()
                    }),
                },
            ))
            .await
            .expect("statistician role");
        openhmis_server::report::Job {
            server: format!("http://{}", week.app.addr),
            tenant_code: "STAT".to_owned(),
            client_id: account.client_id,
            client_secret: account.client_secret,
        }
    }
}

/// Options that report to a scripted institute with a fresh key kept in a PEM file (as an
/// operator would keep it, outside the repo; remove its directory once the server started):
/// the test drives the submitter round by round (the background one never wakes, and a
/// failed send or a delivered report is due again at once).
async fn reporting_to_institute() -> (
    Options,
    ed25519_dalek::SigningKey,
    std::sync::Arc<std::sync::Mutex<institute::Script>>,
    std::path::PathBuf,
) {
    use ed25519_dalek::pkcs8::EncodePrivateKey;
    // The hospital's key, as an operator would keep it: a PKCS#8 PEM file outside the repo.
    let mut seed = [0u8; 32];
    seed[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    seed[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    let key = ed25519_dalek::SigningKey::from_bytes(&seed);
    let key_dir = std::env::temp_dir().join(format!("openhmis-key-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&key_dir).expect("key dir");
    let key_file = key_dir.join("reporting.pem");
    std::fs::write(
        &key_file,
        key.to_pkcs8_pem(Default::default())
            .expect("pem")
            .as_bytes(),
    )
    .expect("key file");
    let (endpoint, script) = institute::start(key.verifying_key()).await;

    let mut options = Options::default();
    let reporting = &mut options.statistics.reporting;
    reporting.endpoint = Some(endpoint);
    reporting.signing_key_file = Some(key_file);
    reporting.poll_interval = Duration::from_secs(3600);
    reporting.retry_delay = Duration::ZERO;
    reporting.status_check_interval = Duration::ZERO;
    reporting.request_timeout = Duration::from_secs(10);
    (options, key, script, key_dir)
}

#[tokio::test]
async fn reports_reach_the_institute_signed_and_schema_valid_through_failures_and_a_rejection() {
    use axum::http::StatusCode;
    use serde_json::{Value, json};

    let (options, key, script, key_dir) = reporting_to_institute().await;
    let week = Week::open_with(options).await;
    std::fs::remove_dir_all(&key_dir).expect("the key is read at start");
    let (a, b) = (week.ward_a.clone(), week.ward_b.clone());
    let p1 = week.admit("Mover", &a, &week.beds_a[0], 0, 9).await;
    week.admit("Grave", &b, &week.beds_b[0], 1, 12).await;
    week.discharge(&p1, admissions_pb::DischargeType::Recovered, 2, 10)
        .await;
    let period = (
        week.first_day.to_string(),
        (week.first_day + chrono::Duration::days(6)).to_string(),
    );
    // The read models follow the events; wait for the discharge.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut poll = tokio::time::interval(Duration::from_millis(50));
    while week.census(&a, 2).await[4] != 1 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the read models never caught up"
        );
        poll.tick().await;
    }
    let submit = async |report: pb::ReportKind, request_id: &str, session: &Session| {
        statistics(&week.app)
            .submit_report(signed_in(
                session,
                pb::SubmitReportRequest {
                    request_id: request_id.to_owned(),
                    report: report.into(),
                    facility_id: week.facility_id.clone(),
                    from_date: period.0.clone(),
                    to_date: period.1.clone(),
                },
            ))
            .await
            .map(|answer| answer.into_inner().submission.expect("submission"))
    };
    let get = async |id: &str| {
        statistics(&week.app)
            .get_submission(signed_in(
                &week.statistician,
                pb::GetSubmissionRequest { id: id.to_owned() },
            ))
            .await
            .expect("submission")
            .into_inner()
            .submission
            .expect("submission")
    };
    let round = async || {
        week.app
            .statistics
            .deliver_due_submissions()
            .await
            .expect("a submitter round")
    };

    // Submitted: signed, schema-valid, pending.
    let first_request = request_id();
    let movement = submit(pb::ReportKind::Movement, &first_request, &week.statistician)
        .await
        .expect("submit the movement report");
    assert_eq!(movement.status(), pb::SubmissionStatus::Pending);
    assert_eq!((movement.revision, movement.attempts), (1, 0));
    assert_eq!(
        movement.schema_version,
        hmis_statistics::REPORT_SCHEMA_VERSION
    );
    let document: Value = serde_json::from_str(&movement.document).expect("json");
    assert_eq!(document["report"], "movement");
    assert_eq!(document["facility"]["code"], "MAIN");
    assert_eq!(document["content"]["total"]["admitted"], 2);
    assert_eq!(document["content"]["total"]["discharged"], 1);
    let wards: Vec<(&str, &str)> = document["content"]["wards"]
        .as_array()
        .expect("wards")
        .iter()
        .map(|ward| {
            (
                ward["ward_code"].as_str().unwrap_or_default(),
                ward["specialty_code"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(wards.len(), 2);
    assert!(wards.contains(&("A", "cardiology")) && wards.contains(&("B", "internal")));
    // A retry of the same request is the same submission, not a second one.
    let again = submit(pb::ReportKind::Movement, &first_request, &week.statistician)
        .await
        .expect("retry");
    assert_eq!(again.id, movement.id);

    // The institute is down at first: the submission stays pending and says why.
    script
        .lock()
        .expect("script")
        .posts
        .push_back((StatusCode::SERVICE_UNAVAILABLE, json!({})));
    assert_eq!(round().await, 1);
    let after_failure = get(&movement.id).await;
    assert_eq!(after_failure.status(), pb::SubmissionStatus::Pending);
    assert_eq!(after_failure.attempts, 1);
    assert!(
        after_failure.last_error.contains("503"),
        "{}",
        after_failure.last_error
    );

    // Then it takes the document and will decide later; asked, it first has not decided,
    // then it accepts.
    {
        let mut script = script.lock().expect("script");
        script.posts.push_back((
            StatusCode::ACCEPTED,
            json!({ "receipt": "R-2026/1", "status": "received" }),
        ));
        script
            .checks
            .push_back((StatusCode::OK, json!({ "status": "received" })));
        script.checks.push_back((
            StatusCode::OK,
            json!({ "receipt": "R-2026/1", "status": "accepted" }),
        ));
    }
    assert_eq!(round().await, 1);
    let sent = get(&movement.id).await;
    assert_eq!(sent.status(), pb::SubmissionStatus::Sent);
    assert_eq!((sent.receipt.as_str(), sent.attempts), ("R-2026/1", 2));
    assert!(sent.send_time.is_some() && sent.last_error.is_empty());
    assert_eq!(round().await, 1);
    assert_eq!(get(&movement.id).await.status(), pb::SubmissionStatus::Sent);
    assert_eq!(round().await, 1);
    let accepted = get(&movement.id).await;
    assert_eq!(accepted.status(), pb::SubmissionStatus::Accepted);
    assert!(accepted.decide_time.is_some() && accepted.next_attempt_time.is_none());
    assert_eq!(round().await, 0, "a decided submission is left alone");
    {
        let script = script.lock().expect("script");
        assert_eq!(
            script.received.len(),
            2,
            "sent twice: the failure and the delivery"
        );
        assert_eq!(script.asked, ["R-2026/1", "R-2026/1"]);
        for received in &script.received {
            assert_eq!(received.idempotency_key, movement.id);
            assert!(received.signature_valid, "the signature holds");
            assert!(
                received.schema_problems.is_empty(),
                "{:?}",
                received.schema_problems
            );
            assert_eq!(received.body, movement.document.as_bytes());
        }
        // A byte changed on the way would not pass the institute's check.
        let mut forged = script.received[0].body.clone();
        let last = forged.len() - 2;
        forged[last] ^= 1;
        let signature = ed25519_dalek::Signature::from_slice(
            &base64::Engine::decode(
                &base64::engine::general_purpose::STANDARD,
                &accepted.signature,
            )
            .expect("base64"),
        )
        .expect("signature");
        use ed25519_dalek::Verifier;
        assert!(key.verifying_key().verify(&forged, &signature).is_err());
    }

    // Submitted again (a correction), the report is revision 2.
    let second = submit(pb::ReportKind::Movement, &request_id(), &week.statistician)
        .await
        .expect("a second revision");
    assert_eq!(second.revision, 2);

    // Form 16 refused by the institute at once: rejected with its reasons.
    let form16 = submit(pb::ReportKind::Form16, &request_id(), &week.statistician)
        .await
        .expect("submit form 16");
    {
        let mut script = script.lock().expect("script");
        // The second movement revision is delivered and accepted at once, then form 16 is
        // refused (submissions are sent oldest first).
        script.posts.push_back((
            StatusCode::OK,
            json!({ "receipt": "R-2026/2", "status": "accepted" }),
        ));
        script.posts.push_back((
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({ "reasons": ["the period is not open for reporting"] }),
        ));
    }
    assert_eq!(round().await, 2);
    assert_eq!(
        get(&second.id).await.status(),
        pb::SubmissionStatus::Accepted
    );
    let rejected = get(&form16.id).await;
    assert_eq!(rejected.status(), pb::SubmissionStatus::Rejected);
    assert_eq!(
        rejected.rejection_reasons,
        ["the period is not open for reporting"]
    );

    let listed = statistics(&week.app)
        .list_submissions(signed_in(
            &week.statistician,
            pb::ListSubmissionsRequest {
                facility_id: week.facility_id.clone(),
                ..Default::default()
            },
        ))
        .await
        .expect("list")
        .into_inner()
        .submissions;
    let listed: Vec<(&str, pb::SubmissionStatus)> = listed
        .iter()
        .map(|submission| (submission.id.as_str(), submission.status()))
        .collect();
    assert_eq!(
        listed,
        [
            (form16.id.as_str(), pb::SubmissionStatus::Rejected),
            (second.id.as_str(), pb::SubmissionStatus::Accepted),
            (movement.id.as_str(), pb::SubmissionStatus::Accepted),
        ]
    );

    // Who may submit, and what is asked right.
    let refused = submit(pb::ReportKind::Movement, &request_id(), &week.desk)
        .await
        .expect_err("a registrar does not report to the institute");
    assert_eq!(refused.code(), tonic::Code::PermissionDenied);
    let refused = submit(
        pb::ReportKind::Unspecified,
        &request_id(),
        &week.statistician,
    )
    .await
    .expect_err("which report?");
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    assert_eq!(support::violated_fields(&refused), ["report"]);
    week.app.stop().await;
}

#[tokio::test]
async fn without_an_endpoint_submissions_are_refused_with_a_reason() {
    let week = Week::open().await;
    let refused = statistics(&week.app)
        .submit_report(signed_in(
            &week.statistician,
            pb::SubmitReportRequest {
                request_id: request_id(),
                report: pb::ReportKind::Movement.into(),
                facility_id: week.facility_id.clone(),
                from_date: week.first_day.to_string(),
                to_date: week.first_day.to_string(),
            },
        ))
        .await
        .expect_err("reporting is not configured");
    assert_eq!(refused.code(), tonic::Code::FailedPrecondition);
    assert!(refused.message().contains("statistics.reporting.endpoint"));
    week.app.stop().await;
}

#[tokio::test]
async fn the_whole_hospital_is_answered_in_one_call_as_each_ward_would_be() {
    let week = Week::open().await;
    // Yesterday at noon: a man and a woman into ward A; a bed of ward B out of service.
    let man = week
        .admit_person(
            "Lupu",
            patients_pb::Sex::Male,
            "1950-01-01",
            &week.ward_a,
            &week.beds_a[0],
            9,
            12,
        )
        .await;
    week.admit_person(
        "Rusu",
        patients_pb::Sex::Female,
        "1960-01-01",
        &week.ward_a,
        &week.beds_a[1],
        9,
        12,
    )
    .await;
    let mut facilities = week.app.facilities();
    let bed = facilities
        .get_bed(signed_in(
            &week.admin,
            core_pb::GetBedRequest {
                id: week.beds_b[0].clone(),
            },
        ))
        .await
        .expect("bed")
        .into_inner()
        .bed
        .expect("bed");
    facilities
        .set_bed_state(signed_in(
            &week.admin,
            core_pb::SetBedStateRequest {
                request_id: request_id(),
                bed_id: bed.id.clone(),
                state: core_pb::BedState::OutOfService.into(),
                etag: bed.etag,
                reason: "broken rail".to_owned(),
            },
        ))
        .await
        .expect("out of service");

    let day = (week.first_day + chrono::Duration::days(9)).to_string();
    let ask = || {
        let mut client = statistics(&week.app);
        let (statistician, facility_id, day) = (
            week.statistician.clone(),
            week.facility_id.clone(),
            day.clone(),
        );
        async move {
            client
                .get_hospital_occupancy(signed_in(
                    &statistician,
                    pb::GetHospitalOccupancyRequest {
                        facility_id,
                        date: day,
                    },
                ))
                .await
                .expect("occupancy")
                .into_inner()
                .wards
        }
    };
    // The read models follow the register's, the registry's and admissions' events.
    let settled = async |(male, female): (i32, i32)| {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        let mut poll = tokio::time::interval(Duration::from_millis(50));
        loop {
            poll.tick().await;
            let wards = ask().await;
            let settled = wards.len() == 3
                && wards[0].beds_occupied == 2
                && wards[0].present_male == male
                && wards[0].present_female == female
                && wards[1].beds_blocked == 1;
            if settled {
                break wards;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "never settled: {wards:?}"
            );
        }
    };
    let wards = settled((1, 1)).await;
    let (a, b, total) = (&wards[0], &wards[1], &wards[2]);
    assert_eq!(a.department_id, week.ward_a);
    assert_eq!(b.department_id, week.ward_b);
    assert_eq!(
        (b.beds_free, b.beds_occupied),
        (i32::try_from(week.beds_b.len()).expect("beds") - 1, 0)
    );
    assert_eq!(total.department_id, "");
    assert_eq!(
        total.beds_free
            + total.beds_occupied
            + total.beds_blocked
            + total.beds_cleaning
            + total.beds_reserved,
        i32::try_from(week.beds_a.len() + week.beds_b.len()).expect("beds")
    );
    // Each ward's census is the one the ward would get asked alone.
    for ward in [a, b] {
        let census = ward.census.as_ref().expect("census");
        let alone = week.census(&ward.department_id, 9).await;
        assert_eq!(
            [
                census.present_at_start,
                census.admitted,
                census.transferred_in,
                census.transferred_out,
                census.discharged,
                census.deceased,
                census.present_at_end,
                census.bed_days,
            ],
            alone
        );
    }
    assert_eq!(a.census.as_ref().map(|census| census.admitted), Some(2));
    assert_eq!(total.census.as_ref().map(|census| census.admitted), Some(2));

    // The registry corrects the man's sex: who is in ward A now follows the correction.
    let patient_id = admissions(&week.app)
        .get_admission(signed_in(
            &week.desk,
            admissions_pb::GetAdmissionRequest { id: man },
        ))
        .await
        .expect("admission")
        .into_inner()
        .admission
        .expect("admission")
        .patient_id;
    let mut registry =
        patients_pb::patient_service_client::PatientServiceClient::new(week.app.channel.clone());
    let patient = registry
        .get_patient(signed_in(
            &week.desk,
            patients_pb::GetPatientRequest { id: patient_id },
        ))
        .await
        .expect("patient")
        .into_inner()
        .patient
        .expect("patient");
    registry
        .update_patient(signed_in(
            &week.desk,
            patients_pb::UpdatePatientRequest {
                request_id: request_id(),
                patient: Some(patients_pb::Patient {
                    sex: patients_pb::Sex::Female.into(),
                    ..patient
                }),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["sex".to_owned()],
                }),
            },
        ))
        .await
        .expect("correct the sex");
    let wards = settled((0, 2)).await;
    assert_eq!(wards[2].present_female, 2);

    // Built again from the events alone (the counters of beds and present patients emptied
    // and kept again by the rewritten rows), the answer is the same.
    week.app
        .statistics
        .rebuild(week.desk.tenant_id)
        .await
        .expect("rebuild");
    assert_eq!(ask().await, wards);
}

#[tokio::test]
async fn a_scheduled_report_goes_when_its_time_comes_and_its_failed_delivery_is_retried() {
    use axum::http::StatusCode;
    use serde_json::json;

    // Early in February 2027 (ahead of the real clock: tokens expire by the real one).
    let clock = std::sync::Arc::new(hmis_platform::clock::ManualClock::new(
        chrono::DateTime::parse_from_rfc3339("2027-02-04T12:00:00Z")
            .expect("time")
            .with_timezone(&chrono::Utc),
    ));
    let (options, _key, script, key_dir) = reporting_to_institute().await;
    let week = Week::open_on(options, clock.clone()).await;
    std::fs::remove_dir_all(&key_dir).expect("the key is read at start");
    let set = async |session: &Session, schedule: pb::ReportSchedule| {
        statistics(&week.app)
            .set_report_schedule(signed_in(
                session,
                pb::SetReportScheduleRequest {
                    request_id: request_id(),
                    schedule: Some(schedule),
                },
            ))
            .await
            .map(|answer| answer.into_inner().schedule.expect("schedule"))
    };
    let movement = pb::ReportSchedule {
        facility_id: week.facility_id.clone(),
        report: pb::ReportKind::Movement.into(),
        day_of_month: 5,
        hour: 6,
        enabled: true,
        ..Default::default()
    };
    let wrong = set(
        &week.statistician,
        pb::ReportSchedule {
            day_of_month: 31,
            hour: 24,
            ..movement.clone()
        },
    )
    .await
    .expect_err("no 31st in every month");
    assert_eq!(
        violated_fields(&wrong),
        ["schedule.day_of_month", "schedule.hour"]
    );
    let desk = set(&week.desk, movement.clone())
        .await
        .expect_err("the desk does not report");
    assert_eq!(desk.code(), Code::PermissionDenied);

    // January goes on 5 February at 06:00 in Chisinau (04:00 UTC).
    let schedule = set(&week.statistician, movement.clone())
        .await
        .expect("scheduled");
    assert_eq!(schedule.next_period_from, "2027-01-01");
    let due = schedule.next_run_time.expect("next run");
    assert_eq!(
        chrono::DateTime::from_timestamp(due.seconds, 0).expect("time"),
        chrono::DateTime::parse_from_rfc3339("2027-02-05T04:00:00Z").expect("time")
    );
    let run = async || {
        week.app
            .statistics
            .run_due_schedules()
            .await
            .expect("a scheduler round")
    };
    assert_eq!(run().await, 0, "not before its time");
    clock.set(chrono::DateTime::from_timestamp(due.seconds - 1, 0).expect("time"));
    assert_eq!(run().await, 0, "not a second early");
    clock.set(chrono::DateTime::from_timestamp(due.seconds, 0).expect("time"));
    assert_eq!(
        run().await,
        1,
        "January's report is submitted without a call"
    );
    assert_eq!(run().await, 0, "once");

    let listed = statistics(&week.app)
        .list_report_schedules(signed_in(
            &week.statistician,
            pb::ListReportSchedulesRequest {
                facility_id: week.facility_id.clone(),
            },
        ))
        .await
        .expect("schedules")
        .into_inner()
        .schedules;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].next_period_from, "2027-02-01");
    assert!(listed[0].last_error.is_empty());
    let submissions = statistics(&week.app)
        .list_submissions(signed_in(
            &week.statistician,
            pb::ListSubmissionsRequest {
                facility_id: week.facility_id.clone(),
                ..Default::default()
            },
        ))
        .await
        .expect("submissions")
        .into_inner()
        .submissions;
    assert_eq!(submissions.len(), 1);
    let january = &submissions[0];
    assert_eq!(january.id, listed[0].last_submission_id);
    assert_eq!(
        (january.from_date.as_str(), january.to_date.as_str()),
        ("2027-01-01", "2027-01-31")
    );
    assert_eq!(january.report(), pb::ReportKind::Movement);
    assert_eq!(january.status(), pb::SubmissionStatus::Pending);
    assert_eq!(january.submitted_by, schedule.updated_by);

    // The institute is down: the delivery fails, says why, and is tried again.
    let get = async || {
        statistics(&week.app)
            .get_submission(signed_in(
                &week.statistician,
                pb::GetSubmissionRequest {
                    id: january.id.clone(),
                },
            ))
            .await
            .expect("submission")
            .into_inner()
            .submission
            .expect("submission")
    };
    script
        .lock()
        .expect("script")
        .posts
        .push_back((StatusCode::SERVICE_UNAVAILABLE, json!({})));
    let deliver = async || {
        week.app
            .statistics
            .deliver_due_submissions()
            .await
            .expect("a submitter round")
    };
    assert_eq!(deliver().await, 1);
    let failed = get().await;
    assert_eq!(failed.status(), pb::SubmissionStatus::Pending);
    assert_eq!(failed.attempts, 1);
    assert!(failed.last_error.contains("503"), "{}", failed.last_error);
    script.lock().expect("script").posts.push_back((
        StatusCode::ACCEPTED,
        json!({ "receipt": "R-2027/1", "status": "received" }),
    ));
    assert_eq!(deliver().await, 1);
    let sent = get().await;
    assert_eq!(sent.status(), pb::SubmissionStatus::Sent);
    assert_eq!((sent.receipt.as_str(), sent.attempts), ("R-2027/1", 2));

    // Disabled, February's time passes without a submission; enabled again, it goes.
    set(
        &week.statistician,
        pb::ReportSchedule {
            enabled: false,
            ..movement.clone()
        },
    )
    .await
    .expect("disabled");
    clock.set(
        chrono::DateTime::parse_from_rfc3339("2027-03-05T05:00:00Z")
            .expect("time")
            .with_timezone(&chrono::Utc),
    );
    assert_eq!(run().await, 0, "a disabled schedule submits nothing");
    let enabled = set(&week.statistician, movement).await.expect("enabled");
    assert_eq!(enabled.next_period_from, "2027-02-01", "it kept its month");
    assert_eq!(run().await, 1, "February goes at once: its time has passed");

    // A batch job submits too (`openhmis report submit`): February again is its revision 2,
    // and the same job run twice answers the same submission.
    let job = week.batch_job("monthly-submission").await;
    let submit = async || {
        openhmis_server::report::run(
            &job,
            &openhmis_server::report::Report::Submit {
                report: openhmis_server::report::Submitted::Movement,
                facility_id: week.facility_id.clone(),
                from: "2027-02-01".to_owned(),
                to: "2027-02-28".to_owned(),
                request_id: None,
            },
            openhmis_server::report::Format::Csv,
        )
        .await
        .expect("the batch job's submission")
    };
    let first = submit().await;
    let rows: Vec<Vec<&str>> = first
        .lines()
        .map(|line| line.split(',').collect())
        .collect();
    assert_eq!(
        rows[0],
        [
            "id",
            "report",
            "from_date",
            "to_date",
            "revision",
            "status",
            "attempts",
            "receipt"
        ]
    );
    assert_eq!(
        &rows[1][1..6],
        ["movement", "2027-02-01", "2027-02-28", "2", "pending"]
    );
    assert_eq!(submit().await, first, "run again, the same submission");
}
