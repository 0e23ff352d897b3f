//! `TenantService`: tenants.

use std::sync::Arc;

use hmis_platform::RequestContext;
use hmis_platform::auth::Target;
use hmis_proto::openhmis::core::v1 as pb;
use pb::tenant_service_server::TenantService;
use tonic::{Request, Response};

use super::{Answer, parse};
use crate::app::{Core, TENANTS_CREATE};

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
    ) -> Answer<pb::CreateTenantResponse> {
        let context = RequestContext::of(&request);
        context.authorize(TENANTS_CREATE, &Target::TENANT)?;
        let message = request.into_inner();
        let command = parse::new_tenant(&message)?;
        Ok(Response::new(
            self.core.create_tenant(&context, &message, command).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn get_current_tenant(
        &self,
        request: Request<pb::GetCurrentTenantRequest>,
    ) -> Answer<pb::GetCurrentTenantResponse> {
        let context = RequestContext::of(&request);
        context.tenant_id()?;
        Ok(Response::new(self.core.current_tenant(&context).await?))
    }
}
