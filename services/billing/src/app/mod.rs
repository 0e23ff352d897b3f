//! The use cases of billing, one function per RPC (`tariffs`, `accounts`, `cash`), and the
//! capture of charges from other modules' events (`capture`). What a use case is asked comes
//! parsed (`grpc/parse.rs`); it answers in the contract's messages (`convert.rs`), so a retry
//! is answered with the stored response.

mod accounts;
mod capture;
mod cases;
mod cash;
mod ledger;
mod reports;
mod tariffs;

pub(crate) use accounts::{AccountRef, Adjustment, Settlement};
pub(crate) use capture::{Admission, Captured, MealLine, StayPeriod};
pub(crate) use cases::{ClaimChange, Grouper};
pub(crate) use cash::{Closing, NewPayment, NewRefund, NewShift};
pub(crate) use ledger::{LEDGER_ROLES, NewRemittance, Reconciliation};
pub(crate) use tariffs::{NewContract, NewCoverage, NewPriceList};

use chrono::{DateTime, Utc};
use hmis_platform::RequestContext;
use hmis_platform::TenantTx;
use hmis_platform::audit::{self, AuditEntry};
use hmis_platform::call::Calls;
use uuid::Uuid;

use crate::directory::Directory;
use crate::error::Result;

pub(crate) const READ: &str = "billing.read";
pub(crate) const MANAGE: &str = "billing.manage";
pub(crate) const CASH: &str = "billing.cash";
pub(crate) const ADJUST: &str = "billing.adjust";
pub(crate) const COVER: &str = "billing.cover";
pub(crate) const CLAIMS: &str = "billing.claims";
pub(crate) const REPORTS: &str = "billing.reports";

const SERVICE: &str = "/openhmis.billing.v1.BillingService/";

fn method(name: &str) -> String {
    format!("{SERVICE}{name}")
}

#[derive(Debug)]
pub(crate) struct Billing {
    pub(crate) calls: Calls<crate::error::Error>,
    pub(crate) directory: Directory,
    pub(crate) grouper: Grouper,
}

/// The account a call names in `account_id`, locked; a wrong id is the caller's.
async fn named_account(tx: &mut TenantTx, account_id: Uuid) -> Result<crate::store::AccountRow> {
    match crate::store::lock_account(tx, account_id).await {
        Err(crate::error::Error::NotFound(_)) => {
            Err(crate::error::Error::invalid("account_id", "was not found"))
        }
        found => found,
    }
}

/// Records the call's access to `patients` (none for reference data) in its transaction.
async fn record(
    tx: &mut TenantTx,
    context: &RequestContext,
    patients: &[Uuid],
    now: DateTime<Utc>,
) -> Result<()> {
    audit::record(tx, context, &AuditEntry::ok(patients), now).await?;
    Ok(())
}
