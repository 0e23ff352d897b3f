//! The demo hospital loads through the services' own contracts and loading it again changes
//! nothing: the same patients, the same admissions in the same beds, the same open visits.

use std::sync::Arc;

use hmis_platform::clock::SystemClock;
use hmis_platform::config::{Options, Secret};
use hmis_platform::testing::TestDatabase;
use openhmis_server::Application;
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
