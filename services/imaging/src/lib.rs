//! Imaging (`imaging` schema): its catalogue of services coded by the procedure
//! classification and grouped by modality, examination rooms, orders received from
//! physicians' imaging referrals (one examination per service, with its DICOM accession
//! number and study instance UID), the worklists by modality and room, and the radiologist's
//! report, signed (a digest of what was signed is kept and checked on every read) and amended
//! only as a new version. A signed report enters the patient's record (`ReportSigned`).
//!
//! Referrals belong to encounters; imaging keeps what it needs of them from their events
//! (`follow.rs`), never reading their tables.

mod app;
mod convert;
pub mod domain;
mod error;
mod follow;
mod grpc;
mod starter;
mod store;

use std::sync::Arc;

use hmis_platform::Database;
use hmis_platform::RequestContext;
use hmis_platform::call::Calls;
use hmis_platform::clock::SharedClock;
use hmis_platform::idempotency::IdempotencyKeys;
use hmis_platform::outbox::Outbox;
use hmis_proto::openhmis::imaging::v1::imaging_service_server::ImagingServiceServer;
use serde::{Deserialize, Serialize};

pub use error::Error;
pub use grpc::ImagingApi;

/// The schema imaging owns; its outbox is published under this name.
pub const SCHEMA: &str = "imaging";

/// `[imaging]`: the PACS viewer examinations link to.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct ImagingOptions {
    /// The viewer's address of a study, `{study_uid}` standing for its study instance UID,
    /// e.g. `https://pacs.example/viewer?StudyInstanceUIDs={study_uid}` (none: no link).
    pub viewer_url: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ImagingModule {
    imaging: Arc<app::Imaging>,
}

impl ImagingModule {
    pub fn new(database: Database, clock: SharedClock, options: ImagingOptions) -> Self {
        Self {
            imaging: Arc::new(app::Imaging {
                calls: Calls::new(database, clock, SCHEMA),
                outbox: Outbox::new(SCHEMA),
                viewer_url: options.viewer_url,
            }),
        }
    }

    pub fn api(&self) -> ImagingApi {
        ImagingApi {
            imaging: self.imaging.clone(),
        }
    }

    pub fn service(&self) -> ImagingServiceServer<ImagingApi> {
        ImagingServiceServer::new(self.api())
    }

    /// Stores the starter catalogue of services for the tenant of `context`.
    pub async fn load_starter(&self, context: &RequestContext) -> Result<usize, Error> {
        self.imaging
            .import_services(context, starter::services())
            .await
    }
}

/// The permissions this module's calls ask for (its part of the catalogue roles are made of).
pub const PERMISSIONS: &[hmis_platform::auth::PermissionInfo] = &[
    hmis_platform::auth::permission(
        "imaging.read",
        "read imaging orders, worklists and signed reports",
        true,
    ),
    hmis_platform::auth::permission(
        "imaging.perform",
        "schedule, start, complete and cancel examinations (radiographers)",
        true,
    ),
    hmis_platform::auth::permission(
        "imaging.report",
        "write and sign imaging reports, and amend signed ones (radiologists)",
        true,
    ),
    hmis_platform::auth::permission(
        "imaging.manage",
        "set up imaging's catalogue of services and its rooms",
        false,
    ),
];

impl hmis_platform::module::Module for ImagingModule {
    fn name(&self) -> &'static str {
        "imaging"
    }

    fn mount(&self, mount: &mut hmis_platform::module::Mount<'_>) {
        mount.service(self.service());
    }

    fn subscriptions(&self) -> Vec<hmis_platform::outbox::Subscription> {
        vec![follow::subscription(&self.imaging)]
    }

    fn idempotency_keys(&self) -> Option<IdempotencyKeys> {
        Some(self.imaging.calls.keys().clone())
    }

    fn permissions(&self) -> &'static [hmis_platform::auth::PermissionInfo] {
        PERMISSIONS
    }
}
