//! The store of formulary.

use super::*;

#[derive(Debug, Clone, FromRow)]
pub struct MedicineRow {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub atc_code: String,
    pub form_unit: String,
    pub strength: String,
    pub strength_unit: String,
    pub max_daily_dose: Option<String>,
    pub restriction: String,
    pub version: i64,
}

const MEDICINE_COLUMNS: &str = "id, code, name, atc_code, form_unit, strength::text AS strength, \
     strength_unit, max_daily_dose::text AS max_daily_dose, restriction, version";

pub async fn insert_medicine(
    tx: &mut TenantTx,
    row: &MedicineRow,
    now: DateTime<Utc>,
) -> Result<MedicineRow> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO encounters.medicines (tenant_id, id, code, name, atc_code, form_unit, \
             strength, strength_unit, max_daily_dose, restriction, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7::numeric, $8, $9::numeric, $10, $11) \
         RETURNING {MEDICINE_COLUMNS}"
    )))
    .bind(tx.tenant_id().as_uuid())
    .bind(row.id)
    .bind(&row.code)
    .bind(&row.name)
    .bind(&row.atc_code)
    .bind(&row.form_unit)
    .bind(&row.strength)
    .bind(&row.strength_unit)
    .bind(&row.max_daily_dose)
    .bind(&row.restriction)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?)
}

pub async fn get_medicine(tx: &mut TenantTx, id: Uuid) -> Result<MedicineRow> {
    let row: Option<MedicineRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {MEDICINE_COLUMNS} FROM encounters.medicines WHERE tenant_id = $1 AND id = $2"
    )))
    .bind(tx.tenant_id().as_uuid())
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    row.ok_or_else(|| Error::NotFound(format!("medicine {id}")))
}

pub async fn list_medicines(
    tx: &mut TenantTx,
    prefix: Option<&str>,
    after: Option<(String, Uuid)>,
    limit: i64,
) -> Result<Vec<MedicineRow>> {
    let (after_name, after_id) = after.unzip();
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {MEDICINE_COLUMNS} FROM encounters.medicines \
         WHERE tenant_id = $1 \
           AND ($2::text IS NULL OR lower(name) LIKE $2 || '%' OR lower(code) LIKE $2 || '%') \
           AND ($3::text IS NULL OR (name, id) > ($3, $4)) \
         ORDER BY name, id LIMIT $5"
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
pub struct RuleRow {
    pub id: Uuid,
    pub atc_code_a: String,
    pub atc_code_b: String,
    pub severity: String,
    pub description: String,
}

pub async fn insert_rule(tx: &mut TenantTx, row: &RuleRow, now: DateTime<Utc>) -> Result<()> {
    sqlx::query(
        "INSERT INTO encounters.interaction_rules (tenant_id, id, atc_code_a, atc_code_b, \
             severity, description, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(row.id)
    .bind(&row.atc_code_a)
    .bind(&row.atc_code_b)
    .bind(&row.severity)
    .bind(&row.description)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn list_rules(tx: &mut TenantTx) -> Result<Vec<RuleRow>> {
    Ok(sqlx::query_as(
        "SELECT id, atc_code_a, atc_code_b, severity, description \
         FROM encounters.interaction_rules WHERE tenant_id = $1 ORDER BY atc_code_a, atc_code_b",
    )
    .bind(tx.tenant_id().as_uuid())
    .fetch_all(&mut **tx)
    .await?)
}

/// The rules that may apply to `atc_code`: one side is a prefix of it.
pub async fn rules_touching(tx: &mut TenantTx, atc_code: &str) -> Result<Vec<RuleRow>> {
    Ok(sqlx::query_as(
        "SELECT id, atc_code_a, atc_code_b, severity, description \
         FROM encounters.interaction_rules \
         WHERE tenant_id = $1 AND (starts_with($2, atc_code_a) OR starts_with($2, atc_code_b))",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(atc_code)
    .fetch_all(&mut **tx)
    .await?)
}
