//! The tonic adapter of IAM: sign-in and sessions (AuthService) and administration
//! (AdminService).

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use hmis_platform::auth::{PERMISSIONS, Principal, Scope, Target, permission_info};
use hmis_platform::clock::SharedClock;
use hmis_platform::idempotency::{Begin, IdempotencyKeys, RequestKey};
use hmis_platform::paging::{PageSize, decode_token, finish_page};
use hmis_platform::types::{Code, Name, Text};
use hmis_platform::wire::{parse_timestamp as from_timestamp, timestamp};
use hmis_platform::{Database, RequestContext, TenantId, TenantTx, Violations};
use hmis_proto::openhmis::iam::v1 as pb;
use pb::admin_service_server::AdminService;
use pb::auth_service_server::AuthService;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::domain::{NewPassword, Username, lockout_after};
use crate::error::{Error, Result};
use crate::keys::KeyRing;
use crate::secrets;
use crate::store::{self, Credentials};

/// What every IAM handler shares.
#[derive(Debug)]
pub(crate) struct Iam {
    pub(crate) database: Database,
    pub(crate) clock: SharedClock,
    pub(crate) keys: Arc<KeyRing>,
    pub(crate) idempotency: IdempotencyKeys,
    pub(crate) refresh_token_ttl: Duration,
    pub(crate) default_tenant: Option<TenantId>,
}

/// A refresh token names its tenant in clear (`<tenant>.<secret>`) so it can be looked up
/// under that tenant's row-level security; only its SHA-256 is stored.
fn parse_refresh_token(token: &str) -> Option<TenantId> {
    let (tenant, secret) = token.split_once('.')?;
    if secret.len() < 32 {
        return None;
    }
    tenant.parse().ok()
}

impl Iam {
    /// Starts a session family (or continues `family`) and issues both tokens.
    async fn issue_tokens(
        &self,
        tx: &mut TenantTx,
        credentials: &Credentials,
        family: Uuid,
        now: DateTime<Utc>,
    ) -> Result<pb::Tokens> {
        let refresh_token = format!("{}.{}", tx.tenant_id(), secrets::random_token(32)?);
        let refresh_expires = now + self.refresh_token_ttl;
        store::insert_refresh_token(
            tx,
            Uuid::now_v7(),
            family,
            credentials.id,
            &secrets::sha256(&refresh_token),
            now,
            refresh_expires,
        )
        .await?;
        let principal = Principal {
            expires_at: None,
            user_id: credentials.id,
            tenant_id: tx.tenant_id(),
            username: credentials.username.clone(),
            service_account: credentials.kind == "service",
            session_id: family,
            grants: store::grants_at(tx, credentials.id, now).await?,
        };
        let (access_token, access_expires) = self.keys.issue(&principal, now)?;
        Ok(pb::Tokens {
            access_token,
            access_token_expire_time: timestamp(access_expires),
            refresh_token,
            refresh_token_expire_time: timestamp(refresh_expires),
        })
    }

    fn usable(credentials: &Credentials, now: DateTime<Utc>) -> bool {
        credentials.status == "active"
            && credentials.valid_from.is_none_or(|from| from <= now)
            && credentials.valid_until.is_none_or(|until| until > now)
    }

    async fn resolve_tenant(&self, code: &str) -> Result<TenantId> {
        if code.trim().is_empty() {
            return self.default_tenant.ok_or(Error::SignInFailed);
        }
        store::tenant_by_code(self.database.app_pool(), code.trim())
            .await?
            .ok_or(Error::SignInFailed)
    }

    async fn login(
        &self,
        context: &RequestContext,
        request: pb::LoginRequest,
    ) -> Result<pb::Tokens> {
        use pb::login_request::Credentials as Given;
        let (lookup, secret) = match request.credentials {
            Some(Given::Password(password)) => (Ok(password.username), password.password),
            Some(Given::Client(client)) => (Err(client.client_id), client.client_secret),
            None => {
                let mut violations = Violations::default();
                violations.add("credentials", "give password or client credentials");
                return Err(violations.into());
            }
        };
        let tenant_id = match self.resolve_tenant(&request.tenant_code).await {
            Ok(tenant_id) => tenant_id,
            Err(error) => {
                // Unknown tenant: spend the same time as a wrong password would.
                secrets::verify(secret, None).await?;
                return Err(error);
            }
        };
        let mut tx = self.database.begin(tenant_id, &context.request_id).await?;
        let credentials = match &lookup {
            Ok(username) => match Username::parse(username) {
                Ok(username) => store::credentials_by_username(&mut tx, username.as_str()).await?,
                Err(_) => None,
            },
            Err(client_id) => store::credentials_by_client_id(&mut tx, client_id).await?,
        };
        let Some(credentials) = credentials else {
            secrets::verify(secret, None).await?;
            return Err(Error::SignInFailed);
        };
        let now = self.clock.now();
        if credentials.locked_until.is_some_and(|until| until > now) {
            tracing::info!(user_id = %credentials.id, "sign-in refused: account locked");
            return Err(Error::SignInFailed);
        }
        let stored = credentials
            .password_hash
            .clone()
            .or_else(|| credentials.secret_hash.clone());
        if !secrets::verify(secret, stored).await? {
            let failed = credentials.failed_logins.saturating_add(1);
            let locked_until = lockout_after(failed, now);
            store::record_sign_in(&mut tx, credentials.id, failed, locked_until).await?;
            tx.commit().await?;
            tracing::info!(user_id = %credentials.id, failed, locked = locked_until.is_some(), "sign-in failed");
            return Err(Error::SignInFailed);
        }
        if !Self::usable(&credentials, now) {
            tracing::info!(user_id = %credentials.id, "sign-in refused: account disabled or out of its validity");
            return Err(Error::SignInFailed);
        }
        store::record_sign_in(&mut tx, credentials.id, 0, None).await?;
        let tokens = self
            .issue_tokens(&mut tx, &credentials, Uuid::now_v7(), now)
            .await?;
        tx.commit().await?;
        tracing::info!(user_id = %credentials.id, "signed in");
        Ok(tokens)
    }

    async fn refresh(&self, context: &RequestContext, refresh_token: &str) -> Result<pb::Tokens> {
        let tenant_id = parse_refresh_token(refresh_token).ok_or(Error::SessionEnded)?;
        let mut tx = self.database.begin(tenant_id, &context.request_id).await?;
        let row = store::refresh_token_by_hash(&mut tx, &secrets::sha256(refresh_token))
            .await?
            .ok_or(Error::SessionEnded)?;
        let now = self.clock.now();
        if row.revoked_at.is_some() || row.expires_at <= now {
            return Err(Error::SessionEnded);
        }
        if row.used_at.is_some() {
            // A spent token came back: whoever holds the family's tokens, one of them is not
            // the user. End the whole session.
            store::revoke_family(&mut tx, row.family_id, now).await?;
            tx.commit().await?;
            tracing::warn!(user_id = %row.user_id, family_id = %row.family_id, "refresh token reused; session revoked");
            return Err(Error::SessionEnded);
        }
        let credentials = store::credentials_by_id(&mut tx, row.user_id)
            .await?
            .filter(|credentials| Self::usable(credentials, now));
        let Some(credentials) = credentials else {
            store::revoke_family(&mut tx, row.family_id, now).await?;
            tx.commit().await?;
            return Err(Error::SessionEnded);
        };
        store::mark_refresh_token_used(&mut tx, row.id, now).await?;
        let tokens = self
            .issue_tokens(&mut tx, &credentials, row.family_id, now)
            .await?;
        tx.commit().await?;
        Ok(tokens)
    }

    async fn logout(&self, context: &RequestContext, refresh_token: &str) -> Result<()> {
        let Some(tenant_id) = parse_refresh_token(refresh_token) else {
            return Ok(());
        };
        let mut tx = self.database.begin(tenant_id, &context.request_id).await?;
        if let Some(row) =
            store::refresh_token_by_hash(&mut tx, &secrets::sha256(refresh_token)).await?
        {
            store::revoke_family(&mut tx, row.family_id, self.clock.now()).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn change_password(
        &self,
        context: &RequestContext,
        request: pb::ChangePasswordRequest,
    ) -> Result<()> {
        let principal = context.principal()?.clone();
        let mut tx = self
            .database
            .begin(principal.tenant_id, &context.request_id)
            .await?;
        let credentials = store::credentials_by_id(&mut tx, principal.user_id)
            .await?
            .filter(|credentials| credentials.kind == "person")
            .ok_or_else(|| Error::FailedPrecondition("only people have passwords".to_owned()))?;
        let mut violations = Violations::default();
        let new_password = violations.check(
            "new_password",
            NewPassword::parse(&request.new_password, &credentials.username),
        );
        let now = self.clock.now();
        if !secrets::verify(request.current_password, credentials.password_hash.clone()).await? {
            let failed = credentials.failed_logins.saturating_add(1);
            store::record_sign_in(&mut tx, credentials.id, failed, lockout_after(failed, now))
                .await?;
            tx.commit().await?;
            violations.add("current_password", "is not the current password");
            return Err(violations.into());
        }
        let Some(new_password) = new_password else {
            return Err(violations.into());
        };
        let hash = secrets::hash(new_password.expose().to_owned()).await?;
        store::set_password(&mut tx, credentials.id, &hash, now).await?;
        let ended =
            store::revoke_sessions_of(&mut tx, credentials.id, Some(principal.session_id), now)
                .await?;
        tx.commit().await?;
        tracing::info!(user_id = %credentials.id, other_sessions_ended = ended, "password changed");
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// AuthService

#[derive(Debug, Clone)]
pub struct AuthApi {
    pub(crate) iam: Arc<Iam>,
}

#[tonic::async_trait]
impl AuthService for AuthApi {
    #[tracing::instrument(skip_all)]
    async fn login(
        &self,
        request: Request<pb::LoginRequest>,
    ) -> std::result::Result<Response<pb::LoginResponse>, Status> {
        let context = RequestContext::of(&request);
        let tokens = self.iam.login(&context, request.into_inner()).await?;
        Ok(Response::new(pb::LoginResponse {
            tokens: Some(tokens),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn refresh(
        &self,
        request: Request<pb::RefreshRequest>,
    ) -> std::result::Result<Response<pb::RefreshResponse>, Status> {
        let context = RequestContext::of(&request);
        let tokens = self
            .iam
            .refresh(&context, &request.get_ref().refresh_token)
            .await?;
        Ok(Response::new(pb::RefreshResponse {
            tokens: Some(tokens),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn logout(
        &self,
        request: Request<pb::LogoutRequest>,
    ) -> std::result::Result<Response<pb::LogoutResponse>, Status> {
        let context = RequestContext::of(&request);
        self.iam
            .logout(&context, &request.get_ref().refresh_token)
            .await?;
        Ok(Response::new(pb::LogoutResponse {}))
    }

    #[tracing::instrument(skip_all)]
    async fn change_password(
        &self,
        request: Request<pb::ChangePasswordRequest>,
    ) -> std::result::Result<Response<pb::ChangePasswordResponse>, Status> {
        let context = RequestContext::of(&request);
        self.iam
            .change_password(&context, request.into_inner())
            .await?;
        Ok(Response::new(pb::ChangePasswordResponse {}))
    }

    #[tracing::instrument(skip_all)]
    async fn get_me(
        &self,
        request: Request<pb::GetMeRequest>,
    ) -> std::result::Result<Response<pb::GetMeResponse>, Status> {
        let context = RequestContext::of(&request);
        let principal = context.principal()?;
        let display_name = if principal.user_id.is_nil() {
            "system".to_owned()
        } else {
            let mut tx = self
                .iam
                .database
                .begin(principal.tenant_id, &context.request_id)
                .await
                .map_err(Error::from)?;
            store::get_user(&mut tx, principal.user_id)
                .await?
                .display_name
        };
        Ok(Response::new(pb::GetMeResponse {
            user_id: principal.user_id.to_string(),
            tenant_id: principal.tenant_id.to_string(),
            username: principal.username.clone(),
            display_name,
            service_account: principal.service_account,
            grants: principal
                .grants
                .iter()
                .map(|grant| pb::Grant {
                    permission: grant.permission.clone(),
                    scope: grant.scope.to_string(),
                })
                .collect(),
        }))
    }
}

// ---------------------------------------------------------------------------------------------
// AdminService

#[derive(Debug, Clone)]
pub struct AdminApi {
    pub(crate) iam: Arc<Iam>,
}

fn user_to_pb(row: &store::UserRow) -> pb::User {
    pb::User {
        id: row.id.to_string(),
        username: row.username.clone(),
        display_name: row.display_name.clone(),
        registration_number: row.registration_number.clone(),
        status: if row.status == "active" {
            pb::UserStatus::Active
        } else {
            pb::UserStatus::Disabled
        }
        .into(),
        valid_from: row.valid_from.and_then(timestamp),
        valid_until: row.valid_until.and_then(timestamp),
        create_time: timestamp(row.created_at),
        service_account: row.kind == "service",
    }
}

fn assignment_to_pb(row: &store::AssignmentRow) -> Result<pb::Assignment> {
    Ok(pb::Assignment {
        id: row.id.to_string(),
        user_id: row.user_id.to_string(),
        role_code: row.role_code.clone(),
        scope: row.scope()?.to_string(),
        valid_from: row.valid_from.and_then(timestamp),
        valid_until: row.valid_until.and_then(timestamp),
    })
}

fn parse_uuid(value: &str) -> std::result::Result<Uuid, &'static str> {
    Uuid::parse_str(value.trim()).map_err(|_| "must be a UUID")
}

/// Permissions only their holders may hand out (running a shared deployment).
const OPERATOR_PERMISSIONS: &[&str] = &["core.tenants.create"];

/// Whether `principal` may hand `permission` to others (in a role or an assignment).
fn may_grant(principal: &Principal, permission: &str) -> bool {
    !OPERATOR_PERMISSIONS.contains(&permission) || principal.holds(permission)
}

/// A new user, checked.
pub(crate) struct UserDraft {
    pub(crate) username: Username,
    pub(crate) display_name: Name,
    pub(crate) registration_number: Text,
    pub(crate) password: NewPassword,
    pub(crate) valid_from: Option<DateTime<Utc>>,
    pub(crate) valid_until: Option<DateTime<Utc>>,
}

impl UserDraft {
    pub(crate) fn parse(
        user: Option<&pb::User>,
        password: &str,
    ) -> std::result::Result<Self, Violations> {
        let mut violations = Violations::default();
        let Some(user) = user else {
            violations.add("user", "is required");
            return Err(violations);
        };
        let username = violations.check("user.username", Username::parse(&user.username));
        let display_name = violations.check("user.display_name", Name::parse(&user.display_name));
        let registration_number = violations.check(
            "user.registration_number",
            Text::parse(&user.registration_number).and_then(|text| {
                if text.as_str().chars().count() > 64 {
                    Err(hmis_platform::types::ParseError::new(
                        "must be at most 64 characters",
                    ))
                } else {
                    Ok(text)
                }
            }),
        );
        let password = violations.check(
            "initial_password",
            NewPassword::parse(password, username.as_ref().map_or("", Username::as_str)),
        );
        let valid_from =
            violations.check("user.valid_from", from_timestamp(user.valid_from.as_ref()));
        let valid_until = violations.check(
            "user.valid_until",
            from_timestamp(user.valid_until.as_ref()),
        );
        if let (Some(Some(from)), Some(Some(until))) = (valid_from, valid_until)
            && until <= from
        {
            violations.add("user.valid_until", "must be after valid_from");
        }
        match (
            username,
            display_name,
            registration_number,
            password,
            valid_from,
            valid_until,
        ) {
            (
                Some(username),
                Some(display_name),
                Some(registration_number),
                Some(password),
                Some(valid_from),
                Some(valid_until),
            ) if violations.is_empty() => Ok(Self {
                username,
                display_name,
                registration_number,
                password,
                valid_from,
                valid_until,
            }),
            _ => Err(violations),
        }
    }
}

impl Iam {
    /// Inserts a person; the caller has authorized and opened the transaction.
    pub(crate) async fn insert_person(
        &self,
        tx: &mut TenantTx,
        draft: &UserDraft,
        password_hash: &str,
    ) -> Result<store::UserRow> {
        let id = Uuid::now_v7();
        store::insert_user(
            tx,
            &store::NewUser {
                id,
                username: draft.username.as_str(),
                display_name: draft.display_name.as_str(),
                registration_number: draft.registration_number.as_str(),
                valid_from: draft.valid_from,
                valid_until: draft.valid_until,
                password_hash: Some(password_hash),
                client_id: None,
                secret_hash: None,
                now: self.clock.now(),
            },
        )
        .await?;
        store::get_user(tx, id).await
    }
}

#[tonic::async_trait]
impl AdminService for AdminApi {
    #[tracing::instrument(skip_all)]
    async fn create_user(
        &self,
        request: Request<pb::CreateUserRequest>,
    ) -> std::result::Result<Response<pb::CreateUserResponse>, Status> {
        let context = RequestContext::of(&request);
        let tenant_id = context
            .authorize("iam.users.manage", &Target::TENANT)?
            .tenant_id;
        let message = request.into_inner();
        let mut violations = Violations::default();
        let key = violations.check("request_id", RequestKey::parse(&message.request_id));
        let draft = match UserDraft::parse(message.user.as_ref(), &message.initial_password) {
            Ok(draft) => Some(draft),
            Err(more) => {
                for violation in more.into_vec() {
                    violations.add(violation.field, violation.description);
                }
                None
            }
        };
        let (Some(key), Some(draft)) = (key, draft) else {
            return Err(Error::from(violations).into());
        };
        let password_hash = secrets::hash(draft.password.expose().to_owned()).await?;
        let iam = &self.iam;
        // The request carries a password: the idempotency fingerprint covers it, but the
        // stored response (the user) does not.
        let response = self
            .iam
            .idempotency
            .run(
                &self.iam.database,
                tenant_id,
                &context.request_id,
                "/openhmis.iam.v1.AdminService/CreateUser",
                &key,
                &message,
                async |tx| {
                    let user = iam.insert_person(tx, &draft, &password_hash).await?;
                    Ok::<_, Error>(pb::CreateUserResponse {
                        user: Some(user_to_pb(&user)),
                    })
                },
            )
            .await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all)]
    async fn list_users(
        &self,
        request: Request<pb::ListUsersRequest>,
    ) -> std::result::Result<Response<pb::ListUsersResponse>, Status> {
        let context = RequestContext::of(&request);
        let tenant_id = context
            .authorize("iam.users.read", &Target::TENANT)?
            .tenant_id;
        let message = request.get_ref();
        let mut violations = Violations::default();
        let size = violations.check("page_size", PageSize::parse(message.page_size));
        let after = violations
            .check("page_token", decode_token::<String>(&message.page_token))
            .flatten();
        let (Some(size), true) = (size, violations.is_empty()) else {
            return Err(Error::from(violations).into());
        };
        let mut tx = self
            .iam
            .database
            .begin(tenant_id, &context.request_id)
            .await
            .map_err(Error::from)?;
        let rows = store::list_users(&mut tx, after.as_deref(), size.fetch_limit()).await?;
        let (rows, next_page_token) = finish_page(rows, size, |row| row.username.clone());
        Ok(Response::new(pb::ListUsersResponse {
            users: rows.iter().map(user_to_pb).collect(),
            next_page_token,
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn set_user_status(
        &self,
        request: Request<pb::SetUserStatusRequest>,
    ) -> std::result::Result<Response<pb::SetUserStatusResponse>, Status> {
        let context = RequestContext::of(&request);
        let tenant_id = context
            .authorize("iam.users.manage", &Target::TENANT)?
            .tenant_id;
        let message = request.get_ref();
        let mut violations = Violations::default();
        let user_id = violations.check("user_id", parse_uuid(&message.user_id));
        let status = match pb::UserStatus::try_from(message.status) {
            Ok(pb::UserStatus::Active) => Some("active"),
            Ok(pb::UserStatus::Disabled) => Some("disabled"),
            _ => {
                violations.add("status", "must be ACTIVE or DISABLED");
                None
            }
        };
        let (Some(user_id), Some(status)) = (user_id, status) else {
            return Err(Error::from(violations).into());
        };
        let now = self.iam.clock.now();
        let mut tx = self
            .iam
            .database
            .begin(tenant_id, &context.request_id)
            .await
            .map_err(Error::from)?;
        let user = store::set_status(&mut tx, user_id, status, now).await?;
        if status == "disabled" {
            store::revoke_sessions_of(&mut tx, user_id, None, now).await?;
        }
        tx.commit().await.map_err(Error::from)?;
        Ok(Response::new(pb::SetUserStatusResponse {
            user: Some(user_to_pb(&user)),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn create_service_account(
        &self,
        request: Request<pb::CreateServiceAccountRequest>,
    ) -> std::result::Result<Response<pb::CreateServiceAccountResponse>, Status> {
        let context = RequestContext::of(&request);
        let tenant_id = context
            .authorize("iam.users.manage", &Target::TENANT)?
            .tenant_id;
        let message = request.into_inner();
        let mut violations = Violations::default();
        let key = violations.check("request_id", RequestKey::parse(&message.request_id));
        let name = violations.check("name", Username::parse(&message.name));
        let (Some(key), Some(name)) = (key, name) else {
            return Err(Error::from(violations).into());
        };
        let client_id = format!("sa-{}", Uuid::new_v4().simple());
        let client_secret = secrets::random_token(32)?;
        let secret_hash = secrets::hash(client_secret.clone()).await?;
        let iam = &self.iam;
        let mut tx = iam
            .database
            .begin(tenant_id, &context.request_id)
            .await
            .map_err(Error::from)?;
        let method = "/openhmis.iam.v1.AdminService/CreateServiceAccount";
        let claim = match iam
            .idempotency
            .begin::<_, pb::CreateServiceAccountResponse>(&mut tx, method, &key, &message)
            .await
            .map_err(Error::from)?
        {
            // The secret is never stored in clear, so a retry gets the account without it.
            Begin::Replay(stored) => return Ok(Response::new(stored)),
            Begin::Fresh(claim) => claim,
        };
        let user_id = Uuid::now_v7();
        store::insert_user(
            &mut tx,
            &store::NewUser {
                id: user_id,
                username: name.as_str(),
                display_name: name.as_str(),
                registration_number: "",
                valid_from: None,
                valid_until: None,
                password_hash: None,
                client_id: Some(&client_id),
                secret_hash: Some(&secret_hash),
                now: iam.clock.now(),
            },
        )
        .await?;
        let mut response = pb::CreateServiceAccountResponse {
            user_id: user_id.to_string(),
            client_id,
            client_secret: String::new(),
        };
        iam.idempotency
            .finish(&mut tx, claim, &response)
            .await
            .map_err(Error::from)?;
        tx.commit().await.map_err(Error::from)?;
        response.client_secret = client_secret;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all)]
    async fn list_permissions(
        &self,
        request: Request<pb::ListPermissionsRequest>,
    ) -> std::result::Result<Response<pb::ListPermissionsResponse>, Status> {
        RequestContext::of(&request).authorize("iam.users.read", &Target::TENANT)?;
        Ok(Response::new(pb::ListPermissionsResponse {
            permissions: PERMISSIONS
                .iter()
                .map(|info| pb::Permission {
                    name: info.name.to_owned(),
                    module: info.module().to_owned(),
                    description: info.description.to_owned(),
                    patient_data: info.patient_data,
                })
                .collect(),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn list_roles(
        &self,
        request: Request<pb::ListRolesRequest>,
    ) -> std::result::Result<Response<pb::ListRolesResponse>, Status> {
        let context = RequestContext::of(&request);
        let tenant_id = context
            .authorize("iam.users.read", &Target::TENANT)?
            .tenant_id;
        let mut tx = self
            .iam
            .database
            .begin(tenant_id, &context.request_id)
            .await
            .map_err(Error::from)?;
        let roles = store::list_roles(&mut tx).await?;
        Ok(Response::new(pb::ListRolesResponse {
            roles: roles
                .into_iter()
                .map(|role| pb::Role {
                    id: role.id.to_string(),
                    code: role.code,
                    name: role.name,
                    permissions: role.permissions,
                })
                .collect(),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn create_role(
        &self,
        request: Request<pb::CreateRoleRequest>,
    ) -> std::result::Result<Response<pb::CreateRoleResponse>, Status> {
        let context = RequestContext::of(&request);
        let principal = context
            .authorize("iam.users.manage", &Target::TENANT)?
            .clone();
        let message = request.into_inner();
        let mut violations = Violations::default();
        let key = violations.check("request_id", RequestKey::parse(&message.request_id));
        let role = message.role.clone().unwrap_or_default();
        if message.role.is_none() {
            violations.add("role", "is required");
        }
        let code = violations.check("role.code", Code::parse(&role.code));
        let name = violations.check("role.name", Name::parse(&role.name));
        let mut permissions = role.permissions.clone();
        permissions.sort();
        permissions.dedup();
        for permission in &permissions {
            if permission_info(permission).is_none() {
                violations.add(
                    "role.permissions",
                    format!("{permission} is not in the catalog"),
                );
            } else if !may_grant(&principal, permission) {
                violations.add(
                    "role.permissions",
                    format!("{permission} can only be granted by its holders"),
                );
            }
        }
        let (Some(key), Some(code), Some(name), true) = (key, code, name, violations.is_empty())
        else {
            return Err(Error::from(violations).into());
        };
        let row = store::RoleRow {
            id: Uuid::now_v7(),
            code: code.to_string(),
            name: name.to_string(),
            permissions,
        };
        let now = self.iam.clock.now();
        let response = self
            .iam
            .idempotency
            .run(
                &self.iam.database,
                principal.tenant_id,
                &context.request_id,
                "/openhmis.iam.v1.AdminService/CreateRole",
                &key,
                &message,
                async |tx| {
                    store::insert_role(tx, &row, now).await?;
                    Ok::<_, Error>(pb::CreateRoleResponse {
                        role: Some(pb::Role {
                            id: row.id.to_string(),
                            code: row.code,
                            name: row.name,
                            permissions: row.permissions,
                        }),
                    })
                },
            )
            .await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all)]
    async fn assign_role(
        &self,
        request: Request<pb::AssignRoleRequest>,
    ) -> std::result::Result<Response<pb::AssignRoleResponse>, Status> {
        let context = RequestContext::of(&request);
        let principal = context
            .authorize("iam.users.manage", &Target::TENANT)?
            .clone();
        let message = request.into_inner();
        let mut violations = Violations::default();
        let key = violations.check("request_id", RequestKey::parse(&message.request_id));
        let assignment = message.assignment.clone().unwrap_or_default();
        if message.assignment.is_none() {
            violations.add("assignment", "is required");
        }
        let user_id = violations.check("assignment.user_id", parse_uuid(&assignment.user_id));
        let role_code =
            violations.check("assignment.role_code", Code::parse(&assignment.role_code));
        let scope = violations.check("assignment.scope", assignment.scope.parse::<Scope>());
        let valid_from = violations.check(
            "assignment.valid_from",
            from_timestamp(assignment.valid_from.as_ref()),
        );
        let valid_until = violations.check(
            "assignment.valid_until",
            from_timestamp(assignment.valid_until.as_ref()),
        );
        let (
            Some(key),
            Some(user_id),
            Some(role_code),
            Some(scope),
            Some(valid_from),
            Some(valid_until),
        ) = (key, user_id, role_code, scope, valid_from, valid_until)
        else {
            return Err(Error::from(violations).into());
        };
        let now = self.iam.clock.now();
        let response = self
            .iam
            .idempotency
            .run(
                &self.iam.database,
                principal.tenant_id,
                &context.request_id,
                "/openhmis.iam.v1.AdminService/AssignRole",
                &key,
                &message,
                async |tx| {
                    let roles = store::list_roles(tx).await?;
                    let Some(role) = roles.iter().find(|role| role.code == role_code.as_str())
                    else {
                        let mut violations = Violations::default();
                        violations.add("assignment.role_code", "no such role");
                        return Err(Error::InvalidArgument(violations));
                    };
                    if let Some(permission) = role
                        .permissions
                        .iter()
                        .find(|permission| !may_grant(&principal, permission))
                    {
                        return Err(Error::Context(Status::permission_denied(format!(
                            "only holders of {permission} may assign this role"
                        ))));
                    }
                    store::get_user(tx, user_id)
                        .await
                        .map_err(|error| match error {
                            Error::NotFound { .. } => {
                                let mut violations = Violations::default();
                                violations.add("assignment.user_id", "no such user");
                                Error::InvalidArgument(violations)
                            }
                            other => other,
                        })?;
                    let id = Uuid::now_v7();
                    store::insert_assignment(
                        tx,
                        id,
                        user_id,
                        role.id,
                        scope,
                        valid_from,
                        valid_until,
                        now,
                    )
                    .await?;
                    Ok::<_, Error>(pb::AssignRoleResponse {
                        assignment: Some(pb::Assignment {
                            id: id.to_string(),
                            user_id: user_id.to_string(),
                            role_code: role.code.clone(),
                            scope: scope.to_string(),
                            valid_from: valid_from.and_then(timestamp),
                            valid_until: valid_until.and_then(timestamp),
                        }),
                    })
                },
            )
            .await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all)]
    async fn revoke_assignment(
        &self,
        request: Request<pb::RevokeAssignmentRequest>,
    ) -> std::result::Result<Response<pb::RevokeAssignmentResponse>, Status> {
        let context = RequestContext::of(&request);
        let tenant_id = context
            .authorize("iam.users.manage", &Target::TENANT)?
            .tenant_id;
        let mut violations = Violations::default();
        let Some(id) = violations.check(
            "assignment_id",
            parse_uuid(&request.get_ref().assignment_id),
        ) else {
            return Err(Error::from(violations).into());
        };
        let mut tx = self
            .iam
            .database
            .begin(tenant_id, &context.request_id)
            .await
            .map_err(Error::from)?;
        store::revoke_assignment(&mut tx, id, self.iam.clock.now()).await?;
        tx.commit().await.map_err(Error::from)?;
        Ok(Response::new(pb::RevokeAssignmentResponse {}))
    }

    #[tracing::instrument(skip_all)]
    async fn list_assignments(
        &self,
        request: Request<pb::ListAssignmentsRequest>,
    ) -> std::result::Result<Response<pb::ListAssignmentsResponse>, Status> {
        let context = RequestContext::of(&request);
        let tenant_id = context
            .authorize("iam.users.read", &Target::TENANT)?
            .tenant_id;
        let mut violations = Violations::default();
        let Some(user_id) = violations.check("user_id", parse_uuid(&request.get_ref().user_id))
        else {
            return Err(Error::from(violations).into());
        };
        let mut tx = self
            .iam
            .database
            .begin(tenant_id, &context.request_id)
            .await
            .map_err(Error::from)?;
        let rows = store::list_assignments(&mut tx, user_id).await?;
        Ok(Response::new(pb::ListAssignmentsResponse {
            assignments: rows.iter().map(assignment_to_pb).collect::<Result<_>>()?,
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn provision_tenant(
        &self,
        request: Request<pb::ProvisionTenantRequest>,
    ) -> std::result::Result<Response<pb::ProvisionTenantResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize("core.tenants.create", &Target::TENANT)?;
        let message = request.into_inner();
        let mut violations = Violations::default();
        let tenant_id = violations
            .check("tenant_id", parse_uuid(&message.tenant_id))
            .map(TenantId::new);
        let code = violations.check("tenant_code", Code::parse(&message.tenant_code));
        let draft = UserDraft::parse(
            Some(&pb::User {
                username: message.admin_username.clone(),
                display_name: "Administrator".to_owned(),
                ..Default::default()
            }),
            &message.admin_password,
        )
        .map_err(|more| {
            for violation in more.into_vec() {
                let field = match violation.field.as_str() {
                    "user.username" => "admin_username".to_owned(),
                    "initial_password" => "admin_password".to_owned(),
                    other => other.to_owned(),
                };
                violations.add(field, violation.description);
            }
        })
        .ok();
        let (Some(tenant_id), Some(code), Some(_), true) =
            (tenant_id, code, draft, violations.is_empty())
        else {
            return Err(Error::from(violations).into());
        };
        let module = crate::IamModule {
            iam: self.iam.clone(),
        };
        module.register_tenant(tenant_id, code.as_str()).await?;
        let admin_created = module
            .ensure_user(
                tenant_id,
                &crate::SeedUser {
                    username: &message.admin_username,
                    display_name: "Administrator",
                    password: &message.admin_password,
                    role_code: "administrator",
                    scope: Scope::Tenant,
                },
            )
            .await?;
        tracing::info!(tenant_id = %tenant_id, admin_created, "tenant provisioned");
        Ok(Response::new(pb::ProvisionTenantResponse { admin_created }))
    }
}
