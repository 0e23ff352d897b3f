//! The demo hospital loads through the services' own contracts and loading it again changes
//! nothing: the same patients, the same admissions in the same beds, the same open visits.

use std::sync::Arc;

use hmis_platform::clock::SystemClock;
use hmis_platform::config::Secret;
use hmis_platform::testing::TestDatabase;
use openhmis_server::Application;
use openhmis_server::Options;
use sqlx::{Connection, PgConnection};

async fn counts(owner: &mut PgConnection) -> (i64, i64, i64, i64) {
    sqlx::query_as(
        "SELECT (SELECT count(*) FROM patients.patients), \
                (SELECT count(*) FROM admissions.admissions WHERE status = 'admitted'), \
                (SELECT count(*) FROM admissions.stays WHERE bed_id IS NOT NULL AND end_time IS NULL), \
                (SELECT count(*) FROM admissions.emergency_visits WHERE outcome IS NULL)",
    )
    .fetch_one(owner)
    .await
    .expect("count the demo data")
}

#[tokio::test]
async fn the_demo_hospital_has_patients_in_beds_and_loads_once() {
    let db = TestDatabase::new().await;
    let mut options = Options::default();
    options.iam.bootstrap_admin_password = Some(Secret::new("Demo-Test-2026!"));
    let application = Application::new(options, db.database.clone(), Arc::new(SystemClock))
        .await
        .expect("application");
    let tenant_id = application.bootstrap().await.expect("bootstrap").tenant_id;
    application
        .load_demo(tenant_id)
        .await
        .expect("load the demo");
    let mut owner = PgConnection::connect_with(&db.owner_options())
        .await
        .expect("owner connection");
    let first = counts(&mut owner).await;
    assert_eq!(first, (120, 32, 32, 3));
    application
        .load_demo(tenant_id)
        .await
        .expect("load the demo again");
    assert_eq!(counts(&mut owner).await, first);
}

/// The demo's stock: (warehouses, items, ledger lines).
async fn stocked(owner: &mut PgConnection) -> (i64, i64, i64) {
    sqlx::query_as(
        "SELECT (SELECT count(*) FROM inventory.warehouses), \
                (SELECT count(*) FROM inventory.items), \
                (SELECT count(*) FROM inventory.movements)",
    )
    .fetch_one(owner)
    .await
    .expect("count the demo's stock")
}

/// The demo's kitchen: (diets, recipes, menu courses).
async fn kitchen(owner: &mut PgConnection) -> (i64, i64, i64) {
    sqlx::query_as(
        "SELECT (SELECT count(*) FROM nutrition.diets), \
                (SELECT count(*) FROM nutrition.recipes), \
                (SELECT count(*) FROM nutrition.menu_courses)",
    )
    .fetch_one(owner)
    .await
    .expect("count the demo's kitchen")
}

/// The demo's operating block: (theatres, procedure grades, pack lines, privileges).
async fn operating_block(owner: &mut PgConnection) -> (i64, i64, i64, i64) {
    sqlx::query_as(
        "SELECT (SELECT count(*) FROM surgery.theatres), \
                (SELECT count(*) FROM surgery.procedure_grades), \
                (SELECT count(*) FROM surgery.procedure_packs), \
                (SELECT count(*) FROM surgery.privileges)",
    )
    .fetch_one(owner)
    .await
    .expect("count the demo's operating block")
}

/// The demo's billing: (price lists, tariffs, insurance contracts, policies).
async fn priced(owner: &mut PgConnection) -> (i64, i64, i64, i64) {
    sqlx::query_as(
        "SELECT (SELECT count(*) FROM billing.price_lists), \
                (SELECT count(*) FROM billing.tariffs), \
                (SELECT count(*) FROM billing.contracts), \
                (SELECT count(*) FROM billing.coverages)",
    )
    .fetch_one(owner)
    .await
    .expect("count the demo's billing")
}

/// The demo's encounters: (encounters, principal diagnoses, notes, prescriptions).
async fn coded(owner: &mut PgConnection) -> (i64, i64, i64, i64) {
    sqlx::query_as(
        "SELECT (SELECT count(*) FROM encounters.encounters), \
                (SELECT count(*) FROM encounters.diagnoses WHERE role = 'principal'), \
                (SELECT count(*) FROM encounters.notes), \
                (SELECT count(*) FROM encounters.prescriptions)",
    )
    .fetch_one(owner)
    .await
    .expect("count the demo's encounters")
}

#[tokio::test]
async fn the_demo_codes_its_wards_with_the_starter_code_systems_and_a_formulary() {
    let db = TestDatabase::new().await;
    let mut options = Options::default();
    options.iam.bootstrap_admin_password = Some(Secret::new("Demo-Test-2026!"));
    let application = Application::new(options, db.database.clone(), Arc::new(SystemClock))
        .await
        .expect("application");
    let tenant_id = application.bootstrap().await.expect("bootstrap").tenant_id;
    application
        .load_demo(tenant_id)
        .await
        .expect("load the demo");
    let mut owner = PgConnection::connect_with(&db.owner_options())
        .await
        .expect("owner connection");
    let systems: Vec<(String, bool)> =
        sqlx::query_as("SELECT system, is_default FROM terminology.code_systems ORDER BY system")
            .fetch_all(&mut owner)
            .await
            .expect("code systems");
    assert_eq!(
        systems,
        [
            ("achi".to_owned(), true),
            ("atc".to_owned(), true),
            ("icd10".to_owned(), true),
            ("loinc".to_owned(), true)
        ]
    );
    let (medicines, restricted, rules): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM encounters.medicines), \
                (SELECT count(*) FROM encounters.medicines WHERE restriction <> 'none'), \
                (SELECT count(*) FROM encounters.interaction_rules)",
    )
    .fetch_one(&mut owner)
    .await
    .expect("formulary");
    assert_eq!((medicines, restricted, rules), (26, 6, 7));
    // Every patient in a ward has an encounter with a principal diagnosis, an examination
    // and a prescription; loading again adds none.
    assert_eq!(coded(&mut owner).await, (32, 32, 32, 32));
    // A pharmacy, four ward stocks, the operating block's and the kitchen's food store; 26
    // medicines, 3 theatre supplies and 12 foods received once; two transfers per ward.
    assert_eq!(stocked(&mut owner).await, (7, 41, 49));
    // The diet tables 1-15 and four more, 11 recipes, a 14-day menu of three diets (22
    // courses a day: bread at the general diet's breakfast only).
    assert_eq!(kitchen(&mut owner).await, (19, 11, 308));
    // Three theatres, the starter grades, the packs of three operations.
    assert_eq!(operating_block(&mut owner).await, (3, 11, 9, 1));
    // The starter tariffs and the cardiology clinic's consultation, CNAM and a supplementary
    // insurer; every patient insured with CNAM, three also supplementary.
    let billing = priced(&mut owner).await;
    assert_eq!(billing, (1, 22, 2, 123));
    application
        .load_demo(tenant_id)
        .await
        .expect("load the demo again");
    assert_eq!(coded(&mut owner).await, (32, 32, 32, 32));
    assert_eq!(stocked(&mut owner).await, (7, 41, 49));
    assert_eq!(kitchen(&mut owner).await, (19, 11, 308));
    assert_eq!(operating_block(&mut owner).await, (3, 11, 9, 1));
    assert_eq!(priced(&mut owner).await, billing);
    let ledger = hmis_inventory::verify(&db.database).await.expect("verify");
    assert!(ledger.discrepancies.is_empty());
}

/// `openhmis terminology import` reads a ClaML release into the standalone tenant, as an
/// operator runs it.
#[tokio::test]
async fn the_import_command_loads_a_claml_release() {
    let db = TestDatabase::new().await;
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/icd10-mini.claml.xml"
    );
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_openhmis"))
        .args([
            "terminology",
            "import",
            "--system",
            "icd10",
            "--format",
            "claml",
            fixture,
        ])
        .env("HMIS_DATABASE__URL", db.url())
        .env("HMIS_IAM__BOOTSTRAP_ADMIN_PASSWORD", "Import-Test-2026!")
        .output()
        .expect("run openhmis");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "import failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("imported 13 concepts of icd10 2019"),
        "{stdout}"
    );
    let mut owner = PgConnection::connect_with(&db.owner_options())
        .await
        .expect("owner connection");
    let (concepts, top_level, selectable): (i64, i64, i64) = sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE parent_code IS NULL), \
                count(*) FILTER (WHERE selectable) \
         FROM terminology.concepts WHERE system = 'icd10' AND version = '2019'",
    )
    .fetch_one(&mut owner)
    .await
    .expect("concepts");
    assert_eq!((concepts, top_level, selectable), (13, 2, 6));

    // A file that is not ClaML is refused with the reason, and nothing is written.
    let broken = std::env::temp_dir().join(format!("not-claml-{}.xml", uuid::Uuid::new_v4()));
    std::fs::write(&broken, "<Other/>").expect("write the broken file");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_openhmis"))
        .args([
            "terminology",
            "import",
            "--system",
            "atc",
            "--version",
            "1",
            "--format",
            "claml",
        ])
        .arg(&broken)
        .env("HMIS_DATABASE__URL", db.url())
        .env("HMIS_IAM__BOOTSTRAP_ADMIN_PASSWORD", "Import-Test-2026!")
        .output()
        .expect("run openhmis");
    let _ = std::fs::remove_file(&broken);
    assert!(!output.status.success());
    let atc: i64 =
        sqlx::query_scalar("SELECT count(*) FROM terminology.code_systems WHERE system = 'atc'")
            .fetch_one(&mut owner)
            .await
            .expect("count");
    assert_eq!(atc, 0);
}

/// `openhmis inventory verify` checks the ledger against the balances and says so; a forged
/// ledger line (the owner can insert one) makes it fail and name the balance.
#[tokio::test]
async fn the_verify_command_reports_a_consistent_ledger_and_names_a_forged_one() {
    let db = TestDatabase::new().await;
    let run = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_openhmis"))
            .args(["inventory", "verify"])
            .env("HMIS_DATABASE__URL", db.url())
            .output()
            .expect("run openhmis")
    };
    let output = run();
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(output.status.success(), "{stdout}");
    assert!(
        stdout.contains("0 balances checked against the ledger: consistent"),
        "{stdout}"
    );

    // A receipt written straight into the ledger moves the balance with it (the trigger), so
    // it stays consistent; only dropping the trigger lets the two drift apart.
    let mut owner = PgConnection::connect_with(&db.owner_options())
        .await
        .expect("owner connection");
    let (tenant, warehouse, item, lot) = (
        uuid::Uuid::now_v7(),
        uuid::Uuid::now_v7(),
        uuid::Uuid::now_v7(),
        uuid::Uuid::now_v7(),
    );
    for statement in [
        "INSERT INTO inventory.warehouses (tenant_id, id, code, name, kind, facility_id, created_at) \
         VALUES ($1, $2, 'W', 'W', 'central_pharmacy', $1, now())",
        "INSERT INTO inventory.items (tenant_id, id, code, name, item_class, base_unit, created_at) \
         VALUES ($1, $3, 'I', 'I', 'medicine', 'tablet', now())",
        "INSERT INTO inventory.lots (tenant_id, id, item_id, lot_number, expiry_date, unit_cost, \
             provenance, created_at) VALUES ($1, $4, $3, 'L', '2031-01-01', 1, 'purchase', now())",
        "INSERT INTO inventory.movements (tenant_id, id, kind, item_id, lot_id, to_warehouse_id, \
             quantity, unit_cost, actor_id, document_type, document_id, occurred_at) \
         VALUES ($1, gen_random_uuid(), 'receipt', $3, $4, $2, 10, 1, $1, 'invoice', 'X', now())",
        "ALTER TABLE inventory.movements DISABLE TRIGGER movements_apply",
        "INSERT INTO inventory.movements (tenant_id, id, kind, item_id, lot_id, from_warehouse_id, \
             quantity, unit_cost, actor_id, document_type, document_id, reason, occurred_at) \
         VALUES ($1, gen_random_uuid(), 'write_off', $3, $4, $2, 4, 1, $1, 'write_off', 'X', \
             'lost', now())",
        "ALTER TABLE inventory.movements ENABLE TRIGGER movements_apply",
    ] {
        sqlx::query(statement)
            .bind(tenant)
            .bind(warehouse)
            .bind(item)
            .bind(lot)
            .execute(&mut owner)
            .await
            .expect("set up the ledger");
    }
    let output = run();
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(!output.status.success(), "{stdout}");
    assert!(stdout.contains("INCONSISTENT"), "{stdout}");
    assert!(
        stdout.contains(&format!("lot {lot}: ledger 6.0000 balance 10.0000")),
        "{stdout}"
    );
}

/// A request carrying `token`.
fn bearer<T>(token: &str, message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("ascii header"),
    );
    request
}

/// `openhmis report` runs as a nightly job would: a gRPC client of a running server, signed
/// in as a service account, printing the report. (Multi-threaded: the server in this process
/// keeps serving while the test waits for the child process.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_command_signs_in_as_a_service_account_and_prints_the_report() {
    use hmis_proto::openhmis::core::v1 as core_pb;
    use hmis_proto::openhmis::iam::v1 as iam;
    let db = TestDatabase::new().await;
    let mut options = Options::default();
    options.server.listen_addr = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    options.iam.bootstrap_admin_password = Some(Secret::new("Report-Test-2026!"));
    let application = Application::new(options, db.database.clone(), Arc::new(SystemClock))
        .await
        .expect("application");
    application.bootstrap().await.expect("bootstrap");
    let listener = application.bind().await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(application.serve(listener, async {
        let _ = stopped.await;
    }));
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .expect("url")
        .connect()
        .await
        .expect("connect");
    let token = iam::auth_service_client::AuthServiceClient::new(channel.clone())
        .login(iam::LoginRequest {
            tenant_code: String::new(),
            credentials: Some(iam::login_request::Credentials::Password(
                iam::PasswordCredentials {
                    username: "admin".to_owned(),
                    password: "Report-Test-2026!".to_owned(),
                },
            )),
        })
        .await
        .expect("admin signs in")
        .into_inner()
        .tokens
        .expect("tokens")
        .access_token;
    let mut admin = iam::admin_service_client::AdminServiceClient::new(channel.clone());
    let account = admin
        .create_service_account(bearer(
            &token,
            iam::CreateServiceAccountRequest {
                request_id: uuid::Uuid::new_v4().to_string(),
                name: "nightly-statistics".to_owned(),
            },
        ))
        .await
        .expect("service account")
        .into_inner();
    admin
        .assign_role(bearer(
            &token,
            iam::AssignRoleRequest {
                request_id: uuid::Uuid::new_v4().to_string(),
                assignment: Some(iam::Assignment {
                    user_id: account.user_id.clone(),
                    role_code: "statistician".to_owned(),
                    scope: "tenant".to_owned(),
                    ..Default::default()
                }),
            },
        ))
        .await
        .expect("statistician role");
    let facility = core_pb::facility_service_client::FacilityServiceClient::new(channel.clone())
        .create_facility(bearer(
            &token,
            core_pb::CreateFacilityRequest {
                request_id: uuid::Uuid::new_v4().to_string(),
                facility: Some(core_pb::Facility {
                    code: "MAIN".to_owned(),
                    name: "Main".to_owned(),
                    time_zone: "Europe/Chisinau".to_owned(),
                    ..Default::default()
                }),
            },
        ))
        .await
        .expect("facility")
        .into_inner()
        .facility
        .expect("facility");
    let report = |kind: &str, format: &str, secret: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_openhmis"))
            .args([
                "report",
                "--server",
                &format!("http://{addr}"),
                "--format",
                format,
                kind,
            ])
            .args([
                "--facility",
                &facility.id,
                "--from",
                "2026-11-01",
                "--to",
                "2026-11-30",
            ])
            .env("HMIS_REPORT_CLIENT_ID", &account.client_id)
            .env("HMIS_REPORT_CLIENT_SECRET", secret)
            .output()
            .expect("run openhmis report")
    };
    let movement = report("movement", "csv", &account.client_secret);
    let csv = String::from_utf8_lossy(&movement.stdout).to_string();
    assert!(
        movement.status.success(),
        "{csv}{}",
        String::from_utf8_lossy(&movement.stderr)
    );
    assert!(csv.starts_with("department_id,admitted,"), "{csv}");
    assert!(csv.contains("\ntotal,0,0,0,0,0,0.00,0,"), "{csv}");
    let form16 = report("form16", "json", &account.client_secret);
    assert!(form16.status.success());
    assert_eq!(String::from_utf8_lossy(&form16.stdout).trim(), "[]");
    let refused = report("movement", "csv", "not-the-secret");
    assert!(!refused.status.success(), "a wrong secret is refused");
    let _ = stop.send(());
    server.await.expect("server task").expect("server ran");
}

/// A database the demo made is a hospital like any other: a plain start on it (whatever the
/// bootstrap options now say) finds its tenant and administrator and serves.
#[tokio::test]
async fn a_plain_start_on_a_demo_database_finds_the_first_tenant() {
    let db = TestDatabase::new().await;
    let mut options = Options::default();
    options.iam.bootstrap_admin_password = Some(Secret::new("Demo-Test-2026!"));
    openhmis_server::demo::apply_defaults(&mut options);
    let demo = Application::new(options, db.database.clone(), Arc::new(SystemClock))
        .await
        .expect("the demo's application");
    let demo_tenant = demo
        .bootstrap()
        .await
        .expect("the demo's bootstrap")
        .tenant_id;
    demo.load_demo(demo_tenant).await.expect("load the demo");

    let mut options = Options::default();
    options.iam.bootstrap_admin_password = Some(Secret::new("Serve-Test-2026!"));
    let serve = Application::new(options, db.database.clone(), Arc::new(SystemClock))
        .await
        .expect("the plain start's application");
    let bootstrapped = serve.bootstrap().await.expect("a plain start bootstraps");
    assert_eq!(bootstrapped.tenant_id, demo_tenant);
    assert_eq!(bootstrapped.generated_admin_password, None);
}

/// Loading the demo again on a hospital where staff have worked touches only what the demo
/// made: a patient the staff admitted into a demo ward (without an admitting diagnosis) gets
/// no demo diagnosis, note or prescription, and the load does not stop on them.
#[tokio::test]
async fn loading_the_demo_again_leaves_the_staffs_patients_alone() {
    use admissions_pb::admission_service_server::AdmissionService;
    use hmis_platform::RequestContext;
    use hmis_proto::openhmis::admissions::v1 as admissions_pb;
    use hmis_proto::openhmis::patients::v1 as patients_pb;
    use patients_pb::patient_service_server::PatientService;

    let db = TestDatabase::new().await;
    let mut options = Options::default();
    options.iam.bootstrap_admin_password = Some(Secret::new("Demo-Test-2026!"));
    let application = Application::new(options, db.database.clone(), Arc::new(SystemClock))
        .await
        .expect("application");
    let tenant_id = application.bootstrap().await.expect("bootstrap").tenant_id;
    application
        .load_demo(tenant_id)
        .await
        .expect("load the demo");
    fn system<T>(tenant_id: hmis_platform::TenantId, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        request
            .extensions_mut()
            .insert(RequestContext::system(tenant_id));
        request
    }
    let patient = application
        .patients()
        .api()
        .register_patient(system(
            tenant_id,
            patients_pb::RegisterPatientRequest {
                request_id: "staff-patient".to_owned(),
                patient: Some(patients_pb::Patient {
                    family_name: "Staff".to_owned(),
                    given_names: "Real".to_owned(),
                    sex: patients_pb::Sex::Female.into(),
                    birth_date: "1970-05-05".to_owned(),
                    ..Default::default()
                }),
                confirm_new_patient: true,
            },
        ))
        .await
        .expect("register a patient at the desk")
        .into_inner()
        .patient
        .expect("the patient");
    let mut owner = PgConnection::connect_with(&db.owner_options())
        .await
        .expect("owner connection");
    let (ward, bed): (uuid::Uuid, uuid::Uuid) = sqlx::query_as(
        "SELECT d.id, b.id FROM core.beds b \
         JOIN core.departments d ON d.tenant_id = b.tenant_id AND d.id = b.department_id \
         WHERE d.code = 'CARD' AND b.sex IN ('any', 'female') AND NOT EXISTS \
           (SELECT FROM admissions.stays s WHERE s.bed_id = b.id AND s.end_time IS NULL) \
         ORDER BY b.code DESC LIMIT 1",
    )
    .fetch_one(&mut owner)
    .await
    .expect("a free bed in the demo's cardiology");
    application
        .admissions()
        .api()
        .admit_patient(system(
            tenant_id,
            admissions_pb::AdmitPatientRequest {
                request_id: "staff-admission".to_owned(),
                admission: Some(admissions_pb::Admission {
                    patient_id: patient.id.clone(),
                    department_id: ward.to_string(),
                    bed_id: bed.to_string(),
                    r#type: admissions_pb::AdmissionType::Emergency.into(),
                    ..Default::default()
                }),
            },
        ))
        .await
        .expect("the staff admit without an admitting diagnosis");

    application
        .load_demo(tenant_id)
        .await
        .expect("the demo loads again on a hospital in use");
    let patient_id: uuid::Uuid = patient.id.parse().expect("patient id");
    let touched: (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM encounters.diagnoses WHERE patient_id = $1), \
                (SELECT count(*) FROM encounters.notes n JOIN encounters.encounters e \
                   ON e.tenant_id = n.tenant_id AND e.id = n.encounter_id \
                   WHERE e.patient_id = $1), \
                (SELECT count(*) FROM encounters.prescriptions WHERE patient_id = $1)",
    )
    .bind(patient_id)
    .fetch_one(&mut owner)
    .await
    .expect("what the demo recorded for the staff's patient");
    assert_eq!(touched, (0, 0, 0));
}
