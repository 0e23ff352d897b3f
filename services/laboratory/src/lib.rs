//! The laboratory (`laboratory` schema): its catalogue (tests and panels coded in LOINC,
//! sections, specimen types and containers, reference ranges by sex and age), orders received
//! from physicians' referrals, specimens with accession numbers and Code 128 labels, results
//! entered by hand or by analysers over HL7 v2 (an MLLP listener, [`mllp`]), technical then
//! medical validation, corrections that keep the earlier value, and critical values told to
//! the ordering physician and the ward until acknowledged.
//!
//! Referrals and patients belong to other modules; the laboratory keeps what it needs of
//! them from their events (`follow.rs`), never reading their tables.

mod app;
mod convert;
pub mod domain;
mod error;
mod follow;
mod grpc;
pub mod hl7;
mod loinc;
pub mod mllp;
mod starter;
mod store;

use std::net::SocketAddr;
use std::sync::Arc;

use hmis_patients_api::PatientsClient;
use hmis_platform::Database;
use hmis_platform::RequestContext;
use hmis_platform::call::Calls;
use hmis_platform::channel::ServiceChannel;
use hmis_platform::clock::SharedClock;
use hmis_platform::idempotency::IdempotencyKeys;
use hmis_platform::outbox::Outbox;
use hmis_proto::openhmis::laboratory::v1::laboratory_service_server::LaboratoryServiceServer;
use serde::{Deserialize, Serialize};

pub use error::Error;
pub use grpc::LaboratoryApi;
pub use loinc::LoincError;
pub use mllp::MllpListener;

/// The schema the laboratory owns; its outbox is published under this name.
pub const SCHEMA: &str = "laboratory";

/// `[laboratory]`: where analysers reach the MLLP listener (none: no listener).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct LaboratoryOptions {
    /// e.g. "0.0.0.0:2575" (MLLP's registered port).
    pub mllp_listen_addr: Option<SocketAddr>,
    /// The largest message taken, in bytes (default 1 MiB).
    pub mllp_max_message_bytes: Option<usize>,
    /// The networks analysers may connect from (e.g. ["10.20.0.0/16"]); a connection from
    /// elsewhere is closed unanswered. Empty: any (keep the listener on the laboratory's
    /// network then: MLLP has no authentication).
    pub mllp_allowed_sources: Vec<ipnet::IpNet>,
    /// Milliseconds between the sender's looks for orders due to analysers (default 1000).
    pub order_poll_ms: Option<u64>,
    /// Milliseconds before an undelivered order is tried again, doubled after each attempt up
    /// to ten minutes (default 5000).
    pub order_retry_ms: Option<u64>,
    /// Attempts before an order is given up as failed (default 12).
    pub order_max_attempts: Option<u32>,
}

#[derive(Debug, Clone)]
pub struct LaboratoryModule {
    laboratory: Arc<app::Laboratory>,
    options: LaboratoryOptions,
}

impl LaboratoryModule {
    /// `patients` serves `openhmis.patients.v1.PatientService` (a patient the laboratory has
    /// not heard of yet is asked for when an order arrives).
    pub fn new(
        database: Database,
        clock: SharedClock,
        options: LaboratoryOptions,
        patients: ServiceChannel,
    ) -> Self {
        Self {
            laboratory: Arc::new(app::Laboratory {
                calls: Calls::new(database, clock, SCHEMA),
                outbox: Outbox::new(SCHEMA),
                patients: PatientsClient::new(patients),
                routes: Default::default(),
            }),
            options,
        }
    }

    pub fn api(&self) -> LaboratoryApi {
        LaboratoryApi {
            laboratory: self.laboratory.clone(),
        }
    }

    pub fn service(&self) -> LaboratoryServiceServer<LaboratoryApi> {
        LaboratoryServiceServer::new(self.api())
    }

    /// Binds an MLLP listener for analysers at `addr` (port 0: any free port).
    pub async fn bind_mllp(&self, addr: SocketAddr) -> std::io::Result<MllpListener> {
        MllpListener::bind(
            addr,
            self.laboratory.clone(),
            (
                self.options
                    .mllp_max_message_bytes
                    .unwrap_or(mllp::DEFAULT_MAX_MESSAGE),
                self.options.mllp_allowed_sources.clone(),
            ),
        )
        .await
    }

    /// Stores the starter catalogue (sections and tests with their ranges) for the tenant of
    /// `context`: what a new hospital's laboratory begins with.
    pub async fn load_starter(&self, context: &RequestContext) -> Result<usize, Error> {
        let (sections, tests) = starter::catalogue();
        for section in sections {
            self.laboratory.set_section(context, section).await?;
        }
        self.laboratory.import_tests(context, tests).await
    }

    /// Stores the tests of an official LOINC table file (`Loinc.csv`) whose class a section
    /// of the tenant takes; answers how many were stored.
    pub async fn import_loinc(
        &self,
        context: &RequestContext,
        file: impl std::io::Read,
    ) -> Result<usize, LoincError> {
        let sections = self
            .laboratory
            .list_sections(context)
            .await
            .map_err(|error| LoincError::Store(error.to_string()))?;
        let classes: Vec<String> = sections
            .sections
            .iter()
            .flat_map(|section| section.loinc_classes.iter().cloned())
            .collect();
        let tests = loinc::parse(file, &classes)?;
        self.laboratory
            .import_tests(context, tests)
            .await
            .map_err(|error| LoincError::Store(error.to_string()))
    }
}

/// The permissions this module's calls ask for (its part of the catalogue roles are made of).
pub const PERMISSIONS: &[hmis_platform::auth::PermissionInfo] = &[
    hmis_platform::auth::permission(
        "laboratory.read",
        "read laboratory orders, results, worklists and critical alerts",
        true,
    ),
    hmis_platform::auth::permission(
        "laboratory.collect",
        "collect specimens for a laboratory order (ward nurses, phlebotomists)",
        true,
    ),
    hmis_platform::auth::permission(
        "laboratory.process",
        "receive and reject specimens, enter results, validate them technically",
        true,
    ),
    hmis_platform::auth::permission(
        "laboratory.validate",
        "validate results medically (release them) and correct released results",
        true,
    ),
    hmis_platform::auth::permission(
        "laboratory.acknowledge",
        "acknowledge a critical value told to the ward",
        true,
    ),
    hmis_platform::auth::permission(
        "laboratory.manage",
        "set up the laboratory's catalogue, sections and analysers; read the HL7 message log",
        false,
    ),
];

impl hmis_platform::module::Module for LaboratoryModule {
    fn name(&self) -> &'static str {
        "laboratory"
    }

    fn mount(&self, mount: &mut hmis_platform::module::Mount<'_>) {
        mount.service(self.service());
    }

    fn subscriptions(&self) -> Vec<hmis_platform::outbox::Subscription> {
        follow::subscriptions(&self.laboratory)
    }

    fn workers(&self) -> Vec<hmis_platform::module::Worker> {
        let laboratory = self.laboratory.clone();
        let poll = std::time::Duration::from_millis(self.options.order_poll_ms.unwrap_or(1000));
        let retries = app::Retries {
            first_delay: std::time::Duration::from_millis(
                self.options.order_retry_ms.unwrap_or(5000),
            ),
            max_attempts: i32::try_from(self.options.order_max_attempts.unwrap_or(12))
                .unwrap_or(i32::MAX)
                .max(1),
        };
        let mut workers: Vec<hmis_platform::module::Worker> = vec![Box::pin(async move {
            let mut tick = tokio::time::interval(poll.max(std::time::Duration::from_millis(10)));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if let Err(error) = laboratory.send_due(retries).await {
                    tracing::warn!(%error, "orders to analysers could not be sent this round");
                }
            }
        })];
        let Some(addr) = self.options.mllp_listen_addr else {
            return workers;
        };
        let module = self.clone();
        workers.push(Box::pin(async move {
            match module.bind_mllp(addr).await {
                Ok(listener) => {
                    tracing::info!(%addr, "the MLLP listener for analysers is ready");
                    listener.serve().await;
                }
                Err(error) => {
                    tracing::error!(%error, %addr, "the MLLP listener could not bind");
                }
            }
        }));
        workers
    }

    fn idempotency_keys(&self) -> Option<IdempotencyKeys> {
        Some(self.laboratory.calls.keys().clone())
    }

    fn permissions(&self) -> &'static [hmis_platform::auth::PermissionInfo] {
        PERMISSIONS
    }
}
