//! The use cases of core, one function per RPC: the register of facilities, departments,
//! rooms and beds (`register`, `beds`), dictionaries (`dictionaries`) and tenants
//! (`tenants`). Creations run under the request's idempotency key; changes are guarded by
//! the etag the caller read. Events go out through the outbox in the change's transaction.
//! What a use case is asked comes parsed (`grpc/parse.rs` names every wrong field); it
//! answers in the contract's messages.

mod beds;
mod dictionaries;
mod register;
mod tenants;

pub(crate) use beds::{BedStateChange, BedsPage, NewBed};
pub(crate) use dictionaries::{EntriesPage, EntryUpdate, NewDictionary, NewEntry};
pub(crate) use register::{DepartmentsPage, NewDepartment, NewFacility, NewRoom, Update};
pub(crate) use tenants::NewTenant;
pub use tenants::tenant_id_for_request;

use hmis_platform::call::Calls;
use hmis_platform::outbox::Outbox;
use hmis_platform::types::{Code, Version};
use hmis_platform::{TenantTx, Violations};

use crate::error::{Error, Result};
use crate::store;

pub(crate) const READ: &str = "core.read";
pub(crate) const MANAGE: &str = "core.manage";
pub(crate) const BEDS_MANAGE: &str = "core.beds.manage";
pub(crate) const TENANTS_CREATE: &str = "core.tenants.create";

/// The module's state: the call kit over its schema and its outbox.
#[derive(Debug)]
pub(crate) struct Core {
    pub(crate) calls: Calls<Error>,
    pub(crate) outbox: Outbox,
}

/// The full gRPC method name of an rpc of one of core's services.
fn method(service: &str, rpc: &str) -> String {
    format!("/openhmis.core.v1.{service}/{rpc}")
}

/// A change made against the version the caller read, or refused as stale.
fn check_etag(stored: Version, etag: Version, what: &'static str) -> Result<()> {
    if stored == etag {
        Ok(())
    } else {
        Err(Error::StaleEtag { what })
    }
}

/// A parent named in the request that does not exist is the caller's mistake in that field.
fn refers_to(error: Error, field: &str) -> Error {
    match error {
        Error::NotFound { what, .. } => {
            let mut violations = Violations::default();
            violations.add(field, format!("no such {what}"));
            Error::from(violations)
        }
        other => other,
    }
}

/// A department's specialty is an active entry of the specialties dictionary.
async fn check_specialty(tx: &mut TenantTx, specialty_code: Option<&Code>) -> Result<()> {
    let Some(specialty_code) = specialty_code else {
        return Ok(());
    };
    if store::entry_is_active(tx, store::SPECIALTIES, specialty_code).await? {
        return Ok(());
    }
    let mut violations = Violations::default();
    violations.add(
        "department.specialty_code",
        format!(
            "is not an active entry of the {} dictionary",
            store::SPECIALTIES
        ),
    );
    Err(Error::from(violations))
}
