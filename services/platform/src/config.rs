//! Configuration: built-in defaults, then an optional TOML file, then `HMIS_*` environment
//! variables (nested keys with `__`, e.g. `HMIS_DATABASE__URL`). Secrets are wrapped in
//! [`Secret`] so they never reach a log line through `Debug`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
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

/// Everything the process can be told.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct Options {
    pub server: ServerOptions,
    pub database: DatabaseOptions,
    pub telemetry: TelemetryOptions,
    pub outbox: OutboxOptions,
    pub iam: IamOptions,
    pub admissions: AdmissionsOptions,
    pub statistics: StatisticsOptions,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct StatisticsOptions {
    pub reporting: ReportingOptions,
}

/// Electronic reporting to the national statistics institute. Off until both the endpoint and
/// the signing key are configured.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct ReportingOptions {
    /// The institute's submission endpoint, e.g. `https://reports.stat.example/v1/submissions`;
    /// a submission's status is asked at `<endpoint>/<receipt>`.
    pub endpoint: Option<String>,
    /// The hospital's Ed25519 signing key, a PKCS#8 PEM file (`openssl genpkey -algorithm
    /// ed25519`); the institute holds its public key. Never in the repository.
    pub signing_key_file: Option<PathBuf>,
    /// How often the submitter looks for submissions due.
    #[serde(with = "duration_millis")]
    pub poll_interval: Duration,
    /// How long one call to the institute may take.
    #[serde(with = "duration_millis")]
    pub request_timeout: Duration,
    /// The wait after a failed delivery; it doubles with each failure, up to `max_retry_delay`.
    #[serde(with = "duration_millis")]
    pub retry_delay: Duration,
    #[serde(with = "duration_millis")]
    pub max_retry_delay: Duration,
    /// How long after delivery (and between questions) the institute is asked for its decision.
    #[serde(with = "duration_millis")]
    pub status_check_interval: Duration,
}

impl Default for ReportingOptions {
    fn default() -> Self {
        Self {
            endpoint: None,
            signing_key_file: None,
            poll_interval: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
            retry_delay: Duration::from_secs(30),
            max_retry_delay: Duration::from_secs(3600),
            status_check_interval: Duration::from_secs(300),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct AdmissionsOptions {
    /// How long after a discharge was recorded it may still be undone.
    #[serde(with = "duration_secs")]
    pub undo_discharge_window: Duration,
    /// An observation stay longer than this becomes an inpatient admission.
    #[serde(with = "duration_secs")]
    pub observation_limit: Duration,
    /// How often the conversion job looks for observation stays past the limit.
    #[serde(with = "duration_secs")]
    pub conversion_interval: Duration,
}

impl Default for AdmissionsOptions {
    fn default() -> Self {
        Self {
            undo_discharge_window: Duration::from_secs(24 * 3600),
            observation_limit: Duration::from_secs(6 * 3600),
            conversion_interval: Duration::from_secs(60),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct IamOptions {
    /// Lifetime of access tokens; also how long a revoked grant can linger.
    #[serde(with = "duration_secs")]
    pub access_token_ttl: Duration,
    /// Lifetime of a refresh token (one shift and some).
    #[serde(with = "duration_secs")]
    pub refresh_token_ttl: Duration,
    /// Code of the tenant created at first start.
    pub bootstrap_tenant_code: String,
    /// Name of the tenant created at first start.
    pub bootstrap_tenant_name: String,
    /// Password of the first administrator (`admin`); when absent one is generated and
    /// printed once on standard output.
    pub bootstrap_admin_password: Option<Secret>,
}

impl Default for IamOptions {
    fn default() -> Self {
        Self {
            access_token_ttl: Duration::from_secs(15 * 60),
            refresh_token_ttl: Duration::from_secs(14 * 3600),
            bootstrap_tenant_code: "MAIN".to_owned(),
            bootstrap_tenant_name: "Hospital".to_owned(),
            bootstrap_admin_password: None,
        }
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

impl Options {
    /// Defaults, then `file` (if given; it must exist), then `HMIS_*` variables.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::figment(file)
            .extract()
            .map_err(|error| ConfigError(Box::new(error)))
    }

    fn figment(file: Option<&Path>) -> Figment {
        let mut figment = Figment::from(Serialized::defaults(Options::default()));
        if let Some(file) = file {
            figment = figment.merge(Toml::file_exact(file));
        }
        figment.merge(Env::prefixed("HMIS_").split("__"))
    }
}

mod duration_secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(value.as_secs())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        u64::deserialize(deserializer).map(Duration::from_secs)
    }
}

mod duration_millis {
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
    fn file_then_environment_override_defaults() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "openhmis.toml",
                r#"
                [server]
                listen_addr = "0.0.0.0:6000"
                modules = ["core"]
                [database]
                max_connections = 7
                "#,
            )?;
            jail.set_env("HMIS_DATABASE__MAX_CONNECTIONS", "9");
            jail.set_env("HMIS_DATABASE__URL", "postgres://u:p@db/openhmis");
            let options = Options::load(Some(Path::new("openhmis.toml")))
                .map_err(|error| error.to_string())?;
            assert_eq!(options.server.listen_addr.port(), 6000);
            assert_eq!(options.server.modules, vec!["core".to_owned()]);
            assert_eq!(options.database.max_connections, 9);
            assert_eq!(
                options.database.url.as_ref().map(Secret::expose),
                Some("postgres://u:p@db/openhmis")
            );
            assert_eq!(options.outbox, OutboxOptions::default());
            Ok(())
        });
    }

    #[test]
    fn secrets_do_not_print() {
        let secret = Secret::new("postgres://u:hunter2@db/x");
        assert!(!format!("{secret:?}").contains("hunter2"));
    }

    #[test]
    fn unknown_keys_are_refused() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("bad.toml", "[server]\nlisten_adr = \"0.0.0.0:1\"\n")?;
            assert!(Options::load(Some(Path::new("bad.toml"))).is_err());
            Ok(())
        });
    }
}
