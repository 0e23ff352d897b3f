//! A new tenant of a shared deployment: registered, with its roles and its first
//! administrator.

use hmis_platform::TenantId;
use hmis_platform::auth::Scope;
use hmis_platform::types::Code;
use hmis_proto::openhmis::iam::v1 as pb;
use std::sync::Arc;

use super::Iam;
use crate::error::Result;

/// A tenant to provision and the administrator it starts with.
pub(crate) struct NewTenant {
    pub(crate) tenant_id: TenantId,
    pub(crate) code: Code,
    pub(crate) admin_username: String,
    pub(crate) admin_password: String,
}

/// Registers the tenant and its administrator; safe to repeat (the answer says whether the
/// administrator was created by this call).
pub(crate) async fn provision_tenant(
    iam: &Arc<Iam>,
    tenant: NewTenant,
) -> Result<pb::ProvisionTenantResponse> {
    let module = crate::IamModule { iam: iam.clone() };
    module
        .register_tenant(tenant.tenant_id, tenant.code.as_str())
        .await?;
    let admin = crate::SeedUser {
        username: &tenant.admin_username,
        display_name: "Administrator",
        password: &tenant.admin_password,
        role_code: "administrator",
        scope: Scope::Tenant,
    };
    let admin_created = module.ensure_user(tenant.tenant_id, &admin).await?;
    tracing::info!(tenant_id = %tenant.tenant_id, admin_created, "tenant provisioned");
    Ok(pb::ProvisionTenantResponse { admin_created })
}
