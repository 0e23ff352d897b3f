//! Group commit for the audit records of reads.
//!
//! A read must not answer before its audit record is durable, but the record need not share
//! the read's transaction (a read changes nothing to commit with it). Recording each read in
//! its own transaction costs an insert, a round trip and a WAL flush per call; here the
//! records of concurrent reads are written together, one multi-row insert and one commit for
//! all of them, and every caller still waits until its own record is on disk. A batch that
//! cannot be written fails every call in it: nothing is answered off the record.

use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::{Mutex, mpsc, oneshot};
use uuid::Uuid;

use super::{AuditEntry, outcome_name};
use crate::TenantId;
use crate::context::{RequestContext, RequestId};
use crate::db::Database;

/// Records waiting beyond this many make callers wait for room (back-pressure, not loss).
const QUEUE: usize = 4_096;
/// The most records one insert carries.
const BATCH: usize = 256;
/// Batches written at once: while one commits, the next one gathers and writes.
const WRITERS: usize = 2;

/// One audit record as `audit.records` stores it.
#[derive(Debug, Serialize)]
struct Row {
    tenant_id: Uuid,
    record_id: Uuid,
    occurred_at: DateTime<Utc>,
    user_id: Uuid,
    username: String,
    method: String,
    patient_ids: Vec<Uuid>,
    resource_ids: Vec<String>,
    outcome: &'static str,
    client_addr: String,
    request_id: String,
    break_glass_reason: String,
}

struct Pending {
    row: Row,
    written: oneshot::Sender<Result<(), String>>,
}

/// Writes the audit records of reads in shared transactions; cheap to clone.
#[derive(Debug, Clone)]
pub struct ReadAudit {
    database: Database,
    /// Made with the writers, on the runtime of the first read; the writers stop when the
    /// last handle is dropped.
    queue: Arc<OnceLock<mpsc::Sender<Pending>>>,
}

impl ReadAudit {
    pub fn new(database: Database) -> Self {
        Self {
            database,
            queue: Arc::new(OnceLock::new()),
        }
    }

    fn queue(&self) -> &mpsc::Sender<Pending> {
        self.queue.get_or_init(|| {
            let (queue, receiver) = mpsc::channel(QUEUE);
            let receiver = Arc::new(Mutex::new(receiver));
            for _ in 0..WRITERS {
                tokio::spawn(write_batches(self.database.clone(), receiver.clone()));
            }
            queue
        })
    }

    /// Records the read described by `entry` and returns once the record is durable.
    pub async fn record(
        &self,
        tenant_id: TenantId,
        context: &RequestContext,
        entry: &AuditEntry<'_>,
        at: DateTime<Utc>,
    ) -> Result<Uuid, sqlx::Error> {
        let record_id = Uuid::now_v7();
        let (user_id, username) = match context.principal() {
            Ok(principal) => (principal.user_id, principal.username.clone()),
            Err(_) => (Uuid::nil(), "anonymous".to_owned()),
        };
        let row = Row {
            tenant_id: tenant_id.as_uuid(),
            record_id,
            occurred_at: at,
            user_id,
            username,
            method: context.method().to_owned(),
            patient_ids: entry.patient_ids.to_vec(),
            resource_ids: entry.resource_ids.to_vec(),
            outcome: outcome_name(entry.outcome),
            client_addr: context
                .client_addr
                .map(|addr| addr.to_string())
                .unwrap_or_default(),
            request_id: context.request_id.as_str().to_owned(),
            break_glass_reason: entry.break_glass_reason.unwrap_or_default().to_owned(),
        };
        let (written, outcome) = oneshot::channel();
        self.queue()
            .send(Pending { row, written })
            .await
            .map_err(|_| unavailable("the audit writers have stopped"))?;
        match outcome.await {
            Ok(Ok(())) => Ok(record_id),
            Ok(Err(message)) => Err(unavailable(&message)),
            Err(_) => Err(unavailable("the audit writer stopped before writing")),
        }
    }
}

fn unavailable(message: &str) -> sqlx::Error {
    sqlx::Error::Io(std::io::Error::other(format!(
        "audit record not written: {message}"
    )))
}

/// Takes what is queued (at least one record, at most a batch) and writes it, until every
/// handle is gone.
async fn write_batches(database: Database, receiver: Arc<Mutex<mpsc::Receiver<Pending>>>) {
    loop {
        let mut batch = Vec::new();
        {
            let mut receiver = receiver.lock().await;
            if receiver.recv_many(&mut batch, BATCH).await == 0 {
                return;
            }
        }
        let outcome = write(&database, &batch).await.map_err(|error| {
            tracing::error!(error = %error, records = batch.len(), "audit batch not written");
            error.to_string()
        });
        for pending in batch {
            // A caller that went away no longer waits for its answer.
            let _ = pending.written.send(outcome.clone());
        }
    }
}

/// One transaction for the batch; each tenant's records under its own setting, since the
/// table's policy checks every row against it.
async fn write(database: &Database, batch: &[Pending]) -> Result<(), sqlx::Error> {
    let mut tenants: Vec<Uuid> = batch.iter().map(|pending| pending.row.tenant_id).collect();
    tenants.sort_unstable();
    tenants.dedup();
    let request_id = RequestId::generate();
    let mut tx = database
        .begin(TenantId::new(tenants[0]), &request_id)
        .await?;
    for (n, tenant) in tenants.iter().enumerate() {
        if n > 0 {
            sqlx::query("SELECT set_config('app.tenant_id', $1, true)")
                .bind(tenant.to_string())
                .execute(&mut *tx)
                .await?;
        }
        let rows: Vec<&Row> = batch
            .iter()
            .map(|pending| &pending.row)
            .filter(|row| row.tenant_id == *tenant)
            .collect();
        sqlx::query(
            "INSERT INTO audit.records (tenant_id, record_id, occurred_at, user_id, username, \
                 method, patient_ids, resource_ids, outcome, client_addr, request_id, \
                 break_glass_reason) \
             SELECT tenant_id, record_id, occurred_at, user_id, username, method, patient_ids, \
                    resource_ids, outcome, client_addr, request_id, break_glass_reason \
             FROM jsonb_populate_recordset(NULL::audit.records, $1)",
        )
        .bind(sqlx::types::Json(rows))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}
