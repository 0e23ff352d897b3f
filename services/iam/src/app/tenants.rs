//! A new tenant of a shared deployment: registered, with its roles and its first
//! administrator.

use hmis_platform::TenantId;
use hmis_platform::auth::Scope;
use hmis_platform::context::RequestId;
use hmis_platform::types::Code;
use hmis_proto::openhmis::iam::v1 as pb;
use std::sync::Arc;

use super::Iam;
use crate::error::{Error, Result};
use crate::store;

/// A tenant to provision and the administrator it starts with.
pub(crate) struct NewTenant {
    pub(crate) tenant_id: TenantId,
    pub(crate) code: Code,
    pub(crate) admin_username: String,
    pub(crate) admin_password: String,
}

/// Registers the tenant and its administrator; safe to repeat (the answer says whether the
/// administrator was created by this call). The tenant must exist in core's register with the
/// code given, and it gets one first administrator: a tenant whose staff exist already is
/// refused another.
pub(crate) async fn provision_tenant(
    iam: &Arc<Iam>,
    tenant: NewTenant,
) -> Result<pb::ProvisionTenantResponse> {
    let register = (iam.tenants.get()).ok_or_else(|| {
        Error::FailedPrecondition("IAM cannot reach the register of tenants".to_owned())
    })?;
    let registered = register
        .code_of(tenant.tenant_id)
        .await
        .map_err(|error| match error {
            hmis_core_api::CoreError::Status(status) => Error::from(status),
            hmis_core_api::CoreError::Malformed(_) => Error::from(tonic::Status::internal(
                "the register of tenants answered without the tenant",
            )),
        })?;
    match registered {
        None => return Err(Error::invalid("tenant_id", "no tenant has this id")),
        Some(code) if code != tenant.code.as_str() => {
            return Err(Error::invalid(
                "tenant_code",
                "is not the code of that tenant",
            ));
        }
        Some(_) => {}
    }
    let mut tx = (iam.database)
        .begin(tenant.tenant_id, &RequestId::generate())
        .await?;
    let others = store::people_other_than(&mut tx, &tenant.admin_username).await?;
    tx.commit().await?;
    if others > 0 {
        return Err(Error::AlreadyExists(
            "the tenant has its staff already; its administrators add users".to_owned(),
        ));
    }
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
