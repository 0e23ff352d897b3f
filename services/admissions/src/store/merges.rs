//! `admissions.patient_merges`: which admissions and emergency visits a merge of patient
//! records moved to the survivor, so an unmerge moves exactly those back.

use chrono::{DateTime, Utc};
use hmis_platform::TenantTx;
use uuid::Uuid;

/// Records a merge about to be followed; `false` when it was followed already (redelivered).
pub async fn claim_merge(
    tx: &mut TenantTx,
    merge_id: Uuid,
    survivor_id: Uuid,
    merged_id: Uuid,
    at: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "INSERT INTO admissions.patient_merges (tenant_id, merge_id, survivor_id, merged_id, \
         admission_ids, visit_ids, merged_at) VALUES ($1, $2, $3, $4, '{}', '{}', $5) \
         ON CONFLICT (tenant_id, merge_id) DO NOTHING",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(merge_id)
    .bind(survivor_id)
    .bind(merged_id)
    .bind(at)
    .execute(&mut **tx)
    .await?
    .rows_affected()
        == 1)
}

/// Whether the patient has an open admission.
pub async fn has_open_admission(tx: &mut TenantTx, patient_id: Uuid) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT FROM admissions.admissions \
         WHERE tenant_id = $1 AND patient_id = $2 AND status = 'admitted')",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(patient_id)
    .fetch_one(&mut **tx)
    .await
}

/// Re-points `from`'s admissions to `to` (its open one too, unless `keep_open`); returns
/// which moved.
pub async fn repoint_admissions(
    tx: &mut TenantTx,
    from: Uuid,
    to: Uuid,
    keep_open: bool,
    at: DateTime<Utc>,
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "UPDATE admissions.admissions SET patient_id = $3, version = version + 1, \
         updated_at = $4 \
         WHERE tenant_id = $1 AND patient_id = $2 AND NOT ($5 AND status = 'admitted') \
         RETURNING id",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(from)
    .bind(to)
    .bind(at)
    .bind(keep_open)
    .fetch_all(&mut **tx)
    .await
}

/// Re-points `from`'s emergency visits to `to`; returns which moved.
pub async fn repoint_visits(
    tx: &mut TenantTx,
    from: Uuid,
    to: Uuid,
    at: DateTime<Utc>,
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "UPDATE admissions.emergency_visits SET patient_id = $3, version = version + 1, \
         updated_at = $4 WHERE tenant_id = $1 AND patient_id = $2 RETURNING id",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(from)
    .bind(to)
    .bind(at)
    .fetch_all(&mut **tx)
    .await
}

/// Records what a merge moved.
pub async fn record_moved(
    tx: &mut TenantTx,
    merge_id: Uuid,
    admissions: &[Uuid],
    visits: &[Uuid],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE admissions.patient_merges SET admission_ids = $3, visit_ids = $4 \
         WHERE tenant_id = $1 AND merge_id = $2",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(merge_id)
    .bind(admissions)
    .bind(visits)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// What a merge moved: the record it came from, its admissions and its visits.
pub struct Moved {
    pub restored_id: Uuid,
    pub admissions: Vec<Uuid>,
    pub visits: Vec<Uuid>,
}

/// Marks a merge undone and returns what it moved; `None` when it was undone already.
pub async fn unmerge(
    tx: &mut TenantTx,
    merge_id: Uuid,
    at: DateTime<Utc>,
) -> Result<Option<Moved>, sqlx::Error> {
    let moved: Option<(Uuid, Vec<Uuid>, Vec<Uuid>)> = sqlx::query_as(
        "UPDATE admissions.patient_merges SET unmerged_at = $3 \
         WHERE tenant_id = $1 AND merge_id = $2 AND unmerged_at IS NULL \
         RETURNING merged_id, admission_ids, visit_ids",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(merge_id)
    .bind(at)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(moved.map(|(restored_id, admissions, visits)| Moved {
        restored_id,
        admissions,
        visits,
    }))
}

/// Gives admissions and visits back to the record they were merged away from.
pub async fn restore(
    tx: &mut TenantTx,
    moved: &Moved,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let tenant_id = tx.tenant_id().as_uuid();
    sqlx::query(
        "UPDATE admissions.admissions SET patient_id = $3, version = version + 1, updated_at = $4 \
         WHERE tenant_id = $1 AND id = ANY ($2)",
    )
    .bind(tenant_id)
    .bind(&moved.admissions)
    .bind(moved.restored_id)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "UPDATE admissions.emergency_visits SET patient_id = $3, version = version + 1, \
         updated_at = $4 WHERE tenant_id = $1 AND id = ANY ($2)",
    )
    .bind(tenant_id)
    .bind(&moved.visits)
    .bind(moved.restored_id)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
