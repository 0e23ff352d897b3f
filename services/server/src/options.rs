//! Everything the process can be told: the platform's sections (server, database, telemetry,
//! outbox) and each module's own (`[iam]`, `[admissions]`, `[statistics]`, `[laboratory]`, `[imaging]`, `[documents]`), declared by the
//! module and named here, in the composition root. Built-in defaults, then an optional TOML
//! file, then `HMIS_*` environment variables (nested keys with `__`, e.g.
//! `HMIS_DATABASE__URL`); an unknown key anywhere is refused.

use std::path::Path;

use hmis_admissions::AdmissionsOptions;
use hmis_documents::DocumentsOptions;
use hmis_iam::IamOptions;
use hmis_imaging::ImagingOptions;
use hmis_laboratory::LaboratoryOptions;
use hmis_platform::config::{
    ConfigError, DatabaseOptions, OutboxOptions, ServerOptions, TelemetryOptions,
};
use hmis_statistics::StatisticsOptions;
use serde::{Deserialize, Serialize};

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
    pub laboratory: LaboratoryOptions,
    pub imaging: ImagingOptions,
    pub documents: DocumentsOptions,
}

impl Options {
    /// Defaults, then `file` (if given; it must exist), then `HMIS_*` variables.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        hmis_platform::config::load(file)
    }
}

#[cfg(test)]
mod tests {
    use hmis_platform::config::Secret;

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
                [admissions]
                observation_limit = 3600
                "#,
            )?;
            jail.set_env("HMIS_DATABASE__MAX_CONNECTIONS", "9");
            jail.set_env("HMIS_DATABASE__URL", "postgres://u:p@db/openhmis");
            jail.set_env("HMIS_IAM__BOOTSTRAP_TENANT_CODE", "CITY");
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
            assert_eq!(options.admissions.observation_limit.as_secs(), 3600);
            assert_eq!(options.iam.bootstrap_tenant_code, "CITY");
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_are_refused() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("bad.toml", "[server]\nlisten_adr = \"0.0.0.0:1\"\n")?;
            assert!(Options::load(Some(Path::new("bad.toml"))).is_err());
            jail.create_file("worse.toml", "[admission]\nobservation_limit = 1\n")?;
            assert!(Options::load(Some(Path::new("worse.toml"))).is_err());
            Ok(())
        });
    }
}
