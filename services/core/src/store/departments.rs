//! The departments of the register.

use super::*;

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
            kind: DepartmentKind::from_db(&row.kind).ok_or(Error::corrupt("department kind"))?,
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
