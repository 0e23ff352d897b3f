//! `openhmis audit verify` over a real database: intact trail exits 0; after a superuser
//! rewrites one record, it exits non-zero and names that record.

use std::process::Command;

use chrono::Utc;
use hmis_platform::RequestContext;
use hmis_platform::TenantId;
use hmis_platform::audit::{self, AuditEntry};
use hmis_platform::testing::TestDatabase;
use sqlx::Connection;

/// Runs the command on a blocking thread; returns whether it passed and what it printed.
async fn verify(url: String) -> (bool, String) {
    tokio::task::spawn_blocking(move || {
        let output = Command::new(env!("CARGO_BIN_EXE_openhmis"))
            .args(["audit", "verify"])
            .env("HMIS_DATABASE__URL", url)
            .env("RUST_LOG", "warn")
            .output()
            .expect("run openhmis audit verify");
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
        )
    })
    .await
    .expect("join")
}

#[tokio::test]
async fn audit_verify_names_the_altered_record() {
    let db = TestDatabase::new().await;
    let tenant_id = TenantId::generate();
    let context = RequestContext::system(tenant_id);
    let mut record_ids = Vec::new();
    for _ in 0..3 {
        let patient = uuid::Uuid::new_v4();
        record_ids.push(
            audit::record_refusal(
                &db.database,
                tenant_id,
                &context,
                &AuditEntry {
                    patient_ids: &[patient],
                    resource_ids: &[],
                    outcome: tonic::Code::Ok,
                    break_glass_reason: None,
                },
                Utc::now(),
            )
            .await
            .expect("record"),
        );
    }
    let (intact, report) = verify(db.url()).await;
    assert!(intact, "{report}");
    assert!(
        report.contains(&format!("tenant {tenant_id}: 3 records checked, intact")),
        "{report}"
    );

    let mut owner = sqlx::PgConnection::connect_with(&db.owner_options())
        .await
        .expect("owner");
    sqlx::query("SET session_replication_role = replica")
        .execute(&mut owner)
        .await
        .expect("bypass");
    sqlx::query(
        "UPDATE audit.records SET outcome = 'OK', method = '/quietly/changed' WHERE record_id = $1",
    )
    .bind(record_ids[1])
    .execute(&mut owner)
    .await
    .expect("tamper");
    let (intact, report) = verify(db.url()).await;
    assert!(!intact, "{report}");
    assert!(report.contains("TAMPERED"), "{report}");
    assert!(
        report.contains(&format!(
            "Altered {{ seq: 2, record_id: {} }}",
            record_ids[1]
        )),
        "{report}"
    );
}
