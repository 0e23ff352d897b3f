//! Sign-in and sessions: password or client credentials, rotating refresh tokens (a spent
//! one coming back ends the whole session), sign-out, a changed password.

use chrono::{DateTime, Utc};
use hmis_platform::audit::{self, AuditEntry};
use hmis_platform::auth::Principal;
use hmis_platform::wire::timestamp;
use hmis_platform::{RequestContext, TenantId, TenantTx, Violations};
use hmis_proto::openhmis::iam::v1 as pb;
use uuid::Uuid;

use super::Iam;
use crate::domain::{NewPassword, Username, lockout_after};
use crate::error::{Error, Result};
use crate::secrets;
use crate::store::{self, Credentials};

/// A refresh token names its tenant in clear (`<tenant>.<secret>`) so it can be looked up
/// under that tenant's row-level security; only its SHA-256 is stored.
fn parse_refresh_token(token: &str) -> Option<TenantId> {
    let (tenant, secret) = token.split_once('.')?;
    if secret.len() < 32 {
        return None;
    }
    tenant.parse().ok()
}

/// A sign-in, accepted or refused, on the audit trail of the tenant it named, with the
/// account it was for (or what was claimed, when no account has it).
async fn sign_in_on_record(
    tx: &mut TenantTx,
    context: &RequestContext,
    account: &str,
    accepted: bool,
    now: DateTime<Utc>,
) -> Result<()> {
    let resources = [account.to_owned()];
    let entry = AuditEntry {
        resource_ids: &resources,
        outcome: if accepted {
            tonic::Code::Ok
        } else {
            tonic::Code::Unauthenticated
        },
        ..AuditEntry::ok(&[])
    };
    audit::record(tx, context, &entry, now).await?;
    Ok(())
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
        self.database.ensure_available()?;
        store::tenant_by_code(self.database.app_pool(), code.trim())
            .await?
            .ok_or(Error::SignInFailed)
    }

    pub(crate) async fn login(
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
        let now = self.clock.now();
        let Some(credentials) = credentials else {
            secrets::verify(secret, None).await?;
            let claimed = match &lookup {
                Ok(username) => format!(
                    "username:{}",
                    hmis_platform::error::bounded(username.as_str(), 64)
                ),
                Err(client_id) => format!(
                    "client:{}",
                    hmis_platform::error::bounded(client_id.as_str(), 64)
                ),
            };
            sign_in_on_record(&mut tx, context, &claimed, false, now).await?;
            tx.commit().await?;
            return Err(Error::SignInFailed);
        };
        let account = format!("user:{}", credentials.id);
        let stored = credentials
            .password_hash
            .clone()
            .or_else(|| credentials.secret_hash.clone());
        if credentials.locked_until.is_some_and(|until| until > now) {
            // The same work as a wrong password, so the answer's time tells nothing.
            secrets::verify(secret, stored).await?;
            sign_in_on_record(&mut tx, context, &account, false, now).await?;
            tx.commit().await?;
            tracing::info!(user_id = %credentials.id, "sign-in refused: account locked");
            return Err(Error::SignInFailed);
        }
        if !secrets::verify(secret, stored).await? {
            let failed = credentials.failed_logins.saturating_add(1);
            let locked_until = lockout_after(failed, now);
            store::record_sign_in(&mut tx, credentials.id, failed, locked_until).await?;
            sign_in_on_record(&mut tx, context, &account, false, now).await?;
            tx.commit().await?;
            tracing::info!(user_id = %credentials.id, failed, locked = locked_until.is_some(), "sign-in failed");
            return Err(Error::SignInFailed);
        }
        if !Self::usable(&credentials, now) {
            sign_in_on_record(&mut tx, context, &account, false, now).await?;
            tx.commit().await?;
            tracing::info!(user_id = %credentials.id, "sign-in refused: account disabled or out of its validity");
            return Err(Error::SignInFailed);
        }
        store::record_sign_in(&mut tx, credentials.id, 0, None).await?;
        sign_in_on_record(&mut tx, context, &account, true, now).await?;
        let tokens = self
            .issue_tokens(&mut tx, &credentials, Uuid::now_v7(), now)
            .await?;
        tx.commit().await?;
        tracing::info!(user_id = %credentials.id, "signed in");
        Ok(tokens)
    }

    pub(crate) async fn refresh(
        &self,
        context: &RequestContext,
        refresh_token: &str,
    ) -> Result<pb::Tokens> {
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
            self.revocations_changed().await;
            tracing::warn!(user_id = %row.user_id, family_id = %row.family_id, "refresh token reused; session revoked");
            return Err(Error::SessionEnded);
        }
        let credentials = store::credentials_by_id(&mut tx, row.user_id)
            .await?
            .filter(|credentials| Self::usable(credentials, now));
        let Some(credentials) = credentials else {
            store::revoke_family(&mut tx, row.family_id, now).await?;
            tx.commit().await?;
            self.revocations_changed().await;
            return Err(Error::SessionEnded);
        };
        store::mark_refresh_token_used(&mut tx, row.id, now).await?;
        let tokens = self
            .issue_tokens(&mut tx, &credentials, row.family_id, now)
            .await?;
        tx.commit().await?;
        Ok(tokens)
    }

    pub(crate) async fn logout(&self, context: &RequestContext, refresh_token: &str) -> Result<()> {
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
        self.revocations_changed().await;
        Ok(())
    }

    pub(crate) async fn change_password(
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
        self.revocations_changed().await;
        tracing::info!(user_id = %credentials.id, other_sessions_ended = ended, "password changed");
        Ok(())
    }

    /// Who the caller is, with the grants of the token it holds.
    pub(crate) async fn me(&self, context: &RequestContext) -> Result<pb::GetMeResponse> {
        let principal = context.principal()?;
        let display_name = if principal.user_id.is_nil() {
            "system".to_owned()
        } else {
            let mut tx = self
                .database
                .begin(principal.tenant_id, &context.request_id)
                .await?;
            store::get_user(&mut tx, principal.user_id)
                .await?
                .display_name
        };
        Ok(pb::GetMeResponse {
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
        })
    }
}
