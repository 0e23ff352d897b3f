//! Configuration of the platform's parts (server, database, telemetry, outbox) and the loader
//! the composition root reads its whole options with: built-in defaults, then an optional TOML file, then `HMIS_*` environment
//! variables (nested keys with `__`, e.g. `HMIS_DATABASE__URL`). Secrets are wrapped in
//! [`Secret`] so they never reach a log line through `Debug`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// A value that must not be logged. `Debug` prints a placeholder.
#[derive(Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself; call only where it is handed to the thing that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct ServerOptions {
    /// Where gRPC (and grpc-web, on the same port) is served.
    pub listen_addr: SocketAddr,
    /// The modules this process mounts; empty means all of them.
    pub modules: Vec<String>,
    /// How long in-flight calls may take to finish after SIGTERM before the process exits.
    #[serde(with = "duration_secs")]
    pub shutdown_grace: Duration,
    /// The tenant a sign-in without a tenant code signs into (the standalone hospital). When
    /// unset: the tenant the first start created. Calls never name a tenant otherwise: their
    /// access token does.
    pub default_tenant: Option<uuid::Uuid>,
    /// Where modules this process does not mount are served, by module name, e.g.
    /// `core = "http://core:50051"` (`HMIS_SERVER__UPSTREAMS__CORE`). A module mounted here is
    /// called in-process; one neither mounted nor listed is called in-process over the shared
    /// database too.
    pub upstreams: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseOptions {
    /// `postgres://...` URL. When absent, an embedded PostgreSQL is started.
    pub url: Option<Secret>,
    pub max_connections: u32,
    /// Background workers (outbox dispatch, purges) get their own small pool.
    pub worker_connections: u32,
    #[serde(with = "duration_secs")]
    pub acquire_timeout: Duration,
    pub embedded: EmbeddedOptions,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct EmbeddedOptions {
    /// Folder holding the cluster's data (`pgdata/`) and its unix socket (`run/`).
    pub dir: PathBuf,
    /// OS user the server runs as when this process is root (initdb refuses root).
    pub os_user: String,
    /// Folder with `initdb`, `pg_ctl` and `postgres`; found automatically when absent.
    pub bin_dir: Option<PathBuf>,
    /// Database created inside the embedded cluster.
    pub database: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct TelemetryOptions {
    pub log_format: LogFormat,
    /// `tracing_subscriber` filter; `RUST_LOG` wins when set.
    pub log_filter: String,
    /// OTLP/gRPC endpoint for traces; `OTEL_EXPORTER_OTLP_ENDPOINT` wins when set.
    pub otlp_endpoint: Option<String>,
    pub service_name: String,
    /// Where `/metrics` (Prometheus text) is served, e.g. `0.0.0.0:9464`; off when unset.
    pub metrics_addr: Option<SocketAddr>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable, for a developer's terminal.
    Pretty,
    /// One JSON object per line, for log shippers.
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct OutboxOptions {
    /// Upper bound on delivery latency when a notification is missed.
    #[serde(with = "duration_millis")]
    pub poll_interval: Duration,
    pub batch_size: i64,
    /// How long idempotency keys are remembered.
    #[serde(with = "duration_secs")]
    pub idempotency_retention: Duration,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            listen_addr: SocketAddr::from(([127, 0, 0, 1], 50051)),
            modules: Vec::new(),
            shutdown_grace: Duration::from_secs(30),
            default_tenant: None,
            upstreams: std::collections::BTreeMap::new(),
        }
    }
}

impl Default for DatabaseOptions {
    fn default() -> Self {
        Self {
            url: None,
            max_connections: 20,
            worker_connections: 4,
            acquire_timeout: Duration::from_secs(10),
            embedded: EmbeddedOptions::default(),
        }
    }
}

impl Default for EmbeddedOptions {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("data/postgres"),
            os_user: "postgres".to_owned(),
            bin_dir: None,
            database: "openhmis".to_owned(),
        }
    }
}

impl Default for TelemetryOptions {
    fn default() -> Self {
        Self {
            log_format: LogFormat::Pretty,
            log_filter: "info,sqlx=warn,h2=warn,tower=warn".to_owned(),
            otlp_endpoint: None,
            service_name: "openhmis".to_owned(),
            metrics_addr: None,
        }
    }
}

impl Default for OutboxOptions {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_millis(500),
            batch_size: 100,
            idempotency_retention: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

/// Why configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(#[from] Box<figment::Error>);

/// Loads the process's options of type `T` (the composition root's, naming every section):
/// its defaults, then `file` (if given; it must exist), then `HMIS_*` variables.
pub fn load<T: Serialize + DeserializeOwned + Default>(
    file: Option<&Path>,
) -> Result<T, ConfigError> {
    let mut figment = Figment::from(Serialized::defaults(T::default()));
    if let Some(file) = file {
        figment = figment.merge(Toml::file_exact(file));
    }
    figment
        .merge(Env::prefixed("HMIS_").split("__"))
        .extract()
        .map_err(|error| ConfigError(Box::new(error)))
}

/// A duration written as whole seconds (`#[serde(with = "duration_secs")]`).
pub mod duration_secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(value.as_secs())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        u64::deserialize(deserializer).map(Duration::from_secs)
    }
}

/// A duration written as milliseconds (`#[serde(with = "duration_millis")]`).
pub mod duration_millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(u64::try_from(value.as_millis()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        u64::deserialize(deserializer).map(Duration::from_millis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_do_not_print() {
        let secret = Secret::new("postgres://u:hunter2@db/x");
        assert!(!format!("{secret:?}").contains("hunter2"));
    }
}
