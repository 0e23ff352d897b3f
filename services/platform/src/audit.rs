//! Writing the audit trail: one record per call that touches patient data.
//!
//! A write records its access in its own transaction ([`record`]), so the change and its
//! record commit together or not at all. A read does the same in the transaction it reads in
//! and commits before answering, so the record is durable before the data leaves. A refused
//! attempt is recorded in a transaction of its own ([`record_refusal`]). Records are append-only
//! in the database; the audit module seals them into a per-tenant hash chain.

use chrono::{DateTime, Utc};
use tonic::Code;
use uuid::Uuid;

use crate::TenantId;
use crate::context::RequestContext;
use crate::db::{Database, TenantTx};

/// What one call did to whose data.
#[derive(Debug, Clone)]
pub struct AuditEntry<'a> {
    pub patient_ids: &'a [Uuid],
    pub resource_ids: &'a [String],
    pub outcome: Code,
    /// Why the caller opened a record outside its scope, when it did.
    pub break_glass_reason: Option<&'a str>,
}

impl<'a> AuditEntry<'a> {
    /// A successful access to `patient_ids` within the caller's scope; change the other
    /// fields with struct update syntax (`AuditEntry { outcome, ..AuditEntry::ok(ids) }`).
    pub fn ok(patient_ids: &'a [Uuid]) -> Self {
        Self {
            patient_ids,
            resource_ids: &[],
            outcome: Code::Ok,
            break_glass_reason: None,
        }
    }
}

/// The canonical name of a status code, as stored (`OK`, `PERMISSION_DENIED`, ...).
pub fn outcome_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// Records the access described by `entry` in `tx` (the call's own transaction), written
/// with the transaction's other deferred writes before it commits.
pub async fn record(
    tx: &mut TenantTx,
    context: &RequestContext,
    entry: &AuditEntry<'_>,
    at: DateTime<Utc>,
) -> Result<Uuid, sqlx::Error> {
    let record_id = Uuid::now_v7();
    let (user_id, username) = match context.principal() {
        Ok(principal) => (principal.user_id, principal.username.clone()),
        Err(_) => (Uuid::nil(), "anonymous".to_owned()),
    };
    let tenant_id = tx.tenant_id().as_uuid();
    let client_addr = (context.client_addr)
        .map(|addr| addr.to_string())
        .unwrap_or_default();
    tx.defer_insert(
        "audit.records (tenant_id, record_id, occurred_at, user_id, username, method, \
         patient_ids, resource_ids, outcome, client_addr, request_id, break_glass_reason)",
        "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        (
            tenant_id,
            record_id,
            at,
            user_id,
            username,
            context.method().to_owned(),
            entry.patient_ids.to_vec(),
            entry.resource_ids.to_vec(),
            outcome_name(entry.outcome),
            client_addr,
            context.request_id.as_str().to_owned(),
            entry.break_glass_reason.unwrap_or_default().to_owned(),
        ),
    );
    Ok(record_id)
}

/// Records a refused (or failed) attempt in a transaction of its own: the call's own
/// transaction, if any, is rolled back, but the attempt must stay on record.
pub async fn record_refusal(
    database: &Database,
    tenant_id: TenantId,
    context: &RequestContext,
    entry: &AuditEntry<'_>,
    at: DateTime<Utc>,
) -> Result<Uuid, sqlx::Error> {
    let mut tx = database.begin(tenant_id, &context.request_id).await?;
    let record_id = record(&mut tx, context, entry, at).await?;
    tx.commit().await?;
    Ok(record_id)
}

/// Records a refused access to `patient_ids` and returns the refusal to send. If the record
/// cannot be written, the caller gets that failure instead: an attempt that cannot be put on
/// record is not answered as if it had been.
pub async fn refuse(
    database: &Database,
    tenant_id: TenantId,
    context: &RequestContext,
    patient_ids: &[Uuid],
    denied: tonic::Status,
    at: DateTime<Utc>,
) -> tonic::Status {
    let entry = AuditEntry {
        outcome: denied.code(),
        ..AuditEntry::ok(patient_ids)
    };
    match record_refusal(database, tenant_id, context, &entry, at).await {
        Ok(_) => denied,
        Err(error) => crate::error::database_status(&error),
    }
}
