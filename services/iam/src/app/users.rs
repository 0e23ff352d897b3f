//! The people and the service accounts of a tenant.

use chrono::{DateTime, Utc};
use hmis_platform::idempotency::{Begin, RequestKey};
use hmis_platform::paging::{PageSize, finish_page};
use hmis_platform::types::{Name, Text};
use hmis_platform::wire::{parse_timestamp as from_timestamp, timestamp};
use hmis_platform::{RequestContext, TenantTx, Violations};
use hmis_proto::openhmis::iam::v1 as pb;
use uuid::Uuid;

use super::{ADMIN_SERVICE, Iam, change_on_record};
use crate::domain::{NewPassword, Username};
use crate::error::{Error, Result};
use crate::secrets;
use crate::store;

/// A person to create, with the request's idempotency key.
pub(crate) struct NewUser {
    pub(crate) key: RequestKey,
    pub(crate) draft: UserDraft,
}

/// A machine client to create: it signs in with a client id and a secret shown once.
pub(crate) struct NewServiceAccount {
    pub(crate) key: RequestKey,
    pub(crate) name: Username,
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

impl Iam {
    pub(crate) async fn create_user(
        &self,
        context: &RequestContext,
        message: &pb::CreateUserRequest,
        user: NewUser,
    ) -> Result<pb::CreateUserResponse> {
        let password_hash = secrets::hash(user.draft.password.expose().to_owned()).await?;
        // The request carries a password: the idempotency fingerprint covers it, but the
        // stored response (the user) does not.
        let method = format!("{ADMIN_SERVICE}CreateUser");
        (self.idempotency)
            .run(
                &self.database,
                context.tenant_id()?,
                &context.request_id,
                &method,
                &user.key,
                message,
                async |tx| {
                    let created = self.insert_person(tx, &user.draft, &password_hash).await?;
                    let resource = format!("user:{}", created.id);
                    change_on_record(tx, context, resource, self.clock.now()).await?;
                    Ok::<_, Error>(pb::CreateUserResponse {
                        user: Some(user_to_pb(&created)),
                    })
                },
            )
            .await
    }

    /// A page of the tenant's users by username, after `after`.
    pub(crate) async fn list_users(
        &self,
        context: &RequestContext,
        size: PageSize,
        after: Option<String>,
    ) -> Result<pb::ListUsersResponse> {
        let mut tx = self.begin(context).await?;
        let rows = store::list_users(&mut tx, after.as_deref(), size.fetch_limit()).await?;
        let (rows, next_page_token) = finish_page(rows, size, |row| row.username.clone());
        Ok(pb::ListUsersResponse {
            users: rows.iter().map(user_to_pb).collect(),
            next_page_token,
        })
    }

    /// Enables or disables a user; a disabled user's sessions end at once.
    pub(crate) async fn set_user_status(
        &self,
        context: &RequestContext,
        user_id: Uuid,
        active: bool,
    ) -> Result<pb::SetUserStatusResponse> {
        let now = self.clock.now();
        let status = if active { "active" } else { "disabled" };
        let mut tx = self.begin(context).await?;
        let user = store::set_status(&mut tx, user_id, status, now).await?;
        change_on_record(&mut tx, context, format!("user:{user_id}"), now).await?;
        if !active {
            store::revoke_sessions_of(&mut tx, user_id, None, now).await?;
        }
        tx.commit().await?;
        self.revocations_changed().await;
        Ok(pb::SetUserStatusResponse {
            user: Some(user_to_pb(&user)),
        })
    }

    pub(crate) async fn create_service_account(
        &self,
        context: &RequestContext,
        message: &pb::CreateServiceAccountRequest,
        account: NewServiceAccount,
    ) -> Result<pb::CreateServiceAccountResponse> {
        let client_id = format!("sa-{}", Uuid::new_v4().simple());
        let client_secret = secrets::random_token(32)?;
        let secret_hash = secrets::hash(client_secret.clone()).await?;
        let mut tx = self.begin(context).await?;
        let method = format!("{ADMIN_SERVICE}CreateServiceAccount");
        let claim = match (self.idempotency)
            .begin::<_, pb::CreateServiceAccountResponse>(&mut tx, &method, &account.key, message)
            .await?
        {
            // The secret is never stored in clear, so a retry gets the account without it.
            Begin::Replay(stored) => return Ok(stored),
            Begin::Fresh(claim) => claim,
        };
        let user_id = Uuid::now_v7();
        let name = account.name.as_str();
        let new = store::NewUser {
            id: user_id,
            username: name,
            display_name: name,
            registration_number: "",
            valid_from: None,
            valid_until: None,
            password_hash: None,
            client_id: Some(&client_id),
            secret_hash: Some(&secret_hash),
            now: self.clock.now(),
        };
        store::insert_user(&mut tx, &new).await?;
        change_on_record(
            &mut tx,
            context,
            format!("user:{user_id}"),
            self.clock.now(),
        )
        .await?;
        let mut response = pb::CreateServiceAccountResponse {
            user_id: user_id.to_string(),
            client_id,
            client_secret: String::new(),
        };
        self.idempotency.finish(&mut tx, claim, &response).await?;
        tx.commit().await?;
        response.client_secret = client_secret;
        Ok(response)
    }
}
