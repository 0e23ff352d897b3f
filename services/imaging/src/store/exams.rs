//! Orders, their examinations and the examinations' reports.

use chrono::{DateTime, Utc};
use hmis_platform::TenantTx;
use sqlx::FromRow;
use uuid::Uuid;

use crate::domain::{ExamStatus, Modality, Priority, ReportStatus};
use crate::error::{Error, Result};

#[derive(Debug, Clone, FromRow)]
pub struct OrderRow {
    pub id: Uuid,
    pub referral_id: Uuid,
    pub encounter_id: Uuid,
    pub patient_id: Uuid,
    pub admission_id: Option<Uuid>,
    pub department_id: Option<Uuid>,
    pub facility_id: Uuid,
    pub requested_by: Uuid,
    pub priority: Priority,
    pub status: ExamStatus,
    pub reason: String,
    pub ordered_at: DateTime<Utc>,
    pub final_at: Option<DateTime<Utc>>,
}

const ORDER_COLUMNS: &str = "id, referral_id, encounter_id, patient_id, admission_id, \
     department_id, facility_id, requested_by, priority, status, reason, ordered_at, final_at";

#[derive(Debug, Clone, FromRow)]
pub struct ExamRow {
    pub id: Uuid,
    pub order_id: Uuid,
    pub accession: String,
    pub service_code: String,
    pub service_name: String,
    /// None while its code is not in the catalogue.
    pub modality: Option<Modality>,
    pub status: ExamStatus,
    pub facility_id: Uuid,
    pub department_id: Option<Uuid>,
    pub priority: Priority,
    pub ordered_at: DateTime<Utc>,
    pub room_id: Option<Uuid>,
    pub scheduled_at: Option<DateTime<Utc>>,
    pub study_uid: String,
    pub performed_by: Option<Uuid>,
    pub started_at: Option<DateTime<Utc>>,
    pub performed_at: Option<DateTime<Utc>>,
    pub technique_note: String,
    /// When its first report was signed.
    pub final_at: Option<DateTime<Utc>>,
    pub cancel_reason: String,
}

const EXAM_COLUMNS: &str = "id, order_id, accession, service_code, service_name, modality, \
     status, facility_id, department_id, priority, ordered_at, room_id, scheduled_at, study_uid, \
     performed_by, started_at, performed_at, technique_note, final_at, cancel_reason";

#[derive(Debug, Clone, FromRow)]
pub struct ReportRow {
    pub id: Uuid,
    pub exam_id: Uuid,
    pub version: i32,
    pub findings: String,
    pub conclusion: String,
    pub status: ReportStatus,
    pub written_by: Uuid,
    pub written_at: DateTime<Utc>,
    pub signed_by: Option<Uuid>,
    pub signed_at: Option<DateTime<Utc>>,
    pub content_sha256: Option<String>,
    pub amendment_reason: String,
}

const REPORT_COLUMNS: &str = "id, exam_id, version, findings, conclusion, status, written_by, \
     written_at, signed_by, signed_at, content_sha256, amendment_reason";

/// Stores an order with its examinations; false when the referral's order is stored already.
pub async fn insert_order(tx: &mut TenantTx, order: &OrderRow, exams: &[ExamRow]) -> Result<bool> {
    let inserted = sqlx::query(
        "INSERT INTO imaging.orders (tenant_id, id, referral_id, encounter_id, patient_id, \
         admission_id, department_id, facility_id, requested_by, priority, status, reason, \
         ordered_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
         ON CONFLICT (tenant_id, referral_id) DO NOTHING",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(order.id)
    .bind(order.referral_id)
    .bind(order.encounter_id)
    .bind(order.patient_id)
    .bind(order.admission_id)
    .bind(order.department_id)
    .bind(order.facility_id)
    .bind(order.requested_by)
    .bind(order.priority)
    .bind(order.status)
    .bind(&order.reason)
    .bind(order.ordered_at)
    .execute(&mut **tx)
    .await?
    .rows_affected()
        == 1;
    if !inserted {
        return Ok(false);
    }
    for exam in exams {
        sqlx::query(
            "INSERT INTO imaging.exams (tenant_id, id, order_id, accession, service_code, \
             service_name, modality, status, facility_id, department_id, priority, ordered_at, \
             study_uid) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(tx.tenant_id().as_uuid())
        .bind(exam.id)
        .bind(exam.order_id)
        .bind(&exam.accession)
        .bind(&exam.service_code)
        .bind(&exam.service_name)
        .bind(exam.modality)
        .bind(exam.status)
        .bind(exam.facility_id)
        .bind(exam.department_id)
        .bind(exam.priority)
        .bind(exam.ordered_at)
        .bind(&exam.study_uid)
        .execute(&mut **tx)
        .await?;
    }
    Ok(true)
}

pub async fn next_accession_number(tx: &mut TenantTx) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT nextval('imaging.accession_numbers')")
            .fetch_one(&mut **tx)
            .await?,
    )
}

pub async fn get_order(tx: &mut TenantTx, id: Uuid) -> Result<OrderRow> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ORDER_COLUMNS} FROM imaging.orders WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(Error::NotFound("order"))
}

pub async fn get_orders(tx: &mut TenantTx, ids: &[Uuid]) -> Result<Vec<OrderRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ORDER_COLUMNS} FROM imaging.orders WHERE id = ANY($1)"
    )))
    .bind(ids)
    .fetch_all(&mut **tx)
    .await?)
}

/// The order of an examination, locked for the change of one of its examinations (the
/// order's status follows them), and the examination as it is under the lock.
pub async fn lock_exam(tx: &mut TenantTx, exam_id: Uuid) -> Result<(OrderRow, ExamRow)> {
    let order: OrderRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ORDER_COLUMNS} FROM imaging.orders WHERE (tenant_id, id) = \
         (SELECT tenant_id, order_id FROM imaging.exams WHERE id = $1) FOR UPDATE"
    )))
    .bind(exam_id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(Error::NotFound("examination"))?;
    let exam = get_exam(tx, exam_id).await?;
    Ok((order, exam))
}

pub async fn get_exam(tx: &mut TenantTx, id: Uuid) -> Result<ExamRow> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {EXAM_COLUMNS} FROM imaging.exams WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(Error::NotFound("examination"))
}

pub async fn exams_of(tx: &mut TenantTx, order_ids: &[Uuid]) -> Result<Vec<ExamRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {EXAM_COLUMNS} FROM imaging.exams WHERE order_id = ANY($1) \
         ORDER BY ordered_at, accession"
    )))
    .bind(order_ids)
    .fetch_all(&mut **tx)
    .await?)
}

/// Writes what moves on an examination: its status, room and time, performance, the time
/// its first report was signed, its cancellation.
pub async fn update_exam(tx: &mut TenantTx, exam: &ExamRow) -> Result<()> {
    sqlx::query(
        "UPDATE imaging.exams SET status = $2, room_id = $3, scheduled_at = $4, study_uid = $5, \
         performed_by = $6, started_at = $7, performed_at = $8, technique_note = $9, \
         final_at = $10, cancel_reason = $11 WHERE id = $1",
    )
    .bind(exam.id)
    .bind(exam.status)
    .bind(exam.room_id)
    .bind(exam.scheduled_at)
    .bind(&exam.study_uid)
    .bind(exam.performed_by)
    .bind(exam.started_at)
    .bind(exam.performed_at)
    .bind(&exam.technique_note)
    .bind(exam.final_at)
    .bind(&exam.cancel_reason)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn set_order_status(
    tx: &mut TenantTx,
    order_id: Uuid,
    status: ExamStatus,
    final_at: Option<DateTime<Utc>>,
) -> Result<()> {
    sqlx::query(
        "UPDATE imaging.orders SET status = $2, final_at = COALESCE(final_at, $3) WHERE id = $1",
    )
    .bind(order_id)
    .bind(status)
    .bind(final_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn patient_orders(tx: &mut TenantTx, patient_id: Uuid) -> Result<Vec<OrderRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ORDER_COLUMNS} FROM imaging.orders WHERE patient_id = $1 \
         ORDER BY ordered_at DESC LIMIT 200"
    )))
    .bind(patient_id)
    .fetch_all(&mut **tx)
    .await?)
}

/// Which examinations a worklist shows.
#[derive(Debug, Clone)]
pub struct WorklistFilter {
    pub facility_id: Uuid,
    pub department_id: Option<Uuid>,
    pub modality: Option<Modality>,
    pub room_id: Option<Uuid>,
    /// Empty: every open one.
    pub statuses: Vec<ExamStatus>,
    pub limit: i64,
}

/// Most urgent first, then the earliest scheduled (unscheduled last), then the oldest.
pub async fn worklist(tx: &mut TenantTx, filter: &WorklistFilter) -> Result<Vec<ExamRow>> {
    let statuses: Vec<&str> = filter.statuses.iter().map(|s| s.as_db()).collect();
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {EXAM_COLUMNS} FROM imaging.exams WHERE facility_id = $1 \
         AND ($2::uuid IS NULL OR department_id = $2) \
         AND ($3::text IS NULL OR modality = $3) \
         AND ($4::uuid IS NULL OR room_id = $4) \
         AND (CASE WHEN cardinality($5::text[]) = 0 THEN status NOT IN ('final', 'cancelled') \
              ELSE status = ANY($5) END) \
         ORDER BY CASE priority WHEN 'emergency' THEN 0 WHEN 'urgent' THEN 1 ELSE 2 END, \
         scheduled_at NULLS LAST, ordered_at, accession LIMIT $6"
    )))
    .bind(filter.facility_id)
    .bind(filter.department_id)
    .bind(filter.modality)
    .bind(filter.room_id)
    .bind(&statuses)
    .bind(filter.limit)
    .fetch_all(&mut **tx)
    .await?)
}

/// Every version of the examinations' reports, oldest first.
pub async fn reports_of(tx: &mut TenantTx, exam_ids: &[Uuid]) -> Result<Vec<ReportRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {REPORT_COLUMNS} FROM imaging.reports WHERE exam_id = ANY($1) ORDER BY version"
    )))
    .bind(exam_ids)
    .fetch_all(&mut **tx)
    .await?)
}

pub async fn insert_report(tx: &mut TenantTx, report: &ReportRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO imaging.reports (tenant_id, id, exam_id, version, findings, conclusion, \
         status, written_by, written_at, amendment_reason) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(report.id)
    .bind(report.exam_id)
    .bind(report.version)
    .bind(&report.findings)
    .bind(&report.conclusion)
    .bind(report.status)
    .bind(report.written_by)
    .bind(report.written_at)
    .bind(&report.amendment_reason)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Writes a draft over: its text, its writer and when, under a new id (so a signature names
/// the draft the radiologist read).
pub async fn rewrite_draft(tx: &mut TenantTx, old_id: Uuid, report: &ReportRow) -> Result<()> {
    sqlx::query(
        "UPDATE imaging.reports SET id = $2, findings = $3, conclusion = $4, written_by = $5, \
         written_at = $6, amendment_reason = $7 WHERE id = $1 AND status = 'draft'",
    )
    .bind(old_id)
    .bind(report.id)
    .bind(&report.findings)
    .bind(&report.conclusion)
    .bind(report.written_by)
    .bind(report.written_at)
    .bind(&report.amendment_reason)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Signs a draft: the earlier signed version (if any) is superseded first.
pub async fn sign_report(
    tx: &mut TenantTx,
    report: &ReportRow,
    signed_by: Uuid,
    signed_at: DateTime<Utc>,
    digest: &str,
) -> Result<()> {
    sqlx::query(
        "UPDATE imaging.reports SET status = 'superseded' \
         WHERE exam_id = $1 AND status = 'signed'",
    )
    .bind(report.exam_id)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "UPDATE imaging.reports SET status = 'signed', signed_by = $2, signed_at = $3, \
         content_sha256 = $4 WHERE id = $1 AND status = 'draft'",
    )
    .bind(report.id)
    .bind(signed_by)
    .bind(signed_at)
    .bind(digest)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, FromRow)]
pub struct TurnaroundRow {
    pub key: String,
    pub name: String,
    pub ordered: i64,
    pub performed: i64,
    pub reported: i64,
    pub median_minutes: Option<f64>,
    pub p90_minutes: Option<f64>,
}

/// Examinations ordered in the period (not cancelled), grouped by `group` ("modality",
/// "service", "priority" or "room"): how many, performed, reported, and the minutes from the
/// order to the first signed report.
pub async fn turnaround(
    tx: &mut TenantTx,
    facility_id: Uuid,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    group: &str,
) -> Result<Vec<TurnaroundRow>> {
    let (key, name) = match group {
        "service" => ("e.service_code", "e.service_name"),
        "priority" => ("e.priority", "e.priority"),
        "room" => ("COALESCE(r.code, '')", "COALESCE(r.name, '')"),
        _ => ("COALESCE(e.modality, '')", "COALESCE(e.modality, '')"),
    };
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT key, max(name) AS name, count(*) AS ordered, \
         count(*) FILTER (WHERE performed_at IS NOT NULL) AS performed, \
         count(*) FILTER (WHERE final_at IS NOT NULL) AS reported, \
         percentile_cont(0.5) WITHIN GROUP (ORDER BY minutes) \
             FILTER (WHERE final_at IS NOT NULL) AS median_minutes, \
         percentile_cont(0.9) WITHIN GROUP (ORDER BY minutes) \
             FILTER (WHERE final_at IS NOT NULL) AS p90_minutes \
         FROM (SELECT {key} AS key, {name} AS name, e.performed_at, e.final_at, \
               extract(epoch FROM e.final_at - e.ordered_at)::float8 / 60 AS minutes \
               FROM imaging.exams e LEFT JOIN imaging.rooms r \
               ON r.tenant_id = e.tenant_id AND r.id = e.room_id \
               WHERE e.facility_id = $1 AND e.ordered_at >= $2 AND e.ordered_at < $3 \
               AND e.status <> 'cancelled') AS g \
         GROUP BY key ORDER BY key"
    )))
    .bind(facility_id)
    .bind(from)
    .bind(to)
    .fetch_all(&mut **tx)
    .await?)
}
