//! What nutrition keeps of patients: food restrictions, diet orders, and who is in which
//! ward (the admissions' stays, from their events).

use std::collections::{BTreeSet, HashMap};

use super::*;
use crate::domain::{OrderSource, RestrictionKind};

#[derive(Debug, Clone, FromRow)]
pub struct RestrictionRow {
    pub id: Uuid,
    pub patient_id: Uuid,
    pub kind: RestrictionKind,
    pub allergen: String,
    pub note: String,
    pub recorded_by: Uuid,
    pub recorded_at: DateTime<Utc>,
}

const RESTRICTION_COLUMNS: &str = "id, patient_id, kind, allergen, note, recorded_by, recorded_at";

pub async fn insert_restriction(tx: &mut TenantTx, row: &RestrictionRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO nutrition.restrictions (tenant_id, id, patient_id, kind, allergen, note, \
         recorded_by, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(row.id)
    .bind(row.patient_id)
    .bind(row.kind)
    .bind(&row.allergen)
    .bind(&row.note)
    .bind(row.recorded_by)
    .bind(row.recorded_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Keeps a restriction unless the patient has that allergen in force already.
pub async fn keep_restriction(tx: &mut TenantTx, row: &RestrictionRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO nutrition.restrictions (tenant_id, id, patient_id, kind, allergen, note, \
         recorded_by, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (tenant_id, patient_id, allergen) WHERE ended_at IS NULL DO NOTHING",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(row.id)
    .bind(row.patient_id)
    .bind(row.kind)
    .bind(&row.allergen)
    .bind(&row.note)
    .bind(row.recorded_by)
    .bind(row.recorded_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Ends the restriction `id` (still in force); the restriction as it was.
pub async fn end_restriction(
    tx: &mut TenantTx,
    id: Uuid,
    (ended_by, reason): (Uuid, &str),
    now: DateTime<Utc>,
) -> Result<RestrictionRow> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE nutrition.restrictions SET ended_by = $2, ended_at = $3, end_reason = $4 \
         WHERE id = $1 AND ended_at IS NULL RETURNING {RESTRICTION_COLUMNS}"
    )))
    .bind(id)
    .bind(ended_by)
    .bind(now)
    .bind(reason)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(Error::NotFound("restriction"))
}

/// The restrictions in force of a patient.
pub async fn restrictions_of_patient(
    tx: &mut TenantTx,
    patient_id: Uuid,
) -> Result<Vec<RestrictionRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {RESTRICTION_COLUMNS} FROM nutrition.restrictions \
         WHERE patient_id = $1 AND ended_at IS NULL ORDER BY allergen"
    )))
    .bind(patient_id)
    .fetch_all(&mut **tx)
    .await?)
}

/// The allergens in force of each of `patients` who has some.
pub async fn restrictions_of(
    tx: &mut TenantTx,
    patients: &[Uuid],
) -> Result<HashMap<Uuid, BTreeSet<String>>> {
    let rows: Vec<(Uuid, String)> = sqlx::query_as(
        "SELECT patient_id, allergen FROM nutrition.restrictions \
         WHERE patient_id = ANY($1) AND ended_at IS NULL",
    )
    .bind(patients)
    .fetch_all(&mut **tx)
    .await?;
    let mut found: HashMap<Uuid, BTreeSet<String>> = HashMap::new();
    for (patient, allergen) in rows {
        found.entry(patient).or_default().insert(allergen);
    }
    Ok(found)
}

#[derive(Debug, Clone, FromRow)]
pub struct DietOrderRow {
    pub id: Uuid,
    pub patient_id: Uuid,
    pub diet_id: Uuid,
    pub start_at: DateTime<Utc>,
    pub end_at: Option<DateTime<Utc>>,
    pub source: OrderSource,
    pub operation_id: Option<Uuid>,
    pub note: String,
    pub ordered_by: Option<Uuid>,
}

const ORDER_COLUMNS: &str =
    "id, patient_id, diet_id, start_at, end_at, source, operation_id, note, ordered_by";

/// Ends the patient's ordered diet that is on at `at` there.
pub async fn end_current_diet(
    tx: &mut TenantTx,
    patient_id: Uuid,
    at: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "UPDATE nutrition.diet_orders SET end_at = $2 WHERE patient_id = $1 \
         AND source = 'ordered' AND start_at < $2 AND (end_at IS NULL OR end_at > $2)",
    )
    .bind(patient_id)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn insert_diet_order(
    tx: &mut TenantTx,
    order: &DietOrderRow,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO nutrition.diet_orders (tenant_id, id, patient_id, diet_id, start_at, \
         end_at, source, operation_id, note, ordered_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(order.id)
    .bind(order.patient_id)
    .bind(order.diet_id)
    .bind(order.start_at)
    .bind(order.end_at)
    .bind(order.source)
    .bind(order.operation_id)
    .bind(&order.note)
    .bind(order.ordered_by)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Puts the patient nil by mouth for an operation (or moves the period it already has).
pub async fn put_operation_fast(
    tx: &mut TenantTx,
    (operation_id, patient_id): (Uuid, Uuid),
    diet_id: Uuid,
    (start_at, end_at): (DateTime<Utc>, DateTime<Utc>),
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO nutrition.diet_orders (tenant_id, id, patient_id, diet_id, start_at, \
         end_at, source, operation_id, note, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 'operation', $7, 'nil by mouth before an operation', \
         $8) ON CONFLICT (tenant_id, operation_id) WHERE source = 'operation' \
         DO UPDATE SET start_at = EXCLUDED.start_at, end_at = EXCLUDED.end_at",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(Uuid::now_v7())
    .bind(patient_id)
    .bind(diet_id)
    .bind(start_at)
    .bind(end_at)
    .bind(operation_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Ends an operation's nil by mouth at `at` (or drops it, if it had not begun by then).
pub async fn end_operation_fast(
    tx: &mut TenantTx,
    operation_id: Uuid,
    at: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "DELETE FROM nutrition.diet_orders WHERE source = 'operation' AND operation_id = $1 \
         AND start_at >= $2",
    )
    .bind(operation_id)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "UPDATE nutrition.diet_orders SET end_at = $2 WHERE source = 'operation' \
         AND operation_id = $1 AND (end_at IS NULL OR end_at > $2)",
    )
    .bind(operation_id)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The patient's diet orders, newest first.
pub async fn diet_orders_of(tx: &mut TenantTx, patient_id: Uuid) -> Result<Vec<DietOrderRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ORDER_COLUMNS} FROM nutrition.diet_orders WHERE patient_id = $1 \
         ORDER BY start_at DESC, id DESC"
    )))
    .bind(patient_id)
    .fetch_all(&mut **tx)
    .await?)
}

/// The diet each of `patients` with an order has at `at`: nil by mouth for an operation
/// first, else the ordered diet on then.
pub async fn ordered_diets_at(
    tx: &mut TenantTx,
    patients: &[Uuid],
    at: DateTime<Utc>,
) -> Result<HashMap<Uuid, Uuid>> {
    let rows: Vec<(Uuid, Uuid)> = sqlx::query_as(
        "SELECT DISTINCT ON (patient_id) patient_id, diet_id FROM nutrition.diet_orders \
         WHERE patient_id = ANY($1) AND start_at <= $2 AND (end_at IS NULL OR end_at > $2) \
         ORDER BY patient_id, (source = 'operation') DESC, start_at DESC",
    )
    .bind(patients)
    .bind(at)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.into_iter().collect())
}

/// An admission as its latest event tells it.
#[derive(Debug, Clone)]
pub struct AdmissionFacts {
    pub admission_id: Uuid,
    pub version: i64,
    pub patient_id: Uuid,
    pub facility_id: Uuid,
    /// Its ward and bed periods (none for a cancelled admission).
    pub stays: Vec<StayFacts>,
}

#[derive(Debug, Clone)]
pub struct StayFacts {
    pub department_id: Uuid,
    pub bed_id: Option<Uuid>,
    pub start_at: DateTime<Utc>,
    pub end_at: Option<DateTime<Utc>>,
}

/// Keeps the admission's stays if this version is newer than the one kept; whether it was.
pub async fn replace_admission(tx: &mut TenantTx, admission: &AdmissionFacts) -> Result<bool> {
    let newer: Option<Uuid> = sqlx::query_scalar(
        "INSERT INTO nutrition.admissions (tenant_id, admission_id, version, patient_id, \
         facility_id) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (tenant_id, admission_id) DO UPDATE SET version = EXCLUDED.version \
         WHERE nutrition.admissions.version < EXCLUDED.version RETURNING admission_id",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(admission.admission_id)
    .bind(admission.version)
    .bind(admission.patient_id)
    .bind(admission.facility_id)
    .fetch_optional(&mut **tx)
    .await?;
    if newer.is_none() {
        return Ok(false);
    }
    sqlx::query("DELETE FROM nutrition.stays WHERE admission_id = $1")
        .bind(admission.admission_id)
        .execute(&mut **tx)
        .await?;
    let stays = &admission.stays;
    let positions: Vec<i32> = (0..).take(stays.len()).collect();
    let wards: Vec<Uuid> = stays.iter().map(|stay| stay.department_id).collect();
    let beds: Vec<Option<Uuid>> = stays.iter().map(|stay| stay.bed_id).collect();
    let starts: Vec<DateTime<Utc>> = stays.iter().map(|stay| stay.start_at).collect();
    let ends: Vec<Option<DateTime<Utc>>> = stays.iter().map(|stay| stay.end_at).collect();
    sqlx::query(
        "INSERT INTO nutrition.stays (tenant_id, admission_id, position, patient_id, \
         facility_id, department_id, bed_id, start_at, end_at) \
         SELECT $1, $2, p, $3, $4, w, b, s, e \
         FROM unnest($5::int[], $6::uuid[], $7::uuid[], $8::timestamptz[], $9::timestamptz[]) \
         AS t (p, w, b, s, e)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(admission.admission_id)
    .bind(admission.patient_id)
    .bind(admission.facility_id)
    .bind(positions)
    .bind(wards)
    .bind(beds)
    .bind(starts)
    .bind(ends)
    .execute(&mut **tx)
    .await?;
    Ok(true)
}

/// A patient in a ward at some instant.
#[derive(Debug, Clone, FromRow)]
pub struct PresentRow {
    pub patient_id: Uuid,
    pub admission_id: Uuid,
    pub department_id: Uuid,
    pub bed_id: Option<Uuid>,
}

/// The patients in the facility's wards (or in one ward) at `at`.
pub async fn present(
    tx: &mut TenantTx,
    facility_id: Uuid,
    ward: Option<Uuid>,
    at: DateTime<Utc>,
) -> Result<Vec<PresentRow>> {
    Ok(sqlx::query_as(
        "SELECT DISTINCT ON (patient_id) patient_id, admission_id, department_id, bed_id \
         FROM nutrition.stays WHERE facility_id = $1 AND ($2::uuid IS NULL OR department_id = $2) \
         AND start_at <= $3 AND (end_at IS NULL OR end_at > $3) \
         ORDER BY patient_id, start_at DESC",
    )
    .bind(facility_id)
    .bind(ward)
    .bind(at)
    .fetch_all(&mut **tx)
    .await?)
}

/// Where the patient is at `at`, if in a ward.
pub async fn whereabouts(
    tx: &mut TenantTx,
    patient_id: Uuid,
    at: DateTime<Utc>,
) -> Result<Option<(Uuid, PresentRow)>> {
    let row: Option<(Uuid, Uuid, Uuid, Option<Uuid>)> = sqlx::query_as(
        "SELECT facility_id, admission_id, department_id, bed_id FROM nutrition.stays \
         WHERE patient_id = $1 AND start_at <= $2 AND (end_at IS NULL OR end_at > $2) \
         ORDER BY start_at DESC LIMIT 1",
    )
    .bind(patient_id)
    .bind(at)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(
        row.map(|(facility_id, admission_id, department_id, bed_id)| {
            (
                facility_id,
                PresentRow {
                    patient_id,
                    admission_id,
                    department_id,
                    bed_id,
                },
            )
        }),
    )
}
