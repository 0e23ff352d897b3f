//! The beds of the register.

use super::*;

const BED_COLUMNS: &str = "b.id, b.room_id, b.department_id, b.code, b.sex, b.isolation, \
     b.intensive_care, b.state, b.state_reason, b.active, b.version, b.created_at, b.updated_at";

#[derive(FromRow)]
struct BedRow {
    id: Uuid,
    room_id: Uuid,
    department_id: Uuid,
    code: String,
    sex: String,
    isolation: bool,
    intensive_care: bool,
    state: String,
    state_reason: String,
    active: bool,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<BedRow> for Bed {
    type Error = Error;

    fn try_from(row: BedRow) -> Result<Self> {
        Ok(Bed {
            id: BedId::from_uuid(row.id),
            room_id: RoomId::from_uuid(row.room_id),
            department_id: DepartmentId::from_uuid(row.department_id),
            code: code(&row.code, "bed code")?,
            sex: BedSex::from_db(&row.sex).ok_or(Error::corrupt("bed sex"))?,
            isolation: row.isolation,
            intensive_care: row.intensive_care,
            state: BedState::from_db(&row.state).ok_or(Error::corrupt("bed state"))?,
            state_reason: row.state_reason,
            active: row.active,
            version: Version::from_db(row.version),
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

pub async fn insert_bed(tx: &mut TenantTx, bed: &Bed) -> Result<()> {
    sqlx::query(
        "INSERT INTO core.beds (tenant_id, id, room_id, department_id, code, sex, isolation, \
         intensive_care, state, state_reason, active, version, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(bed.id.as_uuid())
    .bind(bed.room_id.as_uuid())
    .bind(bed.department_id.as_uuid())
    .bind(bed.code.as_str())
    .bind(bed.sex.as_db())
    .bind(bed.isolation)
    .bind(bed.intensive_care)
    .bind(bed.state.as_db())
    .bind(&bed.state_reason)
    .bind(bed.active)
    .bind(bed.version.get())
    .bind(bed.created_at)
    .bind(bed.updated_at)
    .execute(&mut **tx)
    .await
    .map_err(|error| {
        Error::duplicate(
            error,
            &format!("the room already has a bed with code {}", bed.code),
        )
    })?;
    Ok(())
}

pub async fn get_bed(tx: &mut TenantTx, id: BedId, lock: Lock) -> Result<Bed> {
    let sql = format!(
        "SELECT {BED_COLUMNS} FROM core.beds b WHERE b.tenant_id = $1 AND b.id = $2{}",
        lock.clause()
    );
    let row: Option<BedRow> = sqlx::query_as(AssertSqlSafe(sql))
        .bind(tx.tenant_id().as_uuid())
        .bind(id.as_uuid())
        .fetch_optional(&mut **tx)
        .await?;
    row.ok_or_else(|| not_found("bed", id))?.try_into()
}

/// Where beds are listed from.
#[derive(Debug, Clone, Copy)]
pub enum BedScope {
    Department(DepartmentId),
    Room(RoomId),
}

/// Beds ordered by (room code, bed code), after `after` when given; each with its room code.
pub async fn list_beds(
    tx: &mut TenantTx,
    scope: BedScope,
    state: Option<BedState>,
    after: Option<(&str, &str)>,
    limit: i64,
) -> Result<Vec<(Bed, String)>> {
    #[derive(FromRow)]
    struct ListedBed {
        #[sqlx(flatten)]
        bed: BedRow,
        room_code: String,
    }
    let (department_id, room_id) = match scope {
        BedScope::Department(id) => (Some(id.as_uuid()), None),
        BedScope::Room(id) => (None, Some(id.as_uuid())),
    };
    let sql = format!(
        "SELECT {BED_COLUMNS}, r.code AS room_code FROM core.beds b \
         JOIN core.rooms r ON r.tenant_id = b.tenant_id AND r.id = b.room_id \
         WHERE b.tenant_id = $1 \
           AND ($2::uuid IS NULL OR b.department_id = $2) \
           AND ($3::uuid IS NULL OR b.room_id = $3) \
           AND ($4::text IS NULL OR b.state = $4) \
           AND ($5::text IS NULL OR (r.code, b.code) > ($5, $6)) \
         ORDER BY r.code, b.code LIMIT $7"
    );
    let rows: Vec<ListedBed> = sqlx::query_as(AssertSqlSafe(sql))
        .bind(tx.tenant_id().as_uuid())
        .bind(department_id)
        .bind(room_id)
        .bind(state.map(|state| state.as_db()))
        .bind(after.map(|(room, _)| room))
        .bind(after.map(|(_, bed)| bed))
        .bind(limit)
        .fetch_all(&mut **tx)
        .await?;
    rows.into_iter()
        .map(|row| Ok((Bed::try_from(row.bed)?, row.room_code)))
        .collect()
}

pub async fn update_bed(tx: &mut TenantTx, bed: &mut Bed) -> Result<()> {
    let version: i64 = sqlx::query_scalar(
        "UPDATE core.beds SET sex = $3, isolation = $4, intensive_care = $5, state = $6, \
         state_reason = $7, active = $8, updated_at = $9, version = version + 1 \
         WHERE tenant_id = $1 AND id = $2 RETURNING version",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(bed.id.as_uuid())
    .bind(bed.sex.as_db())
    .bind(bed.isolation)
    .bind(bed.intensive_care)
    .bind(bed.state.as_db())
    .bind(&bed.state_reason)
    .bind(bed.active)
    .bind(bed.updated_at)
    .fetch_one(&mut **tx)
    .await?;
    bed.version = Version::from_db(version);
    Ok(())
}
