//! How an RPC runs, written once in `hmis_platform::call`, against a real PostgreSQL: a
//! write's audit record commits in its transaction, a retry replays before anything runs, a
//! refusal found inside a write is put on record after the rollback, a call needs one
//! pooled connection at a time (its refusal and its replay included), and the records a write
//! holds back go at its commit, events in their order, or fail it whole.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use hmis_platform::audit::{self, AuditEntry};
use hmis_platform::call::{CallError, Calls, Refusal};
use hmis_platform::clock::SystemClock;
use hmis_platform::config::DatabaseOptions;
use hmis_platform::idempotency::RequestKey;
use hmis_platform::outbox::Outbox;
use hmis_platform::testing::TestDatabase;
use hmis_platform::{Database, RequestContext, TenantId};
use sqlx::{AssertSqlSafe, Connection, PgConnection};
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
    // A retry on a pool of one: the claim that found the key taken gives its connection back
    // before the stored answer is looked up.
    let replayed = calls
        .write(&context, METHOD, &key("kit-4"), &request(1), async |_tx| {
            Ok(request(9))
        })
        .await
        .expect("a retry on a pool of one");
    assert_eq!(replayed.seconds, 2);
}

/// The aggregate ids of the kit schema's events, in delivery order.
async fn events(owner: &mut PgConnection) -> Vec<String> {
    sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT aggregate_id FROM {SCHEMA}.outbox ORDER BY txid, id"
    )))
    .fetch_all(owner)
    .await
    .expect("read the outbox")
}

#[tokio::test]
async fn a_writes_records_go_in_one_statement_at_commit_events_in_their_order_any_key_claimed_safely()
 {
    let db = TestDatabase::new().await;
    let mut owner = PgConnection::connect_with(&db.owner_options())
        .await
        .expect("connect as the owner");
    let calls = calls(&db.database);
    let outbox = Outbox::new(SCHEMA);
    let context = RequestContext::system(TenantId::generate());
    let patient = Uuid::now_v7();
    // A key of every character a client may send that SQL treats specially.
    let odd = key(r#"it's-a-$1-\x-"key";--"#);
    let runs = AtomicUsize::new(0);
    let write = async || {
        calls
            .write(&context, METHOD, &odd, &request(1), async |tx| {
                runs.fetch_add(1, Ordering::SeqCst);
                let now = calls.now();
                for (n, aggregate) in ["first", "second", "third"].into_iter().enumerate() {
                    outbox
                        .publish(tx, "openhmis.test.v1.Kit", aggregate, &request(1), now)
                        .await?;
                    if n == 1 {
                        audit::record(tx, &context, &AuditEntry::ok(&[patient]), now).await?;
                    }
                }
                Ok(request(5))
            })
            .await
    };
    assert_eq!(write().await.expect("the write").seconds, 5);
    assert_eq!(events(&mut owner).await, ["first", "second", "third"]);
    assert_eq!(outcomes(&mut owner, patient).await, ["OK"]);
    let stored: String = sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT request_id FROM {SCHEMA}.idempotency_keys WHERE method = $1"
    )))
    .bind(METHOD)
    .fetch_one(&mut owner)
    .await
    .expect("the key on record");
    assert_eq!(stored, odd.as_str());
    assert_eq!(write().await.expect("the retry").seconds, 5);
    assert_eq!(runs.load(Ordering::SeqCst), 1, "the retry ran nothing");
    assert_eq!(events(&mut owner).await.len(), 3);
}

#[tokio::test]
async fn a_deferred_write_that_fails_fails_the_commit_and_nothing_of_the_call_stays() {
    let db = TestDatabase::new().await;
    let mut owner = PgConnection::connect_with(&db.owner_options())
        .await
        .expect("connect as the owner");
    let calls = calls(&db.database);
    let context = RequestContext::system(TenantId::generate());
    let patient = Uuid::now_v7();
    let runs = AtomicUsize::new(0);
    let event = Uuid::now_v7();
    let write = async |twice: bool| {
        calls
            .write(&context, METHOD, &key("kit-5"), &request(1), async |tx| {
                runs.fetch_add(1, Ordering::SeqCst);
                audit::record(tx, &context, &AuditEntry::ok(&[patient]), calls.now()).await?;
                let copies = if twice { 2 } else { 1 };
                for _ in 0..copies {
                    // The same event id twice breaks the outbox's unique index, at commit.
                    let tenant = tx.tenant_id().as_uuid();
                    tx.defer_insert(
                        "core.outbox (tenant_id, event_id, event_type, aggregate_id, payload, \
                         occurred_at)",
                        "($1, $2, 'openhmis.test.v1.Kit', 'kit', '', now())",
                        (tenant, event),
                    );
                }
                Ok(request(6))
            })
            .await
    };
    let failed = write(true).await.expect_err("the commit fails");
    assert!(
        matches!(&failed, KitError::Platform(_) | KitError::Database(_)),
        "{failed:?}"
    );
    assert!(outcomes(&mut owner, patient).await.is_empty());
    assert!(events(&mut owner).await.is_empty());
    // The key went back with the rest: the retry runs, and this time commits.
    assert_eq!(write(false).await.expect("the retry").seconds, 6);
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    assert_eq!(events(&mut owner).await, ["kit"]);
    assert_eq!(outcomes(&mut owner, patient).await, ["OK"]);
}
