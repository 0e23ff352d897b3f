//! The clinics' waiting lists.

use chrono::{DateTime, Utc};
use hmis_platform::TenantTx;
use sqlx::FromRow;
use uuid::Uuid;

use crate::domain::WaitingStatus;
use crate::error::Result;

#[derive(Debug, Clone, FromRow)]
pub struct WaitingRow {
    pub id: Uuid,
    pub clinic_id: Uuid,
    pub clinician_id: Option<Uuid>,
    pub patient_id: Uuid,
    pub wanted_from: DateTime<Utc>,
    pub wanted_until: DateTime<Utc>,
    pub status: WaitingStatus,
    pub appointment_id: Option<Uuid>,
    pub added_by: Uuid,
    pub created_at: DateTime<Utc>,
}

const WAITING_COLUMNS: &str = "id, clinic_id, clinician_id, patient_id, \
     lower(wanted) AS wanted_from, upper(wanted) AS wanted_until, status, appointment_id, \
     added_by, created_at";

/// Puts a patient on a waiting list; the database refuses a second entry of the patient in
/// the clinic while one stands (waiting_list_one_per_patient).
pub async fn insert_waiting(tx: &mut TenantTx, entry: &WaitingRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO scheduling.waiting_list (tenant_id, id, clinic_id, clinician_id, patient_id, \
         wanted, status, added_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, tstzrange($6, $7, '[)'), $8, $9, $10)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(entry.id)
    .bind(entry.clinic_id)
    .bind(entry.clinician_id)
    .bind(entry.patient_id)
    .bind(entry.wanted_from)
    .bind(entry.wanted_until)
    .bind(entry.status)
    .bind(entry.added_by)
    .bind(entry.created_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A clinic's entries still standing, then those that ended since `since`, first come first.
pub async fn waiting_list(
    tx: &mut TenantTx,
    clinic_id: Uuid,
    since: DateTime<Utc>,
) -> Result<Vec<WaitingRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {WAITING_COLUMNS} FROM scheduling.waiting_list WHERE clinic_id = $1 \
         AND (status IN ('waiting', 'offered') OR created_at >= $2) \
         ORDER BY status NOT IN ('waiting', 'offered'), created_at LIMIT 500"
    )))
    .bind(clinic_id)
    .bind(since)
    .fetch_all(&mut **tx)
    .await?)
}

/// The first patient waiting whom a place of the clinic's slot (its clinician and time)
/// suits: the window takes its start, no clinician or the slot's, and no appointment of the
/// patient overlaps it. Taken for update; one another transaction is offering is skipped.
pub async fn first_waiting_for(
    tx: &mut TenantTx,
    (clinic_id, clinician_id): (Uuid, Option<Uuid>),
    (start, end): (DateTime<Utc>, DateTime<Utc>),
) -> Result<Option<WaitingRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {WAITING_COLUMNS} FROM scheduling.waiting_list w WHERE clinic_id = $1 \
         AND status = 'waiting' AND wanted @> $3::timestamptz \
         AND (w.clinician_id IS NULL OR w.clinician_id = $2) \
         AND NOT EXISTS (SELECT 1 FROM scheduling.appointments a \
             WHERE a.patient_id = w.patient_id AND a.status IN ('held', 'booked', 'checked_in') \
             AND a.during && tstzrange($3, $4, '[)')) \
         ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED"
    )))
    .bind(clinic_id)
    .bind(clinician_id)
    .bind(start)
    .bind(end)
    .fetch_optional(&mut **tx)
    .await?)
}

/// Moves the entry `id` to `status`, naming its appointment (none: keeps it).
pub async fn mark_waiting(
    tx: &mut TenantTx,
    id: Uuid,
    status: WaitingStatus,
    appointment_id: Option<Uuid>,
) -> Result<()> {
    sqlx::query(
        "UPDATE scheduling.waiting_list SET status = $2, \
         appointment_id = coalesce($3, appointment_id), version = version + 1 WHERE id = $1",
    )
    .bind(id)
    .bind(status)
    .bind(appointment_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Moves the entry offered `appointment_id`, if one was, from offered to `status`.
pub async fn settle_offer(
    tx: &mut TenantTx,
    appointment_id: Uuid,
    status: WaitingStatus,
) -> Result<()> {
    sqlx::query(
        "UPDATE scheduling.waiting_list SET status = $2, version = version + 1 \
         WHERE appointment_id = $1 AND status = 'offered'",
    )
    .bind(appointment_id)
    .bind(status)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
