//! The only place the registry speaks SQL, and only to the `patients` schema.

use chrono::{DateTime, NaiveDate, Utc};
use hmis_platform::TenantTx;
use hmis_platform::error::DbErrorKind;
use sqlx::FromRow;
use uuid::Uuid;

use crate::domain::patient::{Identifier, IdentifierType, NewPatient};
use crate::error::Error;

#[derive(Debug, Clone, FromRow)]
pub struct PatientRow {
    pub id: Uuid,
    pub mrn: String,
    pub family_name: String,
    pub given_names: String,
    pub patronymic: String,
    pub sex: String,
    pub birth_date: NaiveDate,
    pub birth_date_estimated: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, FromRow)]
pub struct IdentifierRow {
    pub r#type: String,
    pub country: String,
    pub value: String,
}

/// Takes the tenant's next MRN under the counter's row lock (released at commit; a rollback
/// returns the number).
async fn next_mrn(tx: &mut TenantTx) -> Result<String, Error> {
    let number: i64 = sqlx::query_scalar(
        "INSERT INTO patients.mrn_counters (tenant_id, next_mrn) VALUES ($1, 2) \
         ON CONFLICT (tenant_id) DO UPDATE SET next_mrn = patients.mrn_counters.next_mrn + 1 \
         RETURNING next_mrn - 1",
    )
    .bind(tx.tenant_id().as_uuid())
    .fetch_one(&mut **tx)
    .await?;
    Ok(format!("{number:08}"))
}

/// Inserts the patient with a new MRN and its identifiers.
pub async fn insert_patient(
    tx: &mut TenantTx,
    patient: &NewPatient,
    now: DateTime<Utc>,
) -> Result<(PatientRow, Vec<IdentifierRow>), Error> {
    let id = Uuid::now_v7();
    let mrn = next_mrn(tx).await?;
    let tenant_id = tx.tenant_id().as_uuid();
    let row: PatientRow = sqlx::query_as(
        "INSERT INTO patients.patients (tenant_id, id, mrn, family_name, given_names, patronymic, \
         sex, birth_date, birth_date_estimated, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) \
         RETURNING id, mrn, family_name, given_names, patronymic, sex, birth_date, \
                   birth_date_estimated, version, created_at",
    )
    .bind(tenant_id)
    .bind(id)
    .bind(&mrn)
    .bind(patient.family_name.as_str())
    .bind(patient.given_names.as_str())
    .bind(patient.patronymic.as_str())
    .bind(patient.sex.as_db())
    .bind(patient.birth_date)
    .bind(patient.birth_date_estimated)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    for identifier in &patient.identifiers {
        sqlx::query(
            "INSERT INTO patients.identifiers (tenant_id, patient_id, type, country, value) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(tenant_id)
        .bind(id)
        .bind(identifier.kind.as_db())
        .bind(&identifier.country)
        .bind(&identifier.value)
        .execute(&mut **tx)
        .await
        .map_err(|error| match DbErrorKind::of(&error) {
            // Somebody registered this document first: the caller learns whose it is after
            // this transaction rolls back.
            DbErrorKind::UniqueViolation { .. } => Error::IdentifierTaken {
                kind: identifier.kind.as_db(),
                country: identifier.country.clone(),
                value: identifier.value.clone(),
                mrn: String::new(),
            },
            _ => Error::Database(error),
        })?;
    }
    let identifiers = identifiers_of(tx, id).await?;
    Ok((row, identifiers))
}

pub async fn identifiers_of(
    tx: &mut TenantTx,
    patient_id: Uuid,
) -> Result<Vec<IdentifierRow>, Error> {
    Ok(sqlx::query_as(
        "SELECT type, country, value FROM patients.identifiers \
         WHERE tenant_id = $1 AND patient_id = $2 ORDER BY type, country, value",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(patient_id)
    .fetch_all(&mut **tx)
    .await?)
}

pub async fn get_patient(
    tx: &mut TenantTx,
    id: Uuid,
) -> Result<(PatientRow, Vec<IdentifierRow>), Error> {
    let row: Option<PatientRow> = sqlx::query_as(
        "SELECT id, mrn, family_name, given_names, patronymic, sex, birth_date, \
                birth_date_estimated, version, created_at \
         FROM patients.patients WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    let row = row.ok_or_else(|| Error::NotFound(id.to_string()))?;
    let identifiers = identifiers_of(tx, id).await?;
    Ok((row, identifiers))
}

/// The MRN of whoever holds `identifier`.
pub async fn holder_of(
    tx: &mut TenantTx,
    identifier: &Identifier,
) -> Result<Option<(Uuid, String)>, Error> {
    Ok(sqlx::query_as(
        "SELECT p.id, p.mrn FROM patients.identifiers i \
         JOIN patients.patients p ON p.tenant_id = i.tenant_id AND p.id = i.patient_id \
         WHERE i.tenant_id = $1 AND i.type = $2 AND i.country = $3 AND i.value = $4",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(identifier.kind.as_db())
    .bind(&identifier.country)
    .bind(&identifier.value)
    .fetch_optional(&mut **tx)
    .await?)
}

pub fn identifier_type(row: &IdentifierRow) -> Result<IdentifierType, Error> {
    IdentifierType::from_db(&row.r#type).ok_or(Error::CorruptRow("identifier type"))
}
