//! The day of surgery: checklist pauses, milestones, the versions of the operation's and the
//! anaesthesia's records, what the operation used and the procedures' packs.

use chrono::{DateTime, Utc};
use hmis_platform::TenantTx;
use serde_json::Value as Json;
use sqlx::FromRow;
use uuid::Uuid;

use crate::domain::{ChecklistPhase, Milestone, RecordKind};
use crate::error::Result;

#[derive(Debug, Clone, FromRow)]
pub struct ChecklistRow {
    pub operation_id: Uuid,
    pub phase: ChecklistPhase,
    pub confirmed_items: Vec<String>,
    pub confirmed_by: Uuid,
    pub confirmed_at: DateTime<Utc>,
}

#[derive(Debug, Clone, FromRow)]
pub struct MilestoneRow {
    pub operation_id: Uuid,
    pub milestone: Milestone,
    pub at: DateTime<Utc>,
    pub recorded_by: Uuid,
}

pub async fn insert_checklist(tx: &mut TenantTx, row: &ChecklistRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO surgery.checklist (tenant_id, operation_id, phase, confirmed_items, \
         confirmed_by, confirmed_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(row.operation_id)
    .bind(row.phase)
    .bind(&row.confirmed_items)
    .bind(row.confirmed_by)
    .bind(row.confirmed_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn insert_milestone(tx: &mut TenantTx, row: &MilestoneRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO surgery.milestones (tenant_id, operation_id, milestone, at, recorded_by) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(row.operation_id)
    .bind(row.milestone)
    .bind(row.at)
    .bind(row.recorded_by)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn checklists_of(tx: &mut TenantTx, ids: &[Uuid]) -> Result<Vec<ChecklistRow>> {
    Ok(sqlx::query_as(
        "SELECT operation_id, phase, confirmed_items, confirmed_by, confirmed_at \
         FROM surgery.checklist WHERE operation_id = ANY($1) ORDER BY operation_id, confirmed_at",
    )
    .bind(ids)
    .fetch_all(&mut **tx)
    .await?)
}

pub async fn milestones_of(tx: &mut TenantTx, ids: &[Uuid]) -> Result<Vec<MilestoneRow>> {
    Ok(sqlx::query_as(
        "SELECT operation_id, milestone, at, recorded_by FROM surgery.milestones \
         WHERE operation_id = ANY($1) ORDER BY operation_id, at, milestone",
    )
    .bind(ids)
    .fetch_all(&mut **tx)
    .await?)
}

/// Frees the team's time once the operation is over.
pub async fn release_team(tx: &mut TenantTx, operation_id: Uuid) -> Result<()> {
    sqlx::query("UPDATE surgery.operation_team SET holds = false WHERE operation_id = $1")
        .bind(operation_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Sets the operation's status (the milestone moved it).
pub async fn set_status(
    tx: &mut TenantTx,
    operation_id: Uuid,
    status: crate::domain::OperationStatus,
) -> Result<()> {
    sqlx::query("UPDATE surgery.operations SET status = $2, version = version + 1 WHERE id = $1")
        .bind(operation_id)
        .bind(status)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

#[derive(Debug, Clone, FromRow)]
pub struct RecordRow {
    pub operation_id: Uuid,
    pub kind: RecordKind,
    pub version: i32,
    pub content: Json,
    pub signed: bool,
    pub amendment_reason: String,
    pub written_by: Uuid,
    pub written_at: DateTime<Utc>,
}

const RECORD_COLUMNS: &str =
    "operation_id, kind, version, content, signed, amendment_reason, written_by, written_at";

pub async fn insert_record(tx: &mut TenantTx, row: &RecordRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO surgery.records (tenant_id, operation_id, kind, version, content, signed, \
         amendment_reason, written_by, written_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(row.operation_id)
    .bind(row.kind)
    .bind(row.version)
    .bind(&row.content)
    .bind(row.signed)
    .bind(&row.amendment_reason)
    .bind(row.written_by)
    .bind(row.written_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Every version of one record of an operation, oldest first.
pub async fn record_versions(
    tx: &mut TenantTx,
    operation_id: Uuid,
    kind: RecordKind,
) -> Result<Vec<RecordRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {RECORD_COLUMNS} FROM surgery.records WHERE operation_id = $1 AND kind = $2 \
         ORDER BY version"
    )))
    .bind(operation_id)
    .bind(kind)
    .fetch_all(&mut **tx)
    .await?)
}

/// Whether any version of the record was signed.
pub fn ever_signed(versions: &[RecordRow]) -> bool {
    versions.iter().any(|version| version.signed)
}

#[derive(Debug, Clone, FromRow)]
pub struct ConsumedRow {
    pub item_id: Uuid,
    pub quantity: String,
}

pub async fn insert_consumption(
    tx: &mut TenantTx,
    operation_id: Uuid,
    warehouse_id: Uuid,
    movements: &[(Uuid, Uuid, String)],
    (by, at): (Uuid, DateTime<Utc>),
) -> Result<()> {
    let ids: Vec<Uuid> = movements.iter().map(|(movement, _, _)| *movement).collect();
    let items: Vec<Uuid> = movements.iter().map(|(_, item, _)| *item).collect();
    let quantities: Vec<&str> = movements
        .iter()
        .map(|(_, _, quantity)| quantity.as_str())
        .collect();
    sqlx::query(
        "INSERT INTO surgery.consumption (tenant_id, operation_id, movement_id, item_id, quantity, \
         warehouse_id, recorded_by, recorded_at) \
         SELECT $1, $2, m.id, m.item, m.quantity::numeric, $6, $7, $8 \
         FROM unnest($3::uuid[], $4::uuid[], $5::text[]) AS m(id, item, quantity) \
         ON CONFLICT DO NOTHING",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(operation_id)
    .bind(ids)
    .bind(items)
    .bind(quantities)
    .bind(warehouse_id)
    .bind(by)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// What the operation used so far, per item.
pub async fn consumed(tx: &mut TenantTx, operation_id: Uuid) -> Result<Vec<ConsumedRow>> {
    Ok(sqlx::query_as(
        "SELECT item_id, trim_scale(sum(quantity))::text AS quantity FROM surgery.consumption \
         WHERE operation_id = $1 GROUP BY item_id ORDER BY item_id",
    )
    .bind(operation_id)
    .fetch_all(&mut **tx)
    .await?)
}

/// Replaces a procedure's pack.
pub async fn set_pack(tx: &mut TenantTx, code: &str, lines: &[(Uuid, String)]) -> Result<()> {
    sqlx::query("DELETE FROM surgery.procedure_packs WHERE procedure_code = $1")
        .bind(code)
        .execute(&mut **tx)
        .await?;
    let items: Vec<Uuid> = lines.iter().map(|(item, _)| *item).collect();
    let quantities: Vec<&str> = lines
        .iter()
        .map(|(_, quantity)| quantity.as_str())
        .collect();
    sqlx::query(
        "INSERT INTO surgery.procedure_packs (tenant_id, procedure_code, item_id, quantity) \
         SELECT $1, $2, p.item, p.quantity::numeric FROM unnest($3::uuid[], $4::text[]) \
         AS p(item, quantity)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(code)
    .bind(items)
    .bind(quantities)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The packs of `codes`, summed per item.
pub async fn packs(tx: &mut TenantTx, codes: &[String]) -> Result<Vec<ConsumedRow>> {
    Ok(sqlx::query_as(
        "SELECT item_id, trim_scale(sum(quantity))::text AS quantity FROM surgery.procedure_packs \
         WHERE procedure_code = ANY($1) GROUP BY item_id ORDER BY item_id",
    )
    .bind(codes)
    .fetch_all(&mut **tx)
    .await?)
}
