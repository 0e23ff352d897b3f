//! The store of requisitions.

use super::*;

#[derive(Debug, Clone, FromRow)]
pub struct RequisitionRow {
    pub id: Uuid,
    pub ward_stock_id: Uuid,
    pub supplier_id: Uuid,
    pub status: String,
    pub note: String,
    pub requested_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub version: i64,
}

const REQUISITION_COLUMNS: &str =
    "id, ward_stock_id, supplier_id, status, note, requested_by, created_at, version";

pub async fn insert_requisition(
    tx: &mut TenantTx,
    row: &RequisitionRow,
    lines: &[(Uuid, String)],
) -> Result<()> {
    let tenant_id = tx.tenant_id().as_uuid();
    sqlx::query(
        "INSERT INTO inventory.requisitions (tenant_id, id, ward_stock_id, supplier_id, status, \
             note, requested_by, created_at) VALUES ($1, $2, $3, $4, 'open', $5, $6, $7)",
    )
    .bind(tenant_id)
    .bind(row.id)
    .bind(row.ward_stock_id)
    .bind(row.supplier_id)
    .bind(&row.note)
    .bind(row.requested_by)
    .bind(row.created_at)
    .execute(&mut **tx)
    .await?;
    let (items, quantities): (Vec<Uuid>, Vec<&str>) = lines
        .iter()
        .map(|(item, quantity)| (*item, quantity.as_str()))
        .unzip();
    sqlx::query(
        "INSERT INTO inventory.requisition_lines (tenant_id, requisition_id, item_id, requested) \
         SELECT $1, $2, l.item, l.quantity::numeric FROM unnest($3::uuid[], $4::text[]) \
             AS l(item, quantity)",
    )
    .bind(tenant_id)
    .bind(row.id)
    .bind(&items)
    .bind(&quantities)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn get_requisition(tx: &mut TenantTx, id: Uuid, lock: bool) -> Result<RequisitionRow> {
    let row: Option<RequisitionRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {REQUISITION_COLUMNS} FROM inventory.requisitions \
         WHERE tenant_id = $1 AND id = $2{}",
        if lock { " FOR UPDATE" } else { "" }
    )))
    .bind(tx.tenant_id().as_uuid())
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    row.ok_or_else(|| Error::NotFound(format!("requisition {id}")))
}

/// (item, requested, supplied) of a requisition.
pub async fn requisition_lines(tx: &mut TenantTx, id: Uuid) -> Result<Vec<(Uuid, String, String)>> {
    Ok(sqlx::query_as(
        "SELECT item_id, requested::text, supplied::text FROM inventory.requisition_lines \
         WHERE tenant_id = $1 AND requisition_id = $2 ORDER BY item_id",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(id)
    .fetch_all(&mut **tx)
    .await?)
}

pub async fn add_supplied(
    tx: &mut TenantTx,
    requisition_id: Uuid,
    item_id: Uuid,
    quantity: &str,
) -> Result<()> {
    sqlx::query(
        "UPDATE inventory.requisition_lines SET supplied = supplied + $4::numeric \
         WHERE tenant_id = $1 AND requisition_id = $2 AND item_id = $3",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(requisition_id)
    .bind(item_id)
    .bind(quantity)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Marks the requisition fulfilled when every line is supplied; bumps its version.
pub async fn settle_requisition(tx: &mut TenantTx, id: Uuid, now: DateTime<Utc>) -> Result<()> {
    sqlx::query(
        "UPDATE inventory.requisitions r SET version = version + 1, \
             status = CASE WHEN NOT EXISTS (SELECT 1 FROM inventory.requisition_lines l \
                                            WHERE l.tenant_id = r.tenant_id \
                                              AND l.requisition_id = r.id \
                                              AND l.supplied < l.requested) \
                           THEN 'fulfilled' ELSE 'open' END, \
             closed_at = CASE WHEN NOT EXISTS (SELECT 1 FROM inventory.requisition_lines l \
                                               WHERE l.tenant_id = r.tenant_id \
                                                 AND l.requisition_id = r.id \
                                                 AND l.supplied < l.requested) \
                              THEN $3 END \
         WHERE r.tenant_id = $1 AND r.id = $2",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn open_requisitions(
    tx: &mut TenantTx,
    supplier_id: Uuid,
) -> Result<Vec<RequisitionRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {REQUISITION_COLUMNS} FROM inventory.requisitions \
         WHERE tenant_id = $1 AND supplier_id = $2 AND status = 'open' ORDER BY created_at, id"
    )))
    .bind(tx.tenant_id().as_uuid())
    .bind(supplier_id)
    .fetch_all(&mut **tx)
    .await?)
}
