//! The only place inventory speaks SQL, and only to the `inventory` schema. Amounts travel as
//! text (`numeric::text`, `$n::numeric`).

mod reports;
mod requisitions;
mod stocktaking;

pub use reports::*;
pub use requisitions::*;
pub use stocktaking::*;

use chrono::{DateTime, NaiveDate, Utc};
use hmis_platform::TenantTx;
use sqlx::{FromRow, PgPool};
use uuid::Uuid;

use crate::error::{Error, Result};

#[derive(Debug, Clone, FromRow)]
pub struct ItemRow {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub item_class: String,
    pub atc_code: String,
    pub preparation_group: String,
    pub base_unit: String,
    pub controlled: bool,
    pub version: i64,
    /// (name, base quantity) of each pack unit.
    pub pack_units: sqlx::types::Json<Vec<(String, String)>>,
}

const ITEM_COLUMNS: &str = "i.id, i.code, i.name, i.item_class, i.atc_code, i.preparation_group, \
     i.base_unit, i.controlled, i.version, \
     coalesce((SELECT json_agg(json_build_array(p.name, p.base_quantity::text) ORDER BY p.name) \
               FROM inventory.pack_units p \
               WHERE p.tenant_id = i.tenant_id AND p.item_id = i.id), '[]') AS pack_units";

pub async fn insert_item(tx: &mut TenantTx, row: &ItemRow, now: DateTime<Utc>) -> Result<()> {
    let tenant_id = tx.tenant_id().as_uuid();
    sqlx::query(
        "INSERT INTO inventory.items (tenant_id, id, code, name, item_class, atc_code, \
             preparation_group, base_unit, controlled, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(tenant_id)
    .bind(row.id)
    .bind(&row.code)
    .bind(&row.name)
    .bind(&row.item_class)
    .bind(&row.atc_code)
    .bind(&row.preparation_group)
    .bind(&row.base_unit)
    .bind(row.controlled)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    let (names, quantities): (Vec<&str>, Vec<&str>) = row
        .pack_units
        .0
        .iter()
        .map(|(name, quantity)| (name.as_str(), quantity.as_str()))
        .unzip();
    sqlx::query(
        "INSERT INTO inventory.pack_units (tenant_id, item_id, name, base_quantity) \
         SELECT $1, $2, p.name, p.quantity::numeric FROM unnest($3::text[], $4::text[]) \
             AS p(name, quantity)",
    )
    .bind(tenant_id)
    .bind(row.id)
    .bind(&names)
    .bind(&quantities)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn get_item(tx: &mut TenantTx, id: Uuid) -> Result<ItemRow> {
    let row: Option<ItemRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ITEM_COLUMNS} FROM inventory.items i WHERE i.tenant_id = $1 AND i.id = $2"
    )))
    .bind(tx.tenant_id().as_uuid())
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    row.ok_or_else(|| Error::NotFound(format!("item {id}")))
}

/// Whether any movement names `document_id` under `document_type` (a dose booked already).
pub async fn movements_exist(
    tx: &mut TenantTx,
    document_type: &str,
    document_id: &str,
) -> Result<bool> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT FROM inventory.movements \
          WHERE tenant_id = $1 AND document_type = $2 AND document_id = $3)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(document_type)
    .bind(document_id)
    .fetch_one(&mut **tx)
    .await?)
}

/// The stock of ward `department_id`, if it has one (the oldest, if several).
pub async fn ward_stock_of(tx: &mut TenantTx, department_id: Uuid) -> Result<Option<Uuid>> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM inventory.warehouses \
         WHERE tenant_id = $1 AND kind = 'ward' AND department_id = $2 ORDER BY id LIMIT 1",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(department_id)
    .fetch_optional(&mut **tx)
    .await?)
}

/// A dose that could not be drawn on the ward's stock, for the ward to reconcile.
pub async fn keep_unbooked_dose(
    tx: &mut TenantTx,
    administration_id: Uuid,
    (department_id, medicine_code, quantity): (Uuid, &str, &str),
    reason: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO inventory.unbooked_doses (tenant_id, administration_id, department_id, \
             medicine_code, quantity, reason, recorded_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(administration_id)
    .bind(department_id)
    .bind(medicine_code)
    .bind(quantity)
    .bind(reason)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The catalogue item of `code`, if any.
pub async fn item_by_code(tx: &mut TenantTx, code: &str) -> Result<Option<ItemRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ITEM_COLUMNS} FROM inventory.items i WHERE i.tenant_id = $1 AND i.code = $2"
    )))
    .bind(tx.tenant_id().as_uuid())
    .bind(code)
    .fetch_optional(&mut **tx)
    .await?)
}

pub async fn list_items(
    tx: &mut TenantTx,
    prefix: Option<&str>,
    after: Option<(String, Uuid)>,
    limit: i64,
) -> Result<Vec<ItemRow>> {
    let (after_name, after_id) = after.unzip();
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ITEM_COLUMNS} FROM inventory.items i WHERE i.tenant_id = $1 \
           AND ($2::text IS NULL OR lower(i.name) LIKE $2 || '%' OR lower(i.code) LIKE $2 || '%') \
           AND ($3::text IS NULL OR (i.name, i.id) > ($3, $4)) \
         ORDER BY i.name, i.id LIMIT $5"
    )))
    .bind(tx.tenant_id().as_uuid())
    .bind(prefix)
    .bind(after_name)
    .bind(after_id)
    .bind(limit)
    .fetch_all(&mut **tx)
    .await?)
}

#[derive(Debug, Clone, FromRow)]
pub struct WarehouseRow {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub kind: String,
    pub facility_id: Uuid,
    pub department_id: Option<Uuid>,
}

pub async fn insert_warehouse(
    tx: &mut TenantTx,
    row: &WarehouseRow,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO inventory.warehouses (tenant_id, id, code, name, kind, facility_id, \
             department_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(row.id)
    .bind(&row.code)
    .bind(&row.name)
    .bind(&row.kind)
    .bind(row.facility_id)
    .bind(row.department_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn get_warehouse(tx: &mut TenantTx, id: Uuid) -> Result<WarehouseRow> {
    let row: Option<WarehouseRow> = sqlx::query_as(
        "SELECT id, code, name, kind, facility_id, department_id FROM inventory.warehouses \
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    row.ok_or_else(|| Error::NotFound(format!("warehouse {id}")))
}

/// The central pharmacies of a facility, by code.
pub async fn central_pharmacies(tx: &mut TenantTx, facility_id: Uuid) -> Result<Vec<Uuid>> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM inventory.warehouses \
         WHERE tenant_id = $1 AND facility_id = $2 AND kind = 'central_pharmacy' ORDER BY code",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(facility_id)
    .fetch_all(&mut **tx)
    .await?)
}

pub async fn list_warehouses(tx: &mut TenantTx) -> Result<Vec<WarehouseRow>> {
    Ok(sqlx::query_as(
        "SELECT id, code, name, kind, facility_id, department_id FROM inventory.warehouses \
         WHERE tenant_id = $1 ORDER BY code",
    )
    .bind(tx.tenant_id().as_uuid())
    .fetch_all(&mut **tx)
    .await?)
}

/// Sets (or with `None`, removes) an item's reorder point in a warehouse.
pub async fn set_reorder_point(
    tx: &mut TenantTx,
    warehouse_id: Uuid,
    item_id: Uuid,
    quantity: Option<&str>,
) -> Result<()> {
    let tenant_id = tx.tenant_id().as_uuid();
    match quantity {
        Some(quantity) => sqlx::query(
            "INSERT INTO inventory.reorder_points (tenant_id, warehouse_id, item_id, quantity) \
             VALUES ($1, $2, $3, $4::numeric) ON CONFLICT (tenant_id, warehouse_id, item_id) \
             DO UPDATE SET quantity = EXCLUDED.quantity",
        )
        .bind(tenant_id)
        .bind(warehouse_id)
        .bind(item_id)
        .bind(quantity),
        None => sqlx::query(
            "DELETE FROM inventory.reorder_points \
             WHERE tenant_id = $1 AND warehouse_id = $2 AND item_id = $3",
        )
        .bind(tenant_id)
        .bind(warehouse_id)
        .bind(item_id),
    }
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Items of a warehouse at or below their reorder point: (item id, in stock, reorder point).
pub async fn below_reorder_point(
    tx: &mut TenantTx,
    warehouse_id: Uuid,
) -> Result<Vec<(Uuid, String, String)>> {
    Ok(sqlx::query_as(
        "SELECT r.item_id, coalesce(sum(b.quantity), 0)::text, r.quantity::text \
         FROM inventory.reorder_points r \
         LEFT JOIN inventory.balances b ON b.tenant_id = r.tenant_id \
              AND b.warehouse_id = r.warehouse_id AND b.item_id = r.item_id \
         WHERE r.tenant_id = $1 AND r.warehouse_id = $2 \
         GROUP BY r.item_id, r.quantity \
         HAVING coalesce(sum(b.quantity), 0) <= r.quantity ORDER BY r.item_id",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(warehouse_id)
    .fetch_all(&mut **tx)
    .await?)
}

#[derive(Debug, Clone, FromRow)]
pub struct LotRow {
    pub id: Uuid,
    pub item_id: Uuid,
    pub lot_number: String,
    pub expiry_date: NaiveDate,
    pub unit_cost: String,
    pub provenance: String,
    pub supplier: String,
}

const LOT_COLUMNS: &str = "l.id, l.item_id, l.lot_number, l.expiry_date, l.unit_cost::text AS unit_cost, l.provenance, l.supplier";

/// The lot a receipt line brings: the same (number, expiry, cost, provenance) of an item is
/// the same lot. `unit_cost` is per base unit, rounded to four places by the database.
#[allow(clippy::too_many_arguments)]
pub async fn receive_lot(
    tx: &mut TenantTx,
    item_id: Uuid,
    lot_number: &str,
    expiry_date: NaiveDate,
    unit_cost: &str,
    units_per_pack: &str,
    provenance: &str,
    supplier: &str,
    now: DateTime<Utc>,
) -> Result<LotRow> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO inventory.lots AS l (tenant_id, id, item_id, lot_number, expiry_date, \
             unit_cost, provenance, supplier, created_at) \
         VALUES ($1, $2, $3, $4, $5, round($6::numeric / $7::numeric, 4), $8, $9, $10) \
         ON CONFLICT (tenant_id, item_id, lot_number, expiry_date, unit_cost, provenance) \
             DO UPDATE SET supplier = l.supplier \
         RETURNING {LOT_COLUMNS}"
    )))
    .bind(tx.tenant_id().as_uuid())
    .bind(Uuid::now_v7())
    .bind(item_id)
    .bind(lot_number)
    .bind(expiry_date)
    .bind(unit_cost)
    .bind(units_per_pack)
    .bind(provenance)
    .bind(supplier)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?)
}

/// The unexpired lots of an item a warehouse holds, soonest expiry first, locked for the
/// allocation that follows (only `lot_id`, when given).
pub async fn lock_in_hand(
    tx: &mut TenantTx,
    warehouse_id: Uuid,
    item_id: Uuid,
    lot_id: Option<Uuid>,
    today: NaiveDate,
) -> Result<Vec<(Uuid, String, String)>> {
    Ok(sqlx::query_as(
        "SELECT b.lot_id, b.quantity::text, l.unit_cost::text \
         FROM inventory.balances b \
         JOIN inventory.lots l ON l.tenant_id = b.tenant_id AND l.id = b.lot_id \
         WHERE b.tenant_id = $1 AND b.warehouse_id = $2 AND b.item_id = $3 AND b.quantity > 0 \
           AND l.expiry_date > $4 AND ($5::uuid IS NULL OR b.lot_id = $5) \
         ORDER BY l.expiry_date, b.lot_id FOR UPDATE OF b",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(warehouse_id)
    .bind(item_id)
    .bind(today)
    .bind(lot_id)
    .fetch_all(&mut **tx)
    .await?)
}

pub async fn get_lot(tx: &mut TenantTx, id: Uuid) -> Result<LotRow> {
    let row: Option<LotRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {LOT_COLUMNS} FROM inventory.lots l WHERE l.tenant_id = $1 AND l.id = $2"
    )))
    .bind(tx.tenant_id().as_uuid())
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    row.ok_or_else(|| Error::NotFound(format!("lot {id}")))
}

#[derive(Debug, Clone, FromRow)]
pub struct MovementRow {
    pub id: Uuid,
    pub kind: String,
    pub item_id: Uuid,
    pub lot_id: Uuid,
    pub from_warehouse_id: Option<Uuid>,
    pub to_warehouse_id: Option<Uuid>,
    pub quantity: String,
    pub unit_cost: String,
    pub actor_id: Uuid,
    pub document_type: String,
    pub document_id: String,
    pub reason: String,
    pub patient_id: Option<Uuid>,
    pub department_id: Option<Uuid>,
    pub reverses_id: Option<Uuid>,
    pub occurred_at: DateTime<Utc>,
}

const MOVEMENT_COLUMNS: &str = "id, kind, item_id, lot_id, from_warehouse_id, to_warehouse_id, \
     quantity::text AS quantity, unit_cost::text AS unit_cost, actor_id, document_type, \
     document_id, reason, patient_id, department_id, reverses_id, occurred_at";

/// Writes one line of the ledger; the database moves the balances with it (and refuses a
/// balance below zero).
pub async fn record_movement(tx: &mut TenantTx, row: &MovementRow) -> Result<MovementRow> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO inventory.movements (tenant_id, id, kind, item_id, lot_id, \
             from_warehouse_id, to_warehouse_id, quantity, unit_cost, actor_id, document_type, \
             document_id, reason, patient_id, department_id, reverses_id, occurred_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8::numeric, $9::numeric, $10, $11, $12, $13, $14, \
             $15, $16, $17) RETURNING {MOVEMENT_COLUMNS}"
    )))
    .bind(tx.tenant_id().as_uuid())
    .bind(row.id)
    .bind(&row.kind)
    .bind(row.item_id)
    .bind(row.lot_id)
    .bind(row.from_warehouse_id)
    .bind(row.to_warehouse_id)
    .bind(&row.quantity)
    .bind(&row.unit_cost)
    .bind(row.actor_id)
    .bind(&row.document_type)
    .bind(&row.document_id)
    .bind(&row.reason)
    .bind(row.patient_id)
    .bind(row.department_id)
    .bind(row.reverses_id)
    .bind(row.occurred_at)
    .fetch_one(&mut **tx)
    .await?)
}

/// A movement about to be reversed, under a transaction-scoped advisory lock on it: two
/// returns of one movement at once count one after the other. (The ledger grants no UPDATE,
/// so no row lock can be taken on it.)
pub async fn lock_movement(tx: &mut TenantTx, id: Uuid) -> Result<MovementRow> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1::text || '/' || $2::text, 11))")
        .bind(tx.tenant_id().as_uuid())
        .bind(id)
        .execute(&mut **tx)
        .await?;
    let row: Option<MovementRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {MOVEMENT_COLUMNS} FROM inventory.movements WHERE tenant_id = $1 AND id = $2"
    )))
    .bind(tx.tenant_id().as_uuid())
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    row.ok_or_else(|| Error::NotFound(format!("movement {id}")))
}

/// Adds `quantity` to what was dispensed against `prescription_id` if the sum stays within
/// `limit`: `false` (nothing added) when it would not. Racing dispenses queue on the row and
/// each sees the sum the one before it left.
pub async fn fill_prescription(
    tx: &mut TenantTx,
    prescription_id: Uuid,
    quantity: &str,
    limit: &str,
) -> Result<bool> {
    sqlx::query(
        "INSERT INTO inventory.prescription_fills (tenant_id, prescription_id) VALUES ($1, $2) \
         ON CONFLICT DO NOTHING",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(prescription_id)
    .execute(&mut **tx)
    .await?;
    let filled = sqlx::query(
        "UPDATE inventory.prescription_fills SET dispensed = dispensed + $3::numeric \
         WHERE tenant_id = $1 AND prescription_id = $2 \
           AND dispensed + $3::numeric <= $4::numeric",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(prescription_id)
    .bind(quantity)
    .bind(limit)
    .execute(&mut **tx)
    .await?;
    Ok(filled.rows_affected() == 1)
}

/// What was dispensed against `prescription_id` so far.
pub async fn dispensed_against(tx: &mut TenantTx, prescription_id: Uuid) -> Result<String> {
    Ok(sqlx::query_scalar(
        "SELECT coalesce((SELECT dispensed FROM inventory.prescription_fills \
          WHERE tenant_id = $1 AND prescription_id = $2), 0)::text",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(prescription_id)
    .fetch_one(&mut **tx)
    .await?)
}

/// Takes what came back off what was dispensed against `prescription_id`.
pub async fn unfill_prescription(
    tx: &mut TenantTx,
    prescription_id: Uuid,
    quantity: &str,
) -> Result<()> {
    sqlx::query(
        "UPDATE inventory.prescription_fills \
         SET dispensed = greatest(dispensed - $3::numeric, 0) \
         WHERE tenant_id = $1 AND prescription_id = $2",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(prescription_id)
    .bind(quantity)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// How much of a movement was already returned.
pub async fn returned_of(tx: &mut TenantTx, movement_id: Uuid) -> Result<String> {
    Ok(sqlx::query_scalar(
        "SELECT coalesce(sum(quantity), 0)::text FROM inventory.movements \
         WHERE tenant_id = $1 AND reverses_id = $2",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(movement_id)
    .fetch_one(&mut **tx)
    .await?)
}

pub async fn movements(
    tx: &mut TenantTx,
    warehouse_id: Uuid,
    item_id: Option<Uuid>,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<MovementRow>> {
    let (after_time, after_id) = after.unzip();
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {MOVEMENT_COLUMNS} FROM inventory.movements \
         WHERE tenant_id = $1 AND (from_warehouse_id = $2 OR to_warehouse_id = $2) \
           AND ($3::uuid IS NULL OR item_id = $3) \
           AND ($4::timestamptz IS NULL OR (occurred_at, id) < ($4, $5)) \
         ORDER BY occurred_at DESC, id DESC LIMIT $6"
    )))
    .bind(tx.tenant_id().as_uuid())
    .bind(warehouse_id)
    .bind(item_id)
    .bind(after_time)
    .bind(after_id)
    .bind(limit)
    .fetch_all(&mut **tx)
    .await?)
}

/// A warehouse's stock, lot by lot: (lot, quantity, value).
pub async fn stock(
    tx: &mut TenantTx,
    warehouse_id: Uuid,
    item_id: Option<Uuid>,
) -> Result<Vec<(LotRow, String, String)>> {
    #[derive(FromRow)]
    struct Line {
        #[sqlx(flatten)]
        lot: LotRow,
        quantity: String,
        value: String,
    }
    let lines: Vec<Line> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {LOT_COLUMNS}, b.quantity::text AS quantity, \
                round(b.quantity * l.unit_cost, 2)::text AS value \
         FROM inventory.balances b JOIN inventory.lots l ON l.tenant_id = b.tenant_id AND l.id = b.lot_id \
         WHERE b.tenant_id = $1 AND b.warehouse_id = $2 AND b.quantity > 0 \
           AND ($3::uuid IS NULL OR b.item_id = $3) \
         ORDER BY b.item_id, l.expiry_date, l.id"
    )))
    .bind(tx.tenant_id().as_uuid())
    .bind(warehouse_id)
    .bind(item_id)
    .fetch_all(&mut **tx)
    .await?;
    Ok(lines
        .into_iter()
        .map(|line| (line.lot, line.quantity, line.value))
        .collect())
}

/// A balance that disagrees with the sum of its ledger.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Discrepancy {
    pub tenant_id: Uuid,
    pub warehouse_id: Uuid,
    pub lot_id: Uuid,
    /// What the movements add up to.
    pub ledger: String,
    /// What the balance says.
    pub balance: String,
}

/// Every (tenant, warehouse, lot) whose balance is not the sum of its movements, across
/// tenants (the worker role may read the ledger and balances for this check).
pub async fn discrepancies(worker: &PgPool) -> Result<(i64, Vec<Discrepancy>)> {
    let checked: i64 = sqlx::query_scalar("SELECT count(*) FROM inventory.balances")
        .fetch_one(worker)
        .await?;
    let found = sqlx::query_as(
        "WITH ledger AS ( \
             SELECT tenant_id, warehouse_id, lot_id, sum(quantity) AS quantity FROM ( \
                 SELECT tenant_id, to_warehouse_id AS warehouse_id, lot_id, quantity \
                 FROM inventory.movements WHERE to_warehouse_id IS NOT NULL \
                 UNION ALL \
                 SELECT tenant_id, from_warehouse_id, lot_id, -quantity \
                 FROM inventory.movements WHERE from_warehouse_id IS NOT NULL) m \
             GROUP BY tenant_id, warehouse_id, lot_id) \
         SELECT coalesce(l.tenant_id, b.tenant_id) AS tenant_id, \
                coalesce(l.warehouse_id, b.warehouse_id) AS warehouse_id, \
                coalesce(l.lot_id, b.lot_id) AS lot_id, \
                coalesce(l.quantity, 0)::text AS ledger, coalesce(b.quantity, 0)::text AS balance \
         FROM ledger l FULL JOIN inventory.balances b \
              ON b.tenant_id = l.tenant_id AND b.warehouse_id = l.warehouse_id \
             AND b.lot_id = l.lot_id \
         WHERE coalesce(l.quantity, 0) <> coalesce(b.quantity, 0) \
         ORDER BY 1, 2, 3",
    )
    .fetch_all(worker)
    .await?;
    Ok((checked, found))
}
