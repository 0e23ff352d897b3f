//! Tenants: a new one (its id fixed by the request, so a retry finds the first answer) and the
//! caller's own.

use hmis_platform::idempotency::RequestKey;
use hmis_platform::types::{Code, Name};
use hmis_platform::{RequestContext, TenantId};
use hmis_proto::openhmis::core::v1 as pb;

use super::{Core, method};
use crate::convert::tenant_to_pb;
use crate::domain::Tenant;
use crate::error::{Error, Result};
use crate::store;

pub(crate) struct NewTenant {
    pub(crate) key: RequestKey,
    pub(crate) code: Code,
    pub(crate) name: Name,
}

/// The id of the tenant a `CreateTenant` request creates, derived from its request id so a
/// retry looks for its first answer under the same tenant (UUID v5 in a fixed namespace).
pub fn tenant_id_for_request(request_id: &str) -> TenantId {
    const NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x6f70_656e_686d_6973_2d74_656e_616e_7473);
    TenantId::new(uuid::Uuid::new_v5(&NAMESPACE, request_id.as_bytes()))
}

impl Core {
    pub(crate) async fn create_tenant(
        &self,
        context: &RequestContext,
        message: &pb::CreateTenantRequest,
        new: NewTenant,
    ) -> Result<pb::CreateTenantResponse> {
        // A new tenant's row passes the tenant policy only in a transaction acting for that
        // tenant, so its id is fixed before the transaction opens: derived from the request
        // id, so that a retry acts for the same tenant and finds the first call's stored answer.
        let tenant = Tenant {
            id: tenant_id_for_request(new.key.as_str()),
            code: new.code,
            name: new.name,
            created_at: self.calls.now(),
        };
        let method = method("TenantService", "CreateTenant");
        (self.calls.keys())
            .run(
                self.calls.database(),
                tenant.id,
                &context.request_id,
                &method,
                &new.key,
                message,
                async |tx| {
                    store::insert_tenant(tx, &tenant).await?;
                    Ok::<_, Error>(pb::CreateTenantResponse {
                        tenant: Some(tenant_to_pb(&tenant)),
                    })
                },
            )
            .await
    }

    pub(crate) async fn current_tenant(
        &self,
        context: &RequestContext,
    ) -> Result<pb::GetCurrentTenantResponse> {
        let tenant = (self.calls)
            .transaction(context, async |tx| store::current_tenant(tx).await)
            .await?;
        Ok(pb::GetCurrentTenantResponse {
            tenant: Some(tenant_to_pb(&tenant)),
        })
    }
}
