//! Inventory (`inventory` schema): the catalog (items with their base unit and pack units),
//! warehouses (the central pharmacy, ward stocks, the operating block's), lots with expiry,
//! cost and provenance, and the stock ledger. Balances are derived from the ledger by the
//! database (a trigger on every movement) and can never go below zero
//! (`balances_never_negative`), so concurrent issues cannot oversell a lot; issues take the
//! soonest-expiring unexpired lots first. [`verify`] checks every balance
//! against the sum of its ledger (`openhmis inventory verify`).
//! Stocktaking posts its differences as adjustments through the same ledger; the month's
//! report to accounting and the controlled-substances register are read from it.

mod app;
mod convert;
mod directory;
pub mod domain;
mod error;
mod follow;
mod grpc;
mod store;

use std::sync::Arc;

use hmis_platform::call::Calls;

use hmis_platform::Database;
use hmis_platform::channel::ServiceChannel;
use hmis_platform::clock::SharedClock;
use hmis_platform::idempotency::IdempotencyKeys;
use hmis_proto::openhmis::inventory::v1::inventory_service_server::InventoryServiceServer;

pub use error::Error;
pub use grpc::InventoryApi;
pub use store::Discrepancy;

/// The schema inventory owns.
pub const SCHEMA: &str = "inventory";

/// What `verify` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerReport {
    /// Balances checked.
    pub checked: i64,
    pub discrepancies: Vec<Discrepancy>,
}

#[derive(Debug, Clone)]
pub struct InventoryModule {
    stores: Arc<app::Stores>,
}

impl InventoryModule {
    /// `core` serves `openhmis.core.v1.FacilityService` (facilities' time zones for reports),
    /// `encounters` the `EncounterService` (the prescriptions dispenses fill).
    pub fn new(
        database: Database,
        clock: SharedClock,
        core: ServiceChannel,
        encounters: ServiceChannel,
    ) -> Self {
        Self {
            stores: Arc::new(app::Stores {
                calls: Calls::new(database, clock, SCHEMA),
                directory: directory::Directory::new(core, encounters),
            }),
        }
    }

    pub fn api(&self) -> InventoryApi {
        InventoryApi {
            stores: self.stores.clone(),
        }
    }

    pub fn service(&self) -> InventoryServiceServer<InventoryApi> {
        InventoryServiceServer::new(self.api())
    }

    pub fn idempotency_keys(&self) -> &IdempotencyKeys {
        self.stores.calls.keys()
    }
}

/// Checks, across tenants, that every stock balance equals the sum of its ledger.
pub async fn verify(database: &Database) -> Result<LedgerReport, Error> {
    let (checked, discrepancies) = store::discrepancies(database.worker_pool()).await?;
    Ok(LedgerReport {
        checked,
        discrepancies,
    })
}

/// The permissions this module's calls ask for (its part of the catalogue roles are made of).
pub const PERMISSIONS: &[hmis_platform::auth::PermissionInfo] = &[
    hmis_platform::auth::permission("pharmacy.read", "read stock and dispensing", false),
    hmis_platform::auth::permission("pharmacy.dispense", "dispense to wards and patients", true),
    hmis_platform::auth::permission(
        "pharmacy.manage",
        "receive, transfer, write off, stocktake",
        false,
    ),
    hmis_platform::auth::permission(
        "pharmacy.return",
        "return a ward's leftovers to its stock or to the pharmacy",
        true,
    ),
];

impl hmis_platform::module::Module for InventoryModule {
    fn name(&self) -> &'static str {
        "inventory"
    }

    fn mount(&self, mount: &mut hmis_platform::module::Mount<'_>) {
        mount.service(self.service());
    }

    fn subscriptions(&self) -> Vec<hmis_platform::outbox::Subscription> {
        vec![follow::subscription(self.stores.clone())]
    }

    fn idempotency_keys(&self) -> Option<IdempotencyKeys> {
        Some(self.stores.calls.keys().clone())
    }

    fn permissions(&self) -> &'static [hmis_platform::auth::PermissionInfo] {
        PERMISSIONS
    }
}
