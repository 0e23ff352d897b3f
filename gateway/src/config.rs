//! The gateway's settings: built-in defaults, an optional TOML file, then `HMIS_GATEWAY__*`
//! and `HMIS_TELEMETRY__*` environment variables (the server's other settings are ignored,
//! so one ConfigMap can serve both).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use hmis_platform::config::TelemetryOptions;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct Settings {
    pub gateway: GatewayOptions,
    pub telemetry: TelemetryOptions,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct GatewayOptions {
    pub listen_addr: SocketAddr,
    /// Where services without a route of their own go (the all-in-one server).
    pub default_upstream: String,
    /// `module -> URL`: `openhmis.<module>.v1.*` services go to that URL, e.g.
    /// `HMIS_GATEWAY__ROUTES__PATIENTS=http://openhmis-clinical:50051`.
    pub routes: BTreeMap<String, String>,
    /// Origins browsers may call from; empty allows any (a standalone set-up only).
    pub allowed_origins: Vec<String>,
    /// A folder served at `/` for the browser app (index.html and its assets).
    pub static_dir: Option<PathBuf>,
    /// Sign-in attempts a client address may make per minute.
    pub login_per_minute: u32,
    /// Take the client address from `X-Forwarded-For` (only behind a proxy that sets it).
    pub trust_forwarded_for: bool,
    /// The largest request message accepted, in bytes.
    pub max_request_bytes: usize,
    /// The deadline a call gets when the client sets none.
    #[serde(with = "secs")]
    pub default_deadline: Duration,
    /// The longest deadline a client may ask for; longer ones are cut to it.
    #[serde(with = "secs")]
    pub max_deadline: Duration,
}

impl Default for GatewayOptions {
    fn default() -> Self {
        Self {
            listen_addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            default_upstream: "http://127.0.0.1:50051".to_owned(),
            routes: BTreeMap::new(),
            allowed_origins: Vec::new(),
            static_dir: None,
            login_per_minute: 10,
            trust_forwarded_for: false,
            max_request_bytes: 4 << 20,
            default_deadline: Duration::from_secs(30),
            max_deadline: Duration::from_secs(300),
        }
    }
}

mod secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(value.as_secs())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        u64::deserialize(deserializer).map(Duration::from_secs)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("invalid gateway configuration: {0}")]
pub struct ConfigError(#[from] Box<figment::Error>);

impl Settings {
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(file) = file {
            figment = figment.merge(Toml::file(file));
        }
        figment
            .merge(Env::prefixed("HMIS_").split("__").filter(|key| {
                let key = key.as_str().to_ascii_lowercase();
                key.starts_with("gateway") || key.starts_with("telemetry")
            }))
            .extract()
            .map_err(|error| ConfigError(Box::new(error)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_and_origins_come_from_the_environment() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("HMIS_GATEWAY__ROUTES__PATIENTS", "http://clinical:50051");
            jail.set_env(
                "HMIS_GATEWAY__ALLOWED_ORIGINS",
                r#"["https://hmis.example"]"#,
            );
            jail.set_env("HMIS_GATEWAY__LOGIN_PER_MINUTE", "3");
            jail.set_env("HMIS_DATABASE__URL", "postgres://ignored");
            let settings = Settings::load(None).expect("valid");
            assert_eq!(
                settings.gateway.routes.get("patients").map(String::as_str),
                Some("http://clinical:50051")
            );
            assert_eq!(settings.gateway.allowed_origins, ["https://hmis.example"]);
            assert_eq!(settings.gateway.login_per_minute, 3);
            Ok(())
        });
    }
}
