//! A record's history: its versions, its merges and their undoing, its visits.

use chrono::{DateTime, Utc};
use hmis_platform::TenantTx;
use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use sqlx::types::Json;
use uuid::Uuid;

use crate::error::Error;

/// One entry of a record's history.
#[derive(Debug, Clone, FromRow)]
pub struct VersionRow {
    pub version: i64,
    pub kind: String,
    pub changed_fields: Vec<String>,
    pub changed_by: Uuid,
    pub changed_at: DateTime<Utc>,
    pub snapshot: Vec<u8>,
}

/// Adds a version to a record's history, written with the transaction's deferred writes
/// (nothing reads a version in the transaction that makes it; the record's own version, which
/// the update checked, keeps the numbers unique).
pub fn insert_version(tx: &mut TenantTx, patient_id: Uuid, row: VersionRow) {
    let tenant_id = tx.tenant_id().as_uuid();
    tx.defer_insert(
        "patients.versions (tenant_id, patient_id, version, kind, changed_fields, changed_by, \
         changed_at, snapshot)",
        "($1, $2, $3, $4, $5, $6, $7, $8)",
        (
            tenant_id,
            patient_id,
            row.version,
            row.kind,
            row.changed_fields,
            row.changed_by,
            row.changed_at,
            row.snapshot,
        ),
    );
}

/// Versions older than `before` (all when `None`), newest first.
pub async fn list_versions(
    tx: &mut TenantTx,
    patient_id: Uuid,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<VersionRow>, Error> {
    Ok(sqlx::query_as(
        "SELECT version, kind, changed_fields, changed_by, changed_at, snapshot \
         FROM patients.versions WHERE tenant_id = $1 AND patient_id = $2 \
           AND ($3::bigint IS NULL OR version < $3) \
         ORDER BY version DESC LIMIT $4",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(patient_id)
    .bind(before)
    .bind(limit)
    .fetch_all(&mut **tx)
    .await?)
}

/// A merge, as recorded.
#[derive(Debug, Clone, FromRow)]
pub struct MergeRow {
    pub id: Uuid,
    pub survivor_id: Uuid,
    pub merged_id: Uuid,
    pub moved_identifiers: Json<Vec<MovedIdentifier>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MovedIdentifier {
    pub r#type: String,
    pub country: String,
    pub value: String,
}

/// Moves every identifier of `merged` to `survivor` and records the merge.
pub async fn merge(
    tx: &mut TenantTx,
    survivor: Uuid,
    merged: Uuid,
    reason: &str,
    merged_by: Uuid,
    now: DateTime<Utc>,
) -> Result<Uuid, Error> {
    let moved: Vec<MovedIdentifier> = sqlx::query_as::<_, (String, String, String)>(
        "UPDATE patients.identifiers SET patient_id = $3 \
         WHERE tenant_id = $1 AND patient_id = $2 RETURNING type, country, value",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(merged)
    .bind(survivor)
    .fetch_all(&mut **tx)
    .await?
    .into_iter()
    .map(|(r#type, country, value)| MovedIdentifier {
        r#type,
        country,
        value,
    })
    .collect();
    let merge_id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO patients.merges (tenant_id, id, survivor_id, merged_id, reason, \
         moved_identifiers, merged_by, merged_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(merge_id)
    .bind(survivor)
    .bind(merged)
    .bind(reason)
    .bind(Json(moved))
    .bind(merged_by)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(merge_id)
}

/// The open merge of `merged`, locked.
pub async fn open_merge_of(tx: &mut TenantTx, merged: Uuid) -> Result<Option<MergeRow>, Error> {
    Ok(sqlx::query_as(
        "SELECT id, survivor_id, merged_id, moved_identifiers FROM patients.merges \
         WHERE tenant_id = $1 AND merged_id = $2 AND unmerged_at IS NULL FOR UPDATE",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(merged)
    .fetch_optional(&mut **tx)
    .await?)
}

/// Gives the identifiers a merge moved back to the merged record (those the survivor still
/// holds; one removed since stays removed) and closes the merge.
pub async fn unmerge(
    tx: &mut TenantTx,
    merge: &MergeRow,
    reason: &str,
    unmerged_by: Uuid,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    for identifier in merge.moved_identifiers.iter() {
        sqlx::query(
            "UPDATE patients.identifiers SET patient_id = $3 WHERE tenant_id = $1 \
             AND patient_id = $2 AND type = $4 AND country = $5 AND value = $6",
        )
        .bind(tx.tenant_id().as_uuid())
        .bind(merge.survivor_id)
        .bind(merge.merged_id)
        .bind(&identifier.r#type)
        .bind(&identifier.country)
        .bind(&identifier.value)
        .execute(&mut **tx)
        .await?;
    }
    sqlx::query(
        "UPDATE patients.merges SET unmerged_by = $3, unmerged_at = $4, unmerge_reason = $5 \
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(merge.id)
    .bind(unmerged_by)
    .bind(now)
    .bind(reason)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A hospital stay as the registry keeps it.
#[derive(Debug, Clone, FromRow)]
pub struct VisitRow {
    pub admission_id: Uuid,
    pub patient_id: Uuid,
    pub admission_number: String,
    pub facility_id: Uuid,
    pub department_id: Uuid,
    pub admission_type: String,
    pub status: String,
    pub start_time: DateTime<Utc>,
    pub end_time: Option<DateTime<Utc>>,
}

/// Records a stay as the latest admission event tells it. A patient the registry does not
/// hold (another tenant's id) has no history to keep: nothing is written.
pub async fn upsert_visit(tx: &mut TenantTx, visit: &VisitRow) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO patients.visits (tenant_id, admission_id, patient_id, admission_number, \
             facility_id, department_id, admission_type, status, start_time, end_time) \
         SELECT $1, $2, p.id, $4, $5, $6, $7, $8, $9, $10 FROM patients.patients p \
         WHERE p.tenant_id = $1 AND p.id = $3 \
         ON CONFLICT (tenant_id, admission_id) DO UPDATE SET \
             patient_id = EXCLUDED.patient_id, admission_number = EXCLUDED.admission_number, \
             facility_id = EXCLUDED.facility_id, department_id = EXCLUDED.department_id, \
             admission_type = EXCLUDED.admission_type, status = EXCLUDED.status, \
             start_time = EXCLUDED.start_time, end_time = EXCLUDED.end_time",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(visit.admission_id)
    .bind(visit.patient_id)
    .bind(&visit.admission_number)
    .bind(visit.facility_id)
    .bind(visit.department_id)
    .bind(&visit.admission_type)
    .bind(&visit.status)
    .bind(visit.start_time)
    .bind(visit.end_time)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A patient's stays newest first, with those of records merged into it, after the keyset
/// `(start_time, admission_id)` of the previous page.
pub async fn list_visits(
    tx: &mut TenantTx,
    patient_id: Uuid,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<VisitRow>, Error> {
    let (after_time, after_id) = after.unzip();
    Ok(sqlx::query_as(
        "SELECT admission_id, patient_id, admission_number, facility_id, department_id, \
                admission_type, status, start_time, end_time \
         FROM patients.visits v \
         WHERE v.tenant_id = $1 \
           AND (v.patient_id = $2 OR v.patient_id IN (SELECT id FROM patients.patients \
                WHERE tenant_id = $1 AND merged_into = $2)) \
           AND ($3::timestamptz IS NULL OR (v.start_time, v.admission_id) < ($3, $4)) \
         ORDER BY v.start_time DESC, v.admission_id DESC LIMIT $5",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(patient_id)
    .bind(after_time)
    .bind(after_id)
    .bind(limit)
    .fetch_all(&mut **tx)
    .await?)
}
