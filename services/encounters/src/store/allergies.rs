//! The store of allergies.

use super::*;

#[derive(Debug, Clone, FromRow)]
pub struct AllergyRow {
    pub id: Uuid,
    pub patient_id: Uuid,
    pub category: String,
    pub kind: String,
    pub substance_atc_code: String,
    pub substance_text: String,
    pub severity: String,
    pub reaction: String,
    pub recorded_by: Uuid,
    pub record_time: DateTime<Utc>,
}

pub async fn insert_allergy(tx: &mut TenantTx, row: &AllergyRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO encounters.allergies (tenant_id, id, patient_id, category, kind, \
             substance_atc_code, substance_text, severity, reaction, recorded_by, record_time) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(row.id)
    .bind(row.patient_id)
    .bind(&row.category)
    .bind(&row.kind)
    .bind(&row.substance_atc_code)
    .bind(&row.substance_text)
    .bind(&row.severity)
    .bind(&row.reaction)
    .bind(row.recorded_by)
    .bind(row.record_time)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn allergies_of(tx: &mut TenantTx, patient_id: Uuid) -> Result<Vec<AllergyRow>> {
    Ok(sqlx::query_as(
        "SELECT id, patient_id, category, kind, substance_atc_code, substance_text, severity, \
                reaction, recorded_by, record_time \
         FROM encounters.allergies WHERE tenant_id = $1 AND patient_id = $2 \
         ORDER BY record_time, id",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(patient_id)
    .fetch_all(&mut **tx)
    .await?)
}

/// Where the patient was cared for (the wards of their encounters, open ones first): whoever
/// may read one of these may read the patient's allergies.
pub async fn patient_places(tx: &mut TenantTx, patient_id: Uuid) -> Result<Vec<(Uuid, Uuid)>> {
    Ok(sqlx::query_as(
        "SELECT facility_id, department_id FROM encounters.encounters \
         WHERE tenant_id = $1 AND patient_id = $2 \
         ORDER BY (status = 'open') DESC, start_time DESC LIMIT 50",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(patient_id)
    .fetch_all(&mut **tx)
    .await?)
}
