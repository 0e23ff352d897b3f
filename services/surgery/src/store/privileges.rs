//! Procedure grades, surgeons' privileges with their history, and the overrides recorded for
//! review.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use hmis_platform::TenantTx;
use sqlx::FromRow;
use uuid::Uuid;

use crate::domain::PrivilegeStatus;
use crate::error::{Error, Result};

/// Writes (or replaces) the grade of each code.
pub async fn upsert_grades(
    tx: &mut TenantTx,
    grades: &[(String, i16)],
    now: DateTime<Utc>,
) -> Result<u64> {
    let codes: Vec<&str> = grades.iter().map(|(code, _)| code.as_str()).collect();
    let values: Vec<i16> = grades.iter().map(|(_, grade)| *grade).collect();
    Ok(sqlx::query(
        "INSERT INTO surgery.procedure_grades (tenant_id, code, grade, updated_at) \
         SELECT $1, g.code, g.grade, $4 FROM unnest($2::text[], $3::smallint[]) AS g(code, grade) \
         ON CONFLICT (tenant_id, code) DO UPDATE SET grade = EXCLUDED.grade, \
         updated_at = EXCLUDED.updated_at",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(codes)
    .bind(values)
    .bind(now)
    .execute(&mut **tx)
    .await?
    .rows_affected())
}

/// The grades of `codes` (all of the catalogue when `None`), by code.
pub async fn grades(tx: &mut TenantTx, codes: Option<&[String]>) -> Result<Vec<(String, i16)>> {
    Ok(sqlx::query_as(
        "SELECT code, grade FROM surgery.procedure_grades \
         WHERE $1::text[] IS NULL OR code = ANY($1) ORDER BY code",
    )
    .bind(codes)
    .fetch_all(&mut **tx)
    .await?)
}

pub async fn grades_of(tx: &mut TenantTx, codes: &[String]) -> Result<HashMap<String, i16>> {
    Ok(grades(tx, Some(codes)).await?.into_iter().collect())
}

#[derive(Debug, Clone, FromRow)]
pub struct PrivilegeRow {
    pub id: Uuid,
    pub surgeon_id: Uuid,
    pub max_grade: Option<i16>,
    pub procedure_code: Option<String>,
    pub valid_from: NaiveDate,
    pub valid_until: Option<NaiveDate>,
    pub status: PrivilegeStatus,
    pub status_reason: String,
    pub granted_by: Uuid,
    pub granted_at: DateTime<Utc>,
    pub version: i64,
}

const PRIVILEGE_COLUMNS: &str = "id, surgeon_id, max_grade, procedure_code, valid_from, \
     valid_until, status, status_reason, granted_by, granted_at, version";

pub async fn insert_privilege(tx: &mut TenantTx, privilege: &PrivilegeRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO surgery.privileges (tenant_id, id, surgeon_id, max_grade, procedure_code, \
         valid_from, valid_until, status, granted_by, granted_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(privilege.id)
    .bind(privilege.surgeon_id)
    .bind(privilege.max_grade)
    .bind(&privilege.procedure_code)
    .bind(privilege.valid_from)
    .bind(privilege.valid_until)
    .bind(privilege.status)
    .bind(privilege.granted_by)
    .bind(privilege.granted_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn get_privilege_for_update(tx: &mut TenantTx, id: Uuid) -> Result<PrivilegeRow> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {PRIVILEGE_COLUMNS} FROM surgery.privileges WHERE id = $1 FOR UPDATE"
    )))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(Error::NotFound("privilege"))
}

/// Records a status change on the privilege and in its history.
pub async fn change_privilege_status(
    tx: &mut TenantTx,
    id: Uuid,
    (status, reason): (PrivilegeStatus, &str),
    by: Uuid,
    now: DateTime<Utc>,
) -> Result<PrivilegeRow> {
    let row = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE surgery.privileges SET status = $2, status_reason = $3, version = version + 1 \
         WHERE id = $1 RETURNING {PRIVILEGE_COLUMNS}"
    )))
    .bind(id)
    .bind(status)
    .bind(reason)
    .fetch_one(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO surgery.privilege_changes (tenant_id, privilege_id, changed_at, changed_by, \
         status, reason) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(id)
    .bind(now)
    .bind(by)
    .bind(status)
    .bind(reason)
    .execute(&mut **tx)
    .await?;
    Ok(row)
}

/// A surgeon's privileges (every surgeon's when `None`), newest first.
pub async fn list_privileges(
    tx: &mut TenantTx,
    surgeon_id: Option<Uuid>,
) -> Result<Vec<PrivilegeRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {PRIVILEGE_COLUMNS} FROM surgery.privileges \
         WHERE $1::uuid IS NULL OR surgeon_id = $1 ORDER BY granted_at DESC, id DESC LIMIT 1000"
    )))
    .bind(surgeon_id)
    .fetch_all(&mut **tx)
    .await?)
}

#[derive(Debug, Clone, FromRow)]
pub struct OverrideRow {
    pub id: Uuid,
    pub operation_id: Uuid,
    pub surgeon_id: Uuid,
    pub procedure_codes: Vec<String>,
    pub reason: String,
    pub recorded_by: Uuid,
    pub recorded_at: DateTime<Utc>,
    pub reviewed_by: Option<Uuid>,
    pub reviewed_at: Option<DateTime<Utc>>,
    pub review_note: String,
}

const OVERRIDE_COLUMNS: &str = "id, operation_id, surgeon_id, procedure_codes, reason, \
     recorded_by, recorded_at, reviewed_by, reviewed_at, review_note";

pub async fn insert_override(tx: &mut TenantTx, row: &OverrideRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO surgery.privilege_overrides (tenant_id, id, operation_id, surgeon_id, \
         procedure_codes, reason, recorded_by, recorded_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(row.id)
    .bind(row.operation_id)
    .bind(row.surgeon_id)
    .bind(&row.procedure_codes)
    .bind(&row.reason)
    .bind(row.recorded_by)
    .bind(row.recorded_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn list_overrides(tx: &mut TenantTx, unreviewed_only: bool) -> Result<Vec<OverrideRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {OVERRIDE_COLUMNS} FROM surgery.privilege_overrides \
         WHERE NOT $1 OR reviewed_at IS NULL ORDER BY recorded_at DESC LIMIT 1000"
    )))
    .bind(unreviewed_only)
    .fetch_all(&mut **tx)
    .await?)
}

/// Records the review of an override not reviewed yet.
pub async fn review_override(
    tx: &mut TenantTx,
    id: Uuid,
    note: &str,
    by: Uuid,
    now: DateTime<Utc>,
) -> Result<OverrideRow> {
    let row: Option<OverrideRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE surgery.privilege_overrides SET reviewed_by = $2, reviewed_at = $3, \
         review_note = $4 WHERE id = $1 AND reviewed_at IS NULL RETURNING {OVERRIDE_COLUMNS}"
    )))
    .bind(id)
    .bind(by)
    .bind(now)
    .bind(note)
    .fetch_optional(&mut **tx)
    .await?;
    match row {
        Some(row) => Ok(row),
        None => {
            let exists: Option<(Uuid,)> =
                sqlx::query_as("SELECT id FROM surgery.privilege_overrides WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&mut **tx)
                    .await?;
            Err(match exists {
                Some(_) => Error::precondition("the override was already reviewed"),
                None => Error::NotFound("privilege override"),
            })
        }
    }
}
