//! `patients.placements`: which ward each patient lies in, kept from the admission events.

use chrono::{DateTime, Utc};
use hmis_platform::TenantTx;
use uuid::Uuid;

/// Where the patient lies now (kept from the admission events).
pub async fn place(
    tx: &mut TenantTx,
    patient_id: Uuid,
    facility_id: Uuid,
    department_id: Uuid,
    since: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    // A patient the registry does not hold (another tenant's id, a deleted test row) has no
    // placement to keep; the join leaves it out instead of failing the subscriber forever.
    sqlx::query(
        "INSERT INTO patients.placements (tenant_id, patient_id, facility_id, department_id, since) \
         SELECT $1, p.id, $3, $4, $5 FROM patients.patients p WHERE p.tenant_id = $1 AND p.id = $2 \
         ON CONFLICT (tenant_id, patient_id) DO UPDATE SET facility_id = EXCLUDED.facility_id, \
             department_id = EXCLUDED.department_id, \
             since = CASE WHEN patients.placements.department_id = EXCLUDED.department_id \
                          THEN patients.placements.since ELSE EXCLUDED.since END",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(patient_id)
    .bind(facility_id)
    .bind(department_id)
    .bind(since)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The patient is in no ward any more.
pub async fn unplace(tx: &mut TenantTx, patient_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM patients.placements WHERE tenant_id = $1 AND patient_id = $2")
        .bind(tx.tenant_id().as_uuid())
        .bind(patient_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
