//! The store of the medication administration record.

use super::*;

#[derive(Debug, Clone, FromRow)]
pub struct AdministrationRow {
    pub id: Uuid,
    pub prescription_id: Uuid,
    pub encounter_id: Uuid,
    pub patient_id: Uuid,
    pub scheduled_time: Option<DateTime<Utc>>,
    pub status: String,
    pub reason: String,
    pub administered_at: DateTime<Utc>,
    pub recorded_by: Uuid,
}

pub async fn insert_administration(
    tx: &mut TenantTx,
    row: &AdministrationRow,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO encounters.administrations (tenant_id, id, prescription_id, encounter_id, \
             patient_id, scheduled_time, status, reason, administered_at, recorded_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(row.id)
    .bind(row.prescription_id)
    .bind(row.encounter_id)
    .bind(row.patient_id)
    .bind(row.scheduled_time)
    .bind(&row.status)
    .bind(&row.reason)
    .bind(row.administered_at)
    .bind(row.recorded_by)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn administrations_of(
    tx: &mut TenantTx,
    encounter_id: Uuid,
) -> Result<Vec<AdministrationRow>> {
    Ok(sqlx::query_as(
        "SELECT id, prescription_id, encounter_id, patient_id, scheduled_time, status, reason, \
                administered_at, recorded_by \
         FROM encounters.administrations WHERE tenant_id = $1 AND encounter_id = $2 \
         ORDER BY administered_at, id",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(encounter_id)
    .fetch_all(&mut **tx)
    .await?)
}

/// As-needed doses of a prescription given since `since`.
pub async fn as_needed_given_since(
    tx: &mut TenantTx,
    prescription_id: Uuid,
    since: DateTime<Utc>,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM encounters.administrations \
         WHERE tenant_id = $1 AND prescription_id = $2 AND scheduled_time IS NULL \
           AND status = 'given' AND administered_at > $3",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(prescription_id)
    .bind(since)
    .fetch_one(&mut **tx)
    .await?)
}
