//! DRG cases' SQL: the grouper tables, the admissions' diagnoses, the cases and their claims.

use chrono::{DateTime, Utc};
use hmis_platform::TenantTx;
use hmis_platform::money::Money;
use sqlx::FromRow;
use uuid::Uuid;

use crate::error::{Error, Result};

/// The grouper tables as imported: (version, diagnoses, procedures, severity, drgs).
pub type GrouperFiles = (String, String, String, String, String);

pub async fn set_grouper_tables(
    tx: &mut TenantTx,
    files: &GrouperFiles,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO billing.grouper_tables (tenant_id, version, diagnoses, procedures, severity, \
             drgs, imported_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (tenant_id) DO UPDATE SET version = EXCLUDED.version, \
             diagnoses = EXCLUDED.diagnoses, procedures = EXCLUDED.procedures, \
             severity = EXCLUDED.severity, drgs = EXCLUDED.drgs, \
             imported_at = EXCLUDED.imported_at",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(&files.0)
    .bind(&files.1)
    .bind(&files.2)
    .bind(&files.3)
    .bind(&files.4)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The row version (`xmin`) of the tenant's grouper tables: it changes with every import.
pub async fn grouper_stamp(tx: &mut TenantTx) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT xmin::text FROM billing.grouper_tables")
            .fetch_optional(&mut **tx)
            .await?,
    )
}

/// The tenant's grouper tables with their row version.
pub async fn grouper_tables(tx: &mut TenantTx) -> Result<Option<(String, GrouperFiles)>> {
    let row: Option<(String, String, String, String, String, String)> = sqlx::query_as(
        "SELECT xmin::text, version, diagnoses, procedures, severity, drgs \
         FROM billing.grouper_tables",
    )
    .fetch_optional(&mut **tx)
    .await?;
    Ok(
        row.map(|(stamp, version, diagnoses, procedures, severity, drgs)| {
            (stamp, (version, diagnoses, procedures, severity, drgs))
        }),
    )
}

/// Keeps one of an admission's diagnoses as encounters published it.
pub async fn keep_diagnosis(
    tx: &mut TenantTx,
    (diagnosis_id, admission_id): (Uuid, Uuid),
    code: &str,
    role: &str,
    recorded_at: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO billing.case_diagnoses (tenant_id, diagnosis_id, admission_id, code, role, \
             recorded_at) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (tenant_id, diagnosis_id) DO UPDATE SET code = EXCLUDED.code, \
             role = EXCLUDED.role, recorded_at = EXCLUDED.recorded_at",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(diagnosis_id)
    .bind(admission_id)
    .bind(code)
    .bind(role)
    .bind(recorded_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The admission's diagnoses as (code, role), oldest first.
pub async fn diagnoses_of(tx: &mut TenantTx, admission_id: Uuid) -> Result<Vec<(String, String)>> {
    Ok(sqlx::query_as(
        "SELECT code, role FROM billing.case_diagnoses WHERE admission_id = $1 \
         ORDER BY recorded_at, diagnosis_id",
    )
    .bind(admission_id)
    .fetch_all(&mut **tx)
    .await?)
}

/// The procedure codes charged to the account and standing (not reversed).
pub async fn procedures_of(tx: &mut TenantTx, account_id: Uuid) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT code FROM billing.charges c WHERE account_id = $1 AND code_system = 'achi' \
           AND amount >= 0 AND reverses_id IS NULL \
           AND NOT EXISTS (SELECT 1 FROM billing.charges r \
                           WHERE r.tenant_id = c.tenant_id AND r.reverses_id = c.id) \
         ORDER BY service_time, id",
    )
    .bind(account_id)
    .fetch_all(&mut **tx)
    .await?)
}

#[derive(Debug, Clone, FromRow)]
pub struct CaseRow {
    pub admission_id: Uuid,
    pub account_id: Uuid,
    pub patient_id: Uuid,
    pub facility_id: Uuid,
    pub department_id: Uuid,
    pub discharge_time: DateTime<Utc>,
    pub discharge_day: chrono::NaiveDate,
    pub principal: String,
    pub secondaries: Vec<String>,
    pub procedures: Vec<String>,
    pub age: Option<i32>,
    pub sex: String,
    pub expired: bool,
    pub transferred: bool,
    pub length_of_stay: i32,
    pub drg: String,
    pub mdc: String,
    pub title: String,
    pub relative_weight: String,
    pub gmlos: String,
    pub case_weight: String,
    pub severity: String,
    pub surgical: bool,
    pub claim_status: String,
    pub claim_contract_id: Option<Uuid>,
    pub claim_amount: Option<Money>,
    pub rejection_reasons: Vec<String>,
    pub grouper_version: String,
    pub version: i64,
}

const CASE_COLUMNS: &str = "admission_id, account_id, patient_id, facility_id, department_id, \
     discharge_time, discharge_day, principal, secondaries, procedures, age, sex, expired, transferred, \
     length_of_stay, drg, mdc, title, relative_weight::text AS relative_weight, \
     gmlos::text AS gmlos, case_weight::text AS case_weight, severity, surgical, claim_status, \
     claim_contract_id, claim_amount::text AS claim_amount, rejection_reasons, grouper_version, \
     version";

/// Writes the case of a discharge (a new discharge replaces a void case, as a prepared one).
pub async fn upsert_case(tx: &mut TenantTx, row: &CaseRow, now: DateTime<Utc>) -> Result<()> {
    sqlx::query(
        "INSERT INTO billing.cases (tenant_id, admission_id, account_id, patient_id, facility_id, \
             department_id, discharge_time, principal, secondaries, procedures, age, sex, expired, \
             transferred, length_of_stay, drg, mdc, title, relative_weight, gmlos, case_weight, \
             severity, surgical, claim_status, claim_contract_id, claim_amount, \
             rejection_reasons, grouper_version, grouped_at, discharge_day) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
             $18, $19::numeric, $20::numeric, $21::numeric, $22, $23, $24, $25, $26::numeric, \
             $27, $28, $29, $30) \
         ON CONFLICT (tenant_id, admission_id) DO UPDATE SET \
             account_id = EXCLUDED.account_id, facility_id = EXCLUDED.facility_id, \
             department_id = EXCLUDED.department_id, discharge_time = EXCLUDED.discharge_time, \
             discharge_day = EXCLUDED.discharge_day, \
             principal = EXCLUDED.principal, secondaries = EXCLUDED.secondaries, \
             procedures = EXCLUDED.procedures, age = EXCLUDED.age, sex = EXCLUDED.sex, \
             expired = EXCLUDED.expired, transferred = EXCLUDED.transferred, \
             length_of_stay = EXCLUDED.length_of_stay, drg = EXCLUDED.drg, mdc = EXCLUDED.mdc, \
             title = EXCLUDED.title, relative_weight = EXCLUDED.relative_weight, \
             gmlos = EXCLUDED.gmlos, case_weight = EXCLUDED.case_weight, \
             severity = EXCLUDED.severity, surgical = EXCLUDED.surgical, \
             claim_status = EXCLUDED.claim_status, \
             claim_contract_id = EXCLUDED.claim_contract_id, \
             claim_amount = EXCLUDED.claim_amount, \
             rejection_reasons = EXCLUDED.rejection_reasons, \
             grouper_version = EXCLUDED.grouper_version, grouped_at = EXCLUDED.grouped_at, \
             version = billing.cases.version + 1",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(row.admission_id)
    .bind(row.account_id)
    .bind(row.patient_id)
    .bind(row.facility_id)
    .bind(row.department_id)
    .bind(row.discharge_time)
    .bind(&row.principal)
    .bind(&row.secondaries)
    .bind(&row.procedures)
    .bind(row.age)
    .bind(&row.sex)
    .bind(row.expired)
    .bind(row.transferred)
    .bind(row.length_of_stay)
    .bind(&row.drg)
    .bind(&row.mdc)
    .bind(&row.title)
    .bind(&row.relative_weight)
    .bind(&row.gmlos)
    .bind(&row.case_weight)
    .bind(&row.severity)
    .bind(row.surgical)
    .bind(&row.claim_status)
    .bind(row.claim_contract_id)
    .bind(row.claim_amount)
    .bind(&row.rejection_reasons)
    .bind(&row.grouper_version)
    .bind(now)
    .bind(row.discharge_day)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The case of an admission, locked when `lock`.
pub async fn get_case(
    tx: &mut TenantTx,
    admission_id: Uuid,
    lock: bool,
) -> Result<Option<CaseRow>> {
    let lock = if lock { "FOR UPDATE" } else { "" };
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {CASE_COLUMNS} FROM billing.cases WHERE admission_id = $1 {lock}"
    )))
    .bind(admission_id)
    .fetch_optional(&mut **tx)
    .await?)
}

pub async fn void_case(tx: &mut TenantTx, admission_id: Uuid) -> Result<()> {
    sqlx::query(
        "UPDATE billing.cases SET claim_status = 'void', version = version + 1 \
         WHERE admission_id = $1 AND claim_status <> 'void'",
    )
    .bind(admission_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn set_claim_status(
    tx: &mut TenantTx,
    admission_id: Uuid,
    status: &str,
    reasons: &[String],
) -> Result<()> {
    let updated = sqlx::query(
        "UPDATE billing.cases SET claim_status = $2, rejection_reasons = $3, \
             version = version + 1 WHERE admission_id = $1",
    )
    .bind(admission_id)
    .bind(status)
    .bind(reasons)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if updated == 0 {
        return Err(Error::NotFound("DRG case"));
    }
    Ok(())
}

/// Up to `limit` of the facility's cases discharged in [from, to), with `status` or any.
pub async fn list_cases(
    tx: &mut TenantTx,
    facility_id: Uuid,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    status: Option<&str>,
    limit: i64,
) -> Result<Vec<CaseRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {CASE_COLUMNS} FROM billing.cases \
         WHERE facility_id = $1 AND discharge_time >= $2 AND discharge_time < $3 \
           AND ($4::text IS NULL OR claim_status = $4) \
         ORDER BY discharge_time, admission_id LIMIT $5"
    )))
    .bind(facility_id)
    .bind(from)
    .bind(to)
    .bind(status)
    .bind(limit)
    .fetch_all(&mut **tx)
    .await?)
}

/// (ward, cases, total weight) of the facility's grouped cases discharged in [from, to).
pub async fn case_mix(
    tx: &mut TenantTx,
    facility_id: Uuid,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
) -> Result<Vec<(Uuid, i64, String)>> {
    Ok(sqlx::query_as(
        "SELECT department_id, count(*), sum(case_weight)::numeric(12,4)::text \
         FROM billing.cases \
         WHERE facility_id = $1 AND discharge_time >= $2 AND discharge_time < $3 \
           AND claim_status <> 'void' AND drg <> '999' \
         GROUP BY department_id ORDER BY department_id",
    )
    .bind(facility_id)
    .bind(from)
    .bind(to)
    .fetch_all(&mut **tx)
    .await?)
}

/// Keeps a patient's sex and birth date unless a newer version is already kept.
pub async fn keep_patient(
    tx: &mut TenantTx,
    patient_id: Uuid,
    version: i64,
    (sex, birth_date): (&str, Option<chrono::NaiveDate>),
) -> Result<()> {
    sqlx::query(
        "INSERT INTO billing.known_patients (tenant_id, patient_id, version, sex, birth_date) \
         VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (tenant_id, patient_id) DO UPDATE SET version = EXCLUDED.version, \
             sex = EXCLUDED.sex, birth_date = EXCLUDED.birth_date \
         WHERE known_patients.version < EXCLUDED.version",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(patient_id)
    .bind(version)
    .bind(sex)
    .bind(birth_date)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The patient's sex ("M", "F" or "") and birth date, if the registry told billing.
pub async fn known_patient(
    tx: &mut TenantTx,
    patient_id: Uuid,
) -> Result<Option<(String, Option<chrono::NaiveDate>)>> {
    Ok(
        sqlx::query_as("SELECT sex, birth_date FROM billing.known_patients WHERE patient_id = $1")
            .bind(patient_id)
            .fetch_optional(&mut **tx)
            .await?,
    )
}

/// The admissions whose cases are open to grouping again, of one patient.
pub async fn regroupable_cases_of(tx: &mut TenantTx, patient_id: Uuid) -> Result<Vec<Uuid>> {
    Ok(sqlx::query_scalar(
        "SELECT admission_id FROM billing.cases \
         WHERE patient_id = $1 AND claim_status IN ('prepared', 'not_insured')",
    )
    .bind(patient_id)
    .fetch_all(&mut **tx)
    .await?)
}
