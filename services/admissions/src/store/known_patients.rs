//! `admissions.known_patients`: what admitting checks of the registry's patients, kept from
//! its events.

use chrono::NaiveDate;
use hmis_platform::TenantTx;
use sqlx::FromRow;
use uuid::Uuid;

/// What the registry last announced of a patient.
#[derive(Debug, FromRow)]
pub struct KnownPatientRow {
    pub sex: String,
    pub deceased: bool,
    pub merged_into: Option<Uuid>,
    pub birth_date: Option<NaiveDate>,
    pub unpaid_debt: bool,
}

/// What a `PatientChanged` event says of a patient.
#[derive(Debug)]
pub struct PatientFactsRow<'a> {
    pub version: i64,
    pub sex: &'a str,
    pub deceased: bool,
    pub merged_into: Option<Uuid>,
    pub birth_date: Option<NaiveDate>,
    pub unpaid_debt: bool,
}

/// Keeps what a `PatientChanged` event says, unless a newer version is kept already
/// (redelivered or overtaken events change nothing).
pub async fn keep_known_patient(
    tx: &mut TenantTx,
    patient_id: Uuid,
    facts: &PatientFactsRow<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO admissions.known_patients (tenant_id, patient_id, version, sex, deceased, \
             merged_into, birth_date, unpaid_debt, facts_complete) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, true) \
         ON CONFLICT (tenant_id, patient_id) DO UPDATE SET version = EXCLUDED.version, \
             sex = EXCLUDED.sex, deceased = EXCLUDED.deceased, \
             merged_into = EXCLUDED.merged_into, birth_date = EXCLUDED.birth_date, \
             unpaid_debt = EXCLUDED.unpaid_debt, facts_complete = true \
         WHERE admissions.known_patients.version < EXCLUDED.version",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(patient_id)
    .bind(facts.version)
    .bind(facts.sex)
    .bind(facts.deceased)
    .bind(facts.merged_into)
    .bind(facts.birth_date)
    .bind(facts.unpaid_debt)
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
        "SELECT sex, deceased, merged_into, birth_date, unpaid_debt \
         FROM admissions.known_patients \
         WHERE tenant_id = $1 AND patient_id = $2 AND facts_complete",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(patient_id)
    .fetch_optional(&mut **tx)
    .await
}
