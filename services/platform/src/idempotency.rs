//! Idempotent writes by client `request_id`.
//!
//! Hospital networks drop answers and kiosks call twice, so every mutating RPC carries a
//! `request_id`. Inside the write's own transaction, [`IdempotencyKeys::begin`] inserts the key
//! first: a retry arriving while the first call is still running blocks on the key's unique
//! index until that call commits, then replays the stored response; if the first call rolled
//! back, the retry does the work itself. [`IdempotencyKeys::finish`] stores the response in the
//! same transaction, so "the write happened" and "its answer is remembered" commit together.
//! The same `request_id` with a different request (another method or other fields) is refused.
//! [`IdempotencyKeys::run`] spares both their round trips: the claim travels with the BEGIN
//! (a key found taken fails it, `platform.claim_made`, and the stored response is read in a
//! transaction of its own), and the response goes with the transaction's deferred writes
//! ([`crate::deferred`]) before its commit.
//!
//! Each module keeps its keys in its own schema (`<schema>.idempotency_keys`, created by
//! `platform.install_module_kit`), so a module stays movable to a database of its own.

use std::time::Duration;

use chrono::Utc;
use prost::Message;
use sha2::{Digest, Sha256};
use sqlx::{AssertSqlSafe, PgPool};

use crate::context::{RequestId, TenantId};
use crate::db::{Database, TenantTx};
use crate::error::Error;
use crate::types::ParseError;

/// The SQLSTATE of a claim that found its key claimed by another call
/// (`platform.claim_made`).
pub const KEY_CLAIMED_BEFORE: &str = "HMKEY";

fn claimed_before(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .and_then(|error| error.code())
        .is_some_and(|code| code == KEY_CLAIMED_BEFORE)
}

/// A client's `request_id`, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestKey(String);

impl RequestKey {
    pub const MAX_LEN: usize = 128;

    pub fn parse(value: &str) -> Result<Self, ParseError> {
        if value.is_empty() {
            return Err(ParseError::new(
                "is required: a unique id per request (e.g. a UUID), reused only on retries",
            ));
        }
        if value.len() > Self::MAX_LEN || !value.bytes().all(|byte| byte.is_ascii_graphic()) {
            return Err(ParseError::new(format!(
                "must be at most {} printable ASCII characters",
                Self::MAX_LEN
            )));
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What [`IdempotencyKeys::begin`] found.
#[derive(Debug)]
pub enum Begin<T> {
    /// First time: do the work, then call [`IdempotencyKeys::finish`] before committing.
    Fresh(Claim),
    /// A retry: answer with the stored response and change nothing.
    Replay(T),
}

/// Proof that this transaction holds the key; consumed by `finish`.
#[derive(Debug)]
#[must_use = "store the response with IdempotencyKeys::finish before committing"]
pub struct Claim {
    request_id: String,
}

/// What the idempotency table remembers of a call.
#[derive(sqlx::FromRow)]
struct StoredCall {
    method: String,
    request_hash: Vec<u8>,
    response: Option<Vec<u8>>,
}

impl StoredCall {
    /// The stored response, if this call is a retry of the stored one: the same `request_id`
    /// with another method or other fields is refused.
    fn response_to<Res: Message + Default>(
        self,
        method: &str,
        request_hash: &[u8],
    ) -> Result<Option<Res>, Error> {
        if self.method != method || self.request_hash != request_hash {
            return Err(Error::IdempotencyKeyReused);
        }
        Ok(self
            .response
            .map(|response| Res::decode(response.as_slice()))
            .transpose()?)
    }

    /// The response of a committed call: a committed key always has one, since `finish` runs
    /// in the claiming transaction.
    fn committed_response_to<Res: Message + Default>(
        self,
        method: &str,
        request_hash: &[u8],
    ) -> Result<Res, Error> {
        (self.response_to(method, request_hash)?).ok_or(Error::Database(sqlx::Error::RowNotFound))
    }
}

impl Claim {
    fn of(key: &RequestKey) -> Self {
        Self {
            request_id: key.as_str().to_owned(),
        }
    }
}

/// The idempotency table of one module's schema.
#[derive(Debug, Clone)]
pub struct IdempotencyKeys {
    table: String,
    claim_sql: String,
    lookup_sql: String,
    finish_sql: String,
    purge_sql: String,
}

impl IdempotencyKeys {
    /// `schema` is the module's own schema name, a compile-time constant.
    pub fn new(schema: &'static str) -> Self {
        let table = format!("{schema}.idempotency_keys");
        Self {
            table: table.clone(),
            claim_sql: format!(
                "INSERT INTO {table} (tenant_id, request_id, method, request_hash) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id, request_id) DO NOTHING"
            ),
            lookup_sql: format!(
                "SELECT method, request_hash, response FROM {table} \
                 WHERE tenant_id = $1 AND request_id = $2"
            ),
            finish_sql: format!(
                "UPDATE {table} SET response = $3 WHERE tenant_id = $1 AND request_id = $2"
            ),
            purge_sql: format!("DELETE FROM {table} WHERE created_at < $1"),
        }
    }

    /// Claims `key` for this transaction, or returns the stored response of the call that
    /// claimed it before. `method` is the full gRPC method name.
    pub async fn begin<Req: Message, Res: Message + Default>(
        &self,
        tx: &mut TenantTx,
        method: &str,
        key: &RequestKey,
        request: &Req,
    ) -> Result<Begin<Res>, Error> {
        let request_hash = Sha256::digest(request.encode_to_vec()).to_vec();
        let tenant_id = tx.tenant_id().as_uuid();
        let claimed = sqlx::query(AssertSqlSafe(self.claim_sql.as_str()))
            .bind(tenant_id)
            .bind(key.as_str())
            .bind(method)
            .bind(&request_hash)
            .execute(&mut **tx)
            .await?
            .rows_affected()
            == 1;
        if claimed {
            return Ok(Begin::Fresh(Claim::of(key)));
        }
        let stored: StoredCall = sqlx::query_as(AssertSqlSafe(self.lookup_sql.as_str()))
            .bind(tenant_id)
            .bind(key.as_str())
            .fetch_one(&mut **tx)
            .await?;
        Ok(Begin::Replay(
            stored.committed_response_to(method, &request_hash)?,
        ))
    }

    /// The stored response of an earlier call with `key`, without claiming anything. A call
    /// that must consult other modules before it writes asks this first, so a retry replays
    /// its first answer even when what it consulted has moved on since (the bed the first call
    /// took now reads as occupied). `None`: no call with this key has committed; go on with
    /// [`IdempotencyKeys::run`], which settles concurrent first calls.
    pub async fn replay<Req: Message, Res: Message + Default>(
        &self,
        database: &Database,
        tenant_id: TenantId,
        request_id: &RequestId,
        method: &str,
        key: &RequestKey,
        request: &Req,
    ) -> Result<Option<Res>, Error> {
        let Some(stored) = self.stored(database, tenant_id, request_id, key).await? else {
            return Ok(None);
        };
        let request_hash = Sha256::digest(request.encode_to_vec()).to_vec();
        let response = stored.response_to(method, &request_hash)?;
        if response.is_some() {
            tracing::info!(
                method,
                "replayed the response of an earlier identical request"
            );
        }
        Ok(response)
    }

    /// What the table remembers of `key`, read in a transaction of its own.
    async fn stored(
        &self,
        database: &Database,
        tenant_id: TenantId,
        request_id: &RequestId,
        key: &RequestKey,
    ) -> Result<Option<StoredCall>, Error> {
        let mut tx = database.begin(tenant_id, request_id).await?;
        let stored = sqlx::query_as(AssertSqlSafe(self.lookup_sql.as_str()))
            .bind(tenant_id.as_uuid())
            .bind(key.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(stored)
    }

    /// Stores the response of the claimed call, in the same transaction as its writes (held
    /// back to go with the transaction's other deferred writes before its commit).
    pub async fn finish<Res: Message>(
        &self,
        tx: &mut TenantTx,
        claim: Claim,
        response: &Res,
    ) -> Result<(), Error> {
        let tenant_id = tx.tenant_id().as_uuid();
        let binds = (tenant_id, claim.request_id, response.encode_to_vec());
        tx.defer(&self.finish_sql, binds);
        Ok(())
    }

    /// The claim of `key` as a statement of inlined values, to run in the round trip that
    /// begins the transaction ([`Database::begin_and`]): the key, the method and the request's
    /// hash travel as hex digits, so no client text reaches the SQL. It fails with
    /// [`KEY_CLAIMED_BEFORE`] when another call has claimed the key (after waiting for that
    /// call to end, as the unique index makes it).
    fn claim_inline(
        &self,
        tenant_id: TenantId,
        method: &str,
        key: &RequestKey,
        request_hash: &[u8],
    ) -> String {
        let text = |value: &str| {
            format!(
                "convert_from(decode('{}', 'hex'), 'UTF8')",
                hex::encode(value)
            )
        };
        format!(
            "WITH claimed AS (INSERT INTO {table} (tenant_id, request_id, method, request_hash) \
             VALUES ('{tenant_id}', {key}, {method}, decode('{hash}', 'hex')) \
             ON CONFLICT (tenant_id, request_id) DO NOTHING RETURNING 1) \
             SELECT platform.claim_made((SELECT count(*) FROM claimed))",
            table = self.table,
            key = text(key.as_str()),
            method = text(method),
            hash = hex::encode(request_hash),
        )
    }

    /// The whole idempotent write in `tenant_id`'s transaction: replays a retry or runs `work`
    /// and stores its response, then commits. `work` must do all its writes in `tx`. Handlers
    /// call it through [`crate::call::Calls::write`], which adds the refusal's record after
    /// the rollback; creating a tenant calls it directly, acting in the new tenant.
    #[allow(clippy::too_many_arguments)]
    pub async fn run<Req, Res, E>(
        &self,
        database: &Database,
        tenant_id: TenantId,
        request_id: &RequestId,
        method: &str,
        key: &RequestKey,
        request: &Req,
        work: impl AsyncFnOnce(&mut TenantTx) -> Result<Res, E>,
    ) -> Result<Res, E>
    where
        Req: Message,
        Res: Message + Default,
        E: From<Error>,
    {
        // The key is claimed in the round trip that begins the transaction.
        let request_hash = Sha256::digest(request.encode_to_vec()).to_vec();
        let claim = self.claim_inline(tenant_id, method, key, &request_hash);
        let mut tx = match database.begin_and(tenant_id, request_id, &claim).await {
            Ok(tx) => tx,
            Err(error) if claimed_before(&error) => {
                // The claimer has committed (the claim waited for it to end), so its answer is
                // on record, unless purged since.
                let stored = self.stored(database, tenant_id, request_id, key).await?;
                let response = (stored.ok_or(Error::Database(sqlx::Error::RowNotFound))?)
                    .committed_response_to(method, &request_hash)?;
                tracing::info!(
                    method,
                    "replayed the response of an earlier identical request"
                );
                return Ok(response);
            }
            Err(error) => return Err(Error::from(error).into()),
        };
        let response = work(&mut tx).await?;
        self.finish(&mut tx, Claim::of(key), &response).await?;
        tx.commit().await.map_err(Error::from)?;
        Ok(response)
    }

    /// Forgets keys older than `retention`; run by a background worker (worker pool).
    pub async fn purge(&self, worker_pool: &PgPool, retention: Duration) -> Result<u64, Error> {
        let cutoff = chrono::Duration::from_std(retention)
            .ok()
            .and_then(|retention| Utc::now().checked_sub_signed(retention))
            .unwrap_or(chrono::DateTime::<Utc>::MIN_UTC);
        let purged = sqlx::query(AssertSqlSafe(self.purge_sql.as_str()))
            .bind(cutoff)
            .execute(worker_pool)
            .await?
            .rows_affected();
        Ok(purged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_keys_are_required_and_plain() {
        assert!(RequestKey::parse("").is_err());
        assert!(RequestKey::parse("has space").is_err());
        assert!(RequestKey::parse(&"k".repeat(129)).is_err());
        assert!(RequestKey::parse("0f5b7a0e-4a7e-4a38-9e1b-0d0e8c1f2a3b").is_ok());
    }
}
