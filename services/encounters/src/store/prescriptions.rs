//! The store of prescriptions.

use super::*;

#[derive(Debug, Clone, FromRow)]
pub struct PrescriptionRow {
    pub id: Uuid,
    pub encounter_id: Uuid,
    pub patient_id: Uuid,
    pub medicine_id: Uuid,
    pub medicine_code: String,
    pub medicine_name: String,
    pub atc_code: String,
    pub dose: String,
    pub dose_unit: String,
    pub route: String,
    pub times_per_day: i32,
    pub times_of_day: Vec<String>,
    pub as_needed: bool,
    pub as_needed_reason: String,
    pub daily_amount: String,
    pub daily_unit: String,
    pub start_time: DateTime<Utc>,
    pub stop_time: Option<DateTime<Utc>>,
    pub instructions: String,
    pub status: String,
    pub prescriber_id: Uuid,
    pub warnings: sqlx::types::Json<Vec<crate::domain::safety::Warning>>,
    pub override_reason: String,
    pub overridden_by: Option<Uuid>,
    pub discontinue_reason: String,
    pub discontinued_by: Option<Uuid>,
    pub discontinue_time: Option<DateTime<Utc>>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    /// `pending`, `queried`, `verified` or `not_required`.
    pub verification: String,
    pub verified_by: Option<Uuid>,
    pub verified_at: Option<DateTime<Utc>>,
    /// The discharge's list: off the round, not ended with the stay.
    pub take_home: bool,
}

const PRESCRIPTION_COLUMNS: &str = "id, encounter_id, patient_id, medicine_id, medicine_code, \
     medicine_name, atc_code, dose::text AS dose, dose_unit, route, times_per_day, times_of_day, \
     as_needed, as_needed_reason, daily_amount::text AS daily_amount, daily_unit, start_time, stop_time, \
     instructions, status, prescriber_id, warnings, override_reason, overridden_by, \
     discontinue_reason, discontinued_by, discontinue_time, version, created_at, verification, \
     verified_by, verified_at, take_home";

pub async fn insert_prescription(
    tx: &mut TenantTx,
    row: &PrescriptionRow,
) -> Result<PrescriptionRow> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO encounters.prescriptions (tenant_id, id, encounter_id, patient_id, \
             medicine_id, medicine_code, medicine_name, atc_code, dose, dose_unit, route, \
             times_per_day, times_of_day, as_needed, as_needed_reason, daily_amount, daily_unit, \
             start_time, stop_time, instructions, status, prescriber_id, warnings, \
             override_reason, overridden_by, created_at, updated_at, verification, take_home) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::numeric, $10, $11, $12, $13, $14, $15, \
             $16::numeric, $25, $17, $18, $19, 'active', $20, $21, $22, $23, $24, $24, $26, $27) \
         RETURNING {PRESCRIPTION_COLUMNS}"
    )))
    .bind(tx.tenant_id().as_uuid())
    .bind(row.id)
    .bind(row.encounter_id)
    .bind(row.patient_id)
    .bind(row.medicine_id)
    .bind(&row.medicine_code)
    .bind(&row.medicine_name)
    .bind(&row.atc_code)
    .bind(&row.dose)
    .bind(&row.dose_unit)
    .bind(&row.route)
    .bind(row.times_per_day)
    .bind(&row.times_of_day)
    .bind(row.as_needed)
    .bind(&row.as_needed_reason)
    .bind(&row.daily_amount)
    .bind(row.start_time)
    .bind(row.stop_time)
    .bind(&row.instructions)
    .bind(row.prescriber_id)
    .bind(&row.warnings)
    .bind(&row.override_reason)
    .bind(row.overridden_by)
    .bind(row.created_at)
    .bind(&row.daily_unit)
    .bind(&row.verification)
    .bind(row.take_home)
    .fetch_one(&mut **tx)
    .await?)
}

pub async fn get_prescription(tx: &mut TenantTx, id: Uuid, lock: Lock) -> Result<PrescriptionRow> {
    let row: Option<PrescriptionRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {PRESCRIPTION_COLUMNS} FROM encounters.prescriptions \
         WHERE tenant_id = $1 AND id = $2{}",
        lock.sql()
    )))
    .bind(tx.tenant_id().as_uuid())
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    row.ok_or_else(|| Error::NotFound(format!("prescription {id}")))
}

pub async fn discontinue_prescription(
    tx: &mut TenantTx,
    id: Uuid,
    by: Uuid,
    reason: &str,
    at: DateTime<Utc>,
) -> Result<PrescriptionRow> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE encounters.prescriptions SET status = 'discontinued', discontinue_reason = $3, \
             discontinued_by = $4, discontinue_time = $5, \
             stop_time = CASE WHEN stop_time IS NULL OR stop_time > $5 \
                              THEN greatest($5, start_time) ELSE stop_time END, \
             version = version + 1, updated_at = $5 \
         WHERE tenant_id = $1 AND id = $2 RETURNING {PRESCRIPTION_COLUMNS}"
    )))
    .bind(tx.tenant_id().as_uuid())
    .bind(id)
    .bind(reason)
    .bind(by)
    .bind(at)
    .fetch_one(&mut **tx)
    .await?)
}

/// Ends every active prescription of an encounter at `at` (the system's doing: no one
/// discontinued them), and answers them as they are now.
pub async fn end_prescriptions_of(
    tx: &mut TenantTx,
    encounter_id: Uuid,
    at: DateTime<Utc>,
    reason: &str,
) -> Result<Vec<PrescriptionRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE encounters.prescriptions SET status = 'discontinued', discontinue_reason = $3, \
             discontinue_time = $4, ended_with_stay = true, \
             stop_time_before_stay_ended = stop_time, \
             stop_time = CASE WHEN stop_time IS NULL OR stop_time > $4 \
                              THEN greatest($4, start_time) ELSE stop_time END, \
             version = version + 1, updated_at = $4 \
         WHERE tenant_id = $1 AND encounter_id = $2 AND status = 'active' AND NOT take_home \
         RETURNING {PRESCRIPTION_COLUMNS}"
    )))
    .bind(tx.tenant_id().as_uuid())
    .bind(encounter_id)
    .bind(reason)
    .bind(at)
    .fetch_all(&mut **tx)
    .await?)
}

/// Resumes the prescriptions that ended with the encounter's stay (its discharge was undone):
/// active again with the stop time they had; those a person discontinued stay discontinued.
pub async fn resume_prescriptions_of(
    tx: &mut TenantTx,
    encounter_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Vec<PrescriptionRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE encounters.prescriptions SET status = 'active', discontinue_reason = '', \
             discontinue_time = NULL, discontinued_by = NULL, ended_with_stay = false, \
             stop_time = stop_time_before_stay_ended, stop_time_before_stay_ended = NULL, \
             version = version + 1, updated_at = $3 \
         WHERE tenant_id = $1 AND encounter_id = $2 AND status = 'discontinued' \
           AND ended_with_stay \
         RETURNING {PRESCRIPTION_COLUMNS}"
    )))
    .bind(tx.tenant_id().as_uuid())
    .bind(encounter_id)
    .bind(now)
    .fetch_all(&mut **tx)
    .await?)
}

/// What the patient takes now, as the safety check sees it: active prescriptions not past
/// their stop time, in encounters still open (a closed stay's orders ended with it).
pub async fn current_medication(
    tx: &mut TenantTx,
    patient_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Vec<(Uuid, String, String)>> {
    Ok(sqlx::query_as(
        "SELECT p.id, p.medicine_name, p.atc_code FROM encounters.prescriptions p \
         JOIN encounters.encounters e ON e.tenant_id = p.tenant_id AND e.id = p.encounter_id \
         WHERE p.tenant_id = $1 AND p.patient_id = $2 AND p.status = 'active' \
           AND (p.stop_time IS NULL OR p.stop_time > $3) AND e.status = 'open' \
         ORDER BY p.created_at, p.id",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(patient_id)
    .bind(now)
    .fetch_all(&mut **tx)
    .await?)
}

/// Prescriptions of an encounter or of a patient, oldest first.
pub async fn prescriptions(
    tx: &mut TenantTx,
    encounter_id: Option<Uuid>,
    patient_id: Option<Uuid>,
    active_only: bool,
) -> Result<Vec<PrescriptionRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {PRESCRIPTION_COLUMNS} FROM encounters.prescriptions \
         WHERE tenant_id = $1 AND ($2::uuid IS NULL OR encounter_id = $2) \
           AND ($3::uuid IS NULL OR patient_id = $3) AND (NOT $4 OR status = 'active') \
         ORDER BY created_at, id"
    )))
    .bind(tx.tenant_id().as_uuid())
    .bind(encounter_id)
    .bind(patient_id)
    .bind(active_only)
    .fetch_all(&mut **tx)
    .await?)
}

/// Sets a prescription's verification state (`verified` with who and when; else clears them).
pub async fn set_verification(
    tx: &mut TenantTx,
    id: Uuid,
    state: &str,
    by: Option<Uuid>,
    at: DateTime<Utc>,
) -> Result<PrescriptionRow> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE encounters.prescriptions SET verification = $3, \
             verified_by = CASE WHEN $3 = 'verified' THEN $4 END, \
             verified_at = CASE WHEN $3 = 'verified' THEN $5 END, \
             version = version + 1, updated_at = $5 \
         WHERE tenant_id = $1 AND id = $2 RETURNING {PRESCRIPTION_COLUMNS}"
    )))
    .bind(tx.tenant_id().as_uuid())
    .bind(id)
    .bind(state)
    .bind(by)
    .bind(at)
    .fetch_one(&mut **tx)
    .await?)
}

/// The active prescriptions of a ward's open encounters waiting for a nurse (pending or
/// queried), oldest first.
pub async fn awaiting_verification(
    tx: &mut TenantTx,
    department_id: Uuid,
) -> Result<Vec<PrescriptionRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {} FROM encounters.prescriptions p \
         JOIN encounters.encounters e ON e.tenant_id = p.tenant_id AND e.id = p.encounter_id \
         WHERE p.tenant_id = $1 AND e.department_id = $2 AND e.status = 'open' \
           AND p.status = 'active' AND p.verification IN ('pending', 'queried') \
         ORDER BY p.created_at, p.id",
        PRESCRIPTION_COLUMNS
            .split(", ")
            .map(|column| format!("p.{}", column.trim()))
            .collect::<Vec<_>>()
            .join(", ")
    )))
    .bind(tx.tenant_id().as_uuid())
    .bind(department_id)
    .fetch_all(&mut **tx)
    .await?)
}

#[derive(Debug, Clone, FromRow)]
pub struct QueryRow {
    pub id: Uuid,
    pub prescription_id: Uuid,
    pub encounter_id: Uuid,
    pub patient_id: Uuid,
    pub question: String,
    pub asked_by: Uuid,
    pub asked_at: DateTime<Utc>,
    pub answer: String,
    pub answered_by: Option<Uuid>,
    pub answered_at: Option<DateTime<Utc>>,
}

const QUERY_COLUMNS: &str = "id, prescription_id, encounter_id, patient_id, question, asked_by, \
     asked_at, answer, answered_by, answered_at";

/// Keeps a nurse's question; `None` when the prescription already has an open one.
pub async fn insert_query(tx: &mut TenantTx, row: &QueryRow) -> Result<Option<QueryRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO encounters.prescription_queries (tenant_id, id, prescription_id, \
             encounter_id, patient_id, question, asked_by, asked_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (tenant_id, prescription_id) WHERE answered_at IS NULL DO NOTHING \
         RETURNING {QUERY_COLUMNS}"
    )))
    .bind(tx.tenant_id().as_uuid())
    .bind(row.id)
    .bind(row.prescription_id)
    .bind(row.encounter_id)
    .bind(row.patient_id)
    .bind(&row.question)
    .bind(row.asked_by)
    .bind(row.asked_at)
    .fetch_optional(&mut **tx)
    .await?)
}

pub async fn get_query(tx: &mut TenantTx, id: Uuid) -> Result<QueryRow> {
    let row: Option<QueryRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {QUERY_COLUMNS} FROM encounters.prescription_queries \
         WHERE tenant_id = $1 AND id = $2"
    )))
    .bind(tx.tenant_id().as_uuid())
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    row.ok_or_else(|| Error::NotFound(format!("prescription query {id}")))
}

/// Answers the open queries of a prescription (one at most), returning them answered.
pub async fn answer_open_queries(
    tx: &mut TenantTx,
    prescription_id: Uuid,
    answer: &str,
    by: Uuid,
    at: DateTime<Utc>,
) -> Result<Vec<QueryRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE encounters.prescription_queries SET answer = $3, answered_by = $4, \
             answered_at = $5 \
         WHERE tenant_id = $1 AND prescription_id = $2 AND answered_at IS NULL \
         RETURNING {QUERY_COLUMNS}"
    )))
    .bind(tx.tenant_id().as_uuid())
    .bind(prescription_id)
    .bind(answer)
    .bind(by)
    .bind(at)
    .fetch_all(&mut **tx)
    .await?)
}

/// An encounter's queries (every one), or the open queries of the given prescriptions;
/// oldest first.
pub async fn queries(
    tx: &mut TenantTx,
    encounter_id: Option<Uuid>,
    open_of: &[Uuid],
) -> Result<Vec<QueryRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {QUERY_COLUMNS} FROM encounters.prescription_queries \
         WHERE tenant_id = $1 AND (encounter_id = $2 \
             OR (prescription_id = ANY($3) AND answered_at IS NULL)) \
         ORDER BY asked_at, id"
    )))
    .bind(tx.tenant_id().as_uuid())
    .bind(encounter_id)
    .bind(open_of)
    .fetch_all(&mut **tx)
    .await?)
}
