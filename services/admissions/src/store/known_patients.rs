//! `admissions.known_patients`: what admitting checks of the registry's patients, kept from
//! its events.

use hmis_platform::TenantTx;
use sqlx::FromRow;
use uuid::Uuid;

/// What the registry last announced of a patient.
#[derive(Debug, FromRow)]
pub struct KnownPatientRow {
    pub sex: String,
    pub deceased: bool,
    pub merged_into: Option<Uuid>,
}

/// Keeps what a `PatientChanged` event says, unless a newer version is kept already
/// (redelivered or overtaken events change nothing).
pub async fn keep_known_patient(
    tx: &mut TenantTx,
    patient_id: Uuid,
    version: i64,
    sex: &str,
    deceased: bool,
    merged_into: Option<Uuid>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO admissions.known_patients \
             (tenant_id, patient_id, version, sex, deceased, merged_into) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (tenant_id, patient_id) DO UPDATE SET version = EXCLUDED.version, \
             sex = EXCLUDED.sex, deceased = EXCLUDED.deceased, \
             merged_into = EXCLUDED.merged_into \
         WHERE admissions.known_patients.version < EXCLUDED.version",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(patient_id)
    .bind(version)
    .bind(sex)
    .bind(deceased)
    .bind(merged_into)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The patient as the registry's events told it, if they did.
pub async fn known_patient(
    tx: &mut TenantTx,
    patient_id: Uuid,
) -> Result<Option<KnownPatientRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT sex, deceased, merged_into FROM admissions.known_patients \
         WHERE tenant_id = $1 AND patient_id = $2",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(patient_id)
    .fetch_optional(&mut **tx)
    .await
}
