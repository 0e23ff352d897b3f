//! The store of certificates.

use super::*;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CertificateRow {
    pub id: Uuid,
    pub kind: String,
    pub patient_id: Uuid,
    pub encounter_id: Uuid,
    pub facility_id: Uuid,
    pub series: String,
    pub number: i64,
    pub issued_by: Uuid,
    pub issue_time: DateTime<Utc>,
    pub period_start: Option<NaiveDate>,
    pub period_end: Option<NaiveDate>,
    pub diagnosis_code: Option<String>,
    pub first_certificate_id: Option<Uuid>,
    pub previous_certificate_id: Option<Uuid>,
    pub details: sqlx::types::Json<CertificateDetails>,
}

const CERTIFICATE_COLUMNS: &str = "id, kind, patient_id, encounter_id, facility_id, series, number, \
     issued_by, issue_time, period_start, period_end, diagnosis_code, first_certificate_id, \
     previous_certificate_id, details";

/// The next number of a facility's series, under the counter's row lock.
pub async fn next_certificate_number(
    tx: &mut TenantTx,
    facility_id: Uuid,
    series: &str,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO encounters.certificate_counters (tenant_id, facility_id, series, next_number) \
         VALUES ($1, $2, $3, 2) \
         ON CONFLICT (tenant_id, facility_id, series) \
             DO UPDATE SET next_number = encounters.certificate_counters.next_number + 1 \
         RETURNING next_number - 1",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(facility_id)
    .bind(series)
    .fetch_one(&mut **tx)
    .await?)
}

pub async fn get_certificate(tx: &mut TenantTx, id: Uuid, lock: Lock) -> Result<CertificateRow> {
    let row: Option<CertificateRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {CERTIFICATE_COLUMNS} FROM encounters.certificates WHERE tenant_id = $1 AND id = $2{}",
        lock.sql()
    )))
    .bind(tx.tenant_id().as_uuid())
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    row.ok_or_else(|| Error::NotFound(format!("certificate {id}")))
}

pub async fn insert_certificate(tx: &mut TenantTx, row: &CertificateRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO encounters.certificates (tenant_id, id, kind, patient_id, encounter_id, \
             facility_id, series, number, issued_by, issue_time, period_start, period_end, \
             diagnosis_code, first_certificate_id, previous_certificate_id, details) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(row.id)
    .bind(&row.kind)
    .bind(row.patient_id)
    .bind(row.encounter_id)
    .bind(row.facility_id)
    .bind(&row.series)
    .bind(row.number)
    .bind(row.issued_by)
    .bind(row.issue_time)
    .bind(row.period_start)
    .bind(row.period_end)
    .bind(&row.diagnosis_code)
    .bind(row.first_certificate_id)
    .bind(row.previous_certificate_id)
    .bind(&row.details)
    .execute(&mut **tx)
    .await
    .map_err(
        |error| match hmis_platform::error::DbErrorKind::of(&error) {
            hmis_platform::error::DbErrorKind::UniqueViolation { constraint }
                if constraint.as_deref() == Some("certificates_one_extension") =>
            {
                Error::precondition("that certificate was already extended; extend the latest one")
            }
            _ => Error::from(error),
        },
    )?;
    Ok(())
}

/// A patient's certificates, newest first.
pub async fn certificates_of(tx: &mut TenantTx, patient_id: Uuid) -> Result<Vec<CertificateRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {CERTIFICATE_COLUMNS} FROM encounters.certificates \
         WHERE tenant_id = $1 AND patient_id = $2 ORDER BY issue_time DESC, id DESC"
    )))
    .bind(tx.tenant_id().as_uuid())
    .bind(patient_id)
    .fetch_all(&mut **tx)
    .await?)
}
