//! The transactional outbox and its dispatcher.
//!
//! A module publishes a domain event by inserting it into `<schema>.outbox` inside the same
//! transaction as the change it describes ([`Outbox::publish`]): the event exists if and only
//! if the change committed. The [`Dispatcher`] then delivers every event, in commit order, to
//! each subscriber at least once, remembering per subscriber how far it got
//! (`<schema>.outbox_offsets`). A crash between commit and delivery loses nothing: the next
//! dispatcher starts from the stored offset. Handlers must be idempotent (dedupe by
//! [`Event::event_id`]) because a crash after handling but before the offset is saved delivers
//! that event again.
//!
//! Ordering without gaps: each row records its transaction id, and the dispatcher reads in
//! commit order only what can no longer be overtaken ([`crate::db::commit_ordered_after`]).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use prost::Message;
use sqlx::postgres::PgListener;
use sqlx::{AssertSqlSafe, PgPool};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::config::OutboxOptions;
use crate::context::TenantId;
use crate::db::TenantTx;

/// The channel the outbox insert trigger notifies, with the schema name as payload.
pub const NOTIFY_CHANNEL: &str = "openhmis_outbox";

/// A published domain event as subscribers receive it.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Unique; handlers dedupe on it.
    pub event_id: Uuid,
    pub tenant_id: TenantId,
    /// Full protobuf message name of the payload, e.g. `openhmis.core.v1.BedChanged`.
    pub event_type: String,
    /// The id of the aggregate that changed (bed, admission, ...).
    pub aggregate_id: String,
    /// The encoded protobuf message.
    pub payload: Vec<u8>,
    pub occurred_at: DateTime<Utc>,
    /// The request that caused the change, for tracing.
    pub request_id: Option<String>,
}

impl Event {
    /// Decodes the payload as `T`.
    pub fn decode<T: Message + Default>(&self) -> Result<T, prost::DecodeError> {
        T::decode(self.payload.as_slice())
    }
}

/// The outbox of one module's schema.
#[derive(Debug, Clone)]
pub struct Outbox {
    /// The outbox table and the columns an event fills.
    into: String,
}

/// An event's row; its request id is the transaction's.
const EVENT_ROW: &str =
    "($1, $2, $3, $4, $5, $6, NULLIF(current_setting('app.request_id', true), ''))";

impl Outbox {
    /// `schema` is the module's own schema name, a compile-time constant.
    pub fn new(schema: &'static str) -> Self {
        Self {
            into: format!(
                "{schema}.outbox \
                 (tenant_id, event_id, event_type, aggregate_id, payload, occurred_at, request_id)"
            ),
        }
    }

    /// Records `event` in the transaction `tx` (written with its other deferred writes before
    /// it commits); it is delivered once `tx` commits. A transaction's events are delivered in
    /// the order they were published.
    pub async fn publish<E: Message>(
        &self,
        tx: &mut TenantTx,
        event_type: &str,
        aggregate_id: &str,
        event: &E,
        occurred_at: DateTime<Utc>,
    ) -> Result<Uuid, sqlx::Error> {
        let event_id = Uuid::now_v7();
        let tenant_id = tx.tenant_id().as_uuid();
        let binds = (
            tenant_id,
            event_id,
            event_type.to_owned(),
            aggregate_id.to_owned(),
            event.encode_to_vec(),
            occurred_at,
        );
        tx.defer_insert(&self.into, EVENT_ROW, binds);
        Ok(event_id)
    }
}

/// Why a handler could not take an event; it will be offered again.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HandlerError(pub String);

impl HandlerError {
    pub fn new(error: impl std::fmt::Display) -> Self {
        Self(error.to_string())
    }
}

/// A subscriber's reaction to events. Must be idempotent.
pub trait EventHandler: Send + Sync + 'static {
    fn handle<'a>(&'a self, event: &'a Event) -> BoxFuture<'a, Result<(), HandlerError>>;

    /// Several consecutive events, in their order, at once: a handler that can take them in
    /// one transaction answers a future for them, to spare a transaction per event; `None`
    /// (the default) has the relay hand them over one at a time. An error means none of them
    /// counts as taken: the relay then offers them again one at a time (so a handler that
    /// took some of them sees those again, which idempotency allows).
    fn handle_batch<'a>(
        &'a self,
        _events: &'a [Event],
    ) -> Option<BoxFuture<'a, Result<(), HandlerError>>> {
        None
    }
}

/// One subscriber of one module's outbox.
#[derive(Clone)]
pub struct Subscription {
    /// The publishing module's schema.
    pub source: &'static str,
    /// Stable name of the subscriber; its offset is stored under it.
    pub subscriber: String,
    pub handler: Arc<dyn EventHandler>,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("source", &self.source)
            .field("subscriber", &self.subscriber)
            .finish_non_exhaustive()
    }
}

/// The position after the last event a subscriber took.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Offset {
    txid: String,
    id: i64,
}

#[derive(sqlx::FromRow)]
struct EventRow {
    txid: String,
    id: i64,
    event_id: Uuid,
    tenant_id: Uuid,
    event_type: String,
    aggregate_id: String,
    payload: Vec<u8>,
    occurred_at: DateTime<Utc>,
    request_id: Option<String>,
}

/// Reads one subscriber's part of an outbox.
#[derive(Debug, Clone)]
struct Cursor {
    subscriber: String,
    register_sql: String,
    load_sql: String,
    fetch_sql: String,
    save_sql: String,
}

impl Cursor {
    fn new(source: &'static str, subscriber: &str) -> Self {
        Self {
            subscriber: subscriber.to_owned(),
            register_sql: format!(
                "INSERT INTO {source}.outbox_offsets (subscriber) VALUES ($1) \
                 ON CONFLICT (subscriber) DO NOTHING"
            ),
            load_sql: format!(
                "SELECT last_txid::text, last_id FROM {source}.outbox_offsets WHERE subscriber = $1"
            ),
            fetch_sql: crate::db::commit_ordered_after(
                "event_id, tenant_id, event_type, aggregate_id, payload, occurred_at, request_id",
                &format!("{source}.outbox"),
            ),
            save_sql: format!(
                "UPDATE {source}.outbox_offsets \
                 SET last_txid = $2::text::xid8, last_id = $3, updated_at = now() \
                 WHERE subscriber = $1"
            ),
        }
    }

    async fn load(&self, pool: &PgPool) -> Result<Offset, sqlx::Error> {
        sqlx::query(AssertSqlSafe(self.register_sql.as_str()))
            .bind(&self.subscriber)
            .execute(pool)
            .await?;
        let (txid, id): (String, i64) = sqlx::query_as(AssertSqlSafe(self.load_sql.as_str()))
            .bind(&self.subscriber)
            .fetch_one(pool)
            .await?;
        Ok(Offset { txid, id })
    }

    async fn fetch(
        &self,
        pool: &PgPool,
        after: &Offset,
        limit: i64,
    ) -> Result<Vec<EventRow>, sqlx::Error> {
        sqlx::query_as(AssertSqlSafe(self.fetch_sql.as_str()))
            .bind(&after.txid)
            .bind(after.id)
            .bind(limit)
            .fetch_all(pool)
            .await
    }

    async fn save(&self, pool: &PgPool, offset: &Offset) -> Result<(), sqlx::Error> {
        sqlx::query(AssertSqlSafe(self.save_sql.as_str()))
            .bind(&self.subscriber)
            .bind(&offset.txid)
            .bind(offset.id)
            .execute(pool)
            .await?;
        Ok(())
    }
}

/// Resolves once the stop flag is raised (or its sender is gone). The flag's guard is never
/// held across an await, so tasks using this stay `Send`.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    loop {
        if *stop.borrow_and_update() {
            return;
        }
        if stop.changed().await.is_err() {
            return;
        }
    }
}

/// Delivers outbox events to in-process subscribers.
#[derive(Debug, Clone)]
pub struct Dispatcher {
    pool: PgPool,
    options: OutboxOptions,
}

/// Handle of a running dispatcher; dropping it does not stop it, [`RunningDispatcher::stop`] does.
#[derive(Debug)]
pub struct RunningDispatcher {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl RunningDispatcher {
    /// Stops after the event being handled (if any) and waits for every task.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

impl Dispatcher {
    /// `worker_pool` is [`crate::Database::worker_pool`]: the relay reads across tenants.
    pub fn new(worker_pool: PgPool, options: OutboxOptions) -> Self {
        Self {
            pool: worker_pool,
            options,
        }
    }

    /// Delivers everything currently deliverable to one subscriber, then returns how many
    /// events it handed over. The background loop is built on this; tests call it directly.
    pub async fn deliver_pending(&self, subscription: &Subscription) -> Result<usize, sqlx::Error> {
        let cursor = Cursor::new(subscription.source, &subscription.subscriber);
        let (_never_stop, stop) = watch::channel(false);
        self.drain(&cursor, subscription, &stop).await
    }

    async fn drain(
        &self,
        cursor: &Cursor,
        subscription: &Subscription,
        stop: &watch::Receiver<bool>,
    ) -> Result<usize, sqlx::Error> {
        let mut offset = cursor.load(&self.pool).await?;
        let mut delivered = 0;
        // The offset is saved once a batch, not once an event: delivery is at-least-once and
        // handlers are idempotent, so after a crash up to a batch is offered again, and a
        // backlog is not taken at the pace of one commit per event.
        let mut unsaved = false;
        loop {
            let rows = cursor
                .fetch(&self.pool, &offset, self.options.batch_size)
                .await?;
            if rows.is_empty() {
                if unsaved {
                    cursor.save(&self.pool, &offset).await?;
                }
                return Ok(delivered);
            }
            // A backlog is not drained to its end once told to stop: the offset saved so far
            // is where the next dispatcher resumes.
            if *stop.borrow() {
                if unsaved {
                    cursor.save(&self.pool, &offset).await?;
                }
                return Ok(delivered);
            }
            let Some(last) = rows.last() else {
                continue;
            };
            let end = Offset {
                txid: last.txid.clone(),
                id: last.id,
            };
            let mut offsets = Vec::with_capacity(rows.len());
            let events: Vec<Event> = (rows.into_iter())
                .map(|row| {
                    offsets.push(Offset {
                        txid: row.txid,
                        id: row.id,
                    });
                    Event {
                        event_id: row.event_id,
                        tenant_id: TenantId::new(row.tenant_id),
                        event_type: row.event_type,
                        aggregate_id: row.aggregate_id,
                        payload: row.payload,
                        occurred_at: row.occurred_at,
                        request_id: row.request_id,
                    }
                })
                .collect();
            // The whole batch at once first, for a handler that takes batches; else, or when
            // that fails, one event at a time, so the event that fails holds its subscriber
            // and what came before it is taken.
            let batch = match events.len() {
                1 => None,
                _ => subscription.handler.handle_batch(&events),
            };
            let batched = match batch {
                Some(batch) => batch.await.is_ok(),
                None => false,
            };
            if batched {
                offset = end;
                delivered += events.len();
            } else {
                for (event, next) in events.iter().zip(offsets) {
                    if *stop.borrow() {
                        if unsaved {
                            cursor.save(&self.pool, &offset).await?;
                        }
                        return Ok(delivered);
                    }
                    if !Self::handle_with_retry(subscription, event, stop, || async {
                        // A handler that keeps failing holds its subscriber here: what came
                        // before it is saved first.
                        if unsaved {
                            cursor.save(&self.pool, &offset).await?;
                        }
                        Ok::<_, sqlx::Error>(())
                    })
                    .await?
                    {
                        return Ok(delivered);
                    }
                    offset = next;
                    unsaved = true;
                    delivered += 1;
                }
            }
            cursor.save(&self.pool, &offset).await?;
            unsaved = false;
        }
    }

    /// Retries a failing handler with backoff (ordering matters more than throughput: a
    /// subscriber never sees event N+1 before N). Returns false when told to stop first.
    async fn handle_with_retry<F, Fut>(
        subscription: &Subscription,
        event: &Event,
        stop: &watch::Receiver<bool>,
        before_waiting: F,
    ) -> Result<bool, sqlx::Error>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(), sqlx::Error>>,
    {
        let mut backoff = Duration::from_millis(100);
        let mut before_waiting = Some(before_waiting);
        loop {
            match subscription.handler.handle(event).await {
                Ok(()) => return Ok(true),
                Err(error) => {
                    if let Some(save) = before_waiting.take() {
                        save().await?;
                    }
                    tracing::warn!(
                        subscriber = %subscription.subscriber,
                        event_id = %event.event_id,
                        event_type = %event.event_type,
                        error = %error,
                        retry_in_ms = backoff.as_millis() as u64,
                        "event handler failed; will retry"
                    );
                }
            }
            let mut stop = stop.clone();
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = stopped(&mut stop) => return Ok(false),
            }
            backoff = (backoff * 2).min(Duration::from_secs(30));
        }
    }

    /// Runs one delivery loop per subscription until stopped. Loops wake on the outbox
    /// trigger's notification, and every `poll_interval` in case one was missed.
    pub async fn spawn(
        self,
        subscriptions: Vec<Subscription>,
    ) -> Result<RunningDispatcher, sqlx::Error> {
        let (stop_sender, stop) = watch::channel(false);
        let mut wakers: HashMap<&'static str, Arc<Notify>> = HashMap::new();
        for subscription in &subscriptions {
            wakers.entry(subscription.source).or_default();
        }
        let mut tasks = Vec::new();

        let mut listener = PgListener::connect_with(&self.pool).await?;
        listener.listen(NOTIFY_CHANNEL).await?;
        let listener_wakers = wakers.clone();
        let mut listener_stop = stop.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = stopped(&mut listener_stop) => return,
                    notification = listener.try_recv() => match notification {
                        Ok(Some(notification)) => {
                            if let Some(waker) = listener_wakers.get(notification.payload()) {
                                waker.notify_waiters();
                            }
                        }
                        // The connection dropped; PgListener reconnects on the next call.
                        // Polling covers what was missed meanwhile.
                        Ok(None) => {}
                        Err(error) => {
                            tracing::warn!(error = %error, "outbox listener failed; polling only");
                            tokio::select! {
                                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                                _ = stopped(&mut listener_stop) => return,
                            }
                        }
                    }
                }
            }
        }));

        for subscription in subscriptions {
            let dispatcher = self.clone();
            let waker = wakers.get(subscription.source).cloned().unwrap_or_default();
            let mut stop = stop.clone();
            tasks.push(tokio::spawn(async move {
                let cursor = Cursor::new(subscription.source, &subscription.subscriber);
                loop {
                    let woken = waker.notified();
                    if let Err(error) = dispatcher.drain(&cursor, &subscription, &stop).await {
                        tracing::warn!(
                            subscriber = %subscription.subscriber,
                            error = %error,
                            "outbox delivery failed; will retry"
                        );
                    }
                    if *stop.borrow() {
                        return;
                    }
                    tokio::select! {
                        _ = woken => {}
                        _ = tokio::time::sleep(dispatcher.options.poll_interval) => {}
                        _ = stopped(&mut stop) => return,
                    }
                }
            }));
        }
        Ok(RunningDispatcher {
            stop: stop_sender,
            tasks,
        })
    }
}
