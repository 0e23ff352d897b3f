//! The statements the audit service runs on `audit.records` for its callers (the sealer's
//! chain statements are in `chain.rs`, on the debt list of the tidy test).

use chrono::{DateTime, Utc};
use hmis_platform::TenantTx;
use uuid::Uuid;

use crate::chain::{RECORD_COLUMNS, StoredRecord};

/// Which records a listing asks for, newest first.
#[derive(Debug, Clone, Default)]
pub struct RecordFilter {
    pub patient_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub break_glass_only: bool,
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    /// The keyset of the previous page: records older than this one.
    pub before: Option<i64>,
}

/// A listed record with its position in the trail (the page token).
#[derive(Debug, sqlx::FromRow)]
pub struct ListedRecord {
    pub id: i64,
    #[sqlx(flatten)]
    pub record: StoredRecord,
}

/// The tenant's records that `filter` names, newest first, at most `limit`.
pub async fn list_records(
    tx: &mut TenantTx,
    filter: &RecordFilter,
    limit: i64,
) -> Result<Vec<ListedRecord>, sqlx::Error> {
    let sql = format!(
        "SELECT id, {RECORD_COLUMNS} FROM audit.records \
         WHERE tenant_id = $1 \
           AND ($2::uuid IS NULL OR patient_ids @> ARRAY[$2::uuid]) \
           AND ($3::uuid IS NULL OR user_id = $3) \
           AND (NOT $4 OR break_glass_reason <> '') \
           AND ($5::timestamptz IS NULL OR occurred_at >= $5) \
           AND ($6::timestamptz IS NULL OR occurred_at < $6) \
           AND ($7::bigint IS NULL OR id < $7) \
         ORDER BY id DESC LIMIT $8"
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(tx.tenant_id().as_uuid())
        .bind(filter.patient_id)
        .bind(filter.user_id)
        .bind(filter.break_glass_only)
        .bind(filter.start)
        .bind(filter.end)
        .bind(filter.before)
        .bind(limit)
        .fetch_all(&mut **tx)
        .await
}
