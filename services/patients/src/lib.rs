//! The patient registry (`patients` schema): registration with a medical record number (MRN)
//! unique per tenant and never reused, identifiers unique per type and country (national ids
//! checked by the issuing country's rule, [`domain::national_id`]), probable duplicates shown
//! before a new record is made, search by MRN, identifier or name, updates kept as versions,
//! merge and unmerge announced as events, confidential records and ward scoping, every access
//! audited.

mod app;
mod convert;
mod deaths;
pub mod domain;
mod error;
mod grpc;
mod photos;
mod placements;
mod store;

use std::sync::Arc;

use hmis_platform::call::Calls;

use hmis_platform::Database;
use hmis_platform::channel::ServiceChannel;
use hmis_platform::clock::SharedClock;
use hmis_platform::idempotency::IdempotencyKeys;
use hmis_platform::outbox::Outbox;
use hmis_proto::openhmis::patients::v1::patient_service_server::PatientServiceServer;

pub use app::{PATIENT_CHANGED, PATIENTS_MERGED, PATIENTS_UNMERGED};
pub use error::Error;
pub use grpc::PatientApi;

/// The schema the registry owns.
pub const SCHEMA: &str = "patients";

#[derive(Debug, Clone)]
pub struct PatientsModule {
    registry: Arc<app::Registry>,
}

impl PatientsModule {
    /// The registry over `database`, reading the facility register through `core`.
    pub fn new(database: Database, clock: SharedClock, core: ServiceChannel) -> Self {
        Self {
            registry: Arc::new(app::Registry {
                calls: Calls::new(database, clock, SCHEMA),
                outbox: Outbox::new(SCHEMA),
                core: hmis_core_api::CoreClient::new(core),
                mrns: app::MrnBlocks::default(),
            }),
        }
    }

    pub fn api(&self) -> PatientApi {
        PatientApi {
            registry: self.registry.clone(),
        }
    }

    pub fn service(&self) -> PatientServiceServer<PatientApi> {
        PatientServiceServer::new(self.api())
    }

    /// The subscription that keeps where patients are (`patients.placements`) from the
    /// admissions module's events.
    pub fn placement_subscription(&self) -> hmis_platform::outbox::Subscription {
        placements::subscription(self.registry.calls.database().clone())
    }

    pub fn idempotency_keys(&self) -> &IdempotencyKeys {
        self.registry.calls.keys()
    }
}

/// The permissions this module's calls ask for (its part of the catalogue roles are made of).
pub const PERMISSIONS: &[hmis_platform::auth::PermissionInfo] = &[
    hmis_platform::auth::permission("patients.read", "find and read patient records", true),
    hmis_platform::auth::permission("patients.write", "register and update patients", true),
    hmis_platform::auth::permission("patients.merge", "merge and unmerge patient records", true),
    hmis_platform::auth::permission(
        "patients.confidential",
        "see records marked confidential",
        true,
    ),
    hmis_platform::auth::permission(
        "patients.break_glass",
        "open a record outside one's scope, with a reason",
        true,
    ),
];

impl hmis_platform::module::Module for PatientsModule {
    fn name(&self) -> &'static str {
        "patients"
    }

    fn mount(&self, mount: &mut hmis_platform::module::Mount<'_>) {
        mount.service(self.service());
    }

    fn subscriptions(&self) -> Vec<hmis_platform::outbox::Subscription> {
        vec![
            self.placement_subscription(),
            deaths::subscription(self.registry.clone()),
            deaths::certificate_subscription(self.registry.clone()),
            photos::subscription(self.registry.clone()),
        ]
    }

    fn idempotency_keys(&self) -> Option<IdempotencyKeys> {
        Some(self.registry.calls.keys().clone())
    }

    fn permissions(&self) -> &'static [hmis_platform::auth::PermissionInfo] {
        PERMISSIONS
    }
}
