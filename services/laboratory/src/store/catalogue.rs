//! The catalogue (sections, tests with their ranges), the analysers with their routes, and
//! the HL7 message log.

use chrono::{DateTime, Utc};
use hmis_platform::TenantId;
use hmis_platform::TenantTx;
use sqlx::types::Json;
use sqlx::{FromRow, PgPool};
use uuid::Uuid;

use crate::domain::{ReferenceRange, ResultKind};
use crate::error::{Error, Result};

#[derive(Debug, Clone, FromRow)]
pub struct SectionRow {
    pub code: String,
    pub name: String,
    pub loinc_classes: Vec<String>,
}

pub async fn upsert_section(tx: &mut TenantTx, section: &SectionRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO laboratory.sections (tenant_id, code, name, loinc_classes) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id, code) DO UPDATE \
         SET name = EXCLUDED.name, loinc_classes = EXCLUDED.loinc_classes",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(&section.code)
    .bind(&section.name)
    .bind(&section.loinc_classes)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn list_sections(tx: &mut TenantTx) -> Result<Vec<SectionRow>> {
    Ok(
        sqlx::query_as("SELECT code, name, loinc_classes FROM laboratory.sections ORDER BY code")
            .fetch_all(&mut **tx)
            .await?,
    )
}

/// The section whose LOINC classes hold `class`, if one does.
pub async fn section_for_class(tx: &mut TenantTx, class: &str) -> Result<Option<String>> {
    Ok(sqlx::query_scalar(
        "SELECT code FROM laboratory.sections WHERE $1 = ANY (loinc_classes) ORDER BY code LIMIT 1",
    )
    .bind(class)
    .fetch_optional(&mut **tx)
    .await?)
}

#[derive(Debug, Clone, FromRow)]
pub struct TestRow {
    pub code: String,
    pub name: String,
    pub section_code: String,
    pub loinc_class: String,
    pub specimen_type: String,
    pub container: String,
    pub result_kind: ResultKind,
    pub unit: String,
    pub ranges: Json<Vec<ReferenceRange>>,
    pub member_codes: Vec<String>,
    pub answers: Vec<String>,
    pub normal_answers: Vec<String>,
    pub active: bool,
    pub version: i64,
}

const TEST_COLUMNS: &str = "code, name, section_code, loinc_class, specimen_type, container, \
     result_kind, unit, ranges, member_codes, answers, normal_answers, active, version";

/// Adds a test, or replaces it when `expected_version` is its version; answers the version
/// it now has.
pub async fn upsert_test(
    tx: &mut TenantTx,
    test: &TestRow,
    expected_version: Option<i64>,
) -> Result<i64> {
    let query = match expected_version {
        None => {
            "INSERT INTO laboratory.tests (tenant_id, code, name, section_code, loinc_class, \
             specimen_type, container, result_kind, unit, ranges, member_codes, answers, \
             normal_answers, active) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, \
             $13, $14) ON CONFLICT (tenant_id, code) DO NOTHING RETURNING version"
        }
        Some(_) => {
            "UPDATE laboratory.tests SET name = $3, section_code = $4, loinc_class = $5, \
             specimen_type = $6, container = $7, result_kind = $8, unit = $9, ranges = $10, \
             member_codes = $11, answers = $12, normal_answers = $13, active = $14, \
             version = version + 1 WHERE tenant_id = $1 AND code = $2 AND version = $15 \
             RETURNING version"
        }
    };
    let version: Option<i64> = sqlx::query_scalar(query)
        .bind(tx.tenant_id().as_uuid())
        .bind(&test.code)
        .bind(&test.name)
        .bind(&test.section_code)
        .bind(&test.loinc_class)
        .bind(&test.specimen_type)
        .bind(&test.container)
        .bind(test.result_kind)
        .bind(&test.unit)
        .bind(&test.ranges)
        .bind(&test.member_codes)
        .bind(&test.answers)
        .bind(&test.normal_answers)
        .bind(test.active)
        .bind(expected_version.unwrap_or_default())
        .fetch_optional(&mut **tx)
        .await?;
    match (version, expected_version) {
        (Some(version), _) => Ok(version),
        (None, None) => Err(Error::Exists("a test with that code")),
        (None, Some(_)) => Err(Error::Stale("test")),
    }
}

pub async fn get_tests(tx: &mut TenantTx, codes: &[String]) -> Result<Vec<TestRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {TEST_COLUMNS} FROM laboratory.tests WHERE code = ANY ($1)"
    )))
    .bind(codes)
    .fetch_all(&mut **tx)
    .await?)
}

pub async fn list_tests(tx: &mut TenantTx, section: Option<&str>) -> Result<Vec<TestRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {TEST_COLUMNS} FROM laboratory.tests \
         WHERE $1::text IS NULL OR section_code = $1 ORDER BY section_code, name"
    )))
    .bind(section)
    .fetch_all(&mut **tx)
    .await?)
}

#[derive(Debug, Clone, FromRow)]
pub struct AnalyserRow {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub sending_application: String,
    pub sending_facility: String,
    pub facility_id: Uuid,
    pub section_code: String,
    pub active: bool,
    /// "host:port" where it takes orders; empty: none.
    pub order_endpoint: String,
}

const ANALYSER_COLUMNS: &str = "id, code, name, sending_application, sending_facility, \
     facility_id, section_code, active, order_endpoint";

/// Registers an analyser and its route (what its messages' MSH-3 and MSH-4 say).
pub async fn insert_analyser(
    tx: &mut TenantTx,
    analyser: &AnalyserRow,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO laboratory.analysers (tenant_id, id, code, name, sending_application, \
         sending_facility, facility_id, section_code, active, created_at, order_endpoint) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(analyser.id)
    .bind(&analyser.code)
    .bind(&analyser.name)
    .bind(&analyser.sending_application)
    .bind(&analyser.sending_facility)
    .bind(analyser.facility_id)
    .bind(&analyser.section_code)
    .bind(analyser.active)
    .bind(now)
    .bind(&analyser.order_endpoint)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO laboratory.analyser_routes (tenant_id, analyser_id, sending_application, \
         sending_facility) VALUES ($1, $2, $3, $4)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(analyser.id)
    .bind(&analyser.sending_application)
    .bind(&analyser.sending_facility)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn list_analysers(tx: &mut TenantTx) -> Result<Vec<AnalyserRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ANALYSER_COLUMNS} FROM laboratory.analysers ORDER BY code"
    )))
    .fetch_all(&mut **tx)
    .await?)
}

/// Whose analyser sends as `application` at `facility`: read before any tenant is known
/// (the routes are readable by every connection, like IAM's tenant codes).
pub async fn analyser_route(
    pool: &PgPool,
    application: &str,
    facility: &str,
) -> Result<Option<(TenantId, Uuid)>> {
    let found: Option<(Uuid, Uuid)> = sqlx::query_as(
        "SELECT tenant_id, analyser_id FROM laboratory.analyser_routes \
         WHERE sending_application = $1 AND sending_facility = $2",
    )
    .bind(application)
    .bind(facility)
    .fetch_optional(pool)
    .await?;
    Ok(found.map(|(tenant, analyser)| (TenantId::new(tenant), analyser)))
}

/// A message of the log: a result message received, or an order sent (`outbound`, with
/// its delivery: pending, delivered, refused or failed).
#[derive(Debug, Clone, FromRow)]
pub struct MessageRow {
    pub id: Uuid,
    pub analyser_code: String,
    pub control_id: String,
    pub message_type: String,
    /// When it was received, or queued to be sent.
    pub received_at: DateTime<Utc>,
    pub acknowledgment: String,
    pub error: String,
    pub results: i32,
    pub outbound: bool,
    pub delivery: String,
    pub attempts: i32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub accession: String,
}

/// The analyser a message comes from: its code, whether it is active, and whether a message
/// with this control id was accepted from it already (one round trip for both).
pub async fn analyser_for_message(
    tx: &mut TenantTx,
    analyser_id: Uuid,
    control_id: &str,
) -> Result<(String, bool, bool)> {
    sqlx::query_as(
        "SELECT a.code, a.active, EXISTS (SELECT 1 FROM laboratory.hl7_messages m \
                WHERE m.analyser_id = a.id AND m.control_id = $2 AND m.acknowledgment = 'AA') \
         FROM laboratory.analysers a WHERE a.id = $1",
    )
    .bind(analyser_id)
    .bind(control_id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(Error::NotFound("analyser"))
}

/// Logs a message as answered. An accepted message holds its control id
/// (`hl7_messages_once`): `false` when another copy was accepted first.
#[allow(clippy::too_many_arguments)]
pub async fn log_message(
    tx: &mut TenantTx,
    id: Uuid,
    analyser_id: Uuid,
    (control_id, message_type): (&str, &str),
    acknowledgment: &str,
    error: &str,
    results: i32,
    now: DateTime<Utc>,
) -> Result<bool> {
    let inserted = sqlx::query(
        "INSERT INTO laboratory.hl7_messages (tenant_id, id, analyser_id, control_id, \
         message_type, received_at, acknowledgment, error, results) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(id)
    .bind(analyser_id)
    .bind(control_id)
    .bind(message_type)
    .bind(now)
    .bind(acknowledgment)
    .bind(error)
    .bind(results)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

pub async fn list_messages(tx: &mut TenantTx, limit: i64) -> Result<Vec<MessageRow>> {
    Ok(sqlx::query_as(
        "(SELECT m.id, a.code AS analyser_code, m.control_id, m.message_type, m.received_at, \
          m.acknowledgment, m.error, m.results, false AS outbound, '' AS delivery, \
          0 AS attempts, NULL::timestamptz AS next_attempt_at, '' AS accession \
          FROM laboratory.hl7_messages m JOIN laboratory.analysers a ON a.id = m.analyser_id \
          ORDER BY m.received_at DESC, m.id DESC LIMIT $1) \
         UNION ALL \
         (SELECT o.id, a.code, o.control_id, o.message_type, o.queued_at, o.acknowledgment, \
          o.error, 0, true, o.status, o.attempts, \
          CASE WHEN o.status = 'pending' THEN o.next_attempt_at END, o.accession \
          FROM laboratory.outbound_messages o JOIN laboratory.analysers a ON a.id = o.analyser_id \
          ORDER BY o.queued_at DESC, o.id DESC LIMIT $1) \
         ORDER BY received_at DESC, id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(&mut **tx)
    .await?)
}

/// The analysers of a facility that take orders (active, with an endpoint).
pub async fn order_analysers(tx: &mut TenantTx, facility_id: Uuid) -> Result<Vec<AnalyserRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ANALYSER_COLUMNS} FROM laboratory.analysers \
         WHERE facility_id = $1 AND active AND order_endpoint <> '' ORDER BY code"
    )))
    .bind(facility_id)
    .fetch_all(&mut **tx)
    .await?)
}

/// An order message queued for an analyser.
#[derive(Debug, Clone)]
pub struct OutboundRow {
    pub id: Uuid,
    pub analyser_id: Uuid,
    pub specimen_id: Uuid,
    pub accession: String,
    pub control_id: String,
    pub message_type: String,
    pub message: String,
    pub queued_at: DateTime<Utc>,
}

/// Queues a message, due at once.
pub async fn queue_outbound(tx: &mut TenantTx, row: &OutboundRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO laboratory.outbound_messages (tenant_id, id, analyser_id, specimen_id, \
         accession, control_id, message_type, message, status, queued_at, next_attempt_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', $9, $9)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(row.id)
    .bind(row.analyser_id)
    .bind(row.specimen_id)
    .bind(&row.accession)
    .bind(&row.control_id)
    .bind(&row.message_type)
    .bind(&row.message)
    .bind(row.queued_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Messages due to be sent, across tenants (the worker's policy shows it only pending ones).
pub async fn due_outbound(
    worker_pool: &PgPool,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<(TenantId, Uuid)>> {
    let due: Vec<(Uuid, Uuid)> = sqlx::query_as(
        "SELECT tenant_id, id FROM laboratory.outbound_messages \
         WHERE status = 'pending' AND next_attempt_at <= $1 ORDER BY next_attempt_at LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(worker_pool)
    .await?;
    Ok(due
        .into_iter()
        .map(|(tenant, id)| (TenantId::new(tenant), id))
        .collect())
}

/// A message being sent: locked for this sender (another sender skips it) while still due.
#[derive(Debug, Clone, FromRow)]
pub struct Sending {
    pub id: Uuid,
    pub message: String,
    pub attempts: i32,
    pub endpoint: String,
}

pub async fn lock_outbound(
    tx: &mut TenantTx,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<Sending>> {
    Ok(sqlx::query_as(
        "SELECT o.id, o.message, o.attempts, a.order_endpoint AS endpoint \
         FROM laboratory.outbound_messages o JOIN laboratory.analysers a ON a.id = o.analyser_id \
         WHERE o.id = $1 AND o.status = 'pending' AND o.next_attempt_at <= $2 \
         FOR UPDATE OF o SKIP LOCKED",
    )
    .bind(id)
    .bind(now)
    .fetch_optional(&mut **tx)
    .await?)
}

/// What one attempt came to.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// pending (to be tried again), delivered, refused or failed.
    pub status: &'static str,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub answered_at: Option<DateTime<Utc>>,
    pub acknowledgment: String,
    pub error: String,
}

pub async fn record_attempt(tx: &mut TenantTx, id: Uuid, attempt: &Attempt) -> Result<()> {
    sqlx::query(
        "UPDATE laboratory.outbound_messages SET status = $2, attempts = $3, \
         next_attempt_at = $4, answered_at = $5, acknowledgment = $6, error = $7 WHERE id = $1",
    )
    .bind(id)
    .bind(attempt.status)
    .bind(attempt.attempts)
    .bind(attempt.next_attempt_at)
    .bind(attempt.answered_at)
    .bind(&attempt.acknowledgment)
    .bind(&attempt.error)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
