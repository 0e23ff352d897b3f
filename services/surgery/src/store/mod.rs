//! The only SQL of the surgery module, to the `surgery` schema only. Every function takes the
//! caller's tenant transaction, so row-level security keeps it to that tenant. Planned times
//! are stored as `tstzrange` `[start, end)` so the exclusion constraints can compare them.

mod day;
mod known;
mod privileges;
#[cfg(test)]
mod tests;

pub use day::*;
pub use known::*;
pub use privileges::*;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use hmis_platform::TenantTx;
use sqlx::FromRow;
use uuid::Uuid;

use crate::domain::{AnaesthesiaType, OperationStatus, Priority, Slot, TeamRole};
use crate::error::{Error, Result};

#[derive(Debug, Clone, FromRow)]
pub struct TheatreRow {
    pub id: Uuid,
    pub room_id: Uuid,
    pub facility_id: Uuid,
    pub department_id: Uuid,
    pub code: String,
    pub name: String,
    pub specialty_codes: Vec<String>,
    pub equipment: Vec<String>,
    pub active: bool,
    pub version: i64,
}

const THEATRE_COLUMNS: &str = "id, room_id, facility_id, department_id, code, name, \
     specialty_codes, equipment, active, version";

pub async fn insert_theatre(
    tx: &mut TenantTx,
    theatre: &TheatreRow,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO surgery.theatres (tenant_id, id, room_id, facility_id, department_id, code, \
         name, specialty_codes, equipment, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(theatre.id)
    .bind(theatre.room_id)
    .bind(theatre.facility_id)
    .bind(theatre.department_id)
    .bind(&theatre.code)
    .bind(&theatre.name)
    .bind(&theatre.specialty_codes)
    .bind(&theatre.equipment)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn get_theatre(tx: &mut TenantTx, id: Uuid) -> Result<TheatreRow> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {THEATRE_COLUMNS} FROM surgery.theatres WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(Error::NotFound("theatre"))
}

pub async fn list_theatres(tx: &mut TenantTx, facility_id: Uuid) -> Result<Vec<TheatreRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {THEATRE_COLUMNS} FROM surgery.theatres WHERE facility_id = $1 ORDER BY code"
    )))
    .bind(facility_id)
    .fetch_all(&mut **tx)
    .await?)
}

#[derive(Debug, Clone, FromRow)]
pub struct SessionRow {
    pub id: Uuid,
    pub theatre_id: Uuid,
    pub start_time: DateTime<Utc>,
    pub end_time: DateTime<Utc>,
    pub specialty_code: String,
}

pub async fn insert_session(tx: &mut TenantTx, session: &SessionRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO surgery.theatre_sessions (tenant_id, id, theatre_id, during, specialty_code) \
         VALUES ($1, $2, $3, tstzrange($4, $5, '[)'), $6)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(session.id)
    .bind(session.theatre_id)
    .bind(session.start_time)
    .bind(session.end_time)
    .bind(&session.specialty_code)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The specialty of the session of `theatre_id` that `at` falls in, if one does.
pub async fn session_specialty(
    tx: &mut TenantTx,
    theatre_id: Uuid,
    at: DateTime<Utc>,
) -> Result<Option<String>> {
    Ok(sqlx::query_scalar(
        "SELECT specialty_code FROM surgery.theatre_sessions \
         WHERE theatre_id = $1 AND during @> $2::timestamptz",
    )
    .bind(theatre_id)
    .bind(at)
    .fetch_optional(&mut **tx)
    .await?)
}

/// The sessions of a facility's theatres (or one theatre's) overlapping `[from, to)`.
pub async fn sessions_between(
    tx: &mut TenantTx,
    facility_id: Uuid,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    theatre_id: Option<Uuid>,
) -> Result<Vec<SessionRow>> {
    Ok(sqlx::query_as(
        "SELECT s.id, s.theatre_id, lower(s.during) AS start_time, upper(s.during) AS end_time, \
         s.specialty_code FROM surgery.theatre_sessions s \
         JOIN surgery.theatres t ON t.tenant_id = s.tenant_id AND t.id = s.theatre_id \
         WHERE t.facility_id = $1 AND s.during && tstzrange($2, $3, '[)') \
         AND ($4::uuid IS NULL OR s.theatre_id = $4) ORDER BY t.code, lower(s.during)",
    )
    .bind(facility_id)
    .bind(from)
    .bind(to)
    .bind(theatre_id)
    .fetch_all(&mut **tx)
    .await?)
}

#[derive(Debug, Clone, FromRow)]
pub struct OperationRow {
    pub id: Uuid,
    pub theatre_id: Uuid,
    pub facility_id: Uuid,
    pub department_id: Uuid,
    pub patient_id: Uuid,
    pub admission_id: Option<Uuid>,
    pub start_time: DateTime<Utc>,
    pub end_time: DateTime<Utc>,
    pub priority: Priority,
    pub anaesthesia_type: AnaesthesiaType,
    pub specialty_code: String,
    pub status: OperationStatus,
    pub cancel_reason: String,
    pub bumped_by: Option<Uuid>,
    pub privilege_override_reason: String,
    pub booked_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub version: i64,
}

const OPERATION_COLUMNS: &str = "o.id, o.theatre_id, o.facility_id, o.department_id, \
     o.patient_id, o.admission_id, lower(o.planned) AS start_time, upper(o.planned) AS end_time, \
     o.priority, o.anaesthesia_type, o.specialty_code, o.status, o.cancel_reason, o.bumped_by, \
     o.privilege_override_reason, o.booked_by, o.created_at, o.version";

#[derive(Debug, Clone, FromRow)]
pub struct ProcedureRow {
    pub operation_id: Uuid,
    pub code: String,
    pub display: String,
    pub grade: Option<i16>,
}

#[derive(Debug, Clone, FromRow)]
pub struct TeamRow {
    pub operation_id: Uuid,
    pub user_id: Uuid,
    pub role: TeamRole,
}

/// An operation with its planned procedures, its team, its checklist pauses and its
/// milestones, each in their order.
#[derive(Debug, Clone)]
pub struct OperationRecord {
    pub row: OperationRow,
    pub procedures: Vec<ProcedureRow>,
    pub team: Vec<TeamRow>,
    pub checklist: Vec<ChecklistRow>,
    pub times: Vec<MilestoneRow>,
}

/// What a booking writes.
#[derive(Debug, Clone)]
pub struct NewOperation<'a> {
    pub id: Uuid,
    pub theatre: &'a TheatreRow,
    pub patient_id: Uuid,
    pub admission_id: Option<Uuid>,
    pub slot: Slot,
    pub priority: Priority,
    pub anaesthesia_type: AnaesthesiaType,
    pub specialty_code: &'a str,
    pub override_reason: &'a str,
    pub booked_by: Uuid,
    /// Code, display and grade of each planned procedure, the principal first.
    pub procedures: &'a [(String, String, Option<i16>)],
    pub team: &'a [(Uuid, TeamRole)],
}

/// Takes, in one global order, the transaction's locks on what a booking holds (its theatre,
/// its team, its patient), so bookings that compete for any of them run one after the other
/// and the later one meets the earlier one's committed row in the exclusion constraints,
/// instead of two of them waiting on each other's uncommitted rows until PostgreSQL breaks
/// the deadlock. Bookings that share nothing still run side by side.
pub async fn lock_holders(tx: &mut TenantTx, mut holders: Vec<Uuid>) -> Result<()> {
    holders.sort();
    holders.dedup();
    sqlx::query(
        "SELECT pg_advisory_xact_lock(hashtextextended($1::text || '/' || h::text, 23)) \
         FROM unnest($2::uuid[]) WITH ORDINALITY AS l(h, n) ORDER BY n",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(holders)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Writes a booking, its procedures and its team; the exclusion constraints refuse a theatre,
/// a person or a patient already booked at that time.
pub async fn insert_operation(
    tx: &mut TenantTx,
    new: &NewOperation<'_>,
    now: DateTime<Utc>,
) -> Result<()> {
    let tenant = tx.tenant_id().as_uuid();
    sqlx::query(
        "INSERT INTO surgery.operations (tenant_id, id, theatre_id, facility_id, department_id, \
         patient_id, admission_id, planned, priority, anaesthesia_type, status, \
         privilege_override_reason, booked_by, created_at, specialty_code) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, tstzrange($8, $9, '[)'), $10, $11, 'scheduled', \
         $12, $13, $14, $15)",
    )
    .bind(tenant)
    .bind(new.id)
    .bind(new.theatre.id)
    .bind(new.theatre.facility_id)
    .bind(new.theatre.department_id)
    .bind(new.patient_id)
    .bind(new.admission_id)
    .bind(new.slot.start)
    .bind(new.slot.end())
    .bind(new.priority)
    .bind(new.anaesthesia_type)
    .bind(new.override_reason)
    .bind(new.booked_by)
    .bind(now)
    .bind(new.specialty_code)
    .execute(&mut **tx)
    .await?;
    let (codes, displays, grades): (Vec<_>, Vec<_>, Vec<_>) = new
        .procedures
        .iter()
        .map(|(code, display, grade)| (code.as_str(), display.as_str(), *grade))
        .fold(
            (vec![], vec![], vec![]),
            |(mut c, mut d, mut g), (code, display, grade)| {
                c.push(code);
                d.push(display);
                g.push(grade);
                (c, d, g)
            },
        );
    sqlx::query(
        "INSERT INTO surgery.operation_procedures (tenant_id, operation_id, position, code, \
         display, grade) SELECT $1, $2, p.position::smallint, p.code, p.display, p.grade \
         FROM unnest($3::text[], $4::text[], $5::smallint[]) WITH ORDINALITY \
         AS p(code, display, grade, position)",
    )
    .bind(tenant)
    .bind(new.id)
    .bind(codes)
    .bind(displays)
    .bind(grades)
    .execute(&mut **tx)
    .await?;
    let users: Vec<Uuid> = new.team.iter().map(|(user, _)| *user).collect();
    let roles: Vec<&str> = new.team.iter().map(|(_, role)| role.as_db()).collect();
    sqlx::query(
        "INSERT INTO surgery.operation_team (tenant_id, operation_id, user_id, role, position, \
         planned) SELECT $1, $2, m.user_id, m.role, m.position::smallint, \
         tstzrange($5, $6, '[)') FROM unnest($3::uuid[], $4::text[]) WITH ORDINALITY \
         AS m(user_id, role, position)",
    )
    .bind(tenant)
    .bind(new.id)
    .bind(users)
    .bind(roles)
    .bind(new.slot.start)
    .bind(new.slot.end())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// One operation's row, locked for a change when `for_update`.
pub async fn get_operation(tx: &mut TenantTx, id: Uuid, for_update: bool) -> Result<OperationRow> {
    let lock = if for_update { " FOR UPDATE" } else { "" };
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {OPERATION_COLUMNS} FROM surgery.operations o WHERE o.id = $1{lock}"
    )))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(Error::NotFound("operation"))
}

/// `rows` with their procedures and teams.
pub async fn with_details(
    tx: &mut TenantTx,
    rows: Vec<OperationRow>,
) -> Result<Vec<OperationRecord>> {
    let ids: Vec<Uuid> = rows.iter().map(|row| row.id).collect();
    let procedures: Vec<ProcedureRow> = sqlx::query_as(
        "SELECT operation_id, code, display, grade FROM surgery.operation_procedures \
         WHERE operation_id = ANY($1) ORDER BY operation_id, position",
    )
    .bind(&ids)
    .fetch_all(&mut **tx)
    .await?;
    let team: Vec<TeamRow> = sqlx::query_as(
        "SELECT operation_id, user_id, role FROM surgery.operation_team \
         WHERE operation_id = ANY($1) ORDER BY operation_id, position",
    )
    .bind(&ids)
    .fetch_all(&mut **tx)
    .await?;
    let mut procedures_of: HashMap<Uuid, Vec<ProcedureRow>> = HashMap::new();
    for procedure in procedures {
        procedures_of
            .entry(procedure.operation_id)
            .or_default()
            .push(procedure);
    }
    let mut team_of: HashMap<Uuid, Vec<TeamRow>> = HashMap::new();
    for member in team {
        team_of.entry(member.operation_id).or_default().push(member);
    }
    let mut checklist_of: HashMap<Uuid, Vec<ChecklistRow>> = HashMap::new();
    for pause in checklists_of(tx, &ids).await? {
        checklist_of
            .entry(pause.operation_id)
            .or_default()
            .push(pause);
    }
    let mut times_of: HashMap<Uuid, Vec<MilestoneRow>> = HashMap::new();
    for time in milestones_of(tx, &ids).await? {
        times_of.entry(time.operation_id).or_default().push(time);
    }
    Ok(rows
        .into_iter()
        .map(|row| OperationRecord {
            procedures: procedures_of.remove(&row.id).unwrap_or_default(),
            team: team_of.remove(&row.id).unwrap_or_default(),
            checklist: checklist_of.remove(&row.id).unwrap_or_default(),
            times: times_of.remove(&row.id).unwrap_or_default(),
            row,
        })
        .collect())
}

pub async fn operation_record(tx: &mut TenantTx, id: Uuid) -> Result<OperationRecord> {
    let row = get_operation(tx, id, false).await?;
    with_details(tx, vec![row])
        .await?
        .pop()
        .ok_or(Error::NotFound("operation"))
}

/// The scheduled elective operations of `theatre_id` overlapping `slot`, locked: what an
/// emergency may bump.
pub async fn overlapping_electives(
    tx: &mut TenantTx,
    theatre_id: Uuid,
    slot: &Slot,
) -> Result<Vec<OperationRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {OPERATION_COLUMNS} FROM surgery.operations o WHERE o.theatre_id = $1 \
         AND o.status = 'scheduled' AND o.priority = 'elective' \
         AND o.planned && tstzrange($2, $3, '[)') ORDER BY lower(o.planned) FOR UPDATE"
    )))
    .bind(theatre_id)
    .bind(slot.start)
    .bind(slot.end())
    .fetch_all(&mut **tx)
    .await?)
}

/// Ends a scheduled operation (cancelled or bumped) and lets its team's time go.
pub async fn end_operation(
    tx: &mut TenantTx,
    id: Uuid,
    status: OperationStatus,
    reason: &str,
    bumped_by: Option<Uuid>,
) -> Result<()> {
    sqlx::query(
        "UPDATE surgery.operations SET status = $2, cancel_reason = $3, bumped_by = $4, \
         version = version + 1 WHERE id = $1",
    )
    .bind(id)
    .bind(status)
    .bind(reason)
    .bind(bumped_by)
    .execute(&mut **tx)
    .await?;
    release_team(tx, id).await
}

/// Moves a scheduled operation (and its team's time) to `slot` in `theatre`.
pub async fn move_operation(
    tx: &mut TenantTx,
    id: Uuid,
    theatre: &TheatreRow,
    slot: &Slot,
) -> Result<()> {
    sqlx::query(
        "UPDATE surgery.operations SET theatre_id = $2, facility_id = $3, department_id = $4, \
         planned = tstzrange($5, $6, '[)'), version = version + 1 WHERE id = $1",
    )
    .bind(id)
    .bind(theatre.id)
    .bind(theatre.facility_id)
    .bind(theatre.department_id)
    .bind(slot.start)
    .bind(slot.end())
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "UPDATE surgery.operation_team SET planned = tstzrange($2, $3, '[)') \
         WHERE operation_id = $1",
    )
    .bind(id)
    .bind(slot.start)
    .bind(slot.end())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The operations of a facility starting in `[from, to)`, by theatre code and start;
/// optionally one theatre's, or those with `member` in the team.
pub async fn theatre_list(
    tx: &mut TenantTx,
    facility_id: Uuid,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    theatre_id: Option<Uuid>,
    member: Option<Uuid>,
) -> Result<Vec<OperationRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {OPERATION_COLUMNS} FROM surgery.operations o \
         JOIN surgery.theatres t ON t.tenant_id = o.tenant_id AND t.id = o.theatre_id \
         WHERE o.facility_id = $1 AND o.planned && tstzrange($2, $3, '[)') \
         AND lower(o.planned) >= $2 AND lower(o.planned) < $3 \
         AND ($4::uuid IS NULL OR o.theatre_id = $4) \
         AND ($5::uuid IS NULL OR EXISTS (SELECT 1 FROM surgery.operation_team m \
              WHERE m.tenant_id = o.tenant_id AND m.operation_id = o.id AND m.user_id = $5)) \
         ORDER BY t.code, lower(o.planned), o.id"
    )))
    .bind(facility_id)
    .bind(from)
    .bind(to)
    .bind(theatre_id)
    .bind(member)
    .fetch_all(&mut **tx)
    .await?)
}
