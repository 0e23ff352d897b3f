//! Appointments: a place of a slot held, booked or used by a patient.

use chrono::{DateTime, Utc};
use hmis_platform::TenantTx;
use sqlx::FromRow;
use uuid::Uuid;

use crate::domain::{AppointmentStatus, Channel};
use crate::error::{Error, Result};

#[derive(Debug, Clone, FromRow)]
pub struct AppointmentRow {
    pub id: Uuid,
    pub slot_id: Uuid,
    pub clinic_id: Uuid,
    pub clinician_id: Option<Uuid>,
    pub patient_id: Uuid,
    pub start_time: DateTime<Utc>,
    pub end_time: DateTime<Utc>,
    pub status: AppointmentStatus,
    pub channel: Channel,
    pub hold_until: Option<DateTime<Utc>>,
    pub referral_id: Option<Uuid>,
    pub booked_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub cancel_reason: String,
    pub cancelled_by: Option<Uuid>,
    pub version: i64,
}

/// Who a new appointment is for and how it was made.
#[derive(Debug, Clone, Copy)]
pub struct NewAppointment {
    pub patient_id: Uuid,
    pub channel: Channel,
    /// Held until then (a hold, an offer); none: booked.
    pub hold_until: Option<DateTime<Utc>>,
    pub referral_id: Option<Uuid>,
    pub booked_by: Uuid,
}

impl AppointmentRow {
    /// A new appointment in `slot` (held or booked, as `new` says), made at `now`.
    pub fn new(slot: &super::SlotRow, new: NewAppointment, now: DateTime<Utc>) -> Self {
        Self {
            id: Uuid::now_v7(),
            slot_id: slot.id,
            clinic_id: slot.clinic_id,
            clinician_id: slot.clinician_id,
            patient_id: new.patient_id,
            start_time: slot.start_time,
            end_time: slot.end_time,
            status: if new.hold_until.is_some() {
                AppointmentStatus::Held
            } else {
                AppointmentStatus::Booked
            },
            channel: new.channel,
            hold_until: new.hold_until,
            referral_id: new.referral_id,
            booked_by: new.booked_by,
            created_at: now,
            cancel_reason: String::new(),
            cancelled_by: None,
            version: 1,
        }
    }
}

const APPOINTMENT_COLUMNS: &str = "id, slot_id, clinic_id, clinician_id, patient_id, \
     lower(during) AS start_time, upper(during) AS end_time, status, channel, hold_until, \
     referral_id, booked_by, created_at, cancel_reason, cancelled_by, version";

/// Inserts `appointment` (its status, hold and times as given); the database refuses the
/// patient in two overlapping appointments (appointments_one_per_patient) and a referral
/// booked twice (appointments_one_per_referral).
pub async fn insert_appointment(tx: &mut TenantTx, appointment: &AppointmentRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO scheduling.appointments (tenant_id, id, slot_id, clinic_id, clinician_id, \
         patient_id, during, status, channel, hold_until, referral_id, booked_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, tstzrange($7, $8, '[)'), $9, $10, $11, $12, $13, $14)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(appointment.id)
    .bind(appointment.slot_id)
    .bind(appointment.clinic_id)
    .bind(appointment.clinician_id)
    .bind(appointment.patient_id)
    .bind(appointment.start_time)
    .bind(appointment.end_time)
    .bind(appointment.status)
    .bind(appointment.channel)
    .bind(appointment.hold_until)
    .bind(appointment.referral_id)
    .bind(appointment.booked_by)
    .bind(appointment.created_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The appointment `id`; `lock` takes it for update.
pub async fn get_appointment(tx: &mut TenantTx, id: Uuid, lock: bool) -> Result<AppointmentRow> {
    let lock = if lock { " FOR UPDATE" } else { "" };
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {APPOINTMENT_COLUMNS} FROM scheduling.appointments WHERE id = $1{lock}"
    )))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(Error::NotFound("appointment"))
}

/// What changes of an appointment: its status, and what comes with it.
#[derive(Debug, Default)]
pub struct AppointmentChange<'a> {
    pub status: Option<AppointmentStatus>,
    /// A new slot and its times (a reschedule).
    pub slot: Option<(Uuid, DateTime<Utc>, DateTime<Utc>)>,
    pub cancelled: Option<(&'a str, Uuid)>,
    pub ended_at: Option<DateTime<Utc>>,
}

/// Applies `change` to appointment `id` (its version moves on); the appointment as it is now.
pub async fn change_appointment(
    tx: &mut TenantTx,
    id: Uuid,
    change: &AppointmentChange<'_>,
) -> Result<AppointmentRow> {
    let (cancel_reason, cancelled_by) = change.cancelled.unzip();
    let (slot_id, start, end) = match change.slot {
        Some((slot, start, end)) => (Some(slot), Some(start), Some(end)),
        None => (None, None, None),
    };
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE scheduling.appointments SET status = coalesce($2, status), \
         hold_until = CASE WHEN coalesce($2, status) = 'held' THEN hold_until END, \
         slot_id = coalesce($3, slot_id), \
         during = CASE WHEN $3::uuid IS NULL THEN during ELSE tstzrange($4, $5, '[)') END, \
         cancel_reason = coalesce($6, cancel_reason), cancelled_by = coalesce($7, cancelled_by), \
         ended_at = coalesce($8, ended_at), version = version + 1 \
         WHERE id = $1 RETURNING {APPOINTMENT_COLUMNS}"
    )))
    .bind(id)
    .bind(change.status)
    .bind(slot_id)
    .bind(start)
    .bind(end)
    .bind(cancel_reason)
    .bind(cancelled_by)
    .bind(change.ended_at)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(Error::NotFound("appointment"))
}

/// The holds of slot `slot_id` expired at `now`, marked expired (their places are the
/// caller's to give back). The appointments let go.
pub async fn expire_holds_of_slot(
    tx: &mut TenantTx,
    slot_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Vec<AppointmentRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE scheduling.appointments SET status = 'expired', hold_until = NULL, \
         ended_at = $2, version = version + 1 \
         WHERE slot_id = $1 AND status = 'held' AND hold_until <= $2 \
         RETURNING {APPOINTMENT_COLUMNS}"
    )))
    .bind(slot_id)
    .bind(now)
    .fetch_all(&mut **tx)
    .await?)
}

/// Slots with holds expired at `now`, across tenants (the hold job's scan, as the worker).
pub async fn slots_with_expired_holds(
    worker_pool: &sqlx::PgPool,
    now: DateTime<Utc>,
) -> Result<Vec<(Uuid, Uuid)>> {
    Ok(sqlx::query_as(
        "SELECT DISTINCT tenant_id, slot_id FROM scheduling.appointments \
         WHERE status = 'held' AND hold_until <= $1 LIMIT 500",
    )
    .bind(now)
    .fetch_all(worker_pool)
    .await?)
}

/// A clinic's appointments starting in `[from, until)`, by start.
pub async fn appointments_of_clinic(
    tx: &mut TenantTx,
    clinic_id: Uuid,
    (from, until): (DateTime<Utc>, DateTime<Utc>),
) -> Result<Vec<AppointmentRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {APPOINTMENT_COLUMNS} FROM scheduling.appointments WHERE clinic_id = $1 \
         AND starts_at >= $2 AND starts_at < $3 ORDER BY starts_at, created_at"
    )))
    .bind(clinic_id)
    .bind(from)
    .bind(until)
    .fetch_all(&mut **tx)
    .await?)
}

/// A patient's appointments, newest first (at most 200).
pub async fn appointments_of_patient(
    tx: &mut TenantTx,
    patient_id: Uuid,
) -> Result<Vec<AppointmentRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {APPOINTMENT_COLUMNS} FROM scheduling.appointments WHERE patient_id = $1 \
         ORDER BY lower(during) DESC LIMIT 200"
    )))
    .bind(patient_id)
    .fetch_all(&mut **tx)
    .await?)
}

/// The appointments holding a place in slots a facility's holiday or a clinician's leave
/// blocked in `[from, until)`: to be rescheduled.
pub async fn appointments_in_blocked(
    tx: &mut TenantTx,
    facility_id: Uuid,
    clinician_id: Option<Uuid>,
    (from, until): (DateTime<Utc>, DateTime<Utc>),
) -> Result<Vec<AppointmentRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {APPOINTMENT_COLUMNS} FROM scheduling.appointments a WHERE slot_id IN \
         (SELECT id FROM scheduling.slots WHERE facility_id = $1 AND blocked \
          AND ($2::uuid IS NULL OR clinician_id = $2) AND during && tstzrange($3, $4, '[)')) \
         AND status IN ('held', 'booked') ORDER BY lower(during)"
    )))
    .bind(facility_id)
    .bind(clinician_id)
    .bind(from)
    .bind(until)
    .fetch_all(&mut **tx)
    .await?)
}
