//! The facilities of the register.

use super::*;

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
                .map_err(|_| Error::corrupt("facility time zone"))?,
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
