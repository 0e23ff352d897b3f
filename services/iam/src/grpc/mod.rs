//! The tonic adapter of IAM: sign-in and sessions (AuthService) and administration
//! (AdminService). Authorize by permission, parse (every wrong field named, `parse.rs`), call
//! the use case (`crate::app`), answer.

mod parse;

use std::sync::Arc;

use hmis_platform::RequestContext;
use hmis_platform::auth::Target;
use hmis_proto::openhmis::iam::v1 as pb;
use pb::admin_service_server::AdminService;
use pb::auth_service_server::AuthService;
use tonic::{Request, Response, Status};

use crate::app::{self, Iam, TENANTS_CREATE, USERS_MANAGE, USERS_READ};

type Answer<T> = Result<Response<T>, Status>;

#[derive(Debug, Clone)]
pub struct AuthApi {
    pub(crate) iam: Arc<Iam>,
}

#[tonic::async_trait]
impl AuthService for AuthApi {
    #[tracing::instrument(skip_all)]
    async fn login(&self, request: Request<pb::LoginRequest>) -> Answer<pb::LoginResponse> {
        let context = RequestContext::of(&request);
        let tokens = self.iam.login(&context, request.into_inner()).await?;
        Ok(Response::new(pb::LoginResponse {
            tokens: Some(tokens),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn refresh(&self, request: Request<pb::RefreshRequest>) -> Answer<pb::RefreshResponse> {
        let context = RequestContext::of(&request);
        let token = &request.get_ref().refresh_token;
        let tokens = self.iam.refresh(&context, token).await?;
        Ok(Response::new(pb::RefreshResponse {
            tokens: Some(tokens),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn logout(&self, request: Request<pb::LogoutRequest>) -> Answer<pb::LogoutResponse> {
        let context = RequestContext::of(&request);
        let token = &request.get_ref().refresh_token;
        self.iam.logout(&context, token).await?;
        Ok(Response::new(pb::LogoutResponse {}))
    }

    #[tracing::instrument(skip_all)]
    async fn change_password(
        &self,
        request: Request<pb::ChangePasswordRequest>,
    ) -> Answer<pb::ChangePasswordResponse> {
        let context = RequestContext::of(&request);
        (self.iam)
            .change_password(&context, request.into_inner())
            .await?;
        Ok(Response::new(pb::ChangePasswordResponse {}))
    }

    #[tracing::instrument(skip_all)]
    async fn get_me(&self, request: Request<pb::GetMeRequest>) -> Answer<pb::GetMeResponse> {
        let context = RequestContext::of(&request);
        Ok(Response::new(self.iam.me(&context).await?))
    }
}

#[derive(Debug, Clone)]
pub struct AdminApi {
    pub(crate) iam: Arc<Iam>,
}

#[tonic::async_trait]
impl AdminService for AdminApi {
    #[tracing::instrument(skip_all)]
    async fn create_user(
        &self,
        request: Request<pb::CreateUserRequest>,
    ) -> Answer<pb::CreateUserResponse> {
        let context = RequestContext::of(&request);
        context.authorize(USERS_MANAGE, &Target::TENANT)?;
        let message = request.into_inner();
        let user = parse::new_user(&message)?;
        Ok(Response::new(
            self.iam.create_user(&context, &message, user).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn list_users(
        &self,
        request: Request<pb::ListUsersRequest>,
    ) -> Answer<pb::ListUsersResponse> {
        let context = RequestContext::of(&request);
        context.authorize(USERS_READ, &Target::TENANT)?;
        let (size, after) = parse::users_page(request.get_ref())?;
        Ok(Response::new(
            self.iam.list_users(&context, size, after).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn set_user_status(
        &self,
        request: Request<pb::SetUserStatusRequest>,
    ) -> Answer<pb::SetUserStatusResponse> {
        let context = RequestContext::of(&request);
        context.authorize(USERS_MANAGE, &Target::TENANT)?;
        let (user_id, active) = parse::user_status(request.get_ref())?;
        Ok(Response::new(
            self.iam.set_user_status(&context, user_id, active).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn create_service_account(
        &self,
        request: Request<pb::CreateServiceAccountRequest>,
    ) -> Answer<pb::CreateServiceAccountResponse> {
        let context = RequestContext::of(&request);
        context.authorize(USERS_MANAGE, &Target::TENANT)?;
        let message = request.into_inner();
        let account = parse::service_account(&message)?;
        let iam = &self.iam;
        Ok(Response::new(
            iam.create_service_account(&context, &message, account)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn list_permissions(
        &self,
        request: Request<pb::ListPermissionsRequest>,
    ) -> Answer<pb::ListPermissionsResponse> {
        RequestContext::of(&request).authorize(USERS_READ, &Target::TENANT)?;
        Ok(Response::new(self.iam.list_permissions()))
    }

    #[tracing::instrument(skip_all)]
    async fn list_roles(
        &self,
        request: Request<pb::ListRolesRequest>,
    ) -> Answer<pb::ListRolesResponse> {
        let context = RequestContext::of(&request);
        context.authorize(USERS_READ, &Target::TENANT)?;
        Ok(Response::new(self.iam.list_roles(&context).await?))
    }

    #[tracing::instrument(skip_all)]
    async fn create_role(
        &self,
        request: Request<pb::CreateRoleRequest>,
    ) -> Answer<pb::CreateRoleResponse> {
        let context = RequestContext::of(&request);
        let principal = context.authorize(USERS_MANAGE, &Target::TENANT)?;
        let message = request.get_ref();
        let role = parse::new_role(message, self.iam.catalogue(), principal)?;
        Ok(Response::new(
            self.iam.create_role(&context, message, role).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn assign_role(
        &self,
        request: Request<pb::AssignRoleRequest>,
    ) -> Answer<pb::AssignRoleResponse> {
        let context = RequestContext::of(&request);
        context.authorize(USERS_MANAGE, &Target::TENANT)?;
        let message = request.into_inner();
        let assignment = parse::assignment(&message)?;
        let iam = &self.iam;
        Ok(Response::new(
            iam.assign_role(&context, &message, assignment).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn revoke_assignment(
        &self,
        request: Request<pb::RevokeAssignmentRequest>,
    ) -> Answer<pb::RevokeAssignmentResponse> {
        let context = RequestContext::of(&request);
        context.authorize(USERS_MANAGE, &Target::TENANT)?;
        let id = parse::id("assignment_id", &request.get_ref().assignment_id)?;
        Ok(Response::new(
            self.iam.revoke_assignment(&context, id).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn list_assignments(
        &self,
        request: Request<pb::ListAssignmentsRequest>,
    ) -> Answer<pb::ListAssignmentsResponse> {
        let context = RequestContext::of(&request);
        context.authorize(USERS_READ, &Target::TENANT)?;
        let user_id = parse::id("user_id", &request.get_ref().user_id)?;
        Ok(Response::new(
            self.iam.list_assignments(&context, user_id).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn provision_tenant(
        &self,
        request: Request<pb::ProvisionTenantRequest>,
    ) -> Answer<pb::ProvisionTenantResponse> {
        let context = RequestContext::of(&request);
        context.authorize(TENANTS_CREATE, &Target::TENANT)?;
        let tenant = parse::new_tenant(request.get_ref())?;
        Ok(Response::new(
            app::provision_tenant(&self.iam, tenant).await?,
        ))
    }
}
