//! The store of encounters.

use super::*;

#[derive(Debug, Clone, FromRow)]
pub struct EncounterRow {
    pub id: Uuid,
    pub patient_id: Uuid,
    pub kind: String,
    pub status: String,
    pub facility_id: Uuid,
    pub department_id: Uuid,
    pub admission_id: Option<Uuid>,
    pub admission: Option<Vec<u8>>,
    pub start_time: DateTime<Utc>,
    pub end_time: Option<DateTime<Utc>>,
    pub version: i64,
}

const ENCOUNTER_COLUMNS: &str = "id, patient_id, kind, status, facility_id, department_id, \
     admission_id, admission, start_time, end_time, version";

/// An encounter as it follows its admission (from an event or from the admissions service).
#[derive(Debug, Clone)]
pub struct AdmissionState<'a> {
    pub admission_id: Uuid,
    pub patient_id: Uuid,
    pub facility_id: Uuid,
    pub department_id: Uuid,
    pub status: &'a str,
    pub start_time: DateTime<Utc>,
    pub end_time: Option<DateTime<Utc>>,
    pub snapshot: &'a [u8],
    pub admission_version: i64,
}

/// Creates the encounter of an admission, or brings it up to the admission's newer version;
/// an older version (an event delivered late or twice) changes nothing. Returns the row.
pub async fn follow_admission(
    tx: &mut TenantTx,
    state: &AdmissionState<'_>,
    now: DateTime<Utc>,
) -> Result<EncounterRow> {
    let tenant_id = tx.tenant_id().as_uuid();
    let changed: Option<EncounterRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO encounters.encounters (tenant_id, id, patient_id, kind, status, facility_id, \
             department_id, admission_id, admission, admission_version, start_time, end_time, \
             created_at, updated_at) \
         VALUES ($1, $2, $3, 'inpatient', $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) \
         ON CONFLICT (tenant_id, admission_id) WHERE admission_id IS NOT NULL DO UPDATE SET \
             patient_id = EXCLUDED.patient_id, status = EXCLUDED.status, \
             facility_id = EXCLUDED.facility_id, department_id = EXCLUDED.department_id, \
             admission = EXCLUDED.admission, admission_version = EXCLUDED.admission_version, \
             start_time = EXCLUDED.start_time, end_time = EXCLUDED.end_time, \
             version = encounters.encounters.version + 1, updated_at = EXCLUDED.updated_at \
         WHERE encounters.encounters.admission_version < EXCLUDED.admission_version \
         RETURNING {ENCOUNTER_COLUMNS}"
    )))
    .bind(tenant_id)
    .bind(Uuid::now_v7())
    .bind(state.patient_id)
    .bind(state.status)
    .bind(state.facility_id)
    .bind(state.department_id)
    .bind(state.admission_id)
    .bind(state.snapshot)
    .bind(state.admission_version)
    .bind(state.start_time)
    .bind(state.end_time)
    .bind(now)
    .fetch_optional(&mut **tx)
    .await?;
    match changed {
        Some(row) => Ok(row),
        None => encounter_of_admission(tx, state.admission_id)
            .await?
            .ok_or(Error::corrupt("encounter of an admission")),
    }
}

pub async fn encounter_of_admission(
    tx: &mut TenantTx,
    admission_id: Uuid,
) -> Result<Option<EncounterRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ENCOUNTER_COLUMNS} FROM encounters.encounters \
         WHERE tenant_id = $1 AND admission_id = $2"
    )))
    .bind(tx.tenant_id().as_uuid())
    .bind(admission_id)
    .fetch_optional(&mut **tx)
    .await?)
}

pub async fn insert_outpatient(
    tx: &mut TenantTx,
    patient_id: Uuid,
    facility_id: Uuid,
    department_id: Uuid,
    now: DateTime<Utc>,
) -> Result<EncounterRow> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO encounters.encounters (tenant_id, id, patient_id, kind, status, facility_id, \
             department_id, start_time, created_at, updated_at) \
         VALUES ($1, $2, $3, 'outpatient', 'open', $4, $5, $6, $6, $6) \
         RETURNING {ENCOUNTER_COLUMNS}"
    )))
    .bind(tx.tenant_id().as_uuid())
    .bind(Uuid::now_v7())
    .bind(patient_id)
    .bind(facility_id)
    .bind(department_id)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?)
}

pub async fn get_encounter(tx: &mut TenantTx, id: Uuid, lock: Lock) -> Result<EncounterRow> {
    let row: Option<EncounterRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ENCOUNTER_COLUMNS} FROM encounters.encounters WHERE tenant_id = $1 AND id = $2{}",
        lock.sql()
    )))
    .bind(tx.tenant_id().as_uuid())
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    row.ok_or_else(|| Error::NotFound(format!("encounter {id}")))
}

pub async fn encounters_of_patient(
    tx: &mut TenantTx,
    patient_id: Uuid,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<EncounterRow>> {
    let (after_time, after_id) = after.unzip();
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ENCOUNTER_COLUMNS} FROM encounters.encounters \
         WHERE tenant_id = $1 AND patient_id = $2 \
           AND ($3::timestamptz IS NULL OR (start_time, id) < ($3, $4)) \
         ORDER BY start_time DESC, id DESC LIMIT $5"
    )))
    .bind(tx.tenant_id().as_uuid())
    .bind(patient_id)
    .bind(after_time)
    .bind(after_id)
    .bind(limit)
    .fetch_all(&mut **tx)
    .await?)
}

pub async fn close_outpatient(
    tx: &mut TenantTx,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<EncounterRow> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE encounters.encounters SET status = 'closed', end_time = $3, \
             version = version + 1, updated_at = $3 \
         WHERE tenant_id = $1 AND id = $2 RETURNING {ENCOUNTER_COLUMNS}"
    )))
    .bind(tx.tenant_id().as_uuid())
    .bind(id)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?)
}

/// Serializes the prescribing of one patient: the safety check reads the patient's active
/// prescriptions and allergies, so two prescribers at once must not both miss each other.
/// A transaction-scoped advisory lock keyed by tenant and patient, released at commit.
pub async fn lock_patient(tx: &mut TenantTx, patient_id: Uuid) -> Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1::text || '/' || $2::text, 7))")
        .bind(tx.tenant_id().as_uuid())
        .bind(patient_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
