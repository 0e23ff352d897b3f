//! `TenantService`.

use super::*;

#[derive(Debug, Clone)]
pub struct TenantApi {
    pub(crate) core: Arc<Core>,
}

#[tonic::async_trait]
impl TenantService for TenantApi {
    #[tracing::instrument(skip_all)]
    async fn create_tenant(
        &self,
        request: Request<pb::CreateTenantRequest>,
    ) -> std::result::Result<Response<pb::CreateTenantResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize("core.tenants.create", &Target::TENANT)?;
        let message = request.into_inner();
        let mut violations = Violations::default();
        let key = violations.check("request_id", RequestKey::parse(&message.request_id));
        let tenant = required(message.tenant.as_ref(), "tenant", &mut violations);
        let code = tenant.and_then(|t| violations.check("tenant.code", Code::parse(&t.code)));
        let name = tenant.and_then(|t| violations.check("tenant.name", Name::parse(&t.name)));
        let (Some(key), Some(code), Some(name)) = (key, code, name) else {
            return Err(Error::from(violations).into());
        };
        // A new tenant's row passes the tenant policy only in a transaction acting for that
        // tenant, so its id is fixed before the transaction opens: derived from the request id,
        // so that a retry acts for the same tenant and finds the first call's stored answer.
        let tenant = Tenant {
            id: tenant_id_for_request(key.as_str()),
            code,
            name,
            created_at: self.core.calls.now(),
        };
        let response = self
            .core
            .calls
            .keys()
            .run(
                self.core.calls.database(),
                tenant.id,
                &context.request_id,
                "/openhmis.core.v1.TenantService/CreateTenant",
                &key,
                &message,
                async |tx| {
                    store::insert_tenant(tx, &tenant).await?;
                    Ok::<_, Error>(pb::CreateTenantResponse {
                        tenant: Some(tenant_to_pb(&tenant)),
                    })
                },
            )
            .await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all)]
    async fn get_current_tenant(
        &self,
        request: Request<pb::GetCurrentTenantRequest>,
    ) -> std::result::Result<Response<pb::GetCurrentTenantResponse>, Status> {
        let context = RequestContext::of(&request);
        let tenant_id = context.tenant_id()?;
        let mut tx = self.core.read_tx(tenant_id, &context).await?;
        let tenant = store::current_tenant(&mut tx).await?;
        Ok(Response::new(pb::GetCurrentTenantResponse {
            tenant: Some(tenant_to_pb(&tenant)),
        }))
    }
}

/// The id of the tenant a `CreateTenant` request creates, derived from its request id so a
/// retry looks for its first answer under the same tenant (UUID v5 in a fixed namespace).
pub fn tenant_id_for_request(request_id: &str) -> TenantId {
    const NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x6f70_656e_686d_6973_2d74_656e_616e_7473);
    TenantId::new(uuid::Uuid::new_v5(&NAMESPACE, request_id.as_bytes()))
}
