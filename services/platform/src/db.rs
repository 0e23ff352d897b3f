//! PostgreSQL access: migrations, the pools, and transactions bound to one tenant.
//!
//! Row-level security is what keeps tenants apart, so the application must never run as a
//! role that bypasses it. Migrations run as the configured (owner) user; every pooled
//! connection then switches to `openhmis_app` (`SET ROLE`), a role without `BYPASSRLS` that
//! owns nothing, so `FORCE ROW LEVEL SECURITY` policies apply even when the configured user is
//! a superuser. Background workers that legitimately work across tenants (the outbox relay,
//! purges) use a second pool as `openhmis_worker`, which has its own narrow policies.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::Duration;

use sqlx::AssertSqlSafe;
use sqlx::migrate::{MigrateError, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, Executor, PgConnection, PgPool, Postgres, Transaction};
use tokio::sync::watch;

use crate::config::DatabaseOptions;
use crate::context::{RequestId, TenantId};
use crate::deferred::{Binds, Deferred};
use crate::error::connection_lost;

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

/// Whether the database answers, as this process last saw it. While it is down, calls fail
/// at once with `UNAVAILABLE` instead of each waiting out the pool's acquire timeout, calls
/// already waiting for a connection are released, and health reports `NOT_SERVING`.
#[derive(Debug, Clone)]
pub struct Availability {
    state: Arc<watch::Sender<bool>>,
}

impl Default for Availability {
    fn default() -> Self {
        Self {
            state: Arc::new(watch::Sender::new(true)),
        }
    }
}

impl Availability {
    pub fn is_up(&self) -> bool {
        *self.state.borrow()
    }

    /// Records what was observed; logs each change once.
    pub fn set(&self, up: bool) {
        let changed = self.state.send_if_modified(|state| {
            let changed = *state != up;
            *state = up;
            changed
        });
        if changed && up {
            tracing::info!("the database answers again");
        } else if changed {
            tracing::error!("the database is down; calls fail fast until it answers");
        }
    }

    /// Follows the state: the current value, then every change.
    pub fn subscribe(&self) -> watch::Receiver<bool> {
        self.state.subscribe()
    }

    /// The error a call gets while the database is down (mapped to `UNAVAILABLE`).
    fn down_error() -> sqlx::Error {
        sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::NotConnected,
            "the database is down",
        ))
    }

    /// Runs `work` unless the database is down, and gives it up when the database goes down
    /// while it waits.
    async fn guard<T>(
        &self,
        work: impl Future<Output = Result<T, sqlx::Error>>,
    ) -> Result<T, sqlx::Error> {
        let mut state = self.subscribe();
        if !*state.borrow_and_update() {
            return Err(Self::down_error());
        }
        tokio::select! {
            biased;
            result = work => result,
            _ = state.wait_for(|up| !*up) => Err(Self::down_error()),
        }
    }
}

/// How often the database is asked whether it answers, and how long an answer may take.
const PROBE_INTERVAL: Duration = Duration::from_secs(1);
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);
/// How many probes in a row may go unanswered before the database counts as down.
const SLOW_PROBES_FOR_DOWN: u32 = 3;

/// The database handle modules share.
#[derive(Debug, Clone)]
pub struct Database {
    app: PgPool,
    worker: PgPool,
    availability: Availability,
    /// For the availability probe's own connection (outside the pools, so a busy pool is
    /// never mistaken for a dead database).
    connect_options: PgConnectOptions,
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
            Checked::WhenIdleAWhile,
            options,
            connect_options.clone(),
        )
        .await?;
        let worker = pool_acting_as(
            "SET ROLE openhmis_worker",
            options.worker_connections,
            Checked::Always,
            options,
            connect_options.clone(),
        )
        .await?;
        Ok(Self {
            app,
            worker,
            availability: Availability::default(),
            connect_options,
        })
    }

    /// What this process knows about the database's availability.
    pub fn availability(&self) -> &Availability {
        &self.availability
    }

    /// Fails at once while the database is known to be down (for the few reads that use a
    /// pool directly instead of [`Database::begin`]).
    pub fn ensure_available(&self) -> Result<(), sqlx::Error> {
        if self.availability.is_up() {
            Ok(())
        } else {
            Err(Availability::down_error())
        }
    }

    /// Asks the database every second whether it answers, over a connection of its own, and
    /// records the answer in [`Database::availability`]: down at once when the database says
    /// it is gone, after three unanswered probes in a row when it says nothing. Runs until
    /// dropped.
    pub async fn probe_availability(self) {
        let mut connection: Option<PgConnection> = None;
        let mut slow = 0;
        let mut interval = tokio::time::interval(PROBE_INTERVAL);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            let answered = tokio::time::timeout(PROBE_TIMEOUT, async {
                if connection.is_none() {
                    connection = Some(self.connect_options.connect().await?);
                }
                match connection.as_mut() {
                    Some(connection) => connection.ping().await,
                    None => Ok(()),
                }
            })
            .await;
            match answered {
                Ok(Ok(())) => {
                    slow = 0;
                    self.availability.set(true);
                }
                // An answer that says the database is gone (refused, reset, shutting down, not
                // accepting connections) is believed at once.
                Ok(Err(_)) => {
                    connection = None;
                    self.availability.set(false);
                }
                // No answer in time may only be a busy database: down after a few in a row,
                // so one slow checkpoint does not turn every call away.
                Err(_) => {
                    connection = None;
                    slow += 1;
                    if slow >= SLOW_PROBES_FOR_DOWN {
                        self.availability.set(false);
                    }
                }
            }
        }
    }

    /// Starts a transaction in which row-level security shows and accepts only `tenant_id`'s
    /// rows. The settings are `LOCAL`: they end with the transaction, so a pooled connection
    /// never carries one call's tenant into the next.
    pub async fn begin(
        &self,
        tenant_id: TenantId,
        request_id: &RequestId,
    ) -> Result<TenantTx, sqlx::Error> {
        self.availability
            .guard(self.begin_unguarded(tenant_id, request_id, Commit::Flushed, None))
            .await
    }

    /// Starts a transaction as [`Database::begin`] does and runs `statement` in it in the same
    /// round trip (the claim of an idempotency key). `statement` travels as a simple query:
    /// its values must be inlined, and only values the caller has made safe (hex digits, a
    /// UUID). If it fails, so does the begin, and the transaction is rolled back.
    pub async fn begin_and(
        &self,
        tenant_id: TenantId,
        request_id: &RequestId,
        statement: &str,
    ) -> Result<TenantTx, sqlx::Error> {
        self.availability
            .guard(self.begin_unguarded(tenant_id, request_id, Commit::Flushed, Some(statement)))
            .await
    }

    /// A tenant transaction for an event handler, whose commit does not wait for its WAL to
    /// reach the disk (`synchronous_commit` off for this transaction only). That is safe for
    /// the relay's handlers: the relay saves the subscriber's offset afterwards with a
    /// synchronous commit, and flushing the WAL up to that commit flushes this one too before
    /// the event counts as delivered; a crash in between offers the event again, and
    /// handlers are idempotent. A follower then costs no disk flush per event.
    pub async fn begin_following(
        &self,
        tenant_id: TenantId,
        request_id: &RequestId,
    ) -> Result<TenantTx, sqlx::Error> {
        self.availability
            .guard(self.begin_unguarded(tenant_id, request_id, Commit::Unflushed, None))
            .await
    }

    /// Begins as [`Database::begin_once`] does, on another connection when the one the pool
    /// gave was dead: the app pool does not ask each connection whether it is alive before
    /// handing it out (see [`Checked`]), so a connection the database ended since it was last
    /// used shows it here, before anything was done in it. Each such connection is dropped
    /// (the pool closes a connection that fails its release), so at most as many tries as the
    /// pool has connections, and one more for a fresh one.
    async fn begin_unguarded(
        &self,
        tenant_id: TenantId,
        request_id: &RequestId,
        commit: Commit,
        statement: Option<&str>,
    ) -> Result<TenantTx, sqlx::Error> {
        let mut tries = self.app.options().get_max_connections();
        loop {
            match self
                .begin_once(tenant_id, request_id, commit, statement)
                .await
            {
                Err(error) if tries > 0 && connection_lost(&error) => tries -= 1,
                begun => return begun,
            }
        }
    }

    async fn begin_once(
        &self,
        tenant_id: TenantId,
        request_id: &RequestId,
        commit: Commit,
        statement: Option<&str>,
    ) -> Result<TenantTx, sqlx::Error> {
        let synchronous_commit = match commit {
            Commit::Flushed => "",
            Commit::Unflushed => ", set_config('synchronous_commit', 'off', true)",
        };
        // One round trip instead of two: BEGIN and the settings as one simple query. Its values
        // are inlined, so only a UUID and a request id of plain characters take this way; any
        // other id is bound as a parameter in a second statement.
        let plain = request_id
            .as_str()
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b':'));
        let transaction = if plain {
            let then = statement.map(|statement| format!("; {statement}"));
            self.app
                .begin_with(AssertSqlSafe(format!(
                    "BEGIN; SELECT set_config('app.tenant_id', '{tenant_id}', true), \
                     set_config('app.request_id', '{request_id}', true){synchronous_commit}{}",
                    then.unwrap_or_default()
                )))
                .await?
        } else {
            let mut transaction = self.app.begin().await?;
            sqlx::query(AssertSqlSafe(format!(
                "SELECT set_config('app.tenant_id', $1, true), \
                 set_config('app.request_id', $2, true){synchronous_commit}",
            )))
            .bind(tenant_id.to_string())
            .bind(request_id.as_str())
            .execute(&mut *transaction)
            .await?;
            if let Some(statement) = statement {
                sqlx::raw_sql(AssertSqlSafe(statement.to_owned()))
                    .execute(&mut *transaction)
                    .await?;
            }
            transaction
        };
        Ok(TenantTx {
            transaction,
            tenant_id,
            deferred: Deferred::default(),
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

/// Whether a transaction's commit waits for its WAL to reach the disk.
#[derive(Debug, Clone, Copy)]
enum Commit {
    Flushed,
    /// `synchronous_commit` off for the transaction only ([`Database::begin_following`]).
    Unflushed,
}

/// Whether a pool asks an idle connection if it is alive before handing it out (a round
/// trip to the database).
#[derive(Debug, Clone, Copy)]
enum Checked {
    /// Every time (the workers' pool: its calls are few and not waited for).
    Always,
    /// Only a connection idle for [`PROBE_INTERVAL`] or longer: one returned to the pool
    /// since answered the pool's own check on release, and a database that went away in
    /// the meantime turns up in [`Database::begin`], which then takes another connection.
    WhenIdleAWhile,
}

/// A pool whose every connection switches role (`set_role`) before it is handed out.
async fn pool_acting_as(
    set_role: &'static str,
    max_connections: u32,
    checked: Checked,
    options: &DatabaseOptions,
    connect_options: PgConnectOptions,
) -> Result<PgPool, sqlx::Error> {
    let pool = PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(options.acquire_timeout)
        .after_connect(move |connection, _| {
            Box::pin(async move {
                connection.execute(set_role).await?;
                Ok(())
            })
        });
    let pool = match checked {
        Checked::Always => pool,
        Checked::WhenIdleAWhile => {
            pool.test_before_acquire(false)
                .before_acquire(|connection, metadata| {
                    Box::pin(async move {
                        if metadata.idle_for >= PROBE_INTERVAL {
                            connection.ping().await?;
                        }
                        Ok(true)
                    })
                })
        }
    };
    pool.connect_with(connect_options).await
}

/// A transaction bound to one tenant. Dereferences to the connection, so queries run as
/// `query.execute(&mut *tx)`. Writes nothing in the transaction reads back (audit records,
/// events, a key's answer) can be held back to go in one statement before the commit
/// ([`TenantTx::defer_insert`]).
#[derive(Debug)]
pub struct TenantTx {
    transaction: Transaction<'static, Postgres>,
    tenant_id: TenantId,
    deferred: Deferred,
}

impl TenantTx {
    pub fn tenant_id(&self) -> TenantId {
        self.tenant_id
    }

    /// Holds back a row for `INSERT INTO {into}` until the commit (or [`TenantTx::flush`]):
    /// `row` is its `VALUES` tuple with placeholders from `$1`, bound to `binds` in order. Only
    /// for rows this transaction does not read back and no constraint it relies on checks
    /// before its commit; a failure to write them fails the commit.
    pub fn defer_insert(&mut self, into: &str, row: &'static str, binds: impl Binds) {
        self.deferred.insert(into, row, binds);
    }

    /// Holds back a whole statement (placeholders from `$1`) as [`TenantTx::defer_insert`]
    /// holds back a row; it must not touch rows another held-back write touches.
    pub fn defer(&mut self, statement: &str, binds: impl Binds) {
        self.deferred.statement(statement, binds);
    }

    /// Sends the held-back writes now (one statement).
    pub async fn flush(&mut self) -> Result<(), sqlx::Error> {
        for statement in self.deferred.take()? {
            sqlx::query_with(AssertSqlSafe(statement.text), statement.arguments)
                .execute(&mut *self.transaction)
                .await?;
        }
        Ok(())
    }

    /// Sends the held-back writes, then commits.
    pub async fn commit(mut self) -> Result<(), sqlx::Error> {
        self.flush().await?;
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
