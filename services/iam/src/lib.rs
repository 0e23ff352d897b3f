//! The IAM module (`iam` schema): people and service accounts, sign-in with lockout, access
//! tokens (EdDSA JWTs from a rotating key ring) and refresh-token sessions with reuse
//! detection, roles built from the permission catalog, and role assignments scoped to the
//! tenant, a facility or a department, optionally for a period.
//!
//! [`IamModule::verifier`] is what the platform's request layer authenticates calls with.

mod app;
mod domain;
mod error;
mod grpc;
mod keys;
mod options;
mod sealing;
mod secrets;
mod store;

use std::sync::Arc;

use chrono::Duration;
use hmis_platform::auth::{Scope, TokenVerifier};
use hmis_platform::clock::SharedClock;
use hmis_platform::context::RequestId;
use hmis_platform::idempotency::IdempotencyKeys;
use hmis_platform::{Database, TenantId};
use hmis_proto::openhmis::iam::v1::admin_service_server::AdminServiceServer;
use hmis_proto::openhmis::iam::v1::auth_service_server::AuthServiceServer;
use uuid::Uuid;

pub use domain::{STANDARD_ROLES, StandardRole};
pub use error::Error;
pub use grpc::{AdminApi, AuthApi};
pub use keys::KeyRing;
pub use options::IamOptions;

/// The schema IAM owns.
pub const SCHEMA: &str = "iam";

/// IAM's services, sharing one state.
#[derive(Debug, Clone)]
pub struct IamModule {
    pub(crate) iam: Arc<app::Iam>,
}

/// A person to make sure exists (bootstrap, demo).
#[derive(Debug, Clone)]
pub struct SeedUser<'a> {
    pub username: &'a str,
    pub display_name: &'a str,
    pub password: &'a str,
    pub role_code: &'a str,
    pub scope: Scope,
}

impl IamModule {
    /// Loads (or creates) the signing keys.
    pub async fn new(
        database: Database,
        clock: SharedClock,
        options: &IamOptions,
        default_tenant: Option<TenantId>,
    ) -> Result<Self, Error> {
        let access_ttl = Duration::from_std(options.access_token_ttl)
            .map_err(|error| Error::Crypto(error.to_string()))?;
        let refresh_ttl = Duration::from_std(options.refresh_token_ttl)
            .map_err(|error| Error::Crypto(error.to_string()))?;
        let sealer = sealing::Sealer::from_options(options)?;
        let keys =
            KeyRing::load_or_create(database.app_pool(), sealer, access_ttl, clock.now()).await?;
        keys.reload_revocations(database.worker_pool(), clock.now())
            .await?;
        Ok(Self {
            iam: Arc::new(app::Iam {
                database,
                clock,
                keys,
                idempotency: IdempotencyKeys::new(SCHEMA),
                refresh_token_ttl: refresh_ttl,
                default_tenant,
                catalogue: std::sync::OnceLock::new(),
                tenants: std::sync::OnceLock::new(),
            }),
        })
    }

    /// How IAM reaches core's register of tenants (provisioning checks a tenant exists, with
    /// the code it is given); the composition root installs it once core is built.
    pub fn install_core(&self, core: hmis_platform::channel::ServiceChannel) {
        if self
            .iam
            .tenants
            .set(hmis_core_api::CoreTenants::new(core))
            .is_err()
        {
            tracing::warn!("the register of tenants was installed twice; the first stays");
        }
    }

    /// The whole catalogue of permissions, every mounted module's part, which roles are made
    /// of; the composition root installs it once every module is built. Until then IAM knows
    /// its own permissions only.
    pub fn install_catalogue(&self, catalogue: Vec<hmis_platform::auth::PermissionInfo>) {
        if self.iam.catalogue.set(catalogue).is_err() {
            tracing::warn!("the permission catalogue was installed twice; the first stays");
        }
    }

    /// What the request layer authenticates calls with.
    pub fn verifier(&self) -> Arc<dyn TokenVerifier> {
        self.iam.keys.clone()
    }

    pub fn key_ring(&self) -> &Arc<KeyRing> {
        &self.iam.keys
    }

    /// Picks up, until dropped, who may no longer act (every second: sessions revoked, users
    /// disabled) and signing keys another process rotated in (every minute). Every process
    /// runs it, whether it mounts iam or not: it checks tokens all the same.
    pub async fn run_key_reloader(self) {
        let mut every_second = tokio::time::interval(std::time::Duration::from_secs(1));
        let mut seconds: u64 = 0;
        loop {
            every_second.tick().await;
            self.iam.revocations_changed().await;
            seconds += 1;
            if !seconds.is_multiple_of(60) {
                continue;
            }
            if let Err(error) = self
                .iam
                .keys
                .reload(self.iam.database.app_pool(), self.iam.clock.now())
                .await
            {
                tracing::warn!(error = %error, "reloading signing keys failed");
            }
        }
    }

    pub fn auth_api(&self) -> AuthApi {
        AuthApi {
            iam: self.iam.clone(),
        }
    }

    pub fn admin_api(&self) -> AdminApi {
        AdminApi {
            iam: self.iam.clone(),
        }
    }

    pub fn auth_service(&self) -> AuthServiceServer<AuthApi> {
        AuthServiceServer::new(self.auth_api())
    }

    pub fn admin_service(&self) -> AdminServiceServer<AdminApi> {
        AdminServiceServer::new(self.admin_api())
    }

    pub fn idempotency_keys(&self) -> &IdempotencyKeys {
        &self.iam.idempotency
    }

    /// Makes a tenant usable: registers its code for sign-in and gives it the standard roles;
    /// a standard role an older release created gains the permissions it lacks (new modules
    /// bring new permissions). Safe to repeat.
    pub async fn register_tenant(&self, tenant_id: TenantId, code: &str) -> Result<(), Error> {
        let mut tx = self
            .iam
            .database
            .begin(tenant_id, &RequestId::generate())
            .await?;
        store::register_tenant(&mut tx, code).await?;
        let existing = store::list_roles(&mut tx).await?;
        let now = self.iam.clock.now();
        for role in STANDARD_ROLES {
            if let Some(row) = existing.iter().find(|row| row.code == role.code) {
                let missing: Vec<String> = role
                    .permissions
                    .iter()
                    .filter(|permission| !row.permissions.iter().any(|held| held == *permission))
                    .map(|permission| (*permission).to_owned())
                    .collect();
                if !missing.is_empty() {
                    store::add_role_permissions(&mut tx, row.id, &missing).await?;
                }
                continue;
            }
            let row = store::RoleRow {
                id: Uuid::now_v7(),
                code: role.code.to_owned(),
                name: role.name.to_owned(),
                permissions: role.permissions.iter().map(|p| (*p).to_owned()).collect(),
            };
            store::insert_role(&mut tx, &row, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Creates `user` unless a person of that name exists, and gives it its role. Returns
    /// whether it was created. Safe to repeat.
    pub async fn ensure_user(
        &self,
        tenant_id: TenantId,
        user: &SeedUser<'_>,
    ) -> Result<bool, Error> {
        let draft = app::UserDraft::parse(
            Some(&hmis_proto::openhmis::iam::v1::User {
                username: user.username.to_owned(),
                display_name: user.display_name.to_owned(),
                ..Default::default()
            }),
            user.password,
        )?;
        let mut tx = self
            .iam
            .database
            .begin(tenant_id, &RequestId::generate())
            .await?;
        if store::credentials_by_username(&mut tx, draft.username.as_str())
            .await?
            .is_some()
        {
            return Ok(false);
        }
        let hash = secrets::hash(user.password.to_owned()).await?;
        let created = self.iam.insert_person(&mut tx, &draft, &hash).await?;
        let role_id = store::role_id_by_code(&mut tx, user.role_code)
            .await?
            .ok_or_else(|| Error::NotFound {
                what: "role",
                id: user.role_code.to_owned(),
            })?;
        let now = self.iam.clock.now();
        store::insert_assignment(
            &mut tx,
            Uuid::now_v7(),
            created.id,
            role_id,
            user.scope,
            None,
            None,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Gives an existing person one more role (bootstrap: the first administrator also
    /// operates the deployment).
    pub async fn grant_role(
        &self,
        tenant_id: TenantId,
        username: &str,
        role_code: &str,
        scope: Scope,
    ) -> Result<(), Error> {
        let mut tx = self
            .iam
            .database
            .begin(tenant_id, &RequestId::generate())
            .await?;
        let user = store::credentials_by_username(&mut tx, username)
            .await?
            .ok_or_else(|| Error::NotFound {
                what: "user",
                id: username.to_owned(),
            })?;
        let role_id = store::role_id_by_code(&mut tx, role_code)
            .await?
            .ok_or_else(|| Error::NotFound {
                what: "role",
                id: role_code.to_owned(),
            })?;
        let already = store::list_assignments(&mut tx, user.id)
            .await?
            .into_iter()
            .any(|row| {
                row.role_code == role_code && row.scope().map(|held| held == scope).unwrap_or(false)
            });
        if !already {
            let now = self.iam.clock.now();
            store::insert_assignment(
                &mut tx,
                Uuid::now_v7(),
                user.id,
                role_id,
                scope,
                None,
                None,
                now,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A password that satisfies the policy, for a first administrator nobody chose one for.
    /// The tenant registered under `code` (sign-in codes), if any.
    pub async fn tenant_by_code(&self, code: &str) -> Result<Option<TenantId>, Error> {
        store::tenant_by_code(self.iam.database.app_pool(), code).await
    }

    pub fn generate_password() -> Result<String, Error> {
        Ok(format!("Hm-{}", secrets::random_token(18)?))
    }
}

/// The permissions this module's calls ask for (its part of the catalogue roles are made of).
pub const PERMISSIONS: &[hmis_platform::auth::PermissionInfo] = &[
    hmis_platform::auth::permission("iam.users.read", "list users, roles and assignments", false),
    hmis_platform::auth::permission(
        "iam.users.manage",
        "create users and service accounts, assign roles",
        false,
    ),
];

impl hmis_platform::module::Module for IamModule {
    fn name(&self) -> &'static str {
        "iam"
    }

    fn mount(&self, mount: &mut hmis_platform::module::Mount<'_>) {
        mount
            .service(self.auth_service())
            .service(self.admin_service());
    }

    fn idempotency_keys(&self) -> Option<IdempotencyKeys> {
        Some(self.iam.idempotency.clone())
    }

    fn permissions(&self) -> &'static [hmis_platform::auth::PermissionInfo] {
        PERMISSIONS
    }
}
