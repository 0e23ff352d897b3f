//! The operating block (`surgery` schema): theatres (rooms of the register's operating-block
//! departments) and their sessions, the procedure grades of the catalogue, surgeons'
//! privileges, and bookings of interventions with their team. The database keeps the rules
//! people race on: a theatre, a member of a team and a patient are each in one scheduled
//! booking at a time (exclusion constraints over the planned time). Every booking change is
//! published through the outbox.
//!
//! Rooms, patients, admissions and procedure codes belong to other modules; surgery reads
//! them through their contracts ([`directory`]), never their tables.

mod app;
mod convert;
pub mod directory;
pub mod domain;
mod error;
mod follow;
mod grpc;
pub mod starter;
mod store;

use std::sync::Arc;

use hmis_platform::Database;
use hmis_platform::call::Calls;
use hmis_platform::clock::SharedClock;
use hmis_platform::idempotency::IdempotencyKeys;
use hmis_platform::outbox::Outbox;
use hmis_proto::openhmis::surgery::v1::surgery_service_server::SurgeryServiceServer;

pub use directory::Channels;
pub use error::Error;
pub use grpc::SurgeryApi;

/// The schema surgery owns; its outbox is published under this name.
pub const SCHEMA: &str = "surgery";

#[derive(Debug, Clone)]
pub struct SurgeryModule {
    surgery: Arc<app::Surgery>,
}

impl SurgeryModule {
    pub fn new(database: Database, clock: SharedClock, channels: Channels) -> Self {
        Self {
            surgery: Arc::new(app::Surgery {
                calls: Calls::new(database, clock, SCHEMA),
                outbox: Outbox::new(SCHEMA),
                directory: directory::Directory::new(channels),
            }),
        }
    }

    pub fn api(&self) -> SurgeryApi {
        SurgeryApi {
            surgery: self.surgery.clone(),
        }
    }

    pub fn service(&self) -> SurgeryServiceServer<SurgeryApi> {
        SurgeryServiceServer::new(self.api())
    }
}

/// The permissions this module's calls ask for (its part of the catalogue roles are made of).
pub const PERMISSIONS: &[hmis_platform::auth::PermissionInfo] = &[
    hmis_platform::auth::permission(
        "surgery.read",
        "read theatres, theatre lists, operations and privileges",
        true,
    ),
    hmis_platform::auth::permission(
        "surgery.plan",
        "book, reschedule and cancel operations in a theatre",
        true,
    ),
    hmis_platform::auth::permission(
        "surgery.record",
        "record the day of surgery: checklist, times, operation and anaesthesia records, consumption",
        true,
    ),
    hmis_platform::auth::permission(
        "surgery.manage",
        "set up theatres, their sessions and the procedure grades",
        false,
    ),
    hmis_platform::auth::permission(
        "surgery.privileges",
        "grant, suspend and revoke surgical privileges; review overrides (medical office)",
        false,
    ),
];

impl hmis_platform::module::Module for SurgeryModule {
    fn name(&self) -> &'static str {
        "surgery"
    }

    fn mount(&self, mount: &mut hmis_platform::module::Mount<'_>) {
        mount.service(self.service());
    }

    fn subscriptions(&self) -> Vec<hmis_platform::outbox::Subscription> {
        follow::subscriptions(self.surgery.calls.database())
    }

    fn idempotency_keys(&self) -> Option<IdempotencyKeys> {
        Some(self.surgery.calls.keys().clone())
    }

    fn permissions(&self) -> &'static [hmis_platform::auth::PermissionInfo] {
        PERMISSIONS
    }
}
