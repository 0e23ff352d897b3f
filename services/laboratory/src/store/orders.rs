//! Orders and their tests, specimens, results and critical alerts, and what the laboratory
//! keeps of the registry's patients.

use chrono::{DateTime, NaiveDate, Utc};
use hmis_platform::TenantTx;
use sqlx::FromRow;
use uuid::Uuid;

use crate::domain::{
    Flag, OrderStatus, Priority, RejectionReason, ResultStatus, Sex, SpecimenStatus,
};
use crate::error::{Error, Result};

/// Keeps what the registry said of a patient, unless a newer version is kept already.
pub async fn keep_patient(
    tx: &mut TenantTx,
    patient_id: Uuid,
    version: i64,
    (sex, birth_date): (Sex, Option<NaiveDate>),
) -> Result<()> {
    sqlx::query(
        "INSERT INTO laboratory.known_patients (tenant_id, patient_id, version, sex, birth_date) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, patient_id) DO UPDATE \
         SET version = EXCLUDED.version, sex = EXCLUDED.sex, birth_date = EXCLUDED.birth_date \
         WHERE laboratory.known_patients.version < EXCLUDED.version",
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

/// The patient's sex and birth date, if the registry said.
pub async fn patient_facts(
    tx: &mut TenantTx,
    patient_id: Uuid,
) -> Result<Option<(Sex, Option<NaiveDate>)>> {
    Ok(sqlx::query_as(
        "SELECT sex, birth_date FROM laboratory.known_patients WHERE patient_id = $1",
    )
    .bind(patient_id)
    .fetch_optional(&mut **tx)
    .await?)
}

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
    pub status: OrderStatus,
    pub reason: String,
    pub ordered_at: DateTime<Utc>,
    pub final_at: Option<DateTime<Utc>>,
    pub cancel_reason: String,
}

const ORDER_COLUMNS: &str = "id, referral_id, encounter_id, patient_id, admission_id, \
     department_id, facility_id, requested_by, priority, status, reason, ordered_at, final_at, \
     cancel_reason";

#[derive(Debug, Clone, FromRow)]
pub struct OrderTestRow {
    pub order_id: Uuid,
    pub test_code: String,
    pub test_name: String,
    pub section_code: String,
    pub specimen_id: Option<Uuid>,
}

/// Stores an order received from a referral with its tests; `false` when the referral's
/// order exists already (the event was seen before).
pub async fn insert_order(
    tx: &mut TenantTx,
    order: &OrderRow,
    tests: &[OrderTestRow],
) -> Result<bool> {
    let inserted = sqlx::query(
        "INSERT INTO laboratory.orders (tenant_id, id, referral_id, encounter_id, patient_id, \
         admission_id, department_id, facility_id, requested_by, priority, status, reason, \
         ordered_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
         ON CONFLICT ON CONSTRAINT orders_one_per_referral DO NOTHING",
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
    .rows_affected();
    if inserted == 0 {
        return Ok(false);
    }
    let codes: Vec<&str> = tests.iter().map(|test| test.test_code.as_str()).collect();
    let names: Vec<&str> = tests.iter().map(|test| test.test_name.as_str()).collect();
    let sections: Vec<&str> = tests
        .iter()
        .map(|test| test.section_code.as_str())
        .collect();
    sqlx::query(
        "INSERT INTO laboratory.order_tests (tenant_id, order_id, test_code, test_name, \
         section_code, position) \
         SELECT $1, $2, code, name, section, position::int \
         FROM unnest($3::text[], $4::text[], $5::text[]) WITH ORDINALITY AS t(code, name, section, position)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(order.id)
    .bind(&codes)
    .bind(&names)
    .bind(&sections)
    .execute(&mut **tx)
    .await?;
    Ok(true)
}

/// The order, locked for the change being made to it.
pub async fn lock_order(tx: &mut TenantTx, id: Uuid) -> Result<OrderRow> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ORDER_COLUMNS} FROM laboratory.orders WHERE id = $1 FOR UPDATE"
    )))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(Error::NotFound("order"))
}

pub async fn get_order(tx: &mut TenantTx, id: Uuid) -> Result<OrderRow> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ORDER_COLUMNS} FROM laboratory.orders WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(Error::NotFound("order"))
}

pub async fn get_orders(tx: &mut TenantTx, ids: &[Uuid]) -> Result<Vec<OrderRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ORDER_COLUMNS} FROM laboratory.orders WHERE id = ANY ($1)"
    )))
    .bind(ids)
    .fetch_all(&mut **tx)
    .await?)
}

pub async fn set_order_status(
    tx: &mut TenantTx,
    id: Uuid,
    status: OrderStatus,
    final_at: Option<DateTime<Utc>>,
) -> Result<()> {
    sqlx::query("UPDATE laboratory.orders SET status = $2, final_at = $3 WHERE id = $1")
        .bind(id)
        .bind(status)
        .bind(final_at)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub async fn cancel_order(tx: &mut TenantTx, id: Uuid, reason: &str) -> Result<()> {
    sqlx::query(
        "UPDATE laboratory.orders SET status = 'cancelled', cancel_reason = $2 WHERE id = $1",
    )
    .bind(id)
    .bind(reason)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Open orders of a facility for the laboratory's worklist: most urgent, then oldest first.
pub async fn worklist(
    tx: &mut TenantTx,
    (facility_id, department_id): (Uuid, Option<Uuid>),
    section: Option<&str>,
    statuses: &[OrderStatus],
    limit: i64,
) -> Result<Vec<OrderRow>> {
    let statuses: Vec<&str> = statuses.iter().map(|status| status.as_db()).collect();
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ORDER_COLUMNS} FROM laboratory.orders o \
         WHERE facility_id = $1 AND status NOT IN ('final', 'cancelled') \
           AND ($5::uuid IS NULL OR department_id = $5) \
           AND (cardinality($3::text[]) = 0 OR status = ANY ($3)) \
           AND ($2::text IS NULL OR EXISTS (SELECT 1 FROM laboratory.order_tests t \
                WHERE t.order_id = o.id AND t.section_code = $2)) \
         ORDER BY CASE priority WHEN 'emergency' THEN 0 WHEN 'urgent' THEN 1 ELSE 2 END, \
                  ordered_at, id LIMIT $4"
    )))
    .bind(facility_id)
    .bind(section)
    .bind(&statuses)
    .bind(limit)
    .bind(department_id)
    .fetch_all(&mut **tx)
    .await?)
}

pub async fn patient_orders(tx: &mut TenantTx, patient_id: Uuid) -> Result<Vec<OrderRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ORDER_COLUMNS} FROM laboratory.orders WHERE patient_id = $1 \
         ORDER BY ordered_at DESC, id DESC LIMIT 200"
    )))
    .bind(patient_id)
    .fetch_all(&mut **tx)
    .await?)
}

pub async fn order_tests(tx: &mut TenantTx, order_ids: &[Uuid]) -> Result<Vec<OrderTestRow>> {
    Ok(sqlx::query_as(
        "SELECT order_id, test_code, test_name, section_code, specimen_id \
         FROM laboratory.order_tests WHERE order_id = ANY ($1) ORDER BY order_id, position",
    )
    .bind(order_ids)
    .fetch_all(&mut **tx)
    .await?)
}

#[derive(Debug, Clone, FromRow)]
pub struct SpecimenRow {
    pub id: Uuid,
    pub accession: String,
    pub order_id: Uuid,
    pub specimen_type: String,
    pub container: String,
    pub test_codes: Vec<String>,
    pub status: SpecimenStatus,
    pub collected_by: Uuid,
    pub collected_at: DateTime<Utc>,
    pub received_by: Option<Uuid>,
    pub received_at: Option<DateTime<Utc>>,
    pub rejection_reason: Option<RejectionReason>,
    pub rejection_note: String,
    pub rejected_by: Option<Uuid>,
    pub rejected_at: Option<DateTime<Utc>>,
}

const SPECIMEN_COLUMNS: &str = "id, accession, order_id, specimen_type, container, test_codes, \
     status, collected_by, collected_at, received_by, received_at, rejection_reason, \
     rejection_note, rejected_by, rejected_at";

/// The next accession number drawn (unique, not gap-free: a rolled-back collection leaves a
/// hole, and nobody waits on another collection's commit).
pub async fn next_accession_number(tx: &mut TenantTx) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT nextval('laboratory.accession_numbers')")
            .fetch_one(&mut **tx)
            .await?,
    )
}

/// Stores a collected specimen and gives it its tests.
pub async fn insert_specimen(tx: &mut TenantTx, specimen: &SpecimenRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO laboratory.specimens (tenant_id, id, accession, order_id, specimen_type, \
         container, test_codes, status, collected_by, collected_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(specimen.id)
    .bind(&specimen.accession)
    .bind(specimen.order_id)
    .bind(&specimen.specimen_type)
    .bind(&specimen.container)
    .bind(&specimen.test_codes)
    .bind(specimen.status)
    .bind(specimen.collected_by)
    .bind(specimen.collected_at)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "UPDATE laboratory.order_tests SET specimen_id = $2 \
         WHERE order_id = $1 AND test_code = ANY ($3) AND specimen_id IS NULL",
    )
    .bind(specimen.order_id)
    .bind(specimen.id)
    .bind(&specimen.test_codes)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn specimens_of(tx: &mut TenantTx, order_ids: &[Uuid]) -> Result<Vec<SpecimenRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {SPECIMEN_COLUMNS} FROM laboratory.specimens WHERE order_id = ANY ($1) \
         ORDER BY collected_at, accession"
    )))
    .bind(order_ids)
    .fetch_all(&mut **tx)
    .await?)
}

/// The specimen with this accession number, locked for the change being made to it.
pub async fn lock_specimen(tx: &mut TenantTx, accession: &str) -> Result<Option<SpecimenRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {SPECIMEN_COLUMNS} FROM laboratory.specimens WHERE accession = $1 FOR UPDATE"
    )))
    .bind(accession)
    .fetch_optional(&mut **tx)
    .await?)
}

pub async fn get_specimen(tx: &mut TenantTx, accession: &str) -> Result<Option<SpecimenRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {SPECIMEN_COLUMNS} FROM laboratory.specimens WHERE accession = $1"
    )))
    .bind(accession)
    .fetch_optional(&mut **tx)
    .await?)
}

pub async fn receive_specimen(
    tx: &mut TenantTx,
    id: Uuid,
    by: Uuid,
    at: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "UPDATE laboratory.specimens SET status = 'received', received_by = $2, received_at = $3 \
         WHERE id = $1",
    )
    .bind(id)
    .bind(by)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Rejects a specimen and frees its tests to be collected again.
pub async fn reject_specimen(
    tx: &mut TenantTx,
    id: Uuid,
    (reason, note): (RejectionReason, &str),
    by: Uuid,
    at: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "UPDATE laboratory.specimens SET status = 'rejected', rejection_reason = $2, \
         rejection_note = $3, rejected_by = $4, rejected_at = $5 WHERE id = $1",
    )
    .bind(id)
    .bind(reason)
    .bind(note)
    .bind(by)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    sqlx::query("UPDATE laboratory.order_tests SET specimen_id = NULL WHERE specimen_id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

#[derive(Debug, Clone, FromRow)]
pub struct ResultRow {
    pub id: Uuid,
    pub order_id: Uuid,
    pub patient_id: Uuid,
    pub test_code: String,
    pub value: String,
    pub unit: String,
    pub flag: Flag,
    pub reference_range: String,
    pub status: ResultStatus,
    pub source: String,
    pub entered_by: Uuid,
    pub observed_at: DateTime<Utc>,
    pub technical_by: Option<Uuid>,
    pub technical_at: Option<DateTime<Utc>>,
    pub medical_by: Option<Uuid>,
    pub medical_at: Option<DateTime<Utc>>,
    pub supersedes_id: Option<Uuid>,
    pub correction_reason: String,
    pub corrected: bool,
}

const RESULT_COLUMNS: &str = "id, order_id, patient_id, test_code, value, unit, flag, \
     reference_range, status, source, entered_by, observed_at, technical_by, technical_at, \
     medical_by, medical_at, supersedes_id, correction_reason, corrected";

/// The current results of the orders (one per test at most).
pub async fn current_results(tx: &mut TenantTx, order_ids: &[Uuid]) -> Result<Vec<ResultRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {RESULT_COLUMNS} FROM laboratory.results \
         WHERE order_id = ANY ($1) AND status <> 'superseded' ORDER BY order_id, observed_at, id"
    )))
    .bind(order_ids)
    .fetch_all(&mut **tx)
    .await?)
}

pub async fn get_result(tx: &mut TenantTx, id: Uuid) -> Result<ResultRow> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {RESULT_COLUMNS} FROM laboratory.results WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(Error::NotFound("result"))
}

/// A result to store, with its number when it has one (for the cumulative view) and the
/// message it came in.
#[derive(Debug, Clone)]
pub struct NewResult {
    pub row: ResultRow,
    pub numeric: Option<String>,
    pub message_id: Option<Uuid>,
}

/// Stores results in one statement.
pub async fn insert_results(tx: &mut TenantTx, results: &[NewResult]) -> Result<()> {
    if results.is_empty() {
        return Ok(());
    }
    let column = |pick: fn(&NewResult) -> Option<String>| -> Vec<Option<String>> {
        results.iter().map(pick).collect()
    };
    let ids: Vec<Uuid> = results.iter().map(|r| r.row.id).collect();
    let orders: Vec<Uuid> = results.iter().map(|r| r.row.order_id).collect();
    let patients: Vec<Uuid> = results.iter().map(|r| r.row.patient_id).collect();
    let entered_by: Vec<Uuid> = results.iter().map(|r| r.row.entered_by).collect();
    let observed: Vec<DateTime<Utc>> = results.iter().map(|r| r.row.observed_at).collect();
    let messages: Vec<Option<Uuid>> = results.iter().map(|r| r.message_id).collect();
    let technical_by: Vec<Option<Uuid>> = results.iter().map(|r| r.row.technical_by).collect();
    let technical_at: Vec<Option<DateTime<Utc>>> =
        results.iter().map(|r| r.row.technical_at).collect();
    let supersedes: Vec<Option<Uuid>> = results.iter().map(|r| r.row.supersedes_id).collect();
    let corrected: Vec<bool> = results.iter().map(|r| r.row.corrected).collect();
    sqlx::query(
        "INSERT INTO laboratory.results (tenant_id, id, order_id, patient_id, test_code, value, \
         value_numeric, unit, flag, reference_range, status, source, message_id, entered_by, \
         observed_at, technical_by, technical_at, supersedes_id, correction_reason, corrected) \
         SELECT $1, r.id, r.order_id, r.patient_id, r.test_code, r.value, r.value_numeric::numeric, \
                r.unit, r.flag, r.reference_range, r.status, r.source, r.message_id, r.entered_by, \
                r.observed_at, r.technical_by, r.technical_at, r.supersedes_id, \
                r.correction_reason, r.corrected \
         FROM unnest($2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::text[], $7::text[], \
                     $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::uuid[], \
                     $14::uuid[], $15::timestamptz[], $16::uuid[], $17::timestamptz[], \
                     $18::uuid[], $19::text[], $20::bool[]) \
              AS r(id, order_id, patient_id, test_code, value, value_numeric, unit, flag, \
                   reference_range, status, source, message_id, entered_by, observed_at, \
                   technical_by, technical_at, supersedes_id, correction_reason, corrected)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(&ids)
    .bind(&orders)
    .bind(&patients)
    .bind(column(|r| Some(r.row.test_code.clone())))
    .bind(column(|r| Some(r.row.value.clone())))
    .bind(column(|r| r.numeric.clone()))
    .bind(column(|r| Some(r.row.unit.clone())))
    .bind(column(|r| Some(r.row.flag.as_db().to_owned())))
    .bind(column(|r| Some(r.row.reference_range.clone())))
    .bind(column(|r| Some(r.row.status.as_db().to_owned())))
    .bind(column(|r| Some(r.row.source.clone())))
    .bind(&messages)
    .bind(&entered_by)
    .bind(&observed)
    .bind(&technical_by)
    .bind(&technical_at)
    .bind(&supersedes)
    .bind(column(|r| Some(r.row.correction_reason.clone())))
    .bind(&corrected)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn supersede(tx: &mut TenantTx, id: Uuid) -> Result<()> {
    sqlx::query("UPDATE laboratory.results SET status = 'superseded' WHERE id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Moves the order's current results of `tests` (all when empty) from `from` to `to`,
/// signed by `by`; answers the results moved.
pub async fn validate(
    tx: &mut TenantTx,
    order_id: Uuid,
    tests: &[String],
    (from, to): (ResultStatus, ResultStatus),
    by: Uuid,
    at: DateTime<Utc>,
) -> Result<Vec<ResultRow>> {
    let (by_column, at_column) = if to == ResultStatus::Final {
        ("medical_by", "medical_at")
    } else {
        ("technical_by", "technical_at")
    };
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE laboratory.results SET status = $4, {by_column} = $5, {at_column} = $6 \
         WHERE order_id = $1 AND status = $3 AND (cardinality($2::text[]) = 0 OR test_code = ANY ($2)) \
         RETURNING {RESULT_COLUMNS}"
    )))
    .bind(order_id)
    .bind(tests)
    .bind(from)
    .bind(to)
    .bind(by)
    .bind(at)
    .fetch_all(&mut **tx)
    .await?)
}

/// Every result of one test for a patient, oldest first, superseded ones included.
pub async fn cumulative(
    tx: &mut TenantTx,
    patient_id: Uuid,
    test_code: &str,
) -> Result<Vec<ResultRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {RESULT_COLUMNS} FROM laboratory.results \
         WHERE patient_id = $1 AND test_code = $2 ORDER BY observed_at, id LIMIT 1000"
    )))
    .bind(patient_id)
    .bind(test_code)
    .fetch_all(&mut **tx)
    .await?)
}

#[derive(Debug, Clone, FromRow)]
pub struct AlertRow {
    pub id: Uuid,
    pub result_id: Uuid,
    pub order_id: Uuid,
    pub patient_id: Uuid,
    pub facility_id: Uuid,
    pub department_id: Option<Uuid>,
    pub requested_by: Uuid,
    pub raised_at: DateTime<Utc>,
    pub acknowledged_by: Option<Uuid>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub acknowledgment_note: String,
    pub test_code: String,
    pub test_name: String,
    pub value: String,
    pub unit: String,
    pub flag: Flag,
}

const ALERT_SELECT: &str = "SELECT a.id, a.result_id, a.order_id, a.patient_id, a.facility_id, \
     a.department_id, a.requested_by, a.raised_at, a.acknowledged_by, a.acknowledged_at, \
     a.acknowledgment_note, r.test_code, t.test_name, r.value, r.unit, r.flag \
     FROM laboratory.alerts a JOIN laboratory.results r ON r.id = a.result_id \
     JOIN laboratory.order_tests t ON t.order_id = r.order_id AND t.test_code = r.test_code";

/// Raises the alert of a critical result (once per result).
pub async fn insert_alert(
    tx: &mut TenantTx,
    id: Uuid,
    result: &ResultRow,
    order: &OrderRow,
    at: DateTime<Utc>,
) -> Result<bool> {
    let inserted = sqlx::query(
        "INSERT INTO laboratory.alerts (tenant_id, id, result_id, order_id, patient_id, \
         facility_id, department_id, requested_by, raised_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(id)
    .bind(result.id)
    .bind(order.id)
    .bind(order.patient_id)
    .bind(order.facility_id)
    .bind(order.department_id)
    .bind(order.requested_by)
    .bind(at)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

pub async fn get_alert(tx: &mut TenantTx, id: Uuid) -> Result<AlertRow> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{ALERT_SELECT} WHERE a.id = $1"
    )))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(Error::NotFound("alert"))
}

pub async fn list_alerts(
    tx: &mut TenantTx,
    facility_id: Uuid,
    department_id: Option<Uuid>,
    unacknowledged_only: bool,
) -> Result<Vec<AlertRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{ALERT_SELECT} WHERE a.facility_id = $1 \
           AND ($2::uuid IS NULL OR a.department_id = $2) \
           AND (NOT $3 OR a.acknowledged_at IS NULL) \
         ORDER BY a.acknowledged_at IS NOT NULL, a.raised_at DESC LIMIT 200"
    )))
    .bind(facility_id)
    .bind(department_id)
    .bind(unacknowledged_only)
    .fetch_all(&mut **tx)
    .await?)
}

/// Acknowledges an alert once; `false` when it was acknowledged already.
pub async fn acknowledge_alert(
    tx: &mut TenantTx,
    id: Uuid,
    by: Uuid,
    note: &str,
    at: DateTime<Utc>,
) -> Result<bool> {
    let updated = sqlx::query(
        "UPDATE laboratory.alerts SET acknowledged_by = $2, acknowledged_at = $3, \
         acknowledgment_note = $4 WHERE id = $1 AND acknowledged_at IS NULL",
    )
    .bind(id)
    .bind(by)
    .bind(at)
    .bind(note)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(updated == 1)
}

/// One line of the turnaround report.
#[derive(Debug, Clone, FromRow)]
pub struct TurnaroundRow {
    pub key: String,
    pub name: String,
    pub ordered: i64,
    pub released: i64,
    pub median_minutes: Option<f64>,
    pub p90_minutes: Option<f64>,
}

/// The turnaround of the tests ordered in a facility in [from, to), grouped by `group`
/// ("test", "section" or "priority"): each test's time from its order to its current result's
/// medical validation.
pub async fn turnaround(
    tx: &mut TenantTx,
    facility_id: Uuid,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    group: &str,
) -> Result<Vec<TurnaroundRow>> {
    let (key, name) = match group {
        "section" => ("t.section_code", "coalesce(s.name, t.section_code)"),
        "priority" => ("o.priority", "o.priority"),
        "source" => ("coalesce(r.source, '')", "coalesce(r.source, '')"),
        _ => ("t.test_code", "t.test_name"),
    };
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {key} AS key, min({name}) AS name, count(*) AS ordered, \
                count(r.medical_at) AS released, \
                (percentile_cont(0.5) WITHIN GROUP (ORDER BY \
                    extract(epoch FROM r.medical_at - o.ordered_at) / 60))::float8 AS median_minutes, \
                (percentile_cont(0.9) WITHIN GROUP (ORDER BY \
                    extract(epoch FROM r.medical_at - o.ordered_at) / 60))::float8 AS p90_minutes \
         FROM laboratory.orders o \
         JOIN laboratory.order_tests t ON t.tenant_id = o.tenant_id AND t.order_id = o.id \
         LEFT JOIN laboratory.sections s ON s.tenant_id = t.tenant_id AND s.code = t.section_code \
         LEFT JOIN laboratory.results r ON r.tenant_id = t.tenant_id AND r.order_id = t.order_id \
              AND r.test_code = t.test_code AND r.status = 'final' \
         WHERE o.facility_id = $1 AND o.ordered_at >= $2 AND o.ordered_at < $3 \
           AND o.status <> 'cancelled' \
         GROUP BY {key} ORDER BY {key}"
    )))
    .bind(facility_id)
    .bind(from)
    .bind(to)
    .fetch_all(&mut **tx)
    .await?)
}
