//! What a hospital may set of statistics (the `[statistics]` section of the options).

use std::path::PathBuf;
use std::time::Duration;

use hmis_platform::config::duration_millis;
use serde::{Deserialize, Serialize};

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
