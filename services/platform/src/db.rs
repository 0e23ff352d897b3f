//! PostgreSQL access: migrations, the pools, and transactions bound to one tenant.
//!
//! Row-level security is what keeps tenants apart, so the application must never run as a
//! role that bypasses it. Migrations run as the configured (owner) user; every pooled
//! connection then switches to `openhmis_app` (`SET ROLE`), a role without `BYPASSRLS` that
//! owns nothing, so `FORCE ROW LEVEL SECURITY` policies apply even when the configured user is
//! a superuser. Background workers that legitimately work across tenants (the outbox relay,
//! purges) use a second pool as `openhmis_worker`, which has its own narrow policies.

use std::ops::{Deref, DerefMut};

use sqlx::AssertSqlSafe;
use sqlx::migrate::{MigrateError, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, Executor, PgConnection, PgPool, Postgres, Transaction};

use crate::config::DatabaseOptions;
use crate::context::{RequestId, TenantId};

/// Every module's migrations, one ordered stream.
pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations");

/// The role request-serving connections act as; subject to every tenant policy.
pub const APP_ROLE: &str = "openhmis_app";
/// The role background workers act as; sees only the bookkeeping tables granted to it.
pub const WORKER_ROLE: &str = "openhmis_worker";

/// Applies pending migrations as the connecting (owner) user. Safe to run from several
/// processes at once: sqlx serialises them with an advisory lock.
pub async fn migrate(connect_options: &PgConnectOptions) -> Result<(), MigrateError> {
    let mut connection = connect_options.connect().await?;
    MIGRATOR.run(&mut connection).await?;
    connection.close().await?;
    Ok(())
}

/// A query for rows of `table` in commit order after an offset (`$1`: transaction id as
/// text, `$2`: id), at most `$3` of them, reading only rows whose transaction is older than
/// every transaction still running. A sequence number is handed out at insert but becomes
/// visible at commit, so "after id N" alone could skip a row that commits late; below
/// `pg_snapshot_xmin` no row can appear behind the offset any more, so advancing it never
/// skips one. `table` needs `txid xid8 DEFAULT pg_current_xact_id()` and a bigint `id`; the
/// rows come back with `txid` (as text) and `id` before `columns`.
pub fn commit_ordered_after(columns: &str, table: &str) -> String {
    // The order is the table's xid8 column, `t.txid`: a bare `txid` in ORDER BY names the
    // text column of the select list, which sorts "1000" before "999".
    format!(
        "SELECT t.txid::text AS txid, t.id, {columns} FROM {table} t \
         WHERE (t.txid, t.id) > ($1::text::xid8, $2) \
           AND t.txid < pg_snapshot_xmin(pg_current_snapshot()) \
         ORDER BY t.txid, t.id LIMIT $3"
    )
}

/// The database handle modules share.
#[derive(Debug, Clone)]
pub struct Database {
    app: PgPool,
    worker: PgPool,
}

impl Database {
    /// Opens both pools. Migrations must have run (they create the roles).
    pub async fn connect(
        connect_options: PgConnectOptions,
        options: &DatabaseOptions,
    ) -> Result<Self, sqlx::Error> {
        let connect_options = connect_options.application_name("openhmis");
        let app = pool_acting_as(
            "SET ROLE openhmis_app",
            options.max_connections,
            options,
            connect_options.clone(),
        )
        .await?;
        let worker = pool_acting_as(
            "SET ROLE openhmis_worker",
            options.worker_connections,
            options,
            connect_options,
        )
        .await?;
        Ok(Self { app, worker })
    }

    /// Starts a transaction in which row-level security shows and accepts only `tenant_id`'s
    /// rows. The settings are `LOCAL`: they end with the transaction, so a pooled connection
    /// never carries one call's tenant into the next.
    pub async fn begin(
        &self,
        tenant_id: TenantId,
        request_id: &RequestId,
    ) -> Result<TenantTx, sqlx::Error> {
        // One round trip instead of two: BEGIN and the settings as one simple query. Its values
        // are inlined, so only a UUID and a request id of plain characters take this way; any
        // other id is bound as a parameter in a second statement.
        let plain = request_id
            .as_str()
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b':'));
        let transaction = if plain {
            self.app
                .begin_with(AssertSqlSafe(format!(
                    "BEGIN; SELECT set_config('app.tenant_id', '{tenant_id}', true), \
                     set_config('app.request_id', '{request_id}', true)"
                )))
                .await?
        } else {
            let mut transaction = self.app.begin().await?;
            sqlx::query(
                "SELECT set_config('app.tenant_id', $1, true), \
                 set_config('app.request_id', $2, true)",
            )
            .bind(tenant_id.to_string())
            .bind(request_id.as_str())
            .execute(&mut *transaction)
            .await?;
            transaction
        };
        Ok(TenantTx {
            transaction,
            tenant_id,
        })
    }

    /// The request-serving pool, outside any tenant: every tenant-owned table looks empty
    /// through it. Tests use it to prove exactly that.
    pub fn app_pool(&self) -> &PgPool {
        &self.app
    }

    /// The pool of background workers (outbox relay, purges).
    pub fn worker_pool(&self) -> &PgPool {
        &self.worker
    }

    pub async fn close(&self) {
        self.app.close().await;
        self.worker.close().await;
    }
}

/// A pool whose every connection switches role (`set_role`) before it is handed out.
async fn pool_acting_as(
    set_role: &'static str,
    max_connections: u32,
    options: &DatabaseOptions,
    connect_options: PgConnectOptions,
) -> Result<PgPool, sqlx::Error> {
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(options.acquire_timeout)
        .after_connect(move |connection, _| {
            Box::pin(async move {
                connection.execute(set_role).await?;
                Ok(())
            })
        })
        .connect_with(connect_options)
        .await
}

/// A transaction bound to one tenant. Dereferences to the connection, so queries run as
/// `query.execute(&mut *tx)`.
#[derive(Debug)]
pub struct TenantTx {
    transaction: Transaction<'static, Postgres>,
    tenant_id: TenantId,
}

impl TenantTx {
    pub fn tenant_id(&self) -> TenantId {
        self.tenant_id
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.transaction.commit().await
    }

    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        self.transaction.rollback().await
    }
}

impl Deref for TenantTx {
    type Target = PgConnection;

    fn deref(&self) -> &Self::Target {
        &self.transaction
    }
}

impl DerefMut for TenantTx {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.transaction
    }
}
