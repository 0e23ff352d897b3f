//! `surgery.known_patients` and `surgery.known_admissions`: what booking checks of the
//! registry's patients and admissions' admissions, kept from their events.

use hmis_platform::TenantTx;
use uuid::Uuid;

use crate::error::Result;

/// Keeps what the registry said of a patient, unless a newer version is kept already.
pub async fn keep_patient(
    tx: &mut TenantTx,
    patient_id: Uuid,
    version: i64,
    (deceased, merged_into): (bool, Option<Uuid>),
) -> Result<()> {
    sqlx::query(
        "INSERT INTO surgery.known_patients (tenant_id, patient_id, version, deceased, \
         merged_into) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (tenant_id, patient_id) DO UPDATE SET version = EXCLUDED.version, \
         deceased = EXCLUDED.deceased, merged_into = EXCLUDED.merged_into \
         WHERE surgery.known_patients.version < EXCLUDED.version",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(patient_id)
    .bind(version)
    .bind(deceased)
    .bind(merged_into)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Whether the patient is deceased and where the record was merged, if the registry said.
pub async fn known_patient(
    tx: &mut TenantTx,
    patient_id: Uuid,
) -> Result<Option<(bool, Option<Uuid>)>> {
    Ok(sqlx::query_as(
        "SELECT deceased, merged_into FROM surgery.known_patients WHERE patient_id = $1",
    )
    .bind(patient_id)
    .fetch_optional(&mut **tx)
    .await?)
}

/// Keeps what admissions said of an admission, unless a newer version is kept already.
pub async fn keep_admission(
    tx: &mut TenantTx,
    admission_id: Uuid,
    version: i64,
    (patient_id, open): (Uuid, bool),
) -> Result<()> {
    sqlx::query(
        "INSERT INTO surgery.known_admissions (tenant_id, admission_id, version, patient_id, \
         open) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (tenant_id, admission_id) DO UPDATE SET version = EXCLUDED.version, \
         patient_id = EXCLUDED.patient_id, open = EXCLUDED.open \
         WHERE surgery.known_admissions.version < EXCLUDED.version",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(admission_id)
    .bind(version)
    .bind(patient_id)
    .bind(open)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Whose the admission is and whether it is open, if admissions said.
pub async fn known_admission(
    tx: &mut TenantTx,
    admission_id: Uuid,
) -> Result<Option<(Uuid, bool)>> {
    Ok(sqlx::query_as(
        "SELECT patient_id, open FROM surgery.known_admissions WHERE admission_id = $1",
    )
    .bind(admission_id)
    .fetch_optional(&mut **tx)
    .await?)
}
