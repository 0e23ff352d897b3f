//! The only place statistics speaks SQL, and only to the `statistics` schema.

use chrono::{DateTime, Utc};
use hmis_platform::TenantTx;
use sqlx::FromRow;
use uuid::Uuid;

use crate::error::Result;

#[derive(Debug, Clone)]
pub struct AdmissionFacts {
    pub admission_id: Uuid,
    pub version: i64,
    pub patient_id: Uuid,
    pub facility_id: Uuid,
    pub admission_type: String,
    pub status: String,
    pub admit_time: DateTime<Utc>,
    pub discharge_time: Option<DateTime<Utc>>,
    /// alive, deceased, transferred (to another facility).
    pub discharge_type: Option<String>,
    pub admitting_code: String,
}

#[derive(Debug, Clone)]
pub struct StayFacts {
    pub position: i32,
    pub department_id: Uuid,
    pub start_time: DateTime<Utc>,
    pub end_time: Option<DateTime<Utc>>,
    pub last: bool,
}

/// Stores the admission and its stays unless a version as new is stored already.
pub async fn replace_admission(
    tx: &mut TenantTx,
    admission: &AdmissionFacts,
    stays: &[StayFacts],
) -> Result<()> {
    let tenant_id = tx.tenant_id().as_uuid();
    let changed = sqlx::query(
        "INSERT INTO statistics.admissions AS a (tenant_id, admission_id, version, patient_id, \
             facility_id, admission_type, status, admit_time, discharge_time, discharge_type, \
             admitting_code) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         ON CONFLICT (tenant_id, admission_id) DO UPDATE SET version = EXCLUDED.version, \
             patient_id = EXCLUDED.patient_id, facility_id = EXCLUDED.facility_id, \
             admission_type = EXCLUDED.admission_type, status = EXCLUDED.status, \
             admit_time = EXCLUDED.admit_time, discharge_time = EXCLUDED.discharge_time, \
             discharge_type = EXCLUDED.discharge_type, admitting_code = EXCLUDED.admitting_code \
         WHERE a.version < EXCLUDED.version",
    )
    .bind(tenant_id)
    .bind(admission.admission_id)
    .bind(admission.version)
    .bind(admission.patient_id)
    .bind(admission.facility_id)
    .bind(&admission.admission_type)
    .bind(&admission.status)
    .bind(admission.admit_time)
    .bind(admission.discharge_time)
    .bind(&admission.discharge_type)
    .bind(&admission.admitting_code)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if changed == 0 {
        return Ok(());
    }
    sqlx::query("DELETE FROM statistics.stays WHERE tenant_id = $1 AND admission_id = $2")
        .bind(tenant_id)
        .bind(admission.admission_id)
        .execute(&mut **tx)
        .await?;
    let positions: Vec<i32> = stays.iter().map(|stay| stay.position).collect();
    let wards: Vec<Uuid> = stays.iter().map(|stay| stay.department_id).collect();
    let starts: Vec<DateTime<Utc>> = stays.iter().map(|stay| stay.start_time).collect();
    let ends: Vec<Option<DateTime<Utc>>> = stays.iter().map(|stay| stay.end_time).collect();
    let lasts: Vec<bool> = stays.iter().map(|stay| stay.last).collect();
    sqlx::query(
        "INSERT INTO statistics.stays (tenant_id, admission_id, position, department_id, \
             start_time, end_time, last) \
         SELECT $1, $2, s.position, s.ward, s.start_time, s.end_time, s.last \
         FROM unnest($3::integer[], $4::uuid[], $5::timestamptz[], $6::timestamptz[], \
                     $7::boolean[]) AS s(position, ward, start_time, end_time, last)",
    )
    .bind(tenant_id)
    .bind(admission.admission_id)
    .bind(&positions)
    .bind(&wards)
    .bind(&starts)
    .bind(&ends)
    .bind(&lasts)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Records the admission's principal diagnosis (the latest recorded wins).
pub async fn set_principal(
    tx: &mut TenantTx,
    admission_id: Uuid,
    code: &str,
    recorded_at: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO statistics.principal_diagnoses AS p (tenant_id, admission_id, code, recorded_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id, admission_id) DO UPDATE \
         SET code = EXCLUDED.code, recorded_at = EXCLUDED.recorded_at \
         WHERE p.recorded_at <= EXCLUDED.recorded_at",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(admission_id)
    .bind(code)
    .bind(recorded_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Forgets the tenant's read models (before a rebuild).
pub async fn clear(tx: &mut TenantTx) -> Result<()> {
    let tenant_id = tx.tenant_id().as_uuid();
    for table in [
        "statistics.principal_diagnoses",
        "statistics.admissions",
        "statistics.sick_leaves",
        "statistics.patients",
    ] {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM {table} WHERE tenant_id = $1"
        )))
        .bind(tenant_id)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// One ward's movement over a period.
#[derive(Debug, Clone, Default, FromRow)]
pub struct WardMovement {
    pub department_id: Uuid,
    pub present_at_start: i64,
    pub admitted: i64,
    pub transferred_in: i64,
    pub transferred_out: i64,
    pub discharged: i64,
    pub deceased: i64,
    pub present_at_end: i64,
    /// Admitted and gone within the period.
    pub same_period_cases: i64,
    /// Exact days spent in the ward within the period.
    pub bed_days: f64,
}

/// The movement of a facility's wards (or one) in [`start`, `end`): entries, exits and who
/// stayed, per ward. Presence at an instant `t` is `start_time < t <= end_time` (an open
/// stay has no end): a patient moved at `t` is counted leaving on the day `t` falls in, and
/// is no longer present after it, so each day's end is the next day's start.
pub async fn ward_movement(
    tx: &mut TenantTx,
    facility_id: Uuid,
    department_id: Option<Uuid>,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Vec<WardMovement>> {
    Ok(sqlx::query_as(
        "SELECT s.department_id, \
             count(*) FILTER (WHERE s.start_time < $3) AS present_at_start, \
             count(*) FILTER (WHERE s.start_time >= $3 AND s.position = 0) AS admitted, \
             count(*) FILTER (WHERE s.start_time >= $3 AND s.position > 0) AS transferred_in, \
             count(*) FILTER (WHERE s.end_time < $4 AND NOT s.last) AS transferred_out, \
             count(*) FILTER (WHERE s.end_time < $4 AND s.last AND a.status = 'discharged' \
                                AND a.discharge_type <> 'deceased') AS discharged, \
             count(*) FILTER (WHERE s.end_time < $4 AND s.last AND a.status = 'discharged' \
                                AND a.discharge_type = 'deceased') AS deceased, \
             count(*) FILTER (WHERE s.end_time IS NULL OR s.end_time >= $4) AS present_at_end, \
             count(*) FILTER (WHERE s.start_time >= $3 AND s.position = 0 AND s.last \
                                AND s.end_time < $4) AS same_period_cases, \
             coalesce(sum(extract(epoch FROM least(coalesce(s.end_time, $4), $4) \
                                         - greatest(s.start_time, $3)) / 86400.0), 0)::float8 \
                 AS bed_days \
         FROM statistics.stays s \
         JOIN statistics.admissions a ON a.tenant_id = s.tenant_id \
              AND a.admission_id = s.admission_id \
         WHERE s.tenant_id = $1 AND a.facility_id = $2 AND a.status <> 'cancelled' \
           AND ($5::uuid IS NULL OR s.department_id = $5) \
           AND s.start_time < $4 AND (s.end_time IS NULL OR s.end_time >= $3) \
         GROUP BY s.department_id ORDER BY s.department_id",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(facility_id)
    .bind(start)
    .bind(end)
    .bind(department_id)
    .fetch_all(&mut **tx)
    .await?)
}

/// Patients who left in [`start`, `end`), per diagnosis code (the principal one, else the
/// admitting one): (code, discharged alive, deceased, days of their whole stays).
pub async fn leavers_by_code(
    tx: &mut TenantTx,
    facility_id: Uuid,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Vec<(String, i64, i64, f64)>> {
    Ok(sqlx::query_as(
        "SELECT coalesce(p.code, a.admitting_code) AS code, \
                count(*) FILTER (WHERE a.discharge_type <> 'deceased'), \
                count(*) FILTER (WHERE a.discharge_type = 'deceased'), \
                coalesce(sum(extract(epoch FROM a.discharge_time - a.admit_time) / 86400.0), \
                         0)::float8 \
         FROM statistics.admissions a \
         LEFT JOIN statistics.principal_diagnoses p ON p.tenant_id = a.tenant_id \
              AND p.admission_id = a.admission_id \
         WHERE a.tenant_id = $1 AND a.facility_id = $2 AND a.status = 'discharged' \
           AND a.discharge_time >= $3 AND a.discharge_time < $4 \
         GROUP BY 1 ORDER BY 1",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(facility_id)
    .bind(start)
    .bind(end)
    .fetch_all(&mut **tx)
    .await?)
}

/// A sick-leave certificate as Form 16 needs it.
#[derive(Debug, Clone)]
pub struct SickLeaveFacts {
    pub certificate_id: Uuid,
    pub patient_id: Uuid,
    pub facility_id: Uuid,
    pub first_certificate_id: Uuid,
    pub period_start: chrono::NaiveDate,
    pub period_end: chrono::NaiveDate,
    pub diagnosis_code: String,
}

pub async fn record_sick_leave(tx: &mut TenantTx, leave: &SickLeaveFacts) -> Result<()> {
    sqlx::query(
        "INSERT INTO statistics.sick_leaves (tenant_id, certificate_id, patient_id, facility_id, \
             first_certificate_id, period_start, period_end, diagnosis_code) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(leave.certificate_id)
    .bind(leave.patient_id)
    .bind(leave.facility_id)
    .bind(leave.first_certificate_id)
    .bind(leave.period_start)
    .bind(leave.period_end)
    .bind(&leave.diagnosis_code)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Keeps a patient's sex and birth date (a newer registry version replaces them).
pub async fn record_patient(
    tx: &mut TenantTx,
    patient_id: Uuid,
    version: i64,
    sex: &str,
    birth_date: Option<chrono::NaiveDate>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO statistics.patients AS p (tenant_id, patient_id, version, sex, birth_date) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, patient_id) DO UPDATE \
         SET version = EXCLUDED.version, sex = EXCLUDED.sex, birth_date = EXCLUDED.birth_date \
         WHERE p.version < EXCLUDED.version",
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

/// Sick-leave rows overlapping [`from`, `to`] (inclusive days): (diagnosis code of the
/// episode's first certificate, sex, age at the episode's start, begins an episode in the
/// period, days within the period).
pub async fn sick_leave_days(
    tx: &mut TenantTx,
    facility_id: Uuid,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) -> Result<Vec<(String, String, Option<i32>, bool, i32)>> {
    Ok(sqlx::query_as(
        "SELECT f.diagnosis_code, coalesce(p.sex, 'unknown'), \
                extract(year FROM age(f.period_start, p.birth_date))::integer, \
                (s.certificate_id = s.first_certificate_id AND s.period_start >= $3) AS begins, \
                (least(s.period_end, $4) - greatest(s.period_start, $3) + 1)::integer AS days \
         FROM statistics.sick_leaves s \
         JOIN statistics.sick_leaves f ON f.tenant_id = s.tenant_id \
              AND f.certificate_id = s.first_certificate_id \
         LEFT JOIN statistics.patients p ON p.tenant_id = s.tenant_id \
              AND p.patient_id = s.patient_id \
         WHERE s.tenant_id = $1 AND s.facility_id = $2 \
           AND s.period_start <= $4 AND s.period_end >= $3",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(facility_id)
    .bind(from)
    .bind(to)
    .fetch_all(&mut **tx)
    .await?)
}
