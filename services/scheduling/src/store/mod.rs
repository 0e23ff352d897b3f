//! The only SQL of the scheduling module, to the `scheduling` schema only. Every function
//! takes the caller's tenant transaction, so row-level security keeps it to that tenant.
//! Times are stored as `tstzrange` `[start, end)` so the exclusion constraints can compare them.

mod appointments;
mod queue;
mod referrals;
mod waiting;

pub use appointments::*;
pub use queue::*;
pub use referrals::*;
pub use waiting::*;

use chrono::{DateTime, NaiveDate, Utc};
use hmis_platform::TenantTx;
use sqlx::FromRow;
use uuid::Uuid;

use crate::domain::{ClinicKind, NewSlot, Week, WorkingHours};
use crate::error::{Error, Result};

#[derive(Debug, Clone, FromRow)]
pub struct ClinicRow {
    pub id: Uuid,
    pub department_id: Uuid,
    pub facility_id: Uuid,
    pub code: String,
    pub name: String,
    pub kind: ClinicKind,
    pub slot_minutes: i32,
    pub capacity: i32,
    pub active: bool,
    pub version: i64,
}

const CLINIC_COLUMNS: &str =
    "id, department_id, facility_id, code, name, kind, slot_minutes, capacity, active, version";

pub async fn insert_clinic(
    tx: &mut TenantTx,
    clinic: &ClinicRow,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO scheduling.clinics (tenant_id, id, department_id, facility_id, code, name, \
         kind, slot_minutes, capacity, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(clinic.id)
    .bind(clinic.department_id)
    .bind(clinic.facility_id)
    .bind(&clinic.code)
    .bind(&clinic.name)
    .bind(clinic.kind)
    .bind(clinic.slot_minutes)
    .bind(clinic.capacity)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The clinic `id`; `lock` takes it for update (schedules of one clinic are added one at a
/// time, so their overlap check reads a settled list).
pub async fn get_clinic(tx: &mut TenantTx, id: Uuid, lock: bool) -> Result<ClinicRow> {
    let lock = if lock { " FOR UPDATE" } else { "" };
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {CLINIC_COLUMNS} FROM scheduling.clinics WHERE id = $1{lock}"
    )))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(Error::NotFound("clinic"))
}

pub async fn list_clinics(tx: &mut TenantTx, facility_id: Uuid) -> Result<Vec<ClinicRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {CLINIC_COLUMNS} FROM scheduling.clinics WHERE facility_id = $1 ORDER BY code"
    )))
    .bind(facility_id)
    .fetch_all(&mut **tx)
    .await?)
}

#[derive(Debug, Clone, FromRow)]
pub struct ScheduleRow {
    pub id: Uuid,
    pub clinic_id: Uuid,
    pub clinician_id: Option<Uuid>,
    pub room_id: Option<Uuid>,
    pub hours: sqlx::types::Json<Vec<WorkingHours>>,
    pub slot_minutes: i32,
    pub capacity: i32,
    pub valid_from: NaiveDate,
    pub valid_until: Option<NaiveDate>,
}

impl ScheduleRow {
    pub fn week(&self) -> Week {
        Week {
            clinician_id: self.clinician_id,
            room_id: self.room_id,
            hours: self.hours.0.clone(),
            slot_minutes: self.slot_minutes,
            capacity: self.capacity,
            valid_from: self.valid_from,
            valid_until: self.valid_until,
        }
    }
}

pub async fn insert_schedule(
    tx: &mut TenantTx,
    schedule: &ScheduleRow,
    created_by: Uuid,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO scheduling.weekly_schedules (tenant_id, id, clinic_id, clinician_id, \
         room_id, hours, slot_minutes, capacity, valid_from, valid_until, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(schedule.id)
    .bind(schedule.clinic_id)
    .bind(schedule.clinician_id)
    .bind(schedule.room_id)
    .bind(&schedule.hours)
    .bind(schedule.slot_minutes)
    .bind(schedule.capacity)
    .bind(schedule.valid_from)
    .bind(schedule.valid_until)
    .bind(created_by)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn schedules_of(tx: &mut TenantTx, clinic_id: Uuid) -> Result<Vec<ScheduleRow>> {
    Ok(sqlx::query_as(
        "SELECT id, clinic_id, clinician_id, room_id, hours, slot_minutes, capacity, valid_from, \
         valid_until FROM scheduling.weekly_schedules WHERE clinic_id = $1 \
         ORDER BY valid_from, id",
    )
    .bind(clinic_id)
    .fetch_all(&mut **tx)
    .await?)
}

/// Records a holiday; false when the day was one already.
pub async fn insert_holiday(
    tx: &mut TenantTx,
    (facility_id, day, name): (Uuid, NaiveDate, &str),
    recorded_by: Uuid,
    now: DateTime<Utc>,
) -> Result<bool> {
    let inserted = sqlx::query(
        "INSERT INTO scheduling.holidays (tenant_id, facility_id, day, name, recorded_by, \
         recorded_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(facility_id)
    .bind(day)
    .bind(name)
    .bind(recorded_by)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

pub async fn holidays_between(
    tx: &mut TenantTx,
    facility_id: Uuid,
    (first, last): (NaiveDate, NaiveDate),
) -> Result<Vec<NaiveDate>> {
    Ok(sqlx::query_scalar(
        "SELECT day FROM scheduling.holidays WHERE facility_id = $1 AND day BETWEEN $2 AND $3",
    )
    .bind(facility_id)
    .bind(first)
    .bind(last)
    .fetch_all(&mut **tx)
    .await?)
}

pub struct NewLeave<'a> {
    pub id: Uuid,
    pub clinician_id: Uuid,
    pub facility_id: Uuid,
    pub days: (NaiveDate, NaiveDate),
    pub reason: &'a str,
}

pub async fn insert_leave(
    tx: &mut TenantTx,
    leave: &NewLeave<'_>,
    recorded_by: Uuid,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO scheduling.leave (tenant_id, id, clinician_id, facility_id, days, reason, \
         recorded_by, recorded_at) VALUES ($1, $2, $3, $4, daterange($5, $6, '[]'), $7, $8, $9)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(leave.id)
    .bind(leave.clinician_id)
    .bind(leave.facility_id)
    .bind(leave.days.0)
    .bind(leave.days.1)
    .bind(leave.reason)
    .bind(recorded_by)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The leave of any of `clinicians` overlapping the days: (clinician, first, last).
pub async fn leave_between(
    tx: &mut TenantTx,
    clinicians: &[Uuid],
    (first, last): (NaiveDate, NaiveDate),
) -> Result<Vec<(Uuid, NaiveDate, NaiveDate)>> {
    Ok(sqlx::query_as(
        "SELECT clinician_id, lower(days), upper(days) - 1 FROM scheduling.leave \
         WHERE clinician_id = ANY($1) AND days && daterange($2, $3, '[]')",
    )
    .bind(clinicians)
    .bind(first)
    .bind(last)
    .fetch_all(&mut **tx)
    .await?)
}

/// Opens `slots` of a clinic; those opened before (same clinic, clinician and start) or
/// overlapping another open slot of the clinician are left as they are. How many were opened.
pub async fn open_slots(
    tx: &mut TenantTx,
    (clinic_id, facility_id): (Uuid, Uuid),
    slots: &[NewSlot],
) -> Result<u64> {
    let mut opened = 0;
    for chunk in slots.chunks(1000) {
        let ids: Vec<Uuid> = chunk.iter().map(|_| Uuid::now_v7()).collect();
        let clinicians: Vec<Option<Uuid>> = chunk.iter().map(|s| s.clinician_id).collect();
        let rooms: Vec<Option<Uuid>> = chunk.iter().map(|s| s.room_id).collect();
        let starts: Vec<DateTime<Utc>> = chunk.iter().map(|s| s.start).collect();
        let ends: Vec<DateTime<Utc>> = chunk.iter().map(|s| s.end).collect();
        let capacities: Vec<i32> = chunk.iter().map(|s| s.capacity).collect();
        opened += sqlx::query(
            "INSERT INTO scheduling.slots (tenant_id, id, clinic_id, clinician_id, room_id, \
             facility_id, during, capacity) \
             SELECT $1, s.id, $2, s.clinician_id, s.room_id, $3, tstzrange(s.start, s.finish, '[)'), \
             s.capacity FROM unnest($4::uuid[], $5::uuid[], $6::uuid[], $7::timestamptz[], \
             $8::timestamptz[], $9::int[]) AS s(id, clinician_id, room_id, start, finish, capacity) \
             ON CONFLICT DO NOTHING",
        )
        .bind(tx.tenant_id().as_uuid())
        .bind(clinic_id)
        .bind(facility_id)
        .bind(&ids)
        .bind(&clinicians)
        .bind(&rooms)
        .bind(&starts)
        .bind(&ends)
        .bind(&capacities)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    }
    Ok(opened)
}

#[derive(Debug, Clone, FromRow)]
pub struct SlotRow {
    pub id: Uuid,
    pub clinic_id: Uuid,
    pub clinician_id: Option<Uuid>,
    pub room_id: Option<Uuid>,
    pub start_time: DateTime<Utc>,
    pub end_time: DateTime<Utc>,
    pub capacity: i32,
    pub booked: i32,
    pub blocked: bool,
}

const SLOT_COLUMNS: &str = "id, clinic_id, clinician_id, room_id, \
     lower(during) AS start_time, upper(during) AS end_time, capacity, booked, blocked";

/// A slot as a booking reads it first: with its clinic, whether it has holds expired at `now`
/// not yet let go, and whether the registry's patient `patient_id` is known dead or merged
/// (none: not announced yet), in one statement.
pub struct SlotToBook {
    pub slot: SlotRow,
    pub clinic: ClinicRow,
    pub expired_holds: bool,
    pub patient: Option<(bool, Option<Uuid>)>,
}

pub async fn slot_to_book(
    tx: &mut TenantTx,
    id: Uuid,
    patient_id: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<Option<SlotToBook>> {
    let row: Option<SlotToBookRow> = sqlx::query_as(
        "SELECT s.id, s.clinic_id, s.clinician_id, s.room_id, lower(s.during) AS start_time, \
         upper(s.during) AS end_time, s.capacity, s.booked, s.blocked, \
         c.department_id, c.facility_id, c.code, c.name, c.kind, c.slot_minutes, \
         c.capacity AS clinic_capacity, c.active, c.version, \
         EXISTS (SELECT 1 FROM scheduling.appointments a WHERE a.slot_id = s.id \
                 AND a.status = 'held' AND a.hold_until <= $3) AS expired_holds, \
         k.deceased, k.merged_into, k.patient_id IS NOT NULL AS known \
         FROM scheduling.slots s \
         JOIN scheduling.clinics c ON c.tenant_id = s.tenant_id AND c.id = s.clinic_id \
         LEFT JOIN scheduling.known_patients k ON k.patient_id = $2 \
         WHERE s.id = $1",
    )
    .bind(id)
    .bind(patient_id)
    .bind(now)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|row| SlotToBook {
        slot: SlotRow {
            id: row.id,
            clinic_id: row.clinic_id,
            clinician_id: row.clinician_id,
            room_id: row.room_id,
            start_time: row.start_time,
            end_time: row.end_time,
            capacity: row.capacity,
            booked: row.booked,
            blocked: row.blocked,
        },
        clinic: ClinicRow {
            id: row.clinic_id,
            department_id: row.department_id,
            facility_id: row.facility_id,
            code: row.code,
            name: row.name,
            kind: row.kind,
            slot_minutes: row.slot_minutes,
            capacity: row.clinic_capacity,
            active: row.active,
            version: row.version,
        },
        expired_holds: row.expired_holds,
        patient: row
            .known
            .then_some((row.deceased.unwrap_or(false), row.merged_into)),
    }))
}

#[derive(FromRow)]
struct SlotToBookRow {
    id: Uuid,
    clinic_id: Uuid,
    clinician_id: Option<Uuid>,
    room_id: Option<Uuid>,
    start_time: DateTime<Utc>,
    end_time: DateTime<Utc>,
    capacity: i32,
    booked: i32,
    blocked: bool,
    department_id: Uuid,
    facility_id: Uuid,
    code: String,
    name: String,
    kind: ClinicKind,
    slot_minutes: i32,
    clinic_capacity: i32,
    active: bool,
    version: i64,
    expired_holds: bool,
    deceased: Option<bool>,
    merged_into: Option<Uuid>,
    known: bool,
}

/// Whether the registry's patient is known dead or merged (none: not announced yet).
pub async fn known_patient(
    tx: &mut TenantTx,
    patient_id: Uuid,
) -> Result<Option<(bool, Option<Uuid>)>> {
    Ok(sqlx::query_as(
        "SELECT deceased, merged_into FROM scheduling.known_patients WHERE patient_id = $1",
    )
    .bind(patient_id)
    .fetch_optional(&mut **tx)
    .await?)
}

pub async fn get_slot(tx: &mut TenantTx, id: Uuid) -> Result<SlotRow> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {SLOT_COLUMNS} FROM scheduling.slots WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(Error::NotFound("slot"))
}

/// Takes slot `id` for update (the hold job, before it lets the slot's holds go).
pub async fn get_slot_for_update(tx: &mut TenantTx, id: Uuid) -> Result<SlotRow> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {SLOT_COLUMNS} FROM scheduling.slots WHERE id = $1 FOR UPDATE"
    )))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(Error::NotFound("slot"))
}

/// The open slots of a clinic (or one clinician's) with a free place, starting in
/// `[from, until)`, earliest first.
pub async fn free_slots(
    tx: &mut TenantTx,
    (clinic_id, clinician_id): (Uuid, Option<Uuid>),
    (from, until): (DateTime<Utc>, DateTime<Utc>),
    limit: i64,
) -> Result<Vec<SlotRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {SLOT_COLUMNS} FROM scheduling.slots WHERE clinic_id = $1 \
         AND ($2::uuid IS NULL OR clinician_id = $2) AND NOT blocked AND booked < capacity \
         AND starts_at >= $3 AND starts_at < $4 ORDER BY starts_at, id LIMIT $5"
    )))
    .bind(clinic_id)
    .bind(clinician_id)
    .bind(from)
    .bind(until)
    .bind(limit)
    .fetch_all(&mut **tx)
    .await?)
}

/// Takes a place of slot `id` if it has one free (none: full); the database's check still
/// stands behind it. The slot as it is now.
pub async fn take_free_place(tx: &mut TenantTx, id: Uuid) -> Result<Option<SlotRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE scheduling.slots SET booked = booked + 1 WHERE id = $1 AND booked < capacity \
         RETURNING {SLOT_COLUMNS}"
    )))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?)
}

/// Takes `places` (or gives back, negative) of slot `id`; the database refuses more than its
/// capacity (slots_within_capacity). The slot as it is now.
pub async fn take_places(tx: &mut TenantTx, id: Uuid, places: i32) -> Result<SlotRow> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE scheduling.slots SET booked = booked + $2 WHERE id = $1 RETURNING {SLOT_COLUMNS}"
    )))
    .bind(id)
    .bind(places)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(Error::NotFound("slot"))
}

/// Blocks the open slots of a facility's day (a holiday) or of a clinician's days (leave)
/// in `[from, until)`. How many were blocked.
pub async fn block_slots(
    tx: &mut TenantTx,
    facility_id: Uuid,
    clinician_id: Option<Uuid>,
    (from, until): (DateTime<Utc>, DateTime<Utc>),
) -> Result<u64> {
    Ok(sqlx::query(
        "UPDATE scheduling.slots SET blocked = true WHERE facility_id = $1 \
         AND ($2::uuid IS NULL OR clinician_id = $2) AND NOT blocked \
         AND during && tstzrange($3, $4, '[)')",
    )
    .bind(facility_id)
    .bind(clinician_id)
    .bind(from)
    .bind(until)
    .execute(&mut **tx)
    .await?
    .rows_affected())
}
