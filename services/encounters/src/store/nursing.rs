//! The store of the nursing record.

use super::*;

/// One vital sign as it is kept.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StoredSign {
    pub code: String,
    pub value: String,
    pub unit: String,
}

#[derive(Debug, Clone, FromRow)]
pub struct NursingRow {
    pub id: Uuid,
    pub encounter_id: Uuid,
    pub patient_id: Uuid,
    /// `vital_signs`, `note` or `care`.
    pub kind: String,
    pub vital_signs: sqlx::types::Json<Vec<StoredSign>>,
    pub text: String,
    pub observed_at: DateTime<Utc>,
    pub recorded_by: Uuid,
    pub recorded_at: DateTime<Utc>,
}

const NURSING_COLUMNS: &str = "id, encounter_id, patient_id, kind, vital_signs, text, \
     observed_at, recorded_by, recorded_at";

pub async fn insert_nursing_entry(tx: &mut TenantTx, row: &NursingRow) -> Result<NursingRow> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO encounters.nursing_entries (tenant_id, id, encounter_id, patient_id, kind, \
             vital_signs, text, observed_at, recorded_by, recorded_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING {NURSING_COLUMNS}"
    )))
    .bind(tx.tenant_id().as_uuid())
    .bind(row.id)
    .bind(row.encounter_id)
    .bind(row.patient_id)
    .bind(&row.kind)
    .bind(&row.vital_signs)
    .bind(&row.text)
    .bind(row.observed_at)
    .bind(row.recorded_by)
    .bind(row.recorded_at)
    .fetch_one(&mut **tx)
    .await?)
}

/// An encounter's nursing record, newest first.
pub async fn nursing_entries(tx: &mut TenantTx, encounter_id: Uuid) -> Result<Vec<NursingRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {NURSING_COLUMNS} FROM encounters.nursing_entries \
         WHERE tenant_id = $1 AND encounter_id = $2 ORDER BY observed_at DESC, id DESC"
    )))
    .bind(tx.tenant_id().as_uuid())
    .bind(encounter_id)
    .fetch_all(&mut **tx)
    .await?)
}
