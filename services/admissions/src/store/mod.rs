//! The only SQL of the admissions module, to the `admissions` schema only. Every function
//! takes the caller's tenant transaction, so row-level security keeps it to that tenant.

mod known_patients;
mod merges;
#[cfg(test)]
mod tests;

pub use known_patients::{PatientFactsRow, keep_known_patient, known_patient};
pub use merges::{
    claim_merge, has_open_admission, record_moved, repoint_admissions, repoint_visits, restore,
    unmerge,
};

use chrono::{DateTime, Utc};
use hmis_platform::TenantTx;
use serde_json::Value as Json;
use sqlx::{FromRow, PgPool};
use uuid::Uuid;

use crate::domain::{AdmissionStatus, AdmissionType, ArrivalMode, DischargeType, EmergencyOutcome};
use crate::error::{Error, Result};

/// Whether a read takes the row lock for a read-modify-write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    None,
    ForUpdate,
}

impl Lock {
    fn clause(self) -> &'static str {
        match self {
            Lock::None => "",
            Lock::ForUpdate => " FOR UPDATE",
        }
    }
}

#[derive(Debug, Clone, FromRow)]
pub struct AdmissionRow {
    pub id: Uuid,
    pub patient_id: Uuid,
    pub facility_id: Uuid,
    pub admission_number: String,
    pub r#type: AdmissionType,
    pub status: AdmissionStatus,
    pub admit_time: DateTime<Utc>,
    pub department_id: Uuid,
    pub bed_id: Option<Uuid>,
    pub admitting_department_id: Uuid,
    pub admitting_physician_id: Option<Uuid>,
    pub admitting_diagnosis_code: String,
    pub admitting_diagnosis_text: String,
    pub emergency_visit_id: Option<Uuid>,
    pub consent_document_ids: Vec<Uuid>,
    pub mother_admission_id: Option<Uuid>,
    pub discharge_type: Option<DischargeType>,
    pub discharge_time: Option<DateTime<Utc>>,
    pub discharge_destination: String,
    pub discharged_by: Option<Uuid>,
    pub discharge_recorded_at: Option<DateTime<Utc>>,
    pub converted_at: Option<DateTime<Utc>>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When the ward first recorded care (followed from encounters); corrections end there.
    pub first_clinical_act_at: Option<DateTime<Utc>>,
    /// The announced discharge (pre-discharge), all set or none.
    pub planned_discharge_type: Option<DischargeType>,
    pub planned_discharge_time: Option<DateTime<Utc>>,
    pub planned_discharge_destination: String,
    pub discharge_announced_by: Option<Uuid>,
    pub discharge_announced_at: Option<DateTime<Utc>>,
    /// When the stay's discharge summary was written (followed from encounters); the
    /// discharge desk waits for it.
    pub discharge_summary_at: Option<DateTime<Utc>>,
}

const ADMISSION_COLUMNS: &str = "id, patient_id, facility_id, admission_number, type, status, \
    admit_time, department_id, bed_id, admitting_department_id, admitting_physician_id, \
    admitting_diagnosis_code, admitting_diagnosis_text, emergency_visit_id, \
    consent_document_ids, mother_admission_id, discharge_type, discharge_time, \
    discharge_destination, discharged_by, discharge_recorded_at, converted_at, version, \
    created_at, updated_at, first_clinical_act_at, planned_discharge_type, \
    planned_discharge_time, planned_discharge_destination, discharge_announced_by, \
    discharge_announced_at, discharge_summary_at";

/// What a new admission is made of.
#[derive(Debug, Clone)]
pub struct NewAdmission {
    pub id: Uuid,
    pub patient_id: Uuid,
    pub facility_id: Uuid,
    pub admission_number: String,
    pub kind: AdmissionType,
    pub admit_time: DateTime<Utc>,
    pub department_id: Uuid,
    pub bed_id: Option<Uuid>,
    pub admitting_physician_id: Option<Uuid>,
    pub admitting_diagnosis_code: String,
    pub admitting_diagnosis_text: String,
    pub emergency_visit_id: Option<Uuid>,
    pub consent_document_ids: Vec<Uuid>,
    pub mother_admission_id: Option<Uuid>,
}

#[derive(Debug, Clone, FromRow)]
pub struct StayRow {
    pub id: Uuid,
    pub admission_id: Uuid,
    pub kind: String,
    pub department_id: Uuid,
    pub bed_id: Option<Uuid>,
    pub start_time: DateTime<Utc>,
    pub end_time: Option<DateTime<Utc>>,
    pub cancelled: bool,
    pub reason: String,
}

impl StayRow {
    pub fn is_reservation(&self) -> bool {
        self.kind == "reservation"
    }
}

const STAY_COLUMNS: &str =
    "id, admission_id, kind, department_id, bed_id, start_time, end_time, cancelled, reason";

#[derive(Debug, Clone, FromRow)]
pub struct VisitRow {
    pub id: Uuid,
    pub patient_id: Uuid,
    pub facility_id: Uuid,
    pub department_id: Uuid,
    pub arrival_time: DateTime<Utc>,
    pub arrival_mode: ArrivalMode,
    pub referral: Json,
    pub triage_level: i16,
    pub chief_complaint: String,
    pub outcome: Option<EmergencyOutcome>,
    pub close_time: Option<DateTime<Utc>>,
    pub admission_id: Option<Uuid>,
    pub outcome_note: String,
    pub version: i64,
    pub created_at: DateTime<Utc>,
}

const VISIT_COLUMNS: &str = "id, patient_id, facility_id, department_id, arrival_time, \
    arrival_mode, referral, triage_level, chief_complaint, outcome, close_time, admission_id, \
    outcome_note, version, created_at";

/// Takes the next admission number of a facility's year. The counter row stays locked until
/// the admitting transaction ends, so numbers are unique and a rollback gives its back.
pub async fn next_admission_number(tx: &mut TenantTx, facility_id: Uuid, year: i32) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO admissions.number_counters (tenant_id, facility_id, year, next_number) \
         VALUES ($1, $2, $3, 2) \
         ON CONFLICT (tenant_id, facility_id, year) \
         DO UPDATE SET next_number = admissions.number_counters.next_number + 1 \
         RETURNING next_number - 1",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(facility_id)
    .bind(year)
    .fetch_one(&mut **tx)
    .await?)
}

pub async fn insert_admission(
    tx: &mut TenantTx,
    admission: &NewAdmission,
    now: DateTime<Utc>,
) -> Result<AdmissionRow> {
    let sql = format!(
        "INSERT INTO admissions.admissions (tenant_id, id, patient_id, facility_id, \
         admission_number, type, status, admit_time, department_id, bed_id, \
         admitting_department_id, admitting_physician_id, admitting_diagnosis_code, \
         admitting_diagnosis_text, emergency_visit_id, consent_document_ids, \
         mother_admission_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 'admitted', $7, $8, $9, $8, $10, $11, $12, $13, $14, \
                 $15, $16, $16) \
         RETURNING {ADMISSION_COLUMNS}"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(tx.tenant_id().as_uuid())
        .bind(admission.id)
        .bind(admission.patient_id)
        .bind(admission.facility_id)
        .bind(&admission.admission_number)
        .bind(admission.kind)
        .bind(admission.admit_time)
        .bind(admission.department_id)
        .bind(admission.bed_id)
        .bind(admission.admitting_physician_id)
        .bind(&admission.admitting_diagnosis_code)
        .bind(&admission.admitting_diagnosis_text)
        .bind(admission.emergency_visit_id)
        .bind(&admission.consent_document_ids)
        .bind(admission.mother_admission_id)
        .bind(now)
        .fetch_one(&mut **tx)
        .await?)
}

pub async fn get_admission(tx: &mut TenantTx, id: Uuid, lock: Lock) -> Result<AdmissionRow> {
    let sql = format!(
        "SELECT {ADMISSION_COLUMNS} FROM admissions.admissions \
         WHERE tenant_id = $1 AND id = $2{}",
        lock.clause()
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(tx.tenant_id().as_uuid())
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| Error::NotFound(format!("admission {id}")))
}

/// What changes on an admission row; `None` leaves a column as it is.
#[derive(Debug, Clone, Default)]
pub struct AdmissionChange {
    pub status: Option<AdmissionStatus>,
    pub kind: Option<AdmissionType>,
    pub department_id: Option<Uuid>,
    /// `Some(None)` clears the bed.
    pub bed_id: Option<Option<Uuid>>,
    /// `Some(None)` clears the discharge.
    pub discharge: Option<Option<DischargeColumns>>,
    pub converted_at: Option<DateTime<Utc>>,
    /// The desk's corrections of what it entered.
    pub admitting_department_id: Option<Uuid>,
    /// `Some(None)` clears the physician.
    pub admitting_physician_id: Option<Option<Uuid>>,
    /// The code and its text.
    pub admitting_diagnosis: Option<(String, String)>,
    /// `Some(None)` withdraws the announced discharge.
    pub planned_discharge: Option<Option<PlannedDischargeColumns>>,
}

#[derive(Debug, Clone)]
pub struct PlannedDischargeColumns {
    pub kind: DischargeType,
    pub time: DateTime<Utc>,
    pub destination: String,
    pub by: Uuid,
    pub announced_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct DischargeColumns {
    pub kind: DischargeType,
    pub time: DateTime<Utc>,
    pub destination: String,
    pub by: Uuid,
    pub recorded_at: DateTime<Utc>,
}

/// Applies `change`, bumps the version, and returns the row as it now is.
pub async fn update_admission(
    tx: &mut TenantTx,
    id: Uuid,
    change: &AdmissionChange,
    now: DateTime<Utc>,
) -> Result<AdmissionRow> {
    let discharge = change.discharge.as_ref();
    let new_discharge = discharge.and_then(Option::as_ref);
    let planned = change.planned_discharge.as_ref();
    let new_plan = planned.and_then(Option::as_ref);
    let sql = format!(
        "UPDATE admissions.admissions SET \
           status = coalesce($3, status), \
           type = coalesce($4, type), \
           department_id = coalesce($5, department_id), \
           bed_id = CASE WHEN $6 THEN $7 ELSE bed_id END, \
           discharge_type = CASE WHEN $8 THEN $9 ELSE discharge_type END, \
           discharge_time = CASE WHEN $8 THEN $10 ELSE discharge_time END, \
           discharge_destination = CASE WHEN $8 THEN coalesce($11, '') ELSE discharge_destination END, \
           discharged_by = CASE WHEN $8 THEN $12 ELSE discharged_by END, \
           discharge_recorded_at = CASE WHEN $8 THEN $13 ELSE discharge_recorded_at END, \
           converted_at = coalesce($14, converted_at), \
           admitting_department_id = coalesce($16, admitting_department_id), \
           admitting_physician_id = CASE WHEN $17 THEN $18 ELSE admitting_physician_id END, \
           admitting_diagnosis_code = coalesce($19, admitting_diagnosis_code), \
           admitting_diagnosis_text = coalesce($20, admitting_diagnosis_text), \
           planned_discharge_type = CASE WHEN $21 THEN $22 ELSE planned_discharge_type END, \
           planned_discharge_time = CASE WHEN $21 THEN $23 ELSE planned_discharge_time END, \
           planned_discharge_destination = CASE WHEN $21 THEN coalesce($24, '') \
               ELSE planned_discharge_destination END, \
           discharge_announced_by = CASE WHEN $21 THEN $25 ELSE discharge_announced_by END, \
           discharge_announced_at = CASE WHEN $21 THEN $26 ELSE discharge_announced_at END, \
           version = version + 1, updated_at = $15 \
         WHERE tenant_id = $1 AND id = $2 \
         RETURNING {ADMISSION_COLUMNS}"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(tx.tenant_id().as_uuid())
        .bind(id)
        .bind(change.status)
        .bind(change.kind)
        .bind(change.department_id)
        .bind(change.bed_id.is_some())
        .bind(change.bed_id.flatten())
        .bind(discharge.is_some())
        .bind(new_discharge.map(|d| d.kind))
        .bind(new_discharge.map(|d| d.time))
        .bind(new_discharge.map(|d| d.destination.clone()))
        .bind(new_discharge.map(|d| d.by))
        .bind(new_discharge.map(|d| d.recorded_at))
        .bind(change.converted_at)
        .bind(now)
        .bind(change.admitting_department_id)
        .bind(change.admitting_physician_id.is_some())
        .bind(change.admitting_physician_id.flatten())
        .bind(change.admitting_diagnosis.as_ref().map(|(code, _)| code))
        .bind(change.admitting_diagnosis.as_ref().map(|(_, text)| text))
        .bind(planned.is_some())
        .bind(new_plan.map(|plan| plan.kind))
        .bind(new_plan.map(|plan| plan.time))
        .bind(new_plan.map(|plan| plan.destination.clone()))
        .bind(new_plan.map(|plan| plan.by))
        .bind(new_plan.map(|plan| plan.announced_at))
        .fetch_one(&mut **tx)
        .await?)
}

/// Every stay and reservation of an admission, oldest first.
pub async fn stays_of(tx: &mut TenantTx, admission_id: Uuid) -> Result<Vec<StayRow>> {
    Ok(stays_of_many(tx, &[admission_id])
        .await?
        .remove(&admission_id)
        .unwrap_or_default())
}

/// Whether the tenant requires a principal diagnosis before a discharge (off when never set).
pub async fn discharge_requires_principal_diagnosis(tx: &mut TenantTx) -> Result<bool> {
    Ok(sqlx::query_scalar(
        "SELECT coalesce((SELECT discharge_requires_principal_diagnosis FROM admissions.settings \
          WHERE tenant_id = $1), false)",
    )
    .bind(tx.tenant_id().as_uuid())
    .fetch_one(&mut **tx)
    .await?)
}

/// Sets the tenant's settings.
pub async fn set_discharge_requires_principal_diagnosis(
    tx: &mut TenantTx,
    required: bool,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO admissions.settings \
             (tenant_id, discharge_requires_principal_diagnosis, updated_at) \
         VALUES ($1, $2, $3) \
         ON CONFLICT (tenant_id) DO UPDATE SET \
             discharge_requires_principal_diagnosis = EXCLUDED.discharge_requires_principal_diagnosis, \
             version = admissions.settings.version + 1, updated_at = EXCLUDED.updated_at",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(required)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Keeps that `admission_id`'s stay has a principal diagnosis (the latest recorded).
pub async fn keep_principal_diagnosis(
    tx: &mut TenantTx,
    admission_id: Uuid,
    code: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO admissions.principal_diagnoses (tenant_id, admission_id, code, recorded_at) \
         VALUES ($1, $2, $3, $4) \
         ON CONFLICT (tenant_id, admission_id) DO UPDATE SET code = EXCLUDED.code, \
             recorded_at = EXCLUDED.recorded_at \
         WHERE admissions.principal_diagnoses.recorded_at <= EXCLUDED.recorded_at",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(admission_id)
    .bind(code)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The archive's consent document `document` is linked to the admission (`present`) or no
/// longer (deleted at the end of its retention). A link, not a change of the stay: the
/// admission's version stays. Nothing changes for another patient's admission.
pub async fn link_consent(
    tx: &mut TenantTx,
    (admission_id, patient_id): (Uuid, Uuid),
    document: Uuid,
    present: bool,
) -> Result<()> {
    sqlx::query(
        "UPDATE admissions.admissions SET consent_document_ids = CASE WHEN $4 \
             THEN array_append(array_remove(consent_document_ids, $3), $3) \
             ELSE array_remove(consent_document_ids, $3) END \
         WHERE tenant_id = $1 AND id = $2 AND patient_id = $5 \
           AND ($3 = ANY(consent_document_ids)) IS DISTINCT FROM $4",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(admission_id)
    .bind(document)
    .bind(present)
    .bind(patient_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Whether `admission_id`'s stay has a principal diagnosis.
pub async fn has_principal_diagnosis(tx: &mut TenantTx, admission_id: Uuid) -> Result<bool> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT FROM admissions.principal_diagnoses \
          WHERE tenant_id = $1 AND admission_id = $2)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(admission_id)
    .fetch_one(&mut **tx)
    .await?)
}

/// Keeps a movement recorded beyond the backdating window, with its reason, for review.
pub async fn record_backdating(
    tx: &mut TenantTx,
    request_id: &str,
    field: &str,
    (movement_time, reason): (DateTime<Utc>, &str),
    user_id: Uuid,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO admissions.backdated_movements \
         (tenant_id, id, request_id, field, movement_time, reason, user_id, recorded_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(Uuid::now_v7())
    .bind(request_id)
    .bind(field)
    .bind(movement_time)
    .bind(reason)
    .bind(user_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Every ward (with its facility) a patient's admissions have been in: their current wards
/// and those of every stay.
pub async fn wards_of_patient(tx: &mut TenantTx, patient_id: Uuid) -> Result<Vec<(Uuid, Uuid)>> {
    Ok(sqlx::query_as(
        "SELECT a.facility_id, a.department_id FROM admissions.admissions a \
         WHERE a.tenant_id = $1 AND a.patient_id = $2 \
         UNION \
         SELECT a.facility_id, s.department_id FROM admissions.admissions a \
         JOIN admissions.stays s ON s.tenant_id = a.tenant_id AND s.admission_id = a.id \
         WHERE a.tenant_id = $1 AND a.patient_id = $2",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(patient_id)
    .fetch_all(&mut **tx)
    .await?)
}

/// The stays and reservations of several admissions in one statement, each oldest first.
pub async fn stays_of_many(
    tx: &mut TenantTx,
    admission_ids: &[Uuid],
) -> Result<std::collections::HashMap<Uuid, Vec<StayRow>>> {
    let sql = format!(
        "SELECT {STAY_COLUMNS} FROM admissions.stays \
         WHERE tenant_id = $1 AND admission_id = ANY ($2) ORDER BY start_time, id"
    );
    let rows: Vec<StayRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(tx.tenant_id().as_uuid())
        .bind(admission_ids)
        .fetch_all(&mut **tx)
        .await?;
    let mut by_admission = std::collections::HashMap::<Uuid, Vec<StayRow>>::new();
    for row in rows {
        by_admission.entry(row.admission_id).or_default().push(row);
    }
    Ok(by_admission)
}

/// Opens a stay (or a reservation); the exclusion constraint refuses a taken bed.
#[allow(clippy::too_many_arguments)]
pub async fn insert_stay(tx: &mut TenantTx, stay: &NewStay<'_>) -> Result<StayRow> {
    let sql = format!(
        "INSERT INTO admissions.stays (tenant_id, id, admission_id, kind, department_id, bed_id, \
         start_time, end_time, reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         RETURNING {STAY_COLUMNS}"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(tx.tenant_id().as_uuid())
        .bind(Uuid::now_v7())
        .bind(stay.admission_id)
        .bind(stay.kind)
        .bind(stay.department_id)
        .bind(stay.bed_id)
        .bind(stay.start_time)
        .bind(stay.end_time)
        .bind(stay.reason)
        .fetch_one(&mut **tx)
        .await?)
}

/// A stay (or a reservation) to record: in ward `department_id`, in `bed_id` if any, from
/// `start_time` (to `end_time` when it is already over: a correction's replacement period).
#[derive(Debug, Clone, Copy)]
pub struct NewStay<'a> {
    pub admission_id: Uuid,
    /// `stay` or `reservation`.
    pub kind: &'static str,
    pub department_id: Uuid,
    pub bed_id: Option<Uuid>,
    pub start_time: DateTime<Utc>,
    pub end_time: Option<DateTime<Utc>>,
    pub reason: &'a str,
}

/// Ends a stay (or a reservation) at `end_time`, or reopens it with `None`.
pub async fn set_stay_end(
    tx: &mut TenantTx,
    stay_id: Uuid,
    end_time: Option<DateTime<Utc>>,
) -> Result<StayRow> {
    let sql = format!(
        "UPDATE admissions.stays SET end_time = $3 WHERE tenant_id = $1 AND id = $2 \
         RETURNING {STAY_COLUMNS}"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(tx.tenant_id().as_uuid())
        .bind(stay_id)
        .bind(end_time)
        .fetch_one(&mut **tx)
        .await?)
}

/// Marks every stay of an admission cancelled: they stay on record and hold no bed.
pub async fn cancel_stays(tx: &mut TenantTx, admission_id: Uuid, at: DateTime<Utc>) -> Result<()> {
    sqlx::query(
        "UPDATE admissions.stays SET cancelled = true, end_time = coalesce(end_time, \
         greatest(start_time, $3)) WHERE tenant_id = $1 AND admission_id = $2",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(admission_id)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Marks the stays `stay_ids` replaced by a correction: they stay on record, hold no bed and
/// are no longer the admission's history.
pub async fn replace_stays(tx: &mut TenantTx, stay_ids: &[Uuid], at: DateTime<Utc>) -> Result<()> {
    sqlx::query(
        "UPDATE admissions.stays SET cancelled = true, end_time = coalesce(end_time, \
         greatest(start_time, $3)) WHERE tenant_id = $1 AND id = ANY($2)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(stay_ids)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A moment of the stay that encounters tells admissions of, the earliest kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StayMoment {
    /// The ward's first clinical act (a dose given, a procedure): corrections end there.
    FirstClinicalAct,
    /// The discharge summary written: the discharge desk waits for it.
    DischargeSummary,
}

impl StayMoment {
    fn column(self) -> &'static str {
        match self {
            Self::FirstClinicalAct => "first_clinical_act_at",
            Self::DischargeSummary => "discharge_summary_at",
        }
    }
}

/// `moment` of `admission_id` happened at `at` (the earliest one is kept). Not a change of
/// the stay: the admission's version stays.
pub async fn keep_stay_moment(
    tx: &mut TenantTx,
    admission_id: Uuid,
    moment: StayMoment,
    at: DateTime<Utc>,
) -> Result<()> {
    let column = moment.column();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE admissions.admissions SET {column} = $3 \
         WHERE tenant_id = $1 AND id = $2 AND ({column} IS NULL OR {column} > $3)"
    )))
    .bind(tx.tenant_id().as_uuid())
    .bind(admission_id)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A correction (or cancellation) of an admission, as kept.
#[derive(Debug, Clone, FromRow)]
pub struct CorrectionRow {
    pub id: Uuid,
    pub admission_id: Uuid,
    pub changes: sqlx::types::Json<Vec<CorrectedField>>,
    pub reason: String,
    pub corrected_by: Uuid,
    pub corrected_at: DateTime<Utc>,
}

/// One field's value before and after a correction, in the contract's words.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CorrectedField {
    pub field: String,
    pub before: String,
    pub after: String,
}

pub async fn insert_correction(tx: &mut TenantTx, row: &CorrectionRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO admissions.corrections (tenant_id, id, admission_id, changes, reason, \
         corrected_by, corrected_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(row.id)
    .bind(row.admission_id)
    .bind(&row.changes)
    .bind(&row.reason)
    .bind(row.corrected_by)
    .bind(row.corrected_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// An admission's corrections, oldest first.
pub async fn corrections_of(tx: &mut TenantTx, admission_id: Uuid) -> Result<Vec<CorrectionRow>> {
    Ok(sqlx::query_as(
        "SELECT id, admission_id, changes, reason, corrected_by, corrected_at \
         FROM admissions.corrections WHERE tenant_id = $1 AND admission_id = $2 \
         ORDER BY corrected_at, id",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(admission_id)
    .fetch_all(&mut **tx)
    .await?)
}

/// Which admissions a listing wants.
#[derive(Debug, Clone, Copy)]
pub enum AdmissionFilter {
    Department(Uuid),
    Patient(Uuid),
}

/// Admissions newest first, after the keyset `(admit_time, id)` of the previous page.
pub async fn list_admissions(
    tx: &mut TenantTx,
    filter: AdmissionFilter,
    status: Option<AdmissionStatus>,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<AdmissionRow>> {
    let (column, id) = match filter {
        AdmissionFilter::Department(id) => ("department_id", id),
        AdmissionFilter::Patient(id) => ("patient_id", id),
    };
    let sql = format!(
        "SELECT {ADMISSION_COLUMNS} FROM admissions.admissions \
         WHERE tenant_id = $1 AND {column} = $2 AND ($3::text IS NULL OR status = $3) \
           AND ($4::timestamptz IS NULL OR (admit_time, id) < ($4, $5)) \
         ORDER BY admit_time DESC, id DESC LIMIT $6"
    );
    let (after_time, after_id) = after.unzip();
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(tx.tenant_id().as_uuid())
        .bind(id)
        .bind(status)
        .bind(after_time)
        .bind(after_id)
        .bind(limit)
        .fetch_all(&mut **tx)
        .await?)
}

/// The open admission of a patient, if any.
pub async fn open_admission_of(
    tx: &mut TenantTx,
    patient_id: Uuid,
) -> Result<Option<AdmissionRow>> {
    let sql = format!(
        "SELECT {ADMISSION_COLUMNS} FROM admissions.admissions \
         WHERE tenant_id = $1 AND patient_id = $2 AND status = 'admitted'"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(tx.tenant_id().as_uuid())
        .bind(patient_id)
        .fetch_optional(&mut **tx)
        .await?)
}

/// An open stay or reservation in a ward, with the admission it belongs to.
#[derive(Debug, Clone, FromRow)]
pub struct WardHold {
    #[sqlx(flatten)]
    pub stay: StayRow,
    pub patient_id: Uuid,
    pub admission_number: String,
    pub r#type: AdmissionType,
    pub admit_time: DateTime<Utc>,
    pub planned_discharge_time: Option<DateTime<Utc>>,
}

/// Everything open in a ward now: who is there (with or without a bed) and which beds are held.
pub async fn ward_holds(tx: &mut TenantTx, department_id: Uuid) -> Result<Vec<WardHold>> {
    let sql = "SELECT s.id, s.admission_id, s.kind, s.department_id, s.bed_id, s.start_time, \
                      s.end_time, s.cancelled, s.reason, \
                      a.patient_id, a.admission_number, a.type, a.admit_time, \
                      a.planned_discharge_time \
               FROM admissions.stays s \
               JOIN admissions.admissions a ON a.tenant_id = s.tenant_id AND a.id = s.admission_id \
               WHERE s.tenant_id = $1 AND s.department_id = $2 \
                 AND s.end_time IS NULL AND NOT s.cancelled \
               ORDER BY s.start_time, s.id";
    Ok(sqlx::query_as(sql)
        .bind(tx.tenant_id().as_uuid())
        .bind(department_id)
        .fetch_all(&mut **tx)
        .await?)
}

/// Whether this module itself recorded the patient's death in a ward: a deceased discharge
/// not undone (`admissions_by_patient` finds it). Read before admitting, so it holds before
/// the registry's event about the death has arrived.
pub async fn died_here(tx: &mut TenantTx, patient_id: Uuid) -> Result<bool> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM admissions.admissions \
                        WHERE tenant_id = $1 AND patient_id = $2 \
                          AND status = 'discharged' AND discharge_type = 'deceased')",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(patient_id)
    .fetch_one(&mut **tx)
    .await?)
}

pub struct NewVisit<'a> {
    pub id: Uuid,
    pub patient_id: Uuid,
    pub facility_id: Uuid,
    pub department_id: Uuid,
    pub arrival_time: DateTime<Utc>,
    pub arrival_mode: ArrivalMode,
    pub referral: &'a Json,
    pub triage_level: i16,
    pub chief_complaint: &'a str,
}

pub async fn insert_visit(
    tx: &mut TenantTx,
    visit: &NewVisit<'_>,
    now: DateTime<Utc>,
) -> Result<VisitRow> {
    let sql = format!(
        "INSERT INTO admissions.emergency_visits (tenant_id, id, patient_id, facility_id, \
         department_id, arrival_time, arrival_mode, referral, triage_level, chief_complaint, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) \
         RETURNING {VISIT_COLUMNS}"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(tx.tenant_id().as_uuid())
        .bind(visit.id)
        .bind(visit.patient_id)
        .bind(visit.facility_id)
        .bind(visit.department_id)
        .bind(visit.arrival_time)
        .bind(visit.arrival_mode)
        .bind(visit.referral)
        .bind(visit.triage_level)
        .bind(visit.chief_complaint)
        .bind(now)
        .fetch_one(&mut **tx)
        .await?)
}

pub async fn get_visit(tx: &mut TenantTx, id: Uuid, lock: Lock) -> Result<VisitRow> {
    let sql = format!(
        "SELECT {VISIT_COLUMNS} FROM admissions.emergency_visits \
         WHERE tenant_id = $1 AND id = $2{}",
        lock.clause()
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(tx.tenant_id().as_uuid())
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| Error::NotFound(format!("emergency visit {id}")))
}

/// The patient's open visit of an emergency unit, if any (the most recent when several).
pub async fn open_visit_of(tx: &mut TenantTx, patient_id: Uuid) -> Result<Option<VisitRow>> {
    let sql = format!(
        "SELECT {VISIT_COLUMNS} FROM admissions.emergency_visits \
         WHERE tenant_id = $1 AND patient_id = $2 AND outcome IS NULL \
         ORDER BY arrival_time DESC LIMIT 1"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(tx.tenant_id().as_uuid())
        .bind(patient_id)
        .fetch_optional(&mut **tx)
        .await?)
}

/// Closes an open visit with its outcome.
pub async fn close_visit(
    tx: &mut TenantTx,
    id: Uuid,
    outcome: EmergencyOutcome,
    close_time: DateTime<Utc>,
    admission_id: Option<Uuid>,
    note: &str,
    now: DateTime<Utc>,
) -> Result<VisitRow> {
    let sql = format!(
        "UPDATE admissions.emergency_visits SET outcome = $3, close_time = $4, \
         admission_id = $5, outcome_note = $6, version = version + 1, updated_at = $7 \
         WHERE tenant_id = $1 AND id = $2 RETURNING {VISIT_COLUMNS}"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(tx.tenant_id().as_uuid())
        .bind(id)
        .bind(outcome)
        .bind(close_time)
        .bind(admission_id)
        .bind(note)
        .bind(now)
        .fetch_one(&mut **tx)
        .await?)
}

/// Visits of an emergency department newest first, after the keyset of the previous page.
pub async fn list_visits(
    tx: &mut TenantTx,
    department_id: Uuid,
    open_only: bool,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<VisitRow>> {
    let sql = format!(
        "SELECT {VISIT_COLUMNS} FROM admissions.emergency_visits \
         WHERE tenant_id = $1 AND department_id = $2 AND (NOT $3 OR outcome IS NULL) \
           AND ($4::timestamptz IS NULL OR (arrival_time, id) < ($4, $5)) \
         ORDER BY arrival_time DESC, id DESC LIMIT $6"
    );
    let (after_time, after_id) = after.unzip();
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(tx.tenant_id().as_uuid())
        .bind(department_id)
        .bind(open_only)
        .bind(after_time)
        .bind(after_id)
        .bind(limit)
        .fetch_all(&mut **tx)
        .await?)
}

/// Open observation stays admitted before `cutoff`, across tenants (the worker's policy
/// shows it only these); each is then converted inside its own tenant's transaction.
pub async fn due_observations(
    worker_pool: &PgPool,
    cutoff: DateTime<Utc>,
) -> Result<Vec<(Uuid, Uuid)>> {
    Ok(sqlx::query_as(
        "SELECT tenant_id, id FROM admissions.admissions \
         WHERE status = 'admitted' AND type = 'observation' AND admit_time < $1 \
         ORDER BY admit_time LIMIT 500",
    )
    .bind(cutoff)
    .fetch_all(worker_pool)
    .await?)
}

/// Opens again a visit closed as admitted, when that admission is cancelled.
pub async fn reopen_visit(tx: &mut TenantTx, id: Uuid, now: DateTime<Utc>) -> Result<VisitRow> {
    let sql = format!(
        "UPDATE admissions.emergency_visits SET outcome = NULL, close_time = NULL, \
         admission_id = NULL, version = version + 1, updated_at = $3 \
         WHERE tenant_id = $1 AND id = $2 RETURNING {VISIT_COLUMNS}"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(tx.tenant_id().as_uuid())
        .bind(id)
        .bind(now)
        .fetch_one(&mut **tx)
        .await?)
}

/// A stay's record handed over to medical records, as kept.
#[derive(Debug, Clone, FromRow)]
pub struct HandoverRow {
    pub id: Uuid,
    pub admission_id: Uuid,
    pub patient_id: Uuid,
    pub facility_id: Uuid,
    pub sent_by: Uuid,
    pub sent_at: DateTime<Utc>,
    pub paper_file_location: String,
    pub note: String,
    pub received_by: Option<Uuid>,
    pub received_at: Option<DateTime<Utc>>,
}

const HANDOVER_COLUMNS: &str = "id, admission_id, patient_id, facility_id, sent_by, sent_at, \
     paper_file_location, note, received_by, received_at";

pub async fn insert_handover(tx: &mut TenantTx, row: &HandoverRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO admissions.record_handovers (tenant_id, id, admission_id, patient_id, \
             facility_id, sent_by, sent_at, paper_file_location, note) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(row.id)
    .bind(row.admission_id)
    .bind(row.patient_id)
    .bind(row.facility_id)
    .bind(row.sent_by)
    .bind(row.sent_at)
    .bind(&row.paper_file_location)
    .bind(&row.note)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The hand-over of an admission's record, if it was handed over.
pub async fn handover_of(tx: &mut TenantTx, admission_id: Uuid) -> Result<Option<HandoverRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {HANDOVER_COLUMNS} FROM admissions.record_handovers \
         WHERE tenant_id = $1 AND admission_id = $2"
    )))
    .bind(tx.tenant_id().as_uuid())
    .bind(admission_id)
    .fetch_optional(&mut **tx)
    .await?)
}

/// A hand-over, locked for its receipt.
pub async fn get_handover(tx: &mut TenantTx, id: Uuid) -> Result<HandoverRow> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {HANDOVER_COLUMNS} FROM admissions.record_handovers \
         WHERE tenant_id = $1 AND id = $2 FOR UPDATE"
    )))
    .bind(tx.tenant_id().as_uuid())
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or_else(|| Error::NotFound(format!("record hand-over {id}")))
}

/// Medical records received it, keeping the paper file at `location`.
pub async fn receive_handover(
    tx: &mut TenantTx,
    id: Uuid,
    (by, at): (Uuid, DateTime<Utc>),
    location: &str,
) -> Result<HandoverRow> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE admissions.record_handovers SET received_by = $3, received_at = $4, \
             paper_file_location = $5 \
         WHERE tenant_id = $1 AND id = $2 RETURNING {HANDOVER_COLUMNS}"
    )))
    .bind(tx.tenant_id().as_uuid())
    .bind(id)
    .bind(by)
    .bind(at)
    .bind(location)
    .fetch_one(&mut **tx)
    .await?)
}

/// A facility's hand-overs, oldest first (those not received yet when `awaiting_only`).
pub async fn handovers_of(
    tx: &mut TenantTx,
    facility_id: Uuid,
    awaiting_only: bool,
    limit: i64,
) -> Result<Vec<HandoverRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {HANDOVER_COLUMNS} FROM admissions.record_handovers \
         WHERE tenant_id = $1 AND facility_id = $2 AND (NOT $3 OR received_at IS NULL) \
         ORDER BY sent_at, id LIMIT $4"
    )))
    .bind(tx.tenant_id().as_uuid())
    .bind(facility_id)
    .bind(awaiting_only)
    .bind(limit)
    .fetch_all(&mut **tx)
    .await?)
}

/// A facility's admitted patients whose discharge is announced, planned time first.
pub async fn announced_discharges(
    tx: &mut TenantTx,
    facility_id: Uuid,
    limit: i64,
) -> Result<Vec<AdmissionRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ADMISSION_COLUMNS} FROM admissions.admissions \
         WHERE tenant_id = $1 AND facility_id = $2 AND status = 'admitted' \
           AND planned_discharge_type IS NOT NULL \
         ORDER BY planned_discharge_time, id LIMIT $3"
    )))
    .bind(tx.tenant_id().as_uuid())
    .bind(facility_id)
    .bind(limit)
    .fetch_all(&mut **tx)
    .await?)
}
