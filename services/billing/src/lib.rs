//! Billing (`billing` schema): price lists with their tariffs, insurance contracts and
//! patients' policies, patient accounts whose charges are captured from the other modules'
//! events (never keyed in), the split of each charge between the insurers and the patient,
//! and the cash desk. The database keeps the rules money depends on: a source charged once,
//! shares that add up to their charge, a payment confirmation applied once, refunds within
//! what was paid, one open shift per cashier, gap-free receipt numbers.
//!
//! Wards, facilities and patients belong to other modules; billing reads them through their
//! contracts ([`directory`]), never their tables.

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
use hmis_proto::openhmis::billing::v1::billing_service_server::BillingServiceServer;

pub use directory::Channels;
pub use error::Error;
pub use grpc::BillingApi;
pub use store::{AccountDiscrepancy, InvoiceDiscrepancy, ShiftDiscrepancy};

/// The schema billing owns; its outbox is published under this name.
pub const SCHEMA: &str = "billing";

#[derive(Debug, Clone)]
pub struct BillingModule {
    billing: Arc<app::Billing>,
}

impl BillingModule {
    pub fn new(database: Database, clock: SharedClock, channels: Channels) -> Self {
        Self {
            billing: Arc::new(app::Billing {
                calls: Calls::new(database, clock, SCHEMA),
                directory: directory::Directory::new(channels),
                grouper: app::Grouper::default(),
            }),
        }
    }

    pub fn api(&self) -> BillingApi {
        BillingApi {
            billing: self.billing.clone(),
        }
    }

    pub fn service(&self) -> BillingServiceServer<BillingApi> {
        BillingServiceServer::new(self.api())
    }
}

/// What `openhmis billing verify` found: the accounts, closed shifts and invoices checked, and
/// those whose kept totals are not what their rows add up to.
#[derive(Debug, Clone)]
pub struct MoneyReport {
    pub accounts_checked: i64,
    pub shifts_checked: i64,
    pub invoices_checked: i64,
    pub accounts: Vec<AccountDiscrepancy>,
    pub shifts: Vec<ShiftDiscrepancy>,
    pub invoices: Vec<InvoiceDiscrepancy>,
}

impl MoneyReport {
    pub fn is_consistent(&self) -> bool {
        self.accounts.is_empty() && self.shifts.is_empty() && self.invoices.is_empty()
    }
}

/// Recomputes every tenant's account totals, closed shifts' reports and invoices from their
/// rows.
pub async fn verify(database: &Database) -> Result<MoneyReport, Error> {
    let worker = database.worker_pool();
    let (accounts_checked, accounts) = store::account_discrepancies(worker).await?;
    let (shifts_checked, shifts) = store::shift_discrepancies(worker).await?;
    let (invoices_checked, invoices) = store::invoice_discrepancies(worker).await?;
    Ok(MoneyReport {
        accounts_checked,
        shifts_checked,
        invoices_checked,
        accounts,
        shifts,
        invoices,
    })
}

/// The permissions this module's calls ask for (its part of the catalogue roles are made of).
pub const PERMISSIONS: &[hmis_platform::auth::PermissionInfo] = &[
    hmis_platform::auth::permission(
        "billing.read",
        "read tariffs, contracts, patients' accounts and standing",
        true,
    ),
    hmis_platform::auth::permission(
        "billing.manage",
        "set up price lists, tariffs, wards' care levels and insurance contracts",
        false,
    ),
    hmis_platform::auth::permission(
        "billing.cash",
        "run a cash desk shift: payments, deposits, refunds, closing",
        true,
    ),
    hmis_platform::auth::permission(
        "billing.adjust",
        "approve adjustments of a patient's account",
        true,
    ),
    hmis_platform::auth::permission("billing.cover", "record a patient's insurance policy", true),
    hmis_platform::auth::permission(
        "billing.reports",
        "read revenue, receivables and the case mix (no patient's data)",
        false,
    ),
    hmis_platform::auth::permission(
        "billing.claims",
        "move DRG claims along the national insurer's answers",
        true,
    ),
];

impl hmis_platform::module::Module for BillingModule {
    fn name(&self) -> &'static str {
        "billing"
    }

    fn mount(&self, mount: &mut hmis_platform::module::Mount<'_>) {
        mount.service(self.service());
    }

    fn subscriptions(&self) -> Vec<hmis_platform::outbox::Subscription> {
        follow::subscriptions(&self.billing)
    }

    fn idempotency_keys(&self) -> Option<IdempotencyKeys> {
        Some(self.billing.calls.keys().clone())
    }

    fn permissions(&self) -> &'static [hmis_platform::auth::PermissionInfo] {
        PERMISSIONS
    }
}
