//! The only place the audit module speaks SQL: the records its callers list, and the chain
//! the sealer writes and verification reads.

use chrono::{DateTime, Utc};
use hmis_platform::TenantTx;
use uuid::Uuid;

use sqlx::{PgConnection, PgPool};

use crate::chain::{ChainEntry, PendingRecord, RECORD_COLUMNS, StoredRecord};

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

/// Where the sealer stopped, locked: concurrent sealers take turns.
pub async fn lock_sealer(connection: &mut PgConnection) -> Result<(String, i64), sqlx::Error> {
    sqlx::query_as("SELECT last_txid::text, last_id FROM audit.sealer FOR UPDATE")
        .fetch_one(connection)
        .await
}

/// The records committed after (`last_txid`, `last_id`) that no transaction still running
/// can overtake, in commit order.
pub async fn committed_after(
    connection: &mut PgConnection,
    last_txid: &str,
    last_id: i64,
    limit: i64,
) -> Result<Vec<PendingRecord>, sqlx::Error> {
    let sql = hmis_platform::db::commit_ordered_after(RECORD_COLUMNS, "audit.records");
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(last_txid)
        .bind(last_id)
        .bind(limit)
        .fetch_all(connection)
        .await
}

/// The last position of a tenant's chain and its hash, if the chain has begun.
pub async fn chain_head(
    connection: &mut PgConnection,
    tenant_id: Uuid,
) -> Result<Option<(i64, Vec<u8>)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT seq, chain_hash FROM audit.chain WHERE tenant_id = $1 \
         ORDER BY seq DESC LIMIT 1",
    )
    .bind(tenant_id)
    .fetch_optional(connection)
    .await
}

pub async fn insert_chain_entry(
    connection: &mut PgConnection,
    tenant_id: Uuid,
    entry: &ChainEntry,
    sealed_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit.chain (tenant_id, seq, record_id, record_hash, chain_hash, sealed_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(tenant_id)
    .bind(entry.seq)
    .bind(entry.record_id)
    .bind(&entry.record_hash)
    .bind(&entry.chain_hash)
    .bind(sealed_at)
    .execute(connection)
    .await?;
    Ok(())
}

/// Moves the sealer past what it has chained.
pub async fn advance_sealer(
    connection: &mut PgConnection,
    last_txid: &str,
    last_id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE audit.sealer SET last_txid = $1::text::xid8, last_id = $2")
        .bind(last_txid)
        .bind(last_id)
        .execute(connection)
        .await?;
    Ok(())
}

/// A tenant's chain, in order.
pub async fn chain_of(
    connection: &mut PgConnection,
    tenant_id: Uuid,
) -> Result<Vec<ChainEntry>, sqlx::Error> {
    sqlx::query_as(
        "SELECT seq, record_id, record_hash, chain_hash FROM audit.chain \
         WHERE tenant_id = $1 ORDER BY seq",
    )
    .bind(tenant_id)
    .fetch_all(connection)
    .await
}

/// Every record of a tenant.
pub async fn records_of(
    connection: &mut PgConnection,
    tenant_id: Uuid,
) -> Result<Vec<StoredRecord>, sqlx::Error> {
    let sql = format!("SELECT {RECORD_COLUMNS} FROM audit.records WHERE tenant_id = $1");
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(tenant_id)
        .fetch_all(connection)
        .await
}

/// The records of a tenant the sealer has passed that have no chain entry.
pub async fn unchained(
    connection: &mut PgConnection,
    tenant_id: Uuid,
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT r.record_id FROM audit.records r, audit.sealer s \
         WHERE r.tenant_id = $1 AND (r.txid, r.id) <= (s.last_txid, s.last_id) \
           AND NOT EXISTS (SELECT FROM audit.chain c WHERE c.record_id = r.record_id) \
         ORDER BY r.id",
    )
    .bind(tenant_id)
    .fetch_all(connection)
    .await
}

/// Every tenant with records or a chain (worker role).
pub async fn audited_tenants(pool: &PgPool) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT tenant_id FROM audit.chain UNION SELECT tenant_id FROM audit.records ORDER BY 1",
    )
    .fetch_all(pool)
    .await
}
