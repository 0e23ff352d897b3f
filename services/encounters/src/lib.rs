//! The medical act (`encounters` schema): what physicians record about a patient, coded so
//! it can be counted and exchanged. Encounters (an admission's, followed from its events, or
//! an outpatient visit) hold examinations and notes, ICD-10 diagnoses, coded procedures,
//! prescriptions, referrals and certificates; allergies belong to the patient. Prescribing
//! runs the medication safety check ([`domain::safety`]) and enforces prescribing
//! privileges. The medical extract is assembled from what was recorded.
//!
//! Admissions, the bed register, the registry and the terminology are read through their
//! contracts ([`directory`]), never their tables.

mod app;
mod convert;
pub mod directory;
pub mod domain;
mod error;
pub mod events;
mod follow;
mod follow_results;
mod grpc;
mod store;

use std::sync::Arc;

use hmis_platform::call::Calls;

use hmis_platform::Database;
use hmis_platform::clock::SharedClock;
use hmis_platform::idempotency::IdempotencyKeys;
use hmis_proto::openhmis::encounters::v1::certificate_service_server::CertificateServiceServer;
use hmis_proto::openhmis::encounters::v1::encounter_service_server::EncounterServiceServer;
use hmis_proto::openhmis::encounters::v1::formulary_service_server::FormularyServiceServer;

pub use directory::Channels;
pub use error::Error;
pub use grpc::CertificateApi;
pub use grpc::EncounterApi;
pub use grpc::FormularyApi;

/// The schema encounters owns; its outbox is published under this name.
pub const SCHEMA: &str = "encounters";

#[derive(Debug, Clone)]
pub struct EncountersModule {
    ward: Arc<app::Ward>,
}

impl EncountersModule {
    pub fn new(database: Database, clock: SharedClock, channels: Channels) -> Self {
        Self {
            ward: Arc::new(app::Ward {
                calls: Calls::new(database, clock, SCHEMA),
                directory: directory::Directory::new(channels),
            }),
        }
    }

    pub fn api(&self) -> EncounterApi {
        EncounterApi {
            ward: self.ward.clone(),
        }
    }

    pub fn service(&self) -> EncounterServiceServer<EncounterApi> {
        EncounterServiceServer::new(self.api())
    }

    pub fn formulary_api(&self) -> FormularyApi {
        FormularyApi {
            ward: self.ward.clone(),
        }
    }

    pub fn formulary_service(&self) -> FormularyServiceServer<FormularyApi> {
        FormularyServiceServer::new(self.formulary_api())
    }

    pub fn certificate_api(&self) -> CertificateApi {
        CertificateApi {
            ward: self.ward.clone(),
        }
    }

    pub fn certificate_service(&self) -> CertificateServiceServer<CertificateApi> {
        CertificateServiceServer::new(self.certificate_api())
    }

    pub fn idempotency_keys(&self) -> &IdempotencyKeys {
        self.ward.calls.keys()
    }

    /// The subscription that keeps each admission's encounter in step with the admission.
    pub fn admission_subscription(&self) -> hmis_platform::outbox::Subscription {
        follow::subscription(
            self.ward.calls.database().clone(),
            self.ward.calls.clock().clone(),
        )
    }
}

/// The permissions this module's calls ask for (its part of the catalogue roles are made of).
pub const PERMISSIONS: &[hmis_platform::auth::PermissionInfo] = &[
    hmis_platform::auth::permission(
        "encounters.read",
        "read diagnoses, notes, prescriptions",
        true,
    ),
    hmis_platform::auth::permission(
        "encounters.write",
        "record examinations, diagnoses, procedures",
        true,
    ),
    hmis_platform::auth::permission("encounters.prescribe", "prescribe medicines", true),
    hmis_platform::auth::permission(
        "encounters.prescribe.reserve",
        "prescribe reserve antibiotics (a prescribing privilege)",
        true,
    ),
    hmis_platform::auth::permission(
        "encounters.prescribe.controlled",
        "prescribe narcotic and psychotropic medicines (a prescribing privilege)",
        true,
    ),
    hmis_platform::auth::permission(
        "encounters.override",
        "override severe prescribing warnings with a reason",
        true,
    ),
    hmis_platform::auth::permission("encounters.certify", "issue certificates", true),
    hmis_platform::auth::permission(
        "encounters.formulary.manage",
        "keep the formulary and its prescribing rules",
        false,
    ),
    hmis_platform::auth::permission(
        "nursing.administer",
        "record medication administration",
        true,
    ),
    hmis_platform::auth::permission(
        "nursing.verify",
        "verify or question the ward's prescriptions before the round",
        true,
    ),
    hmis_platform::auth::permission(
        "nursing.record",
        "keep the nursing record (vital signs, nursing notes, care given)",
        true,
    ),
];

impl hmis_platform::module::Module for EncountersModule {
    fn name(&self) -> &'static str {
        "encounters"
    }

    fn mount(&self, mount: &mut hmis_platform::module::Mount<'_>) {
        mount
            .service(self.service())
            .service(self.formulary_service())
            .service(self.certificate_service());
    }

    fn subscriptions(&self) -> Vec<hmis_platform::outbox::Subscription> {
        vec![
            self.admission_subscription(),
            follow_results::subscription(self.ward.calls.database().clone()),
            follow_results::imaging_subscription(self.ward.calls.database().clone()),
        ]
    }

    fn idempotency_keys(&self) -> Option<IdempotencyKeys> {
        Some(self.ward.calls.keys().clone())
    }

    fn permissions(&self) -> &'static [hmis_platform::auth::PermissionInfo] {
        PERMISSIONS
    }
}
