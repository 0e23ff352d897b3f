//! How an RPC runs, written once in `hmis_platform::call`, against a real PostgreSQL: a
//! write's audit record commits in its transaction, a retry replays before anything runs, a
//! refusal found inside a write is put on record after the rollback, and a call needs one
//! pooled connection at a time, its refusal included.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use hmis_platform::audit::{self, AuditEntry};
use hmis_platform::call::{CallError, Calls, Refusal};
use hmis_platform::clock::SystemClock;
use hmis_platform::config::DatabaseOptions;
use hmis_platform::idempotency::RequestKey;
use hmis_platform::testing::TestDatabase;
use hmis_platform::{Database, RequestContext, TenantId};
use sqlx::{Connection, PgConnection};
use tonic::{Code, Status};
use uuid::Uuid;

/// A module's error as the kit sees it.
#[derive(Debug, thiserror::Error)]
enum KitError {
    #[error("refused")]
    Refused(Vec<Uuid>),
    #[error(transparent)]
    Status(#[from] Status),
    #[error(transparent)]
    Platform(#[from] hmis_platform::Error),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl CallError for KitError {
    fn refusal(&self) -> Option<Refusal> {
        match self {
            KitError::Refused(patients) => Some(Refusal {
                outcome: Code::PermissionDenied,
                patients: patients.clone(),
            }),
            _ => None,
        }
    }
}

/// The module whose idempotency table the calls use (any module's will do).
const SCHEMA: &str = "core";

const METHOD: &str = "/openhmis.test.v1.KitService/Write";

fn calls(database: &Database) -> Calls<KitError> {
    Calls::new(database.clone(), Arc::new(SystemClock), SCHEMA)
}

fn key(value: &str) -> RequestKey {
    RequestKey::parse(value).expect("a request key")
}

fn request(seconds: i64) -> prost_types::Duration {
    prost_types::Duration { seconds, nanos: 0 }
}

/// The outcomes of the audit records naming `patient`, oldest first.
async fn outcomes(owner: &mut PgConnection, patient: Uuid) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT outcome FROM audit.records WHERE $1 = ANY (patient_ids) ORDER BY occurred_at, record_id",
    )
    .bind(patient)
    .fetch_all(owner)
    .await
    .expect("read the audit trail")
}

#[tokio::test]
async fn a_write_commits_its_audit_record_with_it_and_a_retry_replays_before_anything_runs() {
    let db = TestDatabase::new().await;
    let mut owner = PgConnection::connect_with(&db.owner_options())
        .await
        .expect("connect as the owner");
    let calls = calls(&db.database);
    let context = RequestContext::system(TenantId::generate());
    let patient = Uuid::now_v7();
    let runs = AtomicUsize::new(0);
    let write = async |seconds: i64| {
        calls
            .write(
                &context,
                METHOD,
                &key("kit-1"),
                &request(seconds),
                async |tx| {
                    runs.fetch_add(1, Ordering::SeqCst);
                    audit::record(tx, &context, &AuditEntry::ok(&[patient]), calls.now()).await?;
                    Ok(prost_types::Duration {
                        seconds: 7,
                        nanos: 0,
                    })
                },
            )
            .await
    };
    let first = write(1).await.expect("the first write");
    let retry = write(1).await.expect("the retry");
    assert_eq!((first.seconds, retry.seconds), (7, 7));
    assert_eq!(runs.load(Ordering::SeqCst), 1, "the retry ran nothing");
    assert_eq!(outcomes(&mut owner, patient).await, ["OK"]);

    let reused = write(2)
        .await
        .expect_err("another request under the same key");
    assert_eq!(
        Status::from(match reused {
            KitError::Platform(error) => error,
            other => panic!("expected the kit's refusal of a reused key, got {other:?}"),
        })
        .code(),
        Code::InvalidArgument
    );
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_refusal_inside_a_write_rolls_it_back_and_is_put_on_record_after() {
    let db = TestDatabase::new().await;
    let mut owner = PgConnection::connect_with(&db.owner_options())
        .await
        .expect("connect as the owner");
    let calls = calls(&db.database);
    let context = RequestContext::system(TenantId::generate());
    let patient = Uuid::now_v7();
    let runs = AtomicUsize::new(0);
    let write = async || {
        calls
            .write(&context, METHOD, &key("kit-2"), &request(1), async |tx| {
                runs.fetch_add(1, Ordering::SeqCst);
                // Written, then refused: the record of the attempt must not survive as OK.
                audit::record(tx, &context, &AuditEntry::ok(&[patient]), calls.now()).await?;
                Err::<prost_types::Duration, _>(KitError::Refused(vec![patient]))
            })
            .await
    };
    let refused = write().await.expect_err("refused");
    assert!(matches!(refused, KitError::Refused(_)), "{refused:?}");
    assert_eq!(outcomes(&mut owner, patient).await, ["PERMISSION_DENIED"]);
    // The key went back with the rollback: a retry is a first attempt again.
    write().await.expect_err("refused again");
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    assert_eq!(
        outcomes(&mut owner, patient).await,
        ["PERMISSION_DENIED", "PERMISSION_DENIED"]
    );
}

#[tokio::test]
async fn a_call_needs_one_pooled_connection_at_a_time_its_refusal_included() {
    let db = TestDatabase::new().await;
    let options = DatabaseOptions {
        max_connections: 1,
        worker_connections: 1,
        acquire_timeout: Duration::from_secs(3),
        ..DatabaseOptions::default()
    };
    let database = Database::connect(db.owner_options(), &options)
        .await
        .expect("a pool of one connection");
    let calls = calls(&database);
    let context = RequestContext::system(TenantId::generate());
    let patient = Uuid::now_v7();
    let refused = calls
        .write(&context, METHOD, &key("kit-3"), &request(1), async |tx| {
            audit::record(tx, &context, &AuditEntry::ok(&[patient]), calls.now()).await?;
            Err::<prost_types::Duration, _>(KitError::Refused(vec![patient]))
        })
        .await
        .expect_err("refused");
    // Recording the refusal while the write's connection was still held would have waited
    // for a second connection and timed out.
    assert!(matches!(refused, KitError::Refused(_)), "{refused:?}");
    let answer = calls
        .write(&context, METHOD, &key("kit-4"), &request(1), async |tx| {
            audit::record(tx, &context, &AuditEntry::ok(&[patient]), calls.now()).await?;
            Ok(request(2))
        })
        .await
        .expect("a write on a pool of one");
    assert_eq!(answer.seconds, 2);
    let shown = calls
        .read(&context, async |_tx| {
            Ok((3, hmis_platform::call::Shown::patients(vec![patient])))
        })
        .await
        .expect("a read on a pool of one");
    assert_eq!(shown, 3);
}
