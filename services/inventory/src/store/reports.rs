//! The store of reports.

use super::*;

#[derive(Debug, Clone, FromRow)]
pub struct ReportRow {
    pub warehouse_id: Uuid,
    pub item_id: Uuid,
    pub opening_quantity: String,
    pub opening_value: String,
    pub received_quantity: String,
    pub received_value: String,
    pub issued_quantity: String,
    pub issued_value: String,
    pub closing_quantity: String,
    pub closing_value: String,
}

/// Opening, in, out and closing per item of a warehouse for [`start`, `end`), from the
/// ledger; values at each lot's unit cost, rounded to cents.
pub async fn stock_report(
    tx: &mut TenantTx,
    warehouse_id: Uuid,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Vec<ReportRow>> {
    Ok(sqlx::query_as(
        "WITH m AS ( \
             SELECT item_id, quantity AS q, quantity * unit_cost AS v, occurred_at \
             FROM inventory.movements \
             WHERE tenant_id = $1 AND to_warehouse_id = $2 AND occurred_at < $4 \
             UNION ALL \
             SELECT item_id, -quantity, -quantity * unit_cost, occurred_at \
             FROM inventory.movements \
             WHERE tenant_id = $1 AND from_warehouse_id = $2 AND occurred_at < $4) \
         SELECT $2 AS warehouse_id, item_id, \
             coalesce(sum(q) FILTER (WHERE occurred_at < $3), 0)::text AS opening_quantity, \
             round(coalesce(sum(v) FILTER (WHERE occurred_at < $3), 0), 2)::text AS opening_value, \
             coalesce(sum(q) FILTER (WHERE occurred_at >= $3 AND q > 0), 0)::text AS received_quantity, \
             round(coalesce(sum(v) FILTER (WHERE occurred_at >= $3 AND q > 0), 0), 2)::text AS received_value, \
             coalesce(-sum(q) FILTER (WHERE occurred_at >= $3 AND q < 0), 0)::text AS issued_quantity, \
             round(coalesce(-sum(v) FILTER (WHERE occurred_at >= $3 AND q < 0), 0), 2)::text AS issued_value, \
             sum(q)::text AS closing_quantity, round(sum(v), 2)::text AS closing_value \
         FROM m GROUP BY item_id ORDER BY item_id",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(warehouse_id)
    .bind(start)
    .bind(end)
    .fetch_all(&mut **tx)
    .await?)
}

#[derive(Debug, Clone, FromRow)]
pub struct RegisterRow {
    #[sqlx(flatten)]
    pub movement: MovementRow,
    pub item_name: String,
    pub lot_number: String,
    pub change: String,
    pub balance_after: String,
}

/// Movements of controlled items into or out of a warehouse in [`start`, `end`), with the
/// warehouse's running stock of each item after each one.
pub async fn controlled_register(
    tx: &mut TenantTx,
    warehouse_id: Uuid,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Vec<RegisterRow>> {
    Ok(sqlx::query_as(
        "SELECT * FROM ( \
             SELECT m.id, m.kind, m.item_id, m.lot_id, m.from_warehouse_id, m.to_warehouse_id, \
                    m.quantity::text AS quantity, m.unit_cost::text AS unit_cost, m.actor_id, \
                    m.document_type, m.document_id, m.reason, m.patient_id, m.department_id, \
                    m.reverses_id, m.occurred_at, i.name AS item_name, l.lot_number, \
                    (CASE WHEN m.to_warehouse_id = $2 THEN m.quantity ELSE -m.quantity END)::text \
                        AS change, \
                    (sum(CASE WHEN m.to_warehouse_id = $2 THEN m.quantity ELSE -m.quantity END) \
                        OVER (PARTITION BY m.item_id ORDER BY m.occurred_at, m.id))::text \
                        AS balance_after \
             FROM inventory.movements m \
             JOIN inventory.items i ON i.tenant_id = m.tenant_id AND i.id = m.item_id \
             JOIN inventory.lots l ON l.tenant_id = m.tenant_id AND l.id = m.lot_id \
             WHERE m.tenant_id = $1 AND (m.from_warehouse_id = $2 OR m.to_warehouse_id = $2) \
               AND i.controlled AND m.occurred_at < $4) r \
         WHERE r.occurred_at >= $3 ORDER BY r.occurred_at, r.id",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(warehouse_id)
    .bind(start)
    .bind(end)
    .fetch_all(&mut **tx)
    .await?)
}

#[derive(Debug, Clone, FromRow)]
pub struct SlipRow {
    pub item_id: Uuid,
    pub lot_number: String,
    pub quantity: String,
    pub unit_cost: String,
    pub value: String,
    pub document_ids: Vec<String>,
}

/// What was issued to a patient in [`start`, `end`), net of returns, per item and lot.
pub async fn patient_slip(
    tx: &mut TenantTx,
    patient_id: Uuid,
    start: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
) -> Result<Vec<SlipRow>> {
    Ok(sqlx::query_as(
        "SELECT m.item_id, l.lot_number, \
                sum(CASE WHEN m.kind = 'return' THEN -m.quantity ELSE m.quantity END)::text \
                    AS quantity, \
                l.unit_cost::text AS unit_cost, \
                round(sum(CASE WHEN m.kind = 'return' THEN -m.quantity ELSE m.quantity END) \
                      * l.unit_cost, 2)::text AS value, \
                coalesce(array_agg(DISTINCT m.document_id) \
                             FILTER (WHERE m.kind = 'issue_patient'), '{}') AS document_ids \
         FROM inventory.movements m \
         JOIN inventory.lots l ON l.tenant_id = m.tenant_id AND l.id = m.lot_id \
         WHERE m.tenant_id = $1 AND m.patient_id = $2 AND m.kind IN ('issue_patient', 'return') \
           AND ($3::timestamptz IS NULL OR m.occurred_at >= $3) \
           AND ($4::timestamptz IS NULL OR m.occurred_at < $4) \
         GROUP BY m.item_id, l.id, l.lot_number, l.unit_cost \
         HAVING sum(CASE WHEN m.kind = 'return' THEN -m.quantity ELSE m.quantity END) > 0 \
         ORDER BY m.item_id, l.lot_number",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(patient_id)
    .bind(start)
    .bind(end)
    .fetch_all(&mut **tx)
    .await?)
}
