//! The only place IAM speaks SQL, and only to the `iam` schema.

use chrono::{DateTime, Utc};
use hmis_platform::auth::{Grant, Scope};
use hmis_platform::{TenantId, TenantTx};
use sqlx::{FromRow, PgPool};
use uuid::Uuid;

use crate::error::{Error, Result};

// ---------------------------------------------------------------------------------------------
// tenants known to IAM

/// Records the transaction's tenant under `code`; a second registration with the same code
/// is a no-op, with another code an error.
pub async fn register_tenant(tx: &mut TenantTx, code: &str) -> Result<()> {
    let tenant_id = tx.tenant_id().as_uuid();
    sqlx::query("INSERT INTO iam.tenants (tenant_id, code) VALUES ($1, $2) ON CONFLICT DO NOTHING")
        .bind(tenant_id)
        .bind(code)
        .execute(&mut **tx)
        .await?;
    let registered: Option<String> =
        sqlx::query_scalar("SELECT code FROM iam.tenants WHERE tenant_id = $1")
            .bind(tenant_id)
            .fetch_optional(&mut **tx)
            .await?;
    match registered {
        Some(registered) if registered == code => Ok(()),
        Some(_) => Err(Error::AlreadyExists(format!(
            "the tenant is registered under another code than {code}"
        ))),
        None => Err(Error::AlreadyExists(format!(
            "tenant code {code} belongs to another tenant"
        ))),
    }
}

pub async fn tenant_by_code(pool: &PgPool, code: &str) -> Result<Option<TenantId>> {
    let id: Option<Uuid> = sqlx::query_scalar("SELECT tenant_id FROM iam.tenants WHERE code = $1")
        .bind(code)
        .fetch_optional(pool)
        .await?;
    Ok(id.map(TenantId::new))
}

// ---------------------------------------------------------------------------------------------
// users

#[derive(Debug, Clone, FromRow)]
pub struct UserRow {
    pub id: Uuid,
    pub username: String,
    pub display_name: String,
    pub registration_number: String,
    pub kind: String,
    pub status: String,
    pub valid_from: Option<DateTime<Utc>>,
    pub valid_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

const USER_COLUMNS: &str = "id, username, display_name, registration_number, kind, status, \
     valid_from, valid_until, created_at";

/// What sign-in needs of an account, read under a row lock so concurrent failures count.
#[derive(Debug, Clone, FromRow)]
pub struct Credentials {
    pub id: Uuid,
    pub username: String,
    pub kind: String,
    pub status: String,
    pub valid_from: Option<DateTime<Utc>>,
    pub valid_until: Option<DateTime<Utc>>,
    pub password_hash: Option<String>,
    pub secret_hash: Option<String>,
    pub failed_logins: i32,
    pub locked_until: Option<DateTime<Utc>>,
}

const CREDENTIAL_COLUMNS: &str = "id, username, kind, status, valid_from, valid_until, \
     password_hash, secret_hash, failed_logins, locked_until";

pub struct NewUser<'a> {
    pub id: Uuid,
    pub username: &'a str,
    pub display_name: &'a str,
    pub registration_number: &'a str,
    pub valid_from: Option<DateTime<Utc>>,
    pub valid_until: Option<DateTime<Utc>>,
    pub password_hash: Option<&'a str>,
    pub client_id: Option<&'a str>,
    pub secret_hash: Option<&'a str>,
    pub now: DateTime<Utc>,
}

pub async fn insert_user(tx: &mut TenantTx, user: &NewUser<'_>) -> Result<()> {
    let kind = if user.client_id.is_some() {
        "service"
    } else {
        "person"
    };
    sqlx::query(
        "INSERT INTO iam.users (tenant_id, id, username, display_name, registration_number, \
         kind, status, valid_from, valid_until, password_hash, client_id, secret_hash, \
         created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 'active', $7, $8, $9, $10, $11, $12, $12)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(user.id)
    .bind(user.username)
    .bind(user.display_name)
    .bind(user.registration_number)
    .bind(kind)
    .bind(user.valid_from)
    .bind(user.valid_until)
    .bind(user.password_hash)
    .bind(user.client_id)
    .bind(user.secret_hash)
    .bind(user.now)
    .execute(&mut **tx)
    .await
    .map_err(|error| Error::duplicate(error, format!("user {} already exists", user.username)))?;
    Ok(())
}

pub async fn credentials_by_username(
    tx: &mut TenantTx,
    username: &str,
) -> Result<Option<Credentials>> {
    let sql = format!(
        "SELECT {CREDENTIAL_COLUMNS} FROM iam.users \
         WHERE tenant_id = $1 AND username = $2 AND kind = 'person' FOR UPDATE"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(tx.tenant_id().as_uuid())
        .bind(username)
        .fetch_optional(&mut **tx)
        .await?)
}

pub async fn credentials_by_client_id(
    tx: &mut TenantTx,
    client_id: &str,
) -> Result<Option<Credentials>> {
    let sql = format!(
        "SELECT {CREDENTIAL_COLUMNS} FROM iam.users \
         WHERE tenant_id = $1 AND client_id = $2 AND kind = 'service' FOR UPDATE"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(tx.tenant_id().as_uuid())
        .bind(client_id)
        .fetch_optional(&mut **tx)
        .await?)
}

pub async fn credentials_by_id(tx: &mut TenantTx, id: Uuid) -> Result<Option<Credentials>> {
    let sql = format!(
        "SELECT {CREDENTIAL_COLUMNS} FROM iam.users WHERE tenant_id = $1 AND id = $2 FOR UPDATE"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(tx.tenant_id().as_uuid())
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?)
}

/// Records the outcome of a sign-in attempt.
pub async fn record_sign_in(
    tx: &mut TenantTx,
    user_id: Uuid,
    failed_logins: i32,
    locked_until: Option<DateTime<Utc>>,
) -> Result<()> {
    sqlx::query(
        "UPDATE iam.users SET failed_logins = $3, locked_until = $4 \
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(user_id)
    .bind(failed_logins)
    .bind(locked_until)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn set_password(
    tx: &mut TenantTx,
    user_id: Uuid,
    hash: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "UPDATE iam.users SET password_hash = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(user_id)
    .bind(hash)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn get_user(tx: &mut TenantTx, id: Uuid) -> Result<UserRow> {
    let sql = format!("SELECT {USER_COLUMNS} FROM iam.users WHERE tenant_id = $1 AND id = $2");
    let row: Option<UserRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(tx.tenant_id().as_uuid())
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    row.ok_or(Error::NotFound {
        what: "user",
        id: id.to_string(),
    })
}

pub async fn list_users(
    tx: &mut TenantTx,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<UserRow>> {
    let sql = format!(
        "SELECT {USER_COLUMNS} FROM iam.users WHERE tenant_id = $1 \
         AND ($2::text IS NULL OR username > $2) ORDER BY username LIMIT $3"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(tx.tenant_id().as_uuid())
        .bind(after)
        .bind(limit)
        .fetch_all(&mut **tx)
        .await?)
}

pub async fn set_status(
    tx: &mut TenantTx,
    id: Uuid,
    status: &str,
    now: DateTime<Utc>,
) -> Result<UserRow> {
    let sql = format!(
        "UPDATE iam.users SET status = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2 \
         RETURNING {USER_COLUMNS}"
    );
    let row: Option<UserRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(tx.tenant_id().as_uuid())
        .bind(id)
        .bind(status)
        .bind(now)
        .fetch_optional(&mut **tx)
        .await?;
    row.ok_or(Error::NotFound {
        what: "user",
        id: id.to_string(),
    })
}

// ---------------------------------------------------------------------------------------------
// roles and assignments

#[derive(Debug, Clone)]
pub struct RoleRow {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub permissions: Vec<String>,
}

pub async fn insert_role(tx: &mut TenantTx, role: &RoleRow, now: DateTime<Utc>) -> Result<()> {
    let tenant_id = tx.tenant_id().as_uuid();
    sqlx::query(
        "INSERT INTO iam.roles (tenant_id, id, code, name, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(tenant_id)
    .bind(role.id)
    .bind(&role.code)
    .bind(&role.name)
    .bind(now)
    .execute(&mut **tx)
    .await
    .map_err(|error| Error::duplicate(error, format!("role {} already exists", role.code)))?;
    sqlx::query(
        "INSERT INTO iam.role_permissions (tenant_id, role_id, permission) \
         SELECT $1, $2, unnest($3::text[])",
    )
    .bind(tenant_id)
    .bind(role.id)
    .bind(&role.permissions)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Adds permissions to a role (those it holds already are skipped).
pub async fn add_role_permissions(
    tx: &mut TenantTx,
    role_id: Uuid,
    permissions: &[String],
) -> Result<()> {
    sqlx::query(
        "INSERT INTO iam.role_permissions (tenant_id, role_id, permission) \
         SELECT $1, $2, unnest($3::text[]) ON CONFLICT DO NOTHING",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(role_id)
    .bind(permissions)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn list_roles(tx: &mut TenantTx) -> Result<Vec<RoleRow>> {
    let rows: Vec<(Uuid, String, String, Vec<String>)> = sqlx::query_as(
        "SELECT r.id, r.code, r.name, \
                coalesce(array_agg(p.permission ORDER BY p.permission) \
                         FILTER (WHERE p.permission IS NOT NULL), '{}') \
         FROM iam.roles r \
         LEFT JOIN iam.role_permissions p ON p.tenant_id = r.tenant_id AND p.role_id = r.id \
         WHERE r.tenant_id = $1 GROUP BY r.id, r.code, r.name ORDER BY r.code",
    )
    .bind(tx.tenant_id().as_uuid())
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, code, name, permissions)| RoleRow {
            id,
            code,
            name,
            permissions,
        })
        .collect())
}

pub async fn role_id_by_code(tx: &mut TenantTx, code: &str) -> Result<Option<Uuid>> {
    Ok(
        sqlx::query_scalar("SELECT id FROM iam.roles WHERE tenant_id = $1 AND code = $2")
            .bind(tx.tenant_id().as_uuid())
            .bind(code)
            .fetch_optional(&mut **tx)
            .await?,
    )
}

#[derive(Debug, Clone, FromRow)]
pub struct AssignmentRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub role_code: String,
    pub scope_kind: String,
    pub scope_id: Option<Uuid>,
    pub valid_from: Option<DateTime<Utc>>,
    pub valid_until: Option<DateTime<Utc>>,
}

impl AssignmentRow {
    pub fn scope(&self) -> Result<Scope> {
        stored_scope(&self.scope_kind, self.scope_id)
    }
}

/// The scope an assignment row stores as (kind, id); the inverse of [`scope_parts`].
fn stored_scope(kind: &str, id: Option<Uuid>) -> Result<Scope> {
    match (kind, id) {
        ("tenant", None) => Ok(Scope::Tenant),
        ("facility", Some(id)) => Ok(Scope::Facility(id)),
        ("department", Some(id)) => Ok(Scope::Department(id)),
        _ => Err(Error::Crypto(
            "stored assignment scope is not valid".to_owned(),
        )),
    }
}

fn scope_parts(scope: Scope) -> (&'static str, Option<Uuid>) {
    match scope {
        Scope::Tenant => ("tenant", None),
        Scope::Facility(id) => ("facility", Some(id)),
        Scope::Department(id) => ("department", Some(id)),
    }
}

#[allow(clippy::too_many_arguments)]
pub async fn insert_assignment(
    tx: &mut TenantTx,
    id: Uuid,
    user_id: Uuid,
    role_id: Uuid,
    scope: Scope,
    valid_from: Option<DateTime<Utc>>,
    valid_until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<()> {
    let (scope_kind, scope_id) = scope_parts(scope);
    sqlx::query(
        "INSERT INTO iam.assignments (tenant_id, id, user_id, role_id, scope_kind, scope_id, \
         valid_from, valid_until, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(id)
    .bind(user_id)
    .bind(role_id)
    .bind(scope_kind)
    .bind(scope_id)
    .bind(valid_from)
    .bind(valid_until)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn revoke_assignment(tx: &mut TenantTx, id: Uuid, now: DateTime<Utc>) -> Result<bool> {
    Ok(sqlx::query(
        "UPDATE iam.assignments SET revoked_at = $3 \
         WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(id)
    .bind(now)
    .execute(&mut **tx)
    .await?
    .rows_affected()
        == 1)
}

pub async fn list_assignments(tx: &mut TenantTx, user_id: Uuid) -> Result<Vec<AssignmentRow>> {
    Ok(sqlx::query_as(
        "SELECT a.id, a.user_id, r.code AS role_code, a.scope_kind, a.scope_id, a.valid_from, \
                a.valid_until \
         FROM iam.assignments a JOIN iam.roles r ON r.tenant_id = a.tenant_id AND r.id = a.role_id \
         WHERE a.tenant_id = $1 AND a.user_id = $2 AND a.revoked_at IS NULL \
         ORDER BY r.code, a.created_at",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(user_id)
    .fetch_all(&mut **tx)
    .await?)
}

/// The grants `user_id` holds at `now`: permissions of every role assigned and in force.
pub async fn grants_at(tx: &mut TenantTx, user_id: Uuid, now: DateTime<Utc>) -> Result<Vec<Grant>> {
    let rows: Vec<(String, String, Option<Uuid>)> = sqlx::query_as(
        "SELECT DISTINCT p.permission, a.scope_kind, a.scope_id \
         FROM iam.assignments a \
         JOIN iam.role_permissions p ON p.tenant_id = a.tenant_id AND p.role_id = a.role_id \
         WHERE a.tenant_id = $1 AND a.user_id = $2 AND a.revoked_at IS NULL \
           AND (a.valid_from IS NULL OR a.valid_from <= $3) \
           AND (a.valid_until IS NULL OR a.valid_until > $3) \
         ORDER BY 1, 2, 3",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(user_id)
    .bind(now)
    .fetch_all(&mut **tx)
    .await?;
    rows.into_iter()
        .map(|(permission, scope_kind, scope_id)| {
            Ok(Grant {
                permission,
                scope: stored_scope(&scope_kind, scope_id)?,
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// refresh tokens

#[derive(Debug, Clone, FromRow)]
pub struct RefreshRow {
    pub id: Uuid,
    pub family_id: Uuid,
    pub user_id: Uuid,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[allow(clippy::too_many_arguments)]
pub async fn insert_refresh_token(
    tx: &mut TenantTx,
    id: Uuid,
    family_id: Uuid,
    user_id: Uuid,
    token_hash: &[u8],
    issued_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO iam.refresh_tokens (tenant_id, id, family_id, user_id, token_hash, \
         issued_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(id)
    .bind(family_id)
    .bind(user_id)
    .bind(token_hash)
    .bind(issued_at)
    .bind(expires_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn refresh_token_by_hash(
    tx: &mut TenantTx,
    token_hash: &[u8],
) -> Result<Option<RefreshRow>> {
    Ok(sqlx::query_as(
        "SELECT id, family_id, user_id, expires_at, used_at, revoked_at FROM iam.refresh_tokens \
         WHERE tenant_id = $1 AND token_hash = $2 FOR UPDATE",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(token_hash)
    .fetch_optional(&mut **tx)
    .await?)
}

pub async fn mark_refresh_token_used(
    tx: &mut TenantTx,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query("UPDATE iam.refresh_tokens SET used_at = $3 WHERE tenant_id = $1 AND id = $2")
        .bind(tx.tenant_id().as_uuid())
        .bind(id)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub async fn revoke_family(tx: &mut TenantTx, family_id: Uuid, now: DateTime<Utc>) -> Result<u64> {
    Ok(sqlx::query(
        "UPDATE iam.refresh_tokens SET revoked_at = $3 \
         WHERE tenant_id = $1 AND family_id = $2 AND revoked_at IS NULL",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(family_id)
    .bind(now)
    .execute(&mut **tx)
    .await?
    .rows_affected())
}

/// Ends every session of `user_id` except `keep` (the caller's own, when changing password).
pub async fn revoke_sessions_of(
    tx: &mut TenantTx,
    user_id: Uuid,
    keep: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<u64> {
    Ok(sqlx::query(
        "UPDATE iam.refresh_tokens SET revoked_at = $4 \
         WHERE tenant_id = $1 AND user_id = $2 AND revoked_at IS NULL \
           AND ($3::uuid IS NULL OR family_id <> $3)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(user_id)
    .bind(keep)
    .bind(now)
    .execute(&mut **tx)
    .await?
    .rows_affected())
}

/// A signing key of the key ring, as stored.
#[derive(Debug, FromRow)]
pub struct KeyRow {
    pub kid: String,
    pub private_key: Vec<u8>,
    pub public_key: Vec<u8>,
    pub retired_at: Option<DateTime<Utc>>,
}

/// The keys in use and those retired after `retired_after` (tokens they signed may still be
/// valid), newest first.
pub async fn signing_keys(pool: &PgPool, retired_after: DateTime<Utc>) -> Result<Vec<KeyRow>> {
    Ok(sqlx::query_as(
        "SELECT kid, private_key, public_key, retired_at FROM iam.signing_keys \
         WHERE retired_at IS NULL OR retired_at > $1 ORDER BY created_at DESC, kid",
    )
    .bind(retired_after)
    .fetch_all(pool)
    .await?)
}

/// Retires the signing key in use and puts `kid` in its place, in one transaction.
pub async fn replace_signing_key(
    pool: &PgPool,
    kid: &str,
    private_key: &[u8],
    public_key: &[u8],
    now: DateTime<Utc>,
) -> Result<()> {
    let mut transaction = pool.begin().await?;
    sqlx::query("UPDATE iam.signing_keys SET retired_at = $1 WHERE retired_at IS NULL")
        .bind(now)
        .execute(&mut *transaction)
        .await?;
    sqlx::query(
        "INSERT INTO iam.signing_keys (kid, private_key, public_key, created_at) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(kid)
    .bind(private_key)
    .bind(public_key)
    .bind(now)
    .execute(&mut *transaction)
    .await?;
    transaction.commit().await?;
    Ok(())
}

/// Who may no longer act (the worker role, across tenants): the sessions revoked since
/// `since`, and the users not active at `now` (disabled, or outside their validity).
pub async fn revocations(
    worker: &PgPool,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(Vec<Uuid>, Vec<Uuid>)> {
    let sessions = sqlx::query_scalar(
        "SELECT DISTINCT family_id FROM iam.refresh_tokens WHERE revoked_at >= $1",
    )
    .bind(since)
    .fetch_all(worker)
    .await?;
    let users = sqlx::query_scalar(
        "SELECT id FROM iam.users WHERE status <> 'active' \
           OR valid_until <= $1 OR valid_from > $1",
    )
    .bind(now)
    .fetch_all(worker)
    .await?;
    Ok((sessions, users))
}

/// How many people of the tenant are not `username` (a tenant's first administrator is made
/// only while it has nobody else).
pub async fn people_other_than(tx: &mut TenantTx, username: &str) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM iam.users WHERE tenant_id = $1 AND kind = 'person' \
         AND username <> $2",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(username)
    .fetch_one(&mut **tx)
    .await?)
}
