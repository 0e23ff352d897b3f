//! The catalogue of services and the examination rooms.

use hmis_platform::TenantTx;
use sqlx::FromRow;
use uuid::Uuid;

use crate::domain::Modality;
use crate::error::{Error, Result};

#[derive(Debug, Clone, FromRow)]
pub struct ServiceRow {
    pub code: String,
    pub name: String,
    pub modality: Modality,
    pub body_part: String,
    pub duration_minutes: i32,
    pub active: bool,
    pub version: i64,
}

const SERVICE_COLUMNS: &str = "code, name, modality, body_part, duration_minutes, active, version";

/// Adds a service (`expected_version` none) or replaces the one at that version; answers the
/// version stored.
pub async fn upsert_service(
    tx: &mut TenantTx,
    service: &ServiceRow,
    expected_version: Option<i64>,
) -> Result<i64> {
    let query = match expected_version {
        None => {
            "INSERT INTO imaging.services (tenant_id, code, name, modality, body_part, \
             duration_minutes, active) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (tenant_id, code) DO NOTHING RETURNING version"
        }
        Some(_) => {
            "UPDATE imaging.services SET name = $3, modality = $4, body_part = $5, \
             duration_minutes = $6, active = $7, version = version + 1 \
             WHERE tenant_id = $1 AND code = $2 AND version = $8 RETURNING version"
        }
    };
    let version: Option<i64> = sqlx::query_scalar(query)
        .bind(tx.tenant_id().as_uuid())
        .bind(&service.code)
        .bind(&service.name)
        .bind(service.modality)
        .bind(&service.body_part)
        .bind(service.duration_minutes)
        .bind(service.active)
        .bind(expected_version.unwrap_or_default())
        .fetch_optional(&mut **tx)
        .await?;
    match (version, expected_version) {
        (Some(version), _) => Ok(version),
        (None, None) => Err(Error::Exists("a service with that code")),
        (None, Some(_)) => Err(Error::Stale("service")),
    }
}

pub async fn list_services(
    tx: &mut TenantTx,
    modality: Option<Modality>,
) -> Result<Vec<ServiceRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {SERVICE_COLUMNS} FROM imaging.services \
         WHERE $1::text IS NULL OR modality = $1 ORDER BY modality, name"
    )))
    .bind(modality)
    .fetch_all(&mut **tx)
    .await?)
}

pub async fn get_services(tx: &mut TenantTx, codes: &[String]) -> Result<Vec<ServiceRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {SERVICE_COLUMNS} FROM imaging.services WHERE code = ANY($1)"
    )))
    .bind(codes)
    .fetch_all(&mut **tx)
    .await?)
}

#[derive(Debug, Clone, FromRow)]
pub struct RoomRow {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub facility_id: Uuid,
    pub modality: Modality,
    pub ae_title: String,
    pub active: bool,
}

const ROOM_COLUMNS: &str = "id, code, name, facility_id, modality, ae_title, active";

/// Adds the room, or replaces the one with its id; answers false when `replace` names no room.
pub async fn upsert_room(tx: &mut TenantTx, room: &RoomRow, replace: bool) -> Result<bool> {
    let query = if replace {
        "UPDATE imaging.rooms SET code = $3, name = $4, facility_id = $5, modality = $6, \
         ae_title = $7, active = $8 WHERE tenant_id = $1 AND id = $2"
    } else {
        "INSERT INTO imaging.rooms (tenant_id, id, code, name, facility_id, modality, ae_title, \
         active) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    };
    let done = sqlx::query(query)
        .bind(tx.tenant_id().as_uuid())
        .bind(room.id)
        .bind(&room.code)
        .bind(&room.name)
        .bind(room.facility_id)
        .bind(room.modality)
        .bind(&room.ae_title)
        .bind(room.active)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn list_rooms(tx: &mut TenantTx, facility_id: Option<Uuid>) -> Result<Vec<RoomRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ROOM_COLUMNS} FROM imaging.rooms \
         WHERE $1::uuid IS NULL OR facility_id = $1 ORDER BY modality, code"
    )))
    .bind(facility_id)
    .fetch_all(&mut **tx)
    .await?)
}

pub async fn get_room(tx: &mut TenantTx, id: Uuid) -> Result<RoomRow> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ROOM_COLUMNS} FROM imaging.rooms WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(Error::NotFound("room"))
}
