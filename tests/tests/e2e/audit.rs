//! The audit trail over real gRPC: one record per call that touches patient data (refusals
//! included), append-only in the database, and tampering found exactly where it happened.

use crate::support;

use std::sync::Arc;

use hmis_audit::AuditModule;
use hmis_platform::RequestContext;
use hmis_platform::audit::{self, AuditEntry};
use hmis_platform::auth::{Grant, Principal, Scope};
use hmis_platform::clock::SystemClock;
use hmis_proto::openhmis::audit::v1 as pb;
use pb::audit_service_client::AuditServiceClient;
use sqlx::{Connection, PgConnection};
use support::{Session, TestApp, USER_PASSWORD, signed_in};
use tonic::Code;
use uuid::Uuid;

fn audit_client(app: &TestApp) -> AuditServiceClient<tonic::transport::Channel> {
    AuditServiceClient::new(app.channel.clone())
}

async fn who_accessed(
    app: &TestApp,
    session: &Session,
    patient: Uuid,
) -> Result<Vec<pb::AuditRecord>, tonic::Status> {
    audit_client(app)
        .list_audit_records(signed_in(
            session,
            pb::ListAuditRecordsRequest {
                patient_id: patient.to_string(),
                ..Default::default()
            },
        ))
        .await
        .map(|response| response.into_inner().records)
}

async fn owner(app: &TestApp) -> PgConnection {
    PgConnection::connect_with(&app.db.owner_options())
        .await
        .expect("owner connection")
}

async fn records_naming(owner: &mut PgConnection, patient: Uuid) -> Vec<(String, String, String)> {
    sqlx::query_as(
        "SELECT username, method, outcome FROM audit.records WHERE $1 = ANY(patient_ids) ORDER BY id",
    )
    .bind(patient)
    .fetch_all(owner)
    .await
    .expect("records")
}

#[tokio::test]
async fn every_call_touching_a_patient_leaves_exactly_one_record() {
    let app = TestApp::spawn().await;
    let admin = app.create_tenant("H1").await;
    app.add_user(admin.tenant_id, "registrar", "registrar", Scope::Tenant)
        .await;
    let registrar = app
        .login("H1", "registrar", USER_PASSWORD)
        .await
        .expect("sign in");
    let patient = Uuid::new_v4();
    let mut owner = owner(&app).await;

    assert!(
        who_accessed(&app, &admin, patient)
            .await
            .expect("allowed")
            .is_empty()
    );
    assert_eq!(
        records_naming(&mut owner, patient).await,
        [(
            "admin".to_owned(),
            "/openhmis.audit.v1.AuditService/ListAuditRecords".to_owned(),
            "OK".to_owned()
        )]
    );

    // A refused attempt is on record too, with its outcome.
    let denied = who_accessed(&app, &registrar, patient)
        .await
        .expect_err("no audit.read");
    assert_eq!(denied.code(), Code::PermissionDenied);
    let records = records_naming(&mut owner, patient).await;
    assert_eq!(records.len(), 2);
    assert_eq!(records[1].0, "registrar");
    assert_eq!(records[1].2, "PERMISSION_DENIED");

    // Now the trail shows both accesses to whoever may read it.
    let seen = who_accessed(&app, &admin, patient).await.expect("allowed");
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].username, "registrar", "newest first");
    assert_eq!(seen[0].patient_ids, [patient.to_string()]);
    assert!(!seen[0].request_id.is_empty());
    assert_eq!(records_naming(&mut owner, patient).await.len(), 3);

    // Another tenant's administrator sees none of it.
    let other = app.create_tenant("H2").await;
    assert!(
        who_accessed(&app, &other, patient)
            .await
            .expect("allowed")
            .is_empty()
    );
    app.stop().await;
}

#[tokio::test]
async fn the_trail_is_append_only_in_the_database() {
    let app = TestApp::spawn().await;
    let admin = app.create_tenant("H1").await;
    who_accessed(&app, &admin, Uuid::new_v4())
        .await
        .expect("one record");

    let mut tx = app
        .db
        .database
        .begin(
            admin.tenant_id,
            &hmis_platform::context::RequestId::generate(),
        )
        .await
        .expect("begin");
    let update = sqlx::query("UPDATE audit.records SET outcome = 'OK'")
        .execute(&mut *tx)
        .await;
    assert!(update.is_err(), "the application role cannot update");
    tx.rollback().await.expect("rollback");

    // Not even the owner (a superuser here) changes it by ordinary means.
    let mut owner = owner(&app).await;
    for statement in [
        "UPDATE audit.records SET outcome = 'X'",
        "DELETE FROM audit.records",
        "TRUNCATE audit.records",
    ] {
        let refused = sqlx::query(statement)
            .execute(&mut owner)
            .await
            .expect_err(statement);
        assert!(
            refused.to_string().contains("append-only"),
            "{statement}: {refused}"
        );
    }
    app.stop().await;
}

/// Seals until `expected` records of the whole database are chained (sealing waits for
/// transactions of other tests sharing the cluster).
async fn seal_all(audit: &AuditModule, owner: &mut PgConnection) {
    let mut poll = tokio::time::interval(std::time::Duration::from_millis(20));
    for _ in 0..1500 {
        poll.tick().await;
        audit.seal_pending().await.expect("seal");
        let unsealed: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM audit.records r \
             WHERE NOT EXISTS (SELECT FROM audit.chain c WHERE c.record_id = r.record_id)",
        )
        .fetch_one(&mut *owner)
        .await
        .expect("count");
        if unsealed == 0 {
            return;
        }
    }
    panic!("records stayed unsealed");
}

#[tokio::test]
async fn tampering_with_one_record_is_reported_exactly_where() {
    let app = TestApp::spawn().await;
    let admin = app.create_tenant("H1").await;
    let patients: Vec<Uuid> = (0..5).map(|_| Uuid::new_v4()).collect();
    for patient in &patients {
        who_accessed(&app, &admin, *patient)
            .await
            .expect("audited read");
    }
    let auditor = AuditModule::new(app.db.database.clone(), Arc::new(SystemClock));
    let mut owner = owner(&app).await;
    seal_all(&auditor, &mut owner).await;

    let verify = |session: Session| {
        let mut client = audit_client(&app);
        async move {
            client
                .verify_audit_chain(signed_in(&session, pb::VerifyAuditChainRequest {}))
                .await
                .expect("verify")
                .into_inner()
        }
    };
    let clean = verify(admin.clone()).await;
    assert!(clean.intact, "{:?}", clean.problems);
    // The administrator's sign-in is on the trail too (issue 17), then the five reads.
    assert_eq!(clean.records_checked, 6);

    // A superuser bypasses the triggers and rewrites the third record of H1.
    let (target_seq, target_record): (i64, Uuid) =
        sqlx::query_as("SELECT seq, record_id FROM audit.chain WHERE tenant_id = $1 AND seq = 3")
            .bind(admin.tenant_id.as_uuid())
            .fetch_one(&mut owner)
            .await
            .expect("third entry");
    sqlx::query("SET session_replication_role = replica")
        .execute(&mut owner)
        .await
        .expect("bypass");
    sqlx::query("UPDATE audit.records SET username = 'nobody' WHERE record_id = $1")
        .bind(target_record)
        .execute(&mut owner)
        .await
        .expect("tamper");
    let tampered = verify(admin.clone()).await;
    assert!(!tampered.intact);
    assert_eq!(tampered.problems.len(), 1, "{:?}", tampered.problems);
    assert_eq!(
        tampered.problems[0].kind,
        i32::from(pb::ProblemKind::Altered)
    );
    assert_eq!(tampered.problems[0].seq, target_seq);
    assert_eq!(tampered.problems[0].record_id, target_record.to_string());

    // Removing another record is found as well, at its own position.
    let (removed_seq, removed_record): (i64, Uuid) =
        sqlx::query_as("SELECT seq, record_id FROM audit.chain WHERE tenant_id = $1 AND seq = 5")
            .bind(admin.tenant_id.as_uuid())
            .fetch_one(&mut owner)
            .await
            .expect("fifth entry");
    sqlx::query("DELETE FROM audit.records WHERE record_id = $1")
        .bind(removed_record)
        .execute(&mut owner)
        .await
        .expect("remove");
    let damaged = verify(admin.clone()).await;
    let kinds: Vec<(i32, i64)> = damaged.problems.iter().map(|p| (p.kind, p.seq)).collect();
    assert!(
        kinds.contains(&(i32::from(pb::ProblemKind::Removed), removed_seq)),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&(i32::from(pb::ProblemKind::Altered), target_seq)),
        "{kinds:?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn break_glass_accesses_are_flagged_and_listable_for_review() {
    let app = TestApp::spawn().await;
    let admin = app.create_tenant("H1").await;
    let patient = Uuid::new_v4();
    let physician = Principal {
        expires_at: None,
        user_id: Uuid::new_v4(),
        tenant_id: admin.tenant_id,
        username: "dr.ionescu".to_owned(),
        service_account: false,
        session_id: Uuid::new_v4(),
        grants: vec![Grant {
            permission: "patients.read".to_owned(),
            scope: Scope::Tenant,
        }],
    };
    let context =
        RequestContext::authenticated(physician, "/openhmis.patients.v1.PatientService/GetPatient");
    for reason in [None, Some("unconscious patient brought in by ambulance")] {
        audit::record_refusal(
            &app.db.database,
            admin.tenant_id,
            &context,
            &AuditEntry {
                patient_ids: &[patient],
                resource_ids: &[],
                outcome: Code::Ok,
                break_glass_reason: reason,
            },
            chrono::Utc::now(),
        )
        .await
        .expect("record");
    }
    let flagged = audit_client(&app)
        .list_audit_records(signed_in(
            &admin,
            pb::ListAuditRecordsRequest {
                break_glass_only: true,
                ..Default::default()
            },
        ))
        .await
        .expect("list")
        .into_inner()
        .records;
    assert_eq!(flagged.len(), 1);
    assert_eq!(
        flagged[0].break_glass_reason,
        "unconscious patient brought in by ambulance"
    );
    assert_eq!(flagged[0].username, "dr.ionescu");
    app.stop().await;
}
