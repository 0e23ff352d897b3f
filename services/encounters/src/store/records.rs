//! The store of notes, diagnoses, procedures, referrals.

use super::*;

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

/// A laboratory result released for one of the encounter's orders.
#[derive(Debug, Clone, FromRow)]
pub struct InvestigationResultRow {
    pub order_id: Uuid,
    pub test_code: String,
    pub encounter_id: Uuid,
    pub result_id: Uuid,
    pub test_name: String,
    pub value: String,
    pub unit: String,
    pub flag: String,
    pub reference_range: String,
    pub observed_at: DateTime<Utc>,
    pub released_at: DateTime<Utc>,
    pub corrected: bool,
}

/// Keeps the latest released value of an order's test (a later release replaces it).
pub async fn keep_investigation_result(
    tx: &mut TenantTx,
    row: &InvestigationResultRow,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO encounters.investigation_results (tenant_id, order_id, test_code, \
         encounter_id, result_id, test_name, value, unit, flag, reference_range, observed_at, \
         released_at, corrected) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
         ON CONFLICT (tenant_id, order_id, test_code) DO UPDATE SET result_id = EXCLUDED.result_id, \
         test_name = EXCLUDED.test_name, value = EXCLUDED.value, unit = EXCLUDED.unit, \
         flag = EXCLUDED.flag, reference_range = EXCLUDED.reference_range, \
         observed_at = EXCLUDED.observed_at, released_at = EXCLUDED.released_at, \
         corrected = EXCLUDED.corrected \
         WHERE encounters.investigation_results.released_at <= EXCLUDED.released_at",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(row.order_id)
    .bind(&row.test_code)
    .bind(row.encounter_id)
    .bind(row.result_id)
    .bind(&row.test_name)
    .bind(&row.value)
    .bind(&row.unit)
    .bind(&row.flag)
    .bind(&row.reference_range)
    .bind(row.observed_at)
    .bind(row.released_at)
    .bind(row.corrected)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn investigation_results_of(
    tx: &mut TenantTx,
    encounter_id: Uuid,
) -> Result<Vec<InvestigationResultRow>> {
    Ok(sqlx::query_as(
        "SELECT order_id, test_code, encounter_id, result_id, test_name, value, unit, flag, \
                reference_range, observed_at, released_at, corrected \
         FROM encounters.investigation_results WHERE encounter_id = $1 \
         ORDER BY observed_at, test_name",
    )
    .bind(encounter_id)
    .fetch_all(&mut **tx)
    .await?)
}

/// An imaging report signed for one of the encounter's orders.
#[derive(Debug, Clone, FromRow)]
pub struct ImagingReportRow {
    pub exam_id: Uuid,
    pub order_id: Uuid,
    pub encounter_id: Uuid,
    pub service_code: String,
    pub service_name: String,
    pub modality: String,
    pub findings: String,
    pub conclusion: String,
    pub signed_by: Uuid,
    pub signed_at: DateTime<Utc>,
    pub study_uid: String,
    pub amended: bool,
}

/// Keeps the latest signed version of an examination's report (a later one replaces it).
pub async fn keep_imaging_report(tx: &mut TenantTx, row: &ImagingReportRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO encounters.imaging_reports (tenant_id, exam_id, order_id, encounter_id, \
         service_code, service_name, modality, findings, conclusion, signed_by, signed_at, \
         study_uid, amended) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
         ON CONFLICT (tenant_id, exam_id) DO UPDATE SET findings = EXCLUDED.findings, \
         conclusion = EXCLUDED.conclusion, signed_by = EXCLUDED.signed_by, \
         signed_at = EXCLUDED.signed_at, study_uid = EXCLUDED.study_uid, \
         amended = EXCLUDED.amended \
         WHERE encounters.imaging_reports.signed_at <= EXCLUDED.signed_at",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(row.exam_id)
    .bind(row.order_id)
    .bind(row.encounter_id)
    .bind(&row.service_code)
    .bind(&row.service_name)
    .bind(&row.modality)
    .bind(&row.findings)
    .bind(&row.conclusion)
    .bind(row.signed_by)
    .bind(row.signed_at)
    .bind(&row.study_uid)
    .bind(row.amended)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn imaging_reports_of(
    tx: &mut TenantTx,
    encounter_id: Uuid,
) -> Result<Vec<ImagingReportRow>> {
    Ok(sqlx::query_as(
        "SELECT exam_id, order_id, encounter_id, service_code, service_name, modality, \
                findings, conclusion, signed_by, signed_at, study_uid, amended \
         FROM encounters.imaging_reports WHERE encounter_id = $1 \
         ORDER BY signed_at, service_name",
    )
    .bind(encounter_id)
    .fetch_all(&mut **tx)
    .await?)
}
