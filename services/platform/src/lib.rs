//! The kit every OpenHMIS module stands on.
//!
//! A module gets from here everything that is not its own domain: configuration ([`config`]),
//! a PostgreSQL pool whose transactions are bound to one tenant so row-level security applies
//! ([`db`]), an embedded PostgreSQL for the standalone set-up and the tests ([`embedded`]),
//! canonical gRPC errors with field violations and SQLSTATE classification ([`error`]), the
//! per-call request context (request id, tenant, client address; [`context`]), idempotent
//! writes by client `request_id` ([`idempotency`]), the transactional outbox and its dispatcher
//! ([`outbox`]), pagination ([`paging`]), shared value types parsed at the edge ([`types`]), an
//! injectable clock ([`clock`]) and tracing / OpenTelemetry set-up ([`telemetry`]).
//!
//! Invariants this crate upholds for every module are listed in `ARCHITECTURE.md`.

pub mod amount;
pub mod audit;
pub mod auth;
pub mod call;
pub mod channel;
pub mod clock;
pub mod config;
pub mod context;
pub mod days;
pub mod db;
pub mod deferred;
pub mod embedded;
pub mod error;
pub mod idempotency;
pub mod labels;
pub mod metrics;
pub mod module;
pub mod money;
pub mod outbox;
pub mod paging;
pub mod secrets;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;
pub mod types;
pub mod wire;

pub use context::{RequestContext, RequestContextLayer, TenantId};
pub use db::{Database, TenantTx};
pub use error::{Error, Failure, FieldViolation, Violations};

/// What the platform's macros name, so a crate using them needs no dependency of its own.
#[doc(hidden)]
pub mod __macro_support {
    pub use sqlx::Error as SqlxError;
    pub use tonic::Status;
    pub use uuid::Uuid;
}
