//! What a hospital may set of admissions (the `[admissions]` section of the options).

use std::time::Duration;

use hmis_platform::config::duration_secs;
use serde::{Deserialize, Serialize};

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
    /// How far back a movement may be recorded by anyone who may record it (a night's
    /// transfers entered in the morning, a weekend's admissions on Monday). Further back needs
    /// `admissions.backdate` and a reason (`x-backdating-reason`), kept for review.
    #[serde(with = "duration_secs")]
    pub backdating_window: Duration,
}

impl Default for AdmissionsOptions {
    fn default() -> Self {
        Self {
            undo_discharge_window: Duration::from_secs(24 * 3600),
            observation_limit: Duration::from_secs(6 * 3600),
            conversion_interval: Duration::from_secs(60),
            backdating_window: Duration::from_secs(30 * 24 * 3600),
        }
    }
}
