//! The only place core speaks SQL, and only to the `core` schema. Every function runs inside
//! a tenant-bound transaction, so row-level security scopes it; the explicit `tenant_id`
//! predicates below are there for the indexes, not for safety.

use chrono::{DateTime, Utc};
use hmis_platform::TenantTx;
use hmis_platform::types::{Code, Name, Text, Version};
use sqlx::{AssertSqlSafe, FromRow};
use uuid::Uuid;

use crate::domain::{
    Bed, BedId, BedSex, BedState, Department, DepartmentId, DepartmentKind, Dictionary,
    DictionaryEntry, Facility, FacilityId, Room, RoomId, Tenant,
};
use crate::error::{Error, Result};

/// Whether a read takes the row lock an update needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    None,
    ForUpdate,
}

impl Lock {
    fn clause(self) -> &'static str {
        match self {
            Lock::None => "",
            Lock::ForUpdate => " FOR UPDATE",
        }
    }
}

fn code(value: &str, what: &'static str) -> Result<Code> {
    Code::parse(value).map_err(|_| Error::CorruptRow(what))
}

fn name(value: &str, what: &'static str) -> Result<Name> {
    Name::parse(value).map_err(|_| Error::CorruptRow(what))
}

fn text(value: &str, what: &'static str) -> Result<Text> {
    Text::parse(value).map_err(|_| Error::CorruptRow(what))
}

fn not_found(what: &'static str, id: impl ToString) -> Error {
    Error::NotFound {
        what,
        id: id.to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// tenants

#[derive(FromRow)]
struct TenantRow {
    tenant_id: Uuid,
    code: String,
    name: String,
    created_at: DateTime<Utc>,
}

pub async fn insert_tenant(tx: &mut TenantTx, tenant: &Tenant) -> Result<()> {
    sqlx::query(
        "INSERT INTO core.tenants (tenant_id, code, name, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(tenant.id.as_uuid())
    .bind(tenant.code.as_str())
    .bind(tenant.name.as_str())
    .bind(tenant.created_at)
    .execute(&mut **tx)
    .await
    .map_err(|error| {
        Error::duplicate(
            error,
            &format!("a tenant with code {} already exists", tenant.code),
        )
    })?;
    Ok(())
}

/// The transaction's own tenant (row-level security shows no other).
pub async fn current_tenant(tx: &mut TenantTx) -> Result<Tenant> {
    let row: Option<TenantRow> =
        sqlx::query_as("SELECT tenant_id, code, name, created_at FROM core.tenants")
            .fetch_optional(&mut **tx)
            .await?;
    let row = row.ok_or_else(|| not_found("tenant", tx.tenant_id()))?;
    Ok(Tenant {
        id: hmis_platform::TenantId::new(row.tenant_id),
        code: code(&row.code, "tenant code")?,
        name: name(&row.name, "tenant name")?,
        created_at: row.created_at,
    })
}

// ---------------------------------------------------------------------------------------------
// facilities

const FACILITY_COLUMNS: &str =
    "id, code, name, time_zone, address, active, version, created_at, updated_at";

#[derive(FromRow)]
struct FacilityRow {
    id: Uuid,
    code: String,
    name: String,
    time_zone: String,
    address: String,
    active: bool,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<FacilityRow> for Facility {
    type Error = Error;

    fn try_from(row: FacilityRow) -> Result<Self> {
        Ok(Facility {
            id: FacilityId::from_uuid(row.id),
            code: code(&row.code, "facility code")?,
            name: name(&row.name, "facility name")?,
            time_zone: row
                .time_zone
                .parse()
                .map_err(|_| Error::CorruptRow("facility time zone"))?,
            address: text(&row.address, "facility address")?,
            active: row.active,
            version: Version::from_db(row.version),
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

pub async fn insert_facility(tx: &mut TenantTx, facility: &Facility) -> Result<()> {
    sqlx::query(
        "INSERT INTO core.facilities \
         (tenant_id, id, code, name, time_zone, address, active, version, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(facility.id.as_uuid())
    .bind(facility.code.as_str())
    .bind(facility.name.as_str())
    .bind(facility.time_zone.name())
    .bind(facility.address.as_str())
    .bind(facility.active)
    .bind(facility.version.get())
    .bind(facility.created_at)
    .bind(facility.updated_at)
    .execute(&mut **tx)
    .await
    .map_err(|error| {
        Error::duplicate(
            error,
            &format!("a facility with code {} already exists", facility.code),
        )
    })?;
    Ok(())
}

pub async fn get_facility(tx: &mut TenantTx, id: FacilityId, lock: Lock) -> Result<Facility> {
    let sql = format!(
        "SELECT {FACILITY_COLUMNS} FROM core.facilities WHERE tenant_id = $1 AND id = $2{}",
        lock.clause()
    );
    let row: Option<FacilityRow> = sqlx::query_as(AssertSqlSafe(sql))
        .bind(tx.tenant_id().as_uuid())
        .bind(id.as_uuid())
        .fetch_optional(&mut **tx)
        .await?;
    row.ok_or_else(|| not_found("facility", id))?.try_into()
}

/// Facilities ordered by code, after `after_code` when given.
pub async fn list_facilities(
    tx: &mut TenantTx,
    after_code: Option<&str>,
    limit: i64,
) -> Result<Vec<Facility>> {
    let sql = format!(
        "SELECT {FACILITY_COLUMNS} FROM core.facilities \
         WHERE tenant_id = $1 AND ($2::text IS NULL OR code > $2) ORDER BY code LIMIT $3"
    );
    let rows: Vec<FacilityRow> = sqlx::query_as(AssertSqlSafe(sql))
        .bind(tx.tenant_id().as_uuid())
        .bind(after_code)
        .bind(limit)
        .fetch_all(&mut **tx)
        .await?;
    rows.into_iter().map(Facility::try_from).collect()
}

/// Writes the editable fields and bumps the version. The caller holds the row lock and has
/// checked the etag.
pub async fn update_facility(tx: &mut TenantTx, facility: &mut Facility) -> Result<()> {
    let version: i64 = sqlx::query_scalar(
        "UPDATE core.facilities SET name = $3, time_zone = $4, address = $5, active = $6, \
         updated_at = $7, version = version + 1 WHERE tenant_id = $1 AND id = $2 RETURNING version",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(facility.id.as_uuid())
    .bind(facility.name.as_str())
    .bind(facility.time_zone.name())
    .bind(facility.address.as_str())
    .bind(facility.active)
    .bind(facility.updated_at)
    .fetch_one(&mut **tx)
    .await?;
    facility.version = Version::from_db(version);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// departments

const DEPARTMENT_COLUMNS: &str = "id, facility_id, code, name, kind, specialty_code, active, \
     version, created_at, updated_at";

#[derive(FromRow)]
struct DepartmentRow {
    id: Uuid,
    facility_id: Uuid,
    code: String,
    name: String,
    kind: String,
    specialty_code: String,
    active: bool,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<DepartmentRow> for Department {
    type Error = Error;

    fn try_from(row: DepartmentRow) -> Result<Self> {
        Ok(Department {
            id: DepartmentId::from_uuid(row.id),
            facility_id: FacilityId::from_uuid(row.facility_id),
            code: code(&row.code, "department code")?,
            name: name(&row.name, "department name")?,
            kind: DepartmentKind::from_db(&row.kind).ok_or(Error::CorruptRow("department kind"))?,
            specialty_code: if row.specialty_code.is_empty() {
                None
            } else {
                Some(code(&row.specialty_code, "department specialty")?)
            },
            active: row.active,
            version: Version::from_db(row.version),
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

pub async fn insert_department(tx: &mut TenantTx, department: &Department) -> Result<()> {
    sqlx::query(
        "INSERT INTO core.departments (tenant_id, id, facility_id, code, name, kind, \
         specialty_code, active, version, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(department.id.as_uuid())
    .bind(department.facility_id.as_uuid())
    .bind(department.code.as_str())
    .bind(department.name.as_str())
    .bind(department.kind.as_db())
    .bind(department.specialty_code.as_ref().map_or("", Code::as_str))
    .bind(department.active)
    .bind(department.version.get())
    .bind(department.created_at)
    .bind(department.updated_at)
    .execute(&mut **tx)
    .await
    .map_err(|error| {
        Error::duplicate(
            error,
            &format!(
                "the facility already has a department with code {}",
                department.code
            ),
        )
    })?;
    Ok(())
}

pub async fn get_department(tx: &mut TenantTx, id: DepartmentId, lock: Lock) -> Result<Department> {
    let sql = format!(
        "SELECT {DEPARTMENT_COLUMNS} FROM core.departments WHERE tenant_id = $1 AND id = $2{}",
        lock.clause()
    );
    let row: Option<DepartmentRow> = sqlx::query_as(AssertSqlSafe(sql))
        .bind(tx.tenant_id().as_uuid())
        .bind(id.as_uuid())
        .fetch_optional(&mut **tx)
        .await?;
    row.ok_or_else(|| not_found("department", id))?.try_into()
}

pub async fn list_departments(
    tx: &mut TenantTx,
    facility_id: FacilityId,
    kind: Option<DepartmentKind>,
    after_code: Option<&str>,
    limit: i64,
) -> Result<Vec<Department>> {
    let sql = format!(
        "SELECT {DEPARTMENT_COLUMNS} FROM core.departments \
         WHERE tenant_id = $1 AND facility_id = $2 AND ($3::text IS NULL OR kind = $3) \
           AND ($4::text IS NULL OR code > $4) \
         ORDER BY code LIMIT $5"
    );
    let rows: Vec<DepartmentRow> = sqlx::query_as(AssertSqlSafe(sql))
        .bind(tx.tenant_id().as_uuid())
        .bind(facility_id.as_uuid())
        .bind(kind.map(|kind| kind.as_db()))
        .bind(after_code)
        .bind(limit)
        .fetch_all(&mut **tx)
        .await?;
    rows.into_iter().map(Department::try_from).collect()
}

pub async fn update_department(tx: &mut TenantTx, department: &mut Department) -> Result<()> {
    let version: i64 = sqlx::query_scalar(
        "UPDATE core.departments SET name = $3, kind = $4, specialty_code = $5, active = $6, \
         updated_at = $7, version = version + 1 WHERE tenant_id = $1 AND id = $2 RETURNING version",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(department.id.as_uuid())
    .bind(department.name.as_str())
    .bind(department.kind.as_db())
    .bind(department.specialty_code.as_ref().map_or("", Code::as_str))
    .bind(department.active)
    .bind(department.updated_at)
    .fetch_one(&mut **tx)
    .await?;
    department.version = Version::from_db(version);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// rooms

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

// ---------------------------------------------------------------------------------------------
// beds

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
            sex: BedSex::from_db(&row.sex).ok_or(Error::CorruptRow("bed sex"))?,
            isolation: row.isolation,
            intensive_care: row.intensive_care,
            state: BedState::from_db(&row.state).ok_or(Error::CorruptRow("bed state"))?,
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

// ---------------------------------------------------------------------------------------------
// dictionaries

/// The dictionary whose entries departments' specialty codes must name.
pub const SPECIALTIES: &str = "specialties";

#[derive(FromRow)]
struct DictionaryRow {
    code: String,
    name: String,
    description: String,
    created_at: DateTime<Utc>,
}

impl TryFrom<DictionaryRow> for Dictionary {
    type Error = Error;

    fn try_from(row: DictionaryRow) -> Result<Self> {
        Ok(Dictionary {
            code: code(&row.code, "dictionary code")?,
            name: name(&row.name, "dictionary name")?,
            description: text(&row.description, "dictionary description")?,
            created_at: row.created_at,
        })
    }
}

pub async fn insert_dictionary(tx: &mut TenantTx, dictionary: &Dictionary) -> Result<()> {
    sqlx::query(
        "INSERT INTO core.dictionaries (tenant_id, code, name, description, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(dictionary.code.as_str())
    .bind(dictionary.name.as_str())
    .bind(dictionary.description.as_str())
    .bind(dictionary.created_at)
    .execute(&mut **tx)
    .await
    .map_err(|error| {
        Error::duplicate(
            error,
            &format!("a dictionary with code {} already exists", dictionary.code),
        )
    })?;
    Ok(())
}

pub async fn list_dictionaries(
    tx: &mut TenantTx,
    after_code: Option<&str>,
    limit: i64,
) -> Result<Vec<Dictionary>> {
    let rows: Vec<DictionaryRow> = sqlx::query_as(
        "SELECT code, name, description, created_at FROM core.dictionaries \
         WHERE tenant_id = $1 AND ($2::text IS NULL OR code > $2) ORDER BY code LIMIT $3",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(after_code)
    .bind(limit)
    .fetch_all(&mut **tx)
    .await?;
    rows.into_iter().map(Dictionary::try_from).collect()
}

pub async fn dictionary_exists(tx: &mut TenantTx, dictionary_code: &Code) -> Result<bool> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT FROM core.dictionaries WHERE tenant_id = $1 AND code = $2)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(dictionary_code.as_str())
    .fetch_one(&mut **tx)
    .await?)
}

/// Whether `entry_code` is an active entry of `dictionary_code`.
pub async fn entry_is_active(
    tx: &mut TenantTx,
    dictionary_code: &str,
    entry_code: &Code,
) -> Result<bool> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT FROM core.dictionary_entries \
         WHERE tenant_id = $1 AND dictionary_code = $2 AND code = $3 AND active)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(dictionary_code)
    .bind(entry_code.as_str())
    .fetch_one(&mut **tx)
    .await?)
}

const ENTRY_COLUMNS: &str =
    "dictionary_code, code, display, sort_order, active, version, created_at, updated_at";

#[derive(FromRow)]
struct EntryRow {
    dictionary_code: String,
    code: String,
    display: String,
    sort_order: i32,
    active: bool,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<EntryRow> for DictionaryEntry {
    type Error = Error;

    fn try_from(row: EntryRow) -> Result<Self> {
        Ok(DictionaryEntry {
            dictionary_code: code(&row.dictionary_code, "dictionary code")?,
            code: code(&row.code, "entry code")?,
            display: name(&row.display, "entry display")?,
            sort_order: row.sort_order,
            active: row.active,
            version: Version::from_db(row.version),
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

pub async fn insert_entry(tx: &mut TenantTx, entry: &DictionaryEntry) -> Result<()> {
    sqlx::query(
        "INSERT INTO core.dictionary_entries (tenant_id, dictionary_code, code, display, \
         sort_order, active, version, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(entry.dictionary_code.as_str())
    .bind(entry.code.as_str())
    .bind(entry.display.as_str())
    .bind(entry.sort_order)
    .bind(entry.active)
    .bind(entry.version.get())
    .bind(entry.created_at)
    .bind(entry.updated_at)
    .execute(&mut **tx)
    .await
    .map_err(|error| {
        Error::duplicate(
            error,
            &format!(
                "dictionary {} already has an entry {}",
                entry.dictionary_code, entry.code
            ),
        )
    })?;
    Ok(())
}

pub async fn get_entry(
    tx: &mut TenantTx,
    dictionary_code: &Code,
    entry_code: &Code,
    lock: Lock,
) -> Result<DictionaryEntry> {
    let sql = format!(
        "SELECT {ENTRY_COLUMNS} FROM core.dictionary_entries \
         WHERE tenant_id = $1 AND dictionary_code = $2 AND code = $3{}",
        lock.clause()
    );
    let row: Option<EntryRow> = sqlx::query_as(AssertSqlSafe(sql))
        .bind(tx.tenant_id().as_uuid())
        .bind(dictionary_code.as_str())
        .bind(entry_code.as_str())
        .fetch_optional(&mut **tx)
        .await?;
    row.ok_or_else(|| {
        not_found(
            "dictionary entry",
            format!("{dictionary_code}/{entry_code}"),
        )
    })?
    .try_into()
}

/// Entries in pick-list order (sort_order, code), after `after` when given.
pub async fn list_entries(
    tx: &mut TenantTx,
    dictionary_code: &Code,
    include_inactive: bool,
    after: Option<(i32, &str)>,
    limit: i64,
) -> Result<Vec<DictionaryEntry>> {
    let sql = format!(
        "SELECT {ENTRY_COLUMNS} FROM core.dictionary_entries \
         WHERE tenant_id = $1 AND dictionary_code = $2 AND ($3 OR active) \
           AND ($4::int IS NULL OR (sort_order, code) > ($4, $5)) \
         ORDER BY sort_order, code LIMIT $6"
    );
    let rows: Vec<EntryRow> = sqlx::query_as(AssertSqlSafe(sql))
        .bind(tx.tenant_id().as_uuid())
        .bind(dictionary_code.as_str())
        .bind(include_inactive)
        .bind(after.map(|(sort_order, _)| sort_order))
        .bind(after.map(|(_, code)| code))
        .bind(limit)
        .fetch_all(&mut **tx)
        .await?;
    rows.into_iter().map(DictionaryEntry::try_from).collect()
}

pub async fn update_entry(tx: &mut TenantTx, entry: &mut DictionaryEntry) -> Result<()> {
    let version: i64 = sqlx::query_scalar(
        "UPDATE core.dictionary_entries SET display = $4, sort_order = $5, active = $6, \
         updated_at = $7, version = version + 1 \
         WHERE tenant_id = $1 AND dictionary_code = $2 AND code = $3 RETURNING version",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(entry.dictionary_code.as_str())
    .bind(entry.code.as_str())
    .bind(entry.display.as_str())
    .bind(entry.sort_order)
    .bind(entry.active)
    .bind(entry.updated_at)
    .fetch_one(&mut **tx)
    .await?;
    entry.version = Version::from_db(version);
    Ok(())
}
