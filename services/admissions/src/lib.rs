//! Admissions, discharges and transfers (`admissions` schema): emergency visits, admissions
//! with a number per facility and year, the ward and bed stays between admission and
//! discharge, bed reservations, undoing a discharge and cancelling an admission, the info
//! desk and the ward board. The database keeps the rules people race on: a bed holds one
//! patient at a time (an exclusion constraint over bed and time), a patient has one open
//! admission (a unique index). Every change is published through the outbox; the bed
//! register (core) and the patient registry follow the events.
//!
//! Wards, beds and patients belong to other modules; admissions reads them through their
//! contracts ([`directory`]), never their tables.

mod app;
mod board;
mod convert;
pub mod directory;
pub mod domain;
mod error;
pub mod events;
mod follow;
mod grpc;
mod jobs;
mod options;
mod store;

use std::sync::Arc;
use std::time::Duration;

use hmis_platform::Database;
use hmis_platform::call::Calls;
use hmis_platform::clock::SharedClock;
use hmis_platform::idempotency::IdempotencyKeys;
use hmis_platform::outbox::Outbox;
use hmis_proto::openhmis::admissions::v1::admission_service_server::AdmissionServiceServer;

pub use directory::Channels;
pub use error::Error;
pub use grpc::AdmissionApi;
pub use options::AdmissionsOptions;

/// The schema admissions owns; its outbox is published under this name.
pub const SCHEMA: &str = "admissions";

#[derive(Debug, Clone)]
pub struct AdmissionsModule {
    adt: Arc<app::Adt>,
}

impl AdmissionsModule {
    /// `channels` reach the bed register, the registry and the terminology.
    pub fn new(
        database: Database,
        clock: SharedClock,
        options: AdmissionsOptions,
        channels: Channels,
    ) -> Self {
        Self {
            adt: Arc::new(app::Adt {
                calls: Calls::new(database, clock, SCHEMA),
                outbox: Outbox::new(SCHEMA),
                directory: directory::Directory::new(channels),
                options,
                changes: tokio::sync::watch::channel(0).0,
            }),
        }
    }

    pub fn api(&self) -> AdmissionApi {
        AdmissionApi {
            adt: self.adt.clone(),
        }
    }

    pub fn service(&self) -> AdmissionServiceServer<AdmissionApi> {
        AdmissionServiceServer::new(self.api())
    }

    pub fn idempotency_keys(&self) -> &IdempotencyKeys {
        self.adt.calls.keys()
    }

    /// Converts the observation stays due now; the server runs it every
    /// `conversion_interval`, tests call it with their own clock.
    pub async fn convert_due_observations(&self) -> Result<usize, Error> {
        self.adt
            .convert_due_observations(self.adt.calls.now())
            .await
    }

    /// The subscription that re-points admissions when the registry merges (or unmerges)
    /// patient records.
    pub fn merge_subscription(&self) -> hmis_platform::outbox::Subscription {
        follow::merges::subscription(self.adt.calls.database().clone())
    }

    /// The subscription that keeps what admitting checks of patients (sex, death, merge)
    /// from the registry's events.
    pub fn patient_subscription(&self) -> hmis_platform::outbox::Subscription {
        follow::known_patients::subscription(self.adt.calls.database().clone())
    }

    /// Wakes ward board watchers on every change of admissions or bed states, until the task
    /// is dropped. The server runs it beside the module's service.
    pub async fn run_change_listener(self) {
        self.adt.listen_for_changes().await;
    }

    /// Runs the conversion job until the task is dropped.
    pub async fn run_conversion_job(self) {
        let interval = self
            .adt
            .options
            .conversion_interval
            .max(Duration::from_secs(1));
        let mut ticks = tokio::time::interval(interval);
        loop {
            ticks.tick().await;
            if let Err(error) = self.convert_due_observations().await {
                tracing::warn!(error = %error, "converting observation stays failed; will retry");
            }
        }
    }
}

/// The permissions this module's calls ask for (its part of the catalogue roles are made of).
pub const PERMISSIONS: &[hmis_platform::auth::PermissionInfo] = &[
    hmis_platform::auth::permission(
        "admissions.read",
        "read admissions, the ward board and bed maps",
        true,
    ),
    hmis_platform::auth::permission(
        "admissions.admit",
        "register emergencies, admit, transfer, discharge",
        true,
    ),
    hmis_platform::auth::permission("admissions.undo", "undo discharges", true),
    hmis_platform::auth::permission(
        "admissions.records",
        "receive the stays' records the wards hand over after the discharge (medical records)",
        true,
    ),
    hmis_platform::auth::permission(
        "admissions.correct",
        "correct an admission's type, ward, physician or admitting diagnosis, and cancel it, \
         until the ward's first clinical act",
        true,
    ),
    hmis_platform::auth::permission(
        "admissions.settings",
        "change how the tenant runs its admissions (e.g. discharge needs a principal diagnosis)",
        true,
    ),
    hmis_platform::auth::permission(
        "admissions.backdate",
        "record a movement further back than the backdating window, with a reason",
        true,
    ),
    hmis_platform::auth::permission(
        "admissions.infodesk",
        "answer where a patient is (ward and room only)",
        true,
    ),
];

impl hmis_platform::module::Module for AdmissionsModule {
    fn name(&self) -> &'static str {
        "admissions"
    }

    fn mount(&self, mount: &mut hmis_platform::module::Mount<'_>) {
        mount.service(self.service());
    }

    fn subscriptions(&self) -> Vec<hmis_platform::outbox::Subscription> {
        vec![
            self.merge_subscription(),
            self.patient_subscription(),
            follow::diagnoses::subscription(self.adt.calls.database().clone()),
            follow::clinical_acts::subscription(self.adt.calls.database().clone()),
            follow::consents::subscription(self.adt.calls.database().clone()),
        ]
    }

    fn workers(&self) -> Vec<hmis_platform::module::Worker> {
        vec![
            Box::pin(self.clone().run_change_listener()),
            Box::pin(self.clone().run_conversion_job()),
        ]
    }

    fn idempotency_keys(&self) -> Option<IdempotencyKeys> {
        Some(self.adt.calls.keys().clone())
    }

    fn permissions(&self) -> &'static [hmis_platform::auth::PermissionInfo] {
        PERMISSIONS
    }
}
