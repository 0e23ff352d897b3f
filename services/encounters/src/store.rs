//! The only place encounters speaks SQL, and only to the `encounters` schema. Amounts travel
//! as text (`numeric::text`, `$n::numeric`): exact both ways.

use chrono::{DateTime, NaiveDate, Utc};
use hmis_platform::TenantTx;
use sqlx::FromRow;
use uuid::Uuid;

use crate::domain::CertificateDetails;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    None,
    ForUpdate,
}

impl Lock {
    fn sql(self) -> &'static str {
        match self {
            Lock::None => "",
            Lock::ForUpdate => " FOR UPDATE",
        }
    }
}

// ---------------------------------------------------------------------------------------------
// encounters

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
            .ok_or(Error::CorruptRow("encounter of an admission")),
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

// ---------------------------------------------------------------------------------------------
// notes, diagnoses, procedures, referrals

#[derive(Debug, Clone, FromRow)]
pub struct NoteRow {
    pub id: Uuid,
    pub encounter_id: Uuid,
    pub kind: String,
    pub text: String,
    pub author_id: Uuid,
    pub record_time: DateTime<Utc>,
}

pub async fn insert_note(tx: &mut TenantTx, note: &NoteRow, now: DateTime<Utc>) -> Result<()> {
    sqlx::query(
        "INSERT INTO encounters.notes (tenant_id, id, encounter_id, kind, text, author_id, \
             record_time, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(note.id)
    .bind(note.encounter_id)
    .bind(&note.kind)
    .bind(&note.text)
    .bind(note.author_id)
    .bind(note.record_time)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn notes_of(tx: &mut TenantTx, encounter_id: Uuid) -> Result<Vec<NoteRow>> {
    Ok(sqlx::query_as(
        "SELECT id, encounter_id, kind, text, author_id, record_time FROM encounters.notes \
         WHERE tenant_id = $1 AND encounter_id = $2 ORDER BY record_time, id",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(encounter_id)
    .fetch_all(&mut **tx)
    .await?)
}

#[derive(Debug, Clone, FromRow)]
pub struct DiagnosisRow {
    pub id: Uuid,
    pub encounter_id: Uuid,
    pub patient_id: Uuid,
    pub code: String,
    pub code_version: String,
    pub display: String,
    pub role: String,
    pub certainty: String,
    pub note: String,
    pub recorded_by: Uuid,
    pub record_time: DateTime<Utc>,
}

pub async fn insert_diagnosis(tx: &mut TenantTx, row: &DiagnosisRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO encounters.diagnoses (tenant_id, id, encounter_id, patient_id, code, \
             code_version, display, role, certainty, note, recorded_by, record_time) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(row.id)
    .bind(row.encounter_id)
    .bind(row.patient_id)
    .bind(&row.code)
    .bind(&row.code_version)
    .bind(&row.display)
    .bind(&row.role)
    .bind(&row.certainty)
    .bind(&row.note)
    .bind(row.recorded_by)
    .bind(row.record_time)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn diagnoses_of(tx: &mut TenantTx, encounter_id: Uuid) -> Result<Vec<DiagnosisRow>> {
    Ok(sqlx::query_as(
        "SELECT id, encounter_id, patient_id, code, code_version, display, role, certainty, \
                note, recorded_by, record_time \
         FROM encounters.diagnoses WHERE tenant_id = $1 AND encounter_id = $2 \
         ORDER BY CASE role WHEN 'principal' THEN 0 WHEN 'admitting' THEN 1 \
                  WHEN 'secondary' THEN 2 ELSE 3 END, record_time, id",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(encounter_id)
    .fetch_all(&mut **tx)
    .await?)
}

#[derive(Debug, Clone, FromRow)]
pub struct ProcedureRow {
    pub id: Uuid,
    pub encounter_id: Uuid,
    pub patient_id: Uuid,
    pub code: String,
    pub code_version: String,
    pub display: String,
    pub performed_time: DateTime<Utc>,
    pub performer_id: Uuid,
    pub note: String,
    pub recorded_by: Uuid,
}

pub async fn insert_procedure(
    tx: &mut TenantTx,
    row: &ProcedureRow,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO encounters.procedures (tenant_id, id, encounter_id, patient_id, code, \
             code_version, display, performed_time, performer_id, note, recorded_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(row.id)
    .bind(row.encounter_id)
    .bind(row.patient_id)
    .bind(&row.code)
    .bind(&row.code_version)
    .bind(&row.display)
    .bind(row.performed_time)
    .bind(row.performer_id)
    .bind(&row.note)
    .bind(row.recorded_by)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn procedures_of(tx: &mut TenantTx, encounter_id: Uuid) -> Result<Vec<ProcedureRow>> {
    Ok(sqlx::query_as(
        "SELECT id, encounter_id, patient_id, code, code_version, display, performed_time, \
                performer_id, note, recorded_by \
         FROM encounters.procedures WHERE tenant_id = $1 AND encounter_id = $2 \
         ORDER BY performed_time, id",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(encounter_id)
    .fetch_all(&mut **tx)
    .await?)
}

#[derive(Debug, Clone, FromRow)]
pub struct ReferralRow {
    pub id: Uuid,
    pub encounter_id: Uuid,
    pub patient_id: Uuid,
    pub kind: String,
    pub investigation_codes: Vec<String>,
    pub specialty: String,
    pub target_department_id: Option<Uuid>,
    pub reason: String,
    pub urgency: String,
    pub referred_by: Uuid,
    pub created_at: DateTime<Utc>,
}

pub async fn insert_referral(tx: &mut TenantTx, row: &ReferralRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO encounters.referrals (tenant_id, id, encounter_id, patient_id, kind, \
             investigation_codes, specialty, target_department_id, reason, urgency, referred_by, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(row.id)
    .bind(row.encounter_id)
    .bind(row.patient_id)
    .bind(&row.kind)
    .bind(&row.investigation_codes)
    .bind(&row.specialty)
    .bind(row.target_department_id)
    .bind(&row.reason)
    .bind(&row.urgency)
    .bind(row.referred_by)
    .bind(row.created_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn referrals_of(tx: &mut TenantTx, encounter_id: Uuid) -> Result<Vec<ReferralRow>> {
    Ok(sqlx::query_as(
        "SELECT id, encounter_id, patient_id, kind, investigation_codes, specialty, \
                target_department_id, reason, urgency, referred_by, created_at \
         FROM encounters.referrals WHERE tenant_id = $1 AND encounter_id = $2 \
         ORDER BY created_at, id",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(encounter_id)
    .fetch_all(&mut **tx)
    .await?)
}

// ---------------------------------------------------------------------------------------------
// allergies

#[derive(Debug, Clone, FromRow)]
pub struct AllergyRow {
    pub id: Uuid,
    pub patient_id: Uuid,
    pub category: String,
    pub kind: String,
    pub substance_atc_code: String,
    pub substance_text: String,
    pub severity: String,
    pub reaction: String,
    pub recorded_by: Uuid,
    pub record_time: DateTime<Utc>,
}

pub async fn insert_allergy(tx: &mut TenantTx, row: &AllergyRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO encounters.allergies (tenant_id, id, patient_id, category, kind, \
             substance_atc_code, substance_text, severity, reaction, recorded_by, record_time) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(row.id)
    .bind(row.patient_id)
    .bind(&row.category)
    .bind(&row.kind)
    .bind(&row.substance_atc_code)
    .bind(&row.substance_text)
    .bind(&row.severity)
    .bind(&row.reaction)
    .bind(row.recorded_by)
    .bind(row.record_time)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn allergies_of(tx: &mut TenantTx, patient_id: Uuid) -> Result<Vec<AllergyRow>> {
    Ok(sqlx::query_as(
        "SELECT id, patient_id, category, kind, substance_atc_code, substance_text, severity, \
                reaction, recorded_by, record_time \
         FROM encounters.allergies WHERE tenant_id = $1 AND patient_id = $2 \
         ORDER BY record_time, id",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(patient_id)
    .fetch_all(&mut **tx)
    .await?)
}

/// Where the patient was cared for (the wards of their encounters, open ones first): whoever
/// may read one of these may read the patient's allergies.
pub async fn patient_places(tx: &mut TenantTx, patient_id: Uuid) -> Result<Vec<(Uuid, Uuid)>> {
    Ok(sqlx::query_as(
        "SELECT facility_id, department_id FROM encounters.encounters \
         WHERE tenant_id = $1 AND patient_id = $2 \
         ORDER BY (status = 'open') DESC, start_time DESC LIMIT 50",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(patient_id)
    .fetch_all(&mut **tx)
    .await?)
}

// ---------------------------------------------------------------------------------------------
// formulary

#[derive(Debug, Clone, FromRow)]
pub struct MedicineRow {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub atc_code: String,
    pub form_unit: String,
    pub strength: String,
    pub strength_unit: String,
    pub max_daily_dose: Option<String>,
    pub restriction: String,
    pub version: i64,
}

const MEDICINE_COLUMNS: &str = "id, code, name, atc_code, form_unit, strength::text AS strength, \
     strength_unit, max_daily_dose::text AS max_daily_dose, restriction, version";

pub async fn insert_medicine(
    tx: &mut TenantTx,
    row: &MedicineRow,
    now: DateTime<Utc>,
) -> Result<MedicineRow> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO encounters.medicines (tenant_id, id, code, name, atc_code, form_unit, \
             strength, strength_unit, max_daily_dose, restriction, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7::numeric, $8, $9::numeric, $10, $11) \
         RETURNING {MEDICINE_COLUMNS}"
    )))
    .bind(tx.tenant_id().as_uuid())
    .bind(row.id)
    .bind(&row.code)
    .bind(&row.name)
    .bind(&row.atc_code)
    .bind(&row.form_unit)
    .bind(&row.strength)
    .bind(&row.strength_unit)
    .bind(&row.max_daily_dose)
    .bind(&row.restriction)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?)
}

pub async fn get_medicine(tx: &mut TenantTx, id: Uuid) -> Result<MedicineRow> {
    let row: Option<MedicineRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {MEDICINE_COLUMNS} FROM encounters.medicines WHERE tenant_id = $1 AND id = $2"
    )))
    .bind(tx.tenant_id().as_uuid())
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    row.ok_or_else(|| Error::NotFound(format!("medicine {id}")))
}

pub async fn list_medicines(
    tx: &mut TenantTx,
    prefix: Option<&str>,
    after: Option<(String, Uuid)>,
    limit: i64,
) -> Result<Vec<MedicineRow>> {
    let (after_name, after_id) = after.unzip();
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {MEDICINE_COLUMNS} FROM encounters.medicines \
         WHERE tenant_id = $1 \
           AND ($2::text IS NULL OR lower(name) LIKE $2 || '%' OR lower(code) LIKE $2 || '%') \
           AND ($3::text IS NULL OR (name, id) > ($3, $4)) \
         ORDER BY name, id LIMIT $5"
    )))
    .bind(tx.tenant_id().as_uuid())
    .bind(prefix)
    .bind(after_name)
    .bind(after_id)
    .bind(limit)
    .fetch_all(&mut **tx)
    .await?)
}

#[derive(Debug, Clone, FromRow)]
pub struct RuleRow {
    pub id: Uuid,
    pub atc_code_a: String,
    pub atc_code_b: String,
    pub severity: String,
    pub description: String,
}

pub async fn insert_rule(tx: &mut TenantTx, row: &RuleRow, now: DateTime<Utc>) -> Result<()> {
    sqlx::query(
        "INSERT INTO encounters.interaction_rules (tenant_id, id, atc_code_a, atc_code_b, \
             severity, description, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(row.id)
    .bind(&row.atc_code_a)
    .bind(&row.atc_code_b)
    .bind(&row.severity)
    .bind(&row.description)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn list_rules(tx: &mut TenantTx) -> Result<Vec<RuleRow>> {
    Ok(sqlx::query_as(
        "SELECT id, atc_code_a, atc_code_b, severity, description \
         FROM encounters.interaction_rules WHERE tenant_id = $1 ORDER BY atc_code_a, atc_code_b",
    )
    .bind(tx.tenant_id().as_uuid())
    .fetch_all(&mut **tx)
    .await?)
}

/// The rules that may apply to `atc_code`: one side is a prefix of it.
pub async fn rules_touching(tx: &mut TenantTx, atc_code: &str) -> Result<Vec<RuleRow>> {
    Ok(sqlx::query_as(
        "SELECT id, atc_code_a, atc_code_b, severity, description \
         FROM encounters.interaction_rules \
         WHERE tenant_id = $1 AND (starts_with($2, atc_code_a) OR starts_with($2, atc_code_b))",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(atc_code)
    .fetch_all(&mut **tx)
    .await?)
}

// ---------------------------------------------------------------------------------------------
// prescriptions

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
}

const PRESCRIPTION_COLUMNS: &str = "id, encounter_id, patient_id, medicine_id, medicine_code, \
     medicine_name, atc_code, dose::text AS dose, dose_unit, route, times_per_day, times_of_day, \
     as_needed, as_needed_reason, daily_amount::text AS daily_amount, daily_unit, start_time, stop_time, \
     instructions, status, prescriber_id, warnings, override_reason, overridden_by, \
     discontinue_reason, discontinued_by, discontinue_time, version, created_at";

pub async fn insert_prescription(
    tx: &mut TenantTx,
    row: &PrescriptionRow,
) -> Result<PrescriptionRow> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO encounters.prescriptions (tenant_id, id, encounter_id, patient_id, \
             medicine_id, medicine_code, medicine_name, atc_code, dose, dose_unit, route, \
             times_per_day, times_of_day, as_needed, as_needed_reason, daily_amount, daily_unit, \
             start_time, stop_time, instructions, status, prescriber_id, warnings, \
             override_reason, overridden_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::numeric, $10, $11, $12, $13, $14, $15, \
             $16::numeric, $25, $17, $18, $19, 'active', $20, $21, $22, $23, $24, $24) \
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

// ---------------------------------------------------------------------------------------------
// certificates

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

// ---------------------------------------------------------------------------------------------
// the ward's medication order

#[derive(Debug, Clone, FromRow)]
pub struct WardPrescriptionRow {
    pub id: Uuid,
    pub encounter_id: Uuid,
    pub patient_id: Uuid,
    pub medicine_id: Uuid,
    pub medicine_code: String,
    pub medicine_name: String,
    pub dose: String,
    pub dose_unit: String,
    pub route: String,
    pub times_per_day: i32,
    pub times_of_day: Vec<String>,
    pub as_needed: bool,
    pub start_time: DateTime<Utc>,
    pub stop_time: Option<DateTime<Utc>>,
    pub form_unit: String,
    pub strength: String,
}

/// The active prescriptions of the open encounters in a ward that run at some time in
/// [`from`, `to`).
pub async fn ward_prescriptions(
    tx: &mut TenantTx,
    department_id: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<WardPrescriptionRow>> {
    Ok(sqlx::query_as(
        "SELECT p.id, p.encounter_id, p.patient_id, p.medicine_id, p.medicine_code, \
                p.medicine_name, p.dose::text AS dose, p.dose_unit, p.route, p.times_per_day, \
                p.times_of_day, p.as_needed, p.start_time, p.stop_time, m.form_unit, \
                m.strength::text AS strength \
         FROM encounters.prescriptions p \
         JOIN encounters.encounters e ON e.tenant_id = p.tenant_id AND e.id = p.encounter_id \
         JOIN encounters.medicines m ON m.tenant_id = p.tenant_id AND m.id = p.medicine_id \
         WHERE p.tenant_id = $1 AND e.department_id = $2 AND e.status = 'open' \
           AND p.status = 'active' AND p.start_time < $4 \
           AND (p.stop_time IS NULL OR p.stop_time > $3) \
         ORDER BY e.patient_id, p.created_at, p.id",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(department_id)
    .bind(from)
    .bind(to)
    .fetch_all(&mut **tx)
    .await?)
}

// ---------------------------------------------------------------------------------------------
// the medication administration record

#[derive(Debug, Clone, FromRow)]
pub struct AdministrationRow {
    pub id: Uuid,
    pub prescription_id: Uuid,
    pub encounter_id: Uuid,
    pub patient_id: Uuid,
    pub scheduled_time: Option<DateTime<Utc>>,
    pub status: String,
    pub reason: String,
    pub administered_at: DateTime<Utc>,
    pub recorded_by: Uuid,
}

pub async fn insert_administration(
    tx: &mut TenantTx,
    row: &AdministrationRow,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO encounters.administrations (tenant_id, id, prescription_id, encounter_id, \
             patient_id, scheduled_time, status, reason, administered_at, recorded_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(row.id)
    .bind(row.prescription_id)
    .bind(row.encounter_id)
    .bind(row.patient_id)
    .bind(row.scheduled_time)
    .bind(&row.status)
    .bind(&row.reason)
    .bind(row.administered_at)
    .bind(row.recorded_by)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn administrations_of(
    tx: &mut TenantTx,
    encounter_id: Uuid,
) -> Result<Vec<AdministrationRow>> {
    Ok(sqlx::query_as(
        "SELECT id, prescription_id, encounter_id, patient_id, scheduled_time, status, reason, \
                administered_at, recorded_by \
         FROM encounters.administrations WHERE tenant_id = $1 AND encounter_id = $2 \
         ORDER BY administered_at, id",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(encounter_id)
    .fetch_all(&mut **tx)
    .await?)
}

/// As-needed doses of a prescription given since `since`.
pub async fn as_needed_given_since(
    tx: &mut TenantTx,
    prescription_id: Uuid,
    since: DateTime<Utc>,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM encounters.administrations \
         WHERE tenant_id = $1 AND prescription_id = $2 AND scheduled_time IS NULL \
           AND status = 'given' AND administered_at > $3",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(prescription_id)
    .bind(since)
    .fetch_one(&mut **tx)
    .await?)
}
