//! The store of stocktaking.

use super::*;

/// Refuses a movement into or out of a warehouse being counted.
pub async fn require_not_counting(tx: &mut TenantTx, warehouse_id: Uuid) -> Result<()> {
    let counting: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM inventory.stocktakings \
                        WHERE tenant_id = $1 AND warehouse_id = $2 AND status = 'open')",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(warehouse_id)
    .fetch_one(&mut **tx)
    .await?;
    if counting {
        return Err(Error::Precondition(
            "the warehouse is being counted (stocktaking open); post or cancel it first".into(),
        ));
    }
    Ok(())
}

#[derive(Debug, Clone, FromRow)]
pub struct StocktakingRow {
    pub id: Uuid,
    pub warehouse_id: Uuid,
    pub status: String,
    pub started_by: Uuid,
    pub started_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub version: i64,
}

/// Opens a stocktaking and lists the warehouse's stock in hand as what is expected.
pub async fn start_stocktaking(
    tx: &mut TenantTx,
    warehouse_id: Uuid,
    started_by: Uuid,
    now: DateTime<Utc>,
) -> Result<StocktakingRow> {
    let tenant_id = tx.tenant_id().as_uuid();
    let row: StocktakingRow = sqlx::query_as(
        "INSERT INTO inventory.stocktakings (tenant_id, id, warehouse_id, status, started_by, \
             started_at) VALUES ($1, $2, $3, 'open', $4, $5) \
         RETURNING id, warehouse_id, status, started_by, started_at, closed_at, version",
    )
    .bind(tenant_id)
    .bind(Uuid::now_v7())
    .bind(warehouse_id)
    .bind(started_by)
    .bind(now)
    .fetch_one(&mut **tx)
    .await
    .map_err(
        |error| match hmis_platform::error::DbErrorKind::of(&error) {
            hmis_platform::error::DbErrorKind::UniqueViolation { .. } => {
                Error::Precondition("a stocktaking of this warehouse is already open".into())
            }
            _ => Error::from(error),
        },
    )?;
    sqlx::query(
        "INSERT INTO inventory.stocktaking_lines (tenant_id, stocktaking_id, lot_id, expected) \
         SELECT tenant_id, $2, lot_id, quantity FROM inventory.balances \
         WHERE tenant_id = $1 AND warehouse_id = $3 AND quantity > 0",
    )
    .bind(tenant_id)
    .bind(row.id)
    .bind(warehouse_id)
    .execute(&mut **tx)
    .await?;
    Ok(row)
}

pub async fn get_stocktaking(tx: &mut TenantTx, id: Uuid, lock: bool) -> Result<StocktakingRow> {
    let row: Option<StocktakingRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT id, warehouse_id, status, started_by, started_at, closed_at, version \
         FROM inventory.stocktakings WHERE tenant_id = $1 AND id = $2{}",
        if lock { " FOR UPDATE" } else { "" }
    )))
    .bind(tx.tenant_id().as_uuid())
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    row.ok_or_else(|| Error::NotFound(format!("stocktaking {id}")))
}

/// A stocktaking's lines: (lot, expected, counted, difference).
pub async fn stocktaking_lines(
    tx: &mut TenantTx,
    stocktaking_id: Uuid,
) -> Result<Vec<(LotRow, String, Option<String>, Option<String>)>> {
    #[derive(FromRow)]
    struct Line {
        #[sqlx(flatten)]
        lot: LotRow,
        expected: String,
        counted: Option<String>,
        difference: Option<String>,
    }
    let lines: Vec<Line> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {LOT_COLUMNS}, s.expected::text AS expected, s.counted::text AS counted, \
                s.difference::text AS difference \
         FROM inventory.stocktaking_lines s \
         JOIN inventory.lots l ON l.tenant_id = s.tenant_id AND l.id = s.lot_id \
         WHERE s.tenant_id = $1 AND s.stocktaking_id = $2 ORDER BY l.item_id, l.expiry_date, l.id"
    )))
    .bind(tx.tenant_id().as_uuid())
    .bind(stocktaking_id)
    .fetch_all(&mut **tx)
    .await?;
    Ok(lines
        .into_iter()
        .map(|line| (line.lot, line.expected, line.counted, line.difference))
        .collect())
}

/// Records a count (a lot not listed, found on the shelf, is added with nothing expected).
pub async fn record_count(
    tx: &mut TenantTx,
    stocktaking_id: Uuid,
    lot_id: Uuid,
    counted: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO inventory.stocktaking_lines (tenant_id, stocktaking_id, lot_id, expected, counted) \
         VALUES ($1, $2, $3, 0, $4::numeric) \
         ON CONFLICT (tenant_id, stocktaking_id, lot_id) DO UPDATE SET counted = EXCLUDED.counted",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(stocktaking_id)
    .bind(lot_id)
    .bind(counted)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn touch_stocktaking(
    tx: &mut TenantTx,
    id: Uuid,
    status: &str,
    closed_at: Option<DateTime<Utc>>,
) -> Result<()> {
    sqlx::query(
        "UPDATE inventory.stocktakings SET status = $3, closed_at = $4, version = version + 1 \
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(id)
    .bind(status)
    .bind(closed_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The balance of a lot in a warehouse now, locked until commit (zero when none).
pub async fn lock_balance(tx: &mut TenantTx, warehouse_id: Uuid, lot_id: Uuid) -> Result<String> {
    let balance: Option<String> = sqlx::query_scalar(
        "SELECT quantity::text FROM inventory.balances \
         WHERE tenant_id = $1 AND warehouse_id = $2 AND lot_id = $3 FOR UPDATE",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(warehouse_id)
    .bind(lot_id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(balance.unwrap_or_else(|| "0".to_owned()))
}

pub async fn set_difference(
    tx: &mut TenantTx,
    stocktaking_id: Uuid,
    lot_id: Uuid,
    difference: &str,
) -> Result<()> {
    sqlx::query(
        "UPDATE inventory.stocktaking_lines SET difference = $4::numeric \
         WHERE tenant_id = $1 AND stocktaking_id = $2 AND lot_id = $3",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(stocktaking_id)
    .bind(lot_id)
    .bind(difference)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
