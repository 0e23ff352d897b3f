//! The use cases of IAM: sign-in and sessions (`sessions`), and administration (`users`,
//! `roles`, `tenants`). What a use case is asked comes parsed (`grpc/parse.rs` names every
//! wrong field); it answers in the contract's messages.

mod roles;
mod sessions;
mod tenants;
mod users;

pub(crate) use roles::{NewAssignment, NewRole, refuse_permissions};
pub(crate) use tenants::{NewTenant, provision_tenant};
pub(crate) use users::{NewServiceAccount, NewUser, UserDraft};

use std::sync::Arc;

use chrono::Duration;
use hmis_platform::auth::{PermissionInfo, Principal};
use hmis_platform::clock::SharedClock;
use hmis_platform::idempotency::IdempotencyKeys;
use hmis_platform::{Database, RequestContext, TenantId, TenantTx};

use crate::error::Result;
use crate::keys::KeyRing;

pub(crate) const USERS_READ: &str = "iam.users.read";
pub(crate) const USERS_MANAGE: &str = "iam.users.manage";
pub(crate) const TENANTS_CREATE: &str = "core.tenants.create";

const ADMIN_SERVICE: &str = "/openhmis.iam.v1.AdminService/";

/// The module's state: its database, clock, signing keys and idempotency table.
#[derive(Debug)]
pub(crate) struct Iam {
    pub(crate) database: Database,
    pub(crate) clock: SharedClock,
    pub(crate) keys: Arc<KeyRing>,
    pub(crate) idempotency: IdempotencyKeys,
    pub(crate) refresh_token_ttl: Duration,
    pub(crate) default_tenant: Option<TenantId>,
    /// Every module's permissions (see [`crate::IamModule::install_catalogue`]).
    pub(crate) catalogue: std::sync::OnceLock<Vec<PermissionInfo>>,
    /// The register of tenants, which provisioning checks (see
    /// [`crate::IamModule::install_core`]).
    pub(crate) tenants: std::sync::OnceLock<hmis_core_api::CoreTenants>,
}

/// Permissions only their holders may hand out (running a shared deployment).
const OPERATOR_PERMISSIONS: &[&str] = &[TENANTS_CREATE];

/// Whether `principal` may hand `permission` to others (in a role or an assignment).
fn may_grant(principal: &Principal, permission: &str) -> bool {
    !OPERATOR_PERMISSIONS.contains(&permission) || principal.holds(permission)
}

/// An administration change (a user, a role, an assignment) on the audit trail, naming
/// what it changed, in the change's transaction.
async fn change_on_record(
    tx: &mut TenantTx,
    context: &RequestContext,
    resource: String,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    let resources = [resource];
    let entry = hmis_platform::audit::AuditEntry {
        resource_ids: &resources,
        ..hmis_platform::audit::AuditEntry::ok(&[])
    };
    hmis_platform::audit::record(tx, context, &entry, now).await?;
    Ok(())
}

impl Iam {
    /// The permissions roles may be made of.
    pub(crate) fn catalogue(&self) -> &[PermissionInfo] {
        self.catalogue
            .get()
            .map_or(crate::PERMISSIONS, Vec::as_slice)
    }

    /// Re-reads who may no longer act, so a revocation this process just committed refuses
    /// the next call at once (other processes learn it within a second). A failure is only
    /// logged: the revocation itself is committed.
    pub(crate) async fn revocations_changed(&self) {
        let worker = self.database.worker_pool();
        if let Err(error) = self.keys.reload_revocations(worker, self.clock.now()).await {
            tracing::warn!(error = %error, "reloading revocations failed");
        }
    }

    /// A transaction in the caller's tenant, for what an administrator does in it.
    async fn begin(&self, context: &RequestContext) -> Result<TenantTx> {
        Ok(self
            .database
            .begin(context.tenant_id()?, &context.request_id)
            .await?)
    }
}
