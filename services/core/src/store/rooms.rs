//! The rooms of the register.

use super::*;

const ROOM_COLUMNS: &str = "id, department_id, code, name, active, version, created_at, updated_at";

#[derive(FromRow)]
struct RoomRow {
    id: Uuid,
    department_id: Uuid,
    code: String,
    name: String,
    active: bool,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<RoomRow> for Room {
    type Error = Error;

    fn try_from(row: RoomRow) -> Result<Self> {
        Ok(Room {
            id: RoomId::from_uuid(row.id),
            department_id: DepartmentId::from_uuid(row.department_id),
            code: code(&row.code, "room code")?,
            name: name(&row.name, "room name")?,
            active: row.active,
            version: Version::from_db(row.version),
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

pub async fn insert_room(tx: &mut TenantTx, room: &Room) -> Result<()> {
    sqlx::query(
        "INSERT INTO core.rooms (tenant_id, id, department_id, code, name, active, version, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(room.id.as_uuid())
    .bind(room.department_id.as_uuid())
    .bind(room.code.as_str())
    .bind(room.name.as_str())
    .bind(room.active)
    .bind(room.version.get())
    .bind(room.created_at)
    .bind(room.updated_at)
    .execute(&mut **tx)
    .await
    .map_err(|error| {
        Error::duplicate(
            error,
            &format!("the department already has a room with code {}", room.code),
        )
    })?;
    Ok(())
}

pub async fn get_room(tx: &mut TenantTx, id: RoomId, lock: Lock) -> Result<Room> {
    let sql = format!(
        "SELECT {ROOM_COLUMNS} FROM core.rooms WHERE tenant_id = $1 AND id = $2{}",
        lock.clause()
    );
    let row: Option<RoomRow> = sqlx::query_as(AssertSqlSafe(sql))
        .bind(tx.tenant_id().as_uuid())
        .bind(id.as_uuid())
        .fetch_optional(&mut **tx)
        .await?;
    row.ok_or_else(|| not_found("room", id))?.try_into()
}

pub async fn list_rooms(
    tx: &mut TenantTx,
    department_id: DepartmentId,
    after_code: Option<&str>,
    limit: i64,
) -> Result<Vec<Room>> {
    let sql = format!(
        "SELECT {ROOM_COLUMNS} FROM core.rooms WHERE tenant_id = $1 AND department_id = $2 \
         AND ($3::text IS NULL OR code > $3) ORDER BY code LIMIT $4"
    );
    let rows: Vec<RoomRow> = sqlx::query_as(AssertSqlSafe(sql))
        .bind(tx.tenant_id().as_uuid())
        .bind(department_id.as_uuid())
        .bind(after_code)
        .bind(limit)
        .fetch_all(&mut **tx)
        .await?;
    rows.into_iter().map(Room::try_from).collect()
}

pub async fn update_room(tx: &mut TenantTx, room: &mut Room) -> Result<()> {
    let version: i64 = sqlx::query_scalar(
        "UPDATE core.rooms SET name = $3, active = $4, updated_at = $5, version = version + 1 \
         WHERE tenant_id = $1 AND id = $2 RETURNING version",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(room.id.as_uuid())
    .bind(room.name.as_str())
    .bind(room.active)
    .bind(room.updated_at)
    .fetch_one(&mut **tx)
    .await?;
    room.version = Version::from_db(version);
    Ok(())
}
