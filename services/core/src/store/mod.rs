//! The only place core speaks SQL, and only to the `core` schema. Every function runs inside
//! a tenant-bound transaction, so row-level security scopes it; the explicit `tenant_id`
//! predicates below are there for the indexes, not for safety.

mod beds;
mod departments;
mod dictionaries;
mod facilities;
mod rooms;

pub use beds::*;
pub use departments::*;
pub use dictionaries::*;
pub use facilities::*;
pub use rooms::*;

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
    Code::parse(value).map_err(|_| Error::corrupt(what))
}

fn name(value: &str, what: &'static str) -> Result<Name> {
    Name::parse(value).map_err(|_| Error::corrupt(what))
}

fn text(value: &str, what: &'static str) -> Result<Text> {
    Text::parse(value).map_err(|_| Error::corrupt(what))
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
