//! The day's queue tickets and their numbers.

use chrono::{DateTime, NaiveDate, Utc};
use hmis_platform::TenantTx;
use sqlx::FromRow;
use uuid::Uuid;

use crate::domain::{TicketStatus, VisitOutcome};
use crate::error::{Error, Result};

#[derive(Debug, Clone, FromRow)]
pub struct TicketRow {
    pub id: Uuid,
    pub clinic_id: Uuid,
    pub number: i32,
    pub patient_id: Uuid,
    pub appointment_id: Option<Uuid>,
    pub appointment_time: Option<DateTime<Utc>>,
    pub priority: i16,
    pub status: TicketStatus,
    pub arrived_at: DateTime<Utc>,
    pub called_at: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub called_to: String,
    pub clinician_id: Option<Uuid>,
    pub encounter_id: Option<Uuid>,
    pub outcome: Option<VisitOutcome>,
    pub follow_up_appointment_id: Option<Uuid>,
    pub version: i64,
}

const TICKET_COLUMNS: &str = "id, clinic_id, number, patient_id, appointment_id, \
     appointment_time, priority, status, arrived_at, called_at, started_at, ended_at, called_to, \
     clinician_id, encounter_id, outcome, follow_up_appointment_id, version";

/// The next ticket number of a clinic's day (numbers are unique, not gap-free: a rolled-back
/// check-in gives its number back with the transaction).
pub async fn next_number(tx: &mut TenantTx, clinic_id: Uuid, day: NaiveDate) -> Result<i32> {
    Ok(sqlx::query_scalar(
        "INSERT INTO scheduling.queue_counters (tenant_id, clinic_id, day, last) \
         VALUES ($1, $2, $3, 1) ON CONFLICT (tenant_id, clinic_id, day) \
         DO UPDATE SET last = queue_counters.last + 1 RETURNING last",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(clinic_id)
    .bind(day)
    .fetch_one(&mut **tx)
    .await?)
}

pub struct NewTicket {
    pub id: Uuid,
    pub clinic_id: Uuid,
    pub day: NaiveDate,
    pub number: i32,
    pub patient_id: Uuid,
    pub appointment: Option<(Uuid, DateTime<Utc>)>,
    pub priority: i16,
    pub checked_in_by: Uuid,
}

/// Inserts a waiting ticket; the database refuses a second ticket for one appointment or for
/// a patient already in the clinic's queue.
pub async fn insert_ticket(
    tx: &mut TenantTx,
    ticket: &NewTicket,
    now: DateTime<Utc>,
) -> Result<TicketRow> {
    let (appointment_id, appointment_time) = ticket.appointment.unzip();
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO scheduling.tickets (tenant_id, id, clinic_id, day, number, patient_id, \
         appointment_id, appointment_time, priority, status, arrived_at, checked_in_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'waiting', $10, $11) \
         RETURNING {TICKET_COLUMNS}"
    )))
    .bind(tx.tenant_id().as_uuid())
    .bind(ticket.id)
    .bind(ticket.clinic_id)
    .bind(ticket.day)
    .bind(ticket.number)
    .bind(ticket.patient_id)
    .bind(appointment_id)
    .bind(appointment_time)
    .bind(ticket.priority)
    .bind(now)
    .bind(ticket.checked_in_by)
    .fetch_one(&mut **tx)
    .await?)
}

pub async fn get_ticket(tx: &mut TenantTx, id: Uuid, lock: bool) -> Result<TicketRow> {
    let lock = if lock { " FOR UPDATE" } else { "" };
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {TICKET_COLUMNS} FROM scheduling.tickets WHERE id = $1{lock}"
    )))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(Error::NotFound("ticket"))
}

/// A clinic's tickets of a day; `lock` takes the waiting ones for update, skipping those
/// another caller is calling (two clinicians calling "next" get two patients).
pub async fn tickets_of_day(
    tx: &mut TenantTx,
    clinic_id: Uuid,
    day: NaiveDate,
    waiting_locked: bool,
) -> Result<Vec<TicketRow>> {
    let (status, lock) = if waiting_locked {
        (" AND status = 'waiting'", " FOR UPDATE SKIP LOCKED")
    } else {
        ("", "")
    };
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {TICKET_COLUMNS} FROM scheduling.tickets WHERE clinic_id = $1 AND day = $2\
         {status} ORDER BY number{lock}"
    )))
    .bind(clinic_id)
    .bind(day)
    .fetch_all(&mut **tx)
    .await?)
}

/// What changes of a ticket as the visit goes on.
#[derive(Debug, Default)]
pub struct TicketChange<'a> {
    pub status: Option<TicketStatus>,
    pub called: Option<(DateTime<Utc>, &'a str, Uuid)>,
    pub started: Option<(DateTime<Utc>, Uuid)>,
    pub ended: Option<(DateTime<Utc>, VisitOutcome, Option<Uuid>)>,
    /// The patient left unseen then.
    pub left_at: Option<DateTime<Utc>>,
}

pub async fn change_ticket(
    tx: &mut TenantTx,
    id: Uuid,
    change: &TicketChange<'_>,
) -> Result<TicketRow> {
    let (called_at, called_to, clinician) = match change.called {
        Some((at, to, clinician)) => (Some(at), Some(to), Some(clinician)),
        None => (None, None, None),
    };
    let (started_at, encounter_id) = change.started.unzip();
    let (ended_at, outcome, follow_up) = match change.ended {
        Some((at, outcome, follow_up)) => (Some(at), Some(outcome), follow_up),
        None => (change.left_at, None, None),
    };
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE scheduling.tickets SET status = coalesce($2, status), \
         called_at = coalesce($3, called_at), called_to = coalesce($4, called_to), \
         clinician_id = coalesce($5, clinician_id), started_at = coalesce($6, started_at), \
         encounter_id = coalesce($7, encounter_id), ended_at = coalesce($8, ended_at), \
         outcome = coalesce($9, outcome), \
         follow_up_appointment_id = coalesce($10, follow_up_appointment_id), \
         version = version + 1 WHERE id = $1 RETURNING {TICKET_COLUMNS}"
    )))
    .bind(id)
    .bind(change.status)
    .bind(called_at)
    .bind(called_to)
    .bind(clinician)
    .bind(started_at)
    .bind(encounter_id)
    .bind(ended_at)
    .bind(outcome)
    .bind(follow_up)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(Error::NotFound("ticket"))
}

/// One line of the clinics' report, as the database sums it.
#[derive(Debug, Clone, FromRow)]
pub struct ReportRow {
    pub clinic_id: Uuid,
    pub clinician_id: Option<Uuid>,
    pub places_offered: i64,
    pub places_booked: i64,
    pub appointments: i64,
    pub visits: i64,
    pub no_shows: i64,
    pub cancelled: i64,
    pub walk_ins: i64,
    pub mean_days_booking_to_visit: Option<f64>,
    pub mean_minutes_arrival_to_call: Option<f64>,
}

/// The report of a facility's clinics for `[from, until)`: by clinic and clinician, slots
/// offered and taken, appointments that came due and how they ended, walk-ins, and waits.
pub async fn clinic_report(
    tx: &mut TenantTx,
    facility_id: Uuid,
    (from, until): (DateTime<Utc>, DateTime<Utc>),
    (first_day, last_day): (NaiveDate, NaiveDate),
) -> Result<Vec<ReportRow>> {
    Ok(sqlx::query_as(
        "WITH clinics AS (SELECT id FROM scheduling.clinics WHERE facility_id = $1), \
         slots AS (SELECT s.clinic_id, s.clinician_id, sum(s.capacity) AS offered, \
                   sum(s.booked) AS taken FROM scheduling.slots s \
                   WHERE s.clinic_id IN (SELECT id FROM clinics) AND NOT s.blocked \
                   AND s.starts_at >= $2 AND s.starts_at < $3 \
                   GROUP BY s.clinic_id, s.clinician_id), \
         due AS (SELECT a.clinic_id, a.clinician_id, count(*) AS appointments, \
                 count(*) FILTER (WHERE a.status IN ('checked_in', 'completed')) AS visits, \
                 count(*) FILTER (WHERE a.status = 'no_show') AS no_shows, \
                 count(*) FILTER (WHERE a.status = 'cancelled') AS cancelled, \
                 avg(extract(epoch FROM lower(a.during) - a.created_at) / 86400.0) \
                     FILTER (WHERE a.status IN ('checked_in', 'completed', 'no_show', 'booked')) \
                     AS days_to_visit \
                 FROM scheduling.appointments a WHERE a.clinic_id IN (SELECT id FROM clinics) \
                 AND a.status <> 'expired' AND a.starts_at >= $2 AND a.starts_at < $3 \
                 GROUP BY a.clinic_id, a.clinician_id), \
         seen AS (SELECT t.clinic_id, coalesce(a.clinician_id, t.clinician_id) AS clinician_id, \
                  count(*) FILTER (WHERE t.appointment_id IS NULL AND t.status <> 'left') \
                      AS walk_ins, \
                  avg(extract(epoch FROM t.called_at - t.arrived_at) / 60.0) \
                      FILTER (WHERE t.called_at IS NOT NULL) AS minutes_to_call \
                  FROM scheduling.tickets t LEFT JOIN scheduling.appointments a \
                  ON a.tenant_id = t.tenant_id AND a.id = t.appointment_id \
                  WHERE t.clinic_id IN (SELECT id FROM clinics) AND t.day BETWEEN $4 AND $5 \
                  GROUP BY 1, 2) \
         SELECT k.clinic_id, k.clinician_id, coalesce(s.offered, 0)::bigint AS places_offered, \
         coalesce(s.taken, 0)::bigint AS places_booked, \
         coalesce(d.appointments, 0) AS appointments, \
         coalesce(d.visits, 0) + coalesce(w.walk_ins, 0) AS visits, \
         coalesce(d.no_shows, 0) AS no_shows, coalesce(d.cancelled, 0) AS cancelled, \
         coalesce(w.walk_ins, 0) AS walk_ins, \
         d.days_to_visit::float8 AS mean_days_booking_to_visit, \
         w.minutes_to_call::float8 AS mean_minutes_arrival_to_call \
         FROM (SELECT clinic_id, clinician_id FROM slots UNION \
               SELECT clinic_id, clinician_id FROM due UNION \
               SELECT clinic_id, clinician_id FROM seen) k \
         LEFT JOIN slots s ON s.clinic_id = k.clinic_id \
              AND s.clinician_id IS NOT DISTINCT FROM k.clinician_id \
         LEFT JOIN due d ON d.clinic_id = k.clinic_id \
              AND d.clinician_id IS NOT DISTINCT FROM k.clinician_id \
         LEFT JOIN seen w ON w.clinic_id = k.clinic_id \
              AND w.clinician_id IS NOT DISTINCT FROM k.clinician_id \
         ORDER BY k.clinic_id, k.clinician_id NULLS FIRST",
    )
    .bind(facility_id)
    .bind(from)
    .bind(until)
    .bind(first_day)
    .bind(last_day)
    .fetch_all(&mut **tx)
    .await?)
}
