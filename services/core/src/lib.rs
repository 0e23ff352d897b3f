//! The core module (`core` schema): the tenant, its facilities, their departments (wards),
//! rooms and beds, and the tenant's configurable dictionaries (countries, insurers, admission
//! sources, specialties, ...). Every other module refers to these by id or code.
//!
//! [`CoreModule`] builds the three tonic services; [`events`] names what core publishes.

mod app;
mod convert;
mod domain;
mod error;
pub mod events;
mod grpc;
mod occupancy;
mod store;

use std::sync::Arc;

use hmis_platform::call::Calls;

use hmis_platform::Database;
use hmis_platform::clock::SharedClock;
use hmis_platform::idempotency::IdempotencyKeys;
use hmis_platform::outbox::Outbox;
use hmis_proto::openhmis::core::v1::dictionary_service_server::DictionaryServiceServer;
use hmis_proto::openhmis::core::v1::facility_service_server::FacilityServiceServer;
use hmis_proto::openhmis::core::v1::tenant_service_server::TenantServiceServer;

pub use app::tenant_id_for_request;
pub use error::Error;
pub use grpc::{DictionaryApi, FacilityApi, TenantApi};

/// The schema core owns; its outbox is published under this name.
pub const SCHEMA: &str = "core";

/// Core's services, sharing one state.
#[derive(Debug, Clone)]
pub struct CoreModule {
    core: Arc<app::Core>,
}

impl CoreModule {
    pub fn new(database: Database, clock: SharedClock) -> Self {
        Self {
            core: Arc::new(app::Core {
                calls: Calls::new(database, clock, SCHEMA),
                outbox: Outbox::new(SCHEMA),
            }),
        }
    }

    pub fn tenant_api(&self) -> TenantApi {
        TenantApi {
            core: self.core.clone(),
        }
    }

    pub fn facility_api(&self) -> FacilityApi {
        FacilityApi {
            core: self.core.clone(),
        }
    }

    pub fn dictionary_api(&self) -> DictionaryApi {
        DictionaryApi {
            core: self.core.clone(),
        }
    }

    pub fn tenant_service(&self) -> TenantServiceServer<TenantApi> {
        TenantServiceServer::new(self.tenant_api())
    }

    pub fn facility_service(&self) -> FacilityServiceServer<FacilityApi> {
        FacilityServiceServer::new(self.facility_api())
    }

    pub fn dictionary_service(&self) -> DictionaryServiceServer<DictionaryApi> {
        DictionaryServiceServer::new(self.dictionary_api())
    }

    /// Creates the tenant that `request_id` names unless it exists, and returns its id and
    /// the code it was created with (which may differ from `code` on a later start).
    /// Used at start-up: it works on every start, also after the request's idempotency key
    /// has been purged (the tenant id is derived from the request id).
    pub async fn ensure_tenant(
        &self,
        request_id: &str,
        code: &str,
        name: &str,
    ) -> Result<(hmis_platform::TenantId, String), tonic::Status> {
        use hmis_platform::channel::forwarded;
        use hmis_proto::openhmis::core::v1::tenant_service_server::TenantService;
        use hmis_proto::openhmis::core::v1::{
            CreateTenantRequest, GetCurrentTenantRequest, Tenant,
        };
        let tenant_id = tenant_id_for_request(request_id);
        let context = hmis_platform::RequestContext::system(tenant_id);
        // Created on an earlier start (perhaps with other options: the demo's): it stays as
        // it was made.
        match self
            .tenant_api()
            .get_current_tenant(forwarded(&context, GetCurrentTenantRequest {}))
            .await
        {
            Ok(found) => {
                let tenant = found.into_inner().tenant;
                let tenant = tenant.ok_or_else(|| {
                    tonic::Status::internal("the tenant response carries no tenant")
                })?;
                return Ok((tenant_id, tenant.code));
            }
            Err(status) if status.code() == tonic::Code::NotFound => {}
            Err(status) => return Err(status),
        }
        let create = CreateTenantRequest {
            request_id: request_id.to_owned(),
            tenant: Some(Tenant {
                code: code.to_owned(),
                name: name.to_owned(),
                ..Default::default()
            }),
        };
        let created = match self
            .tenant_api()
            .create_tenant(forwarded(&context, create))
            .await
        {
            Ok(response) => response.into_inner().tenant,
            Err(status) if status.code() == tonic::Code::AlreadyExists => {
                // Another process started at the same moment and created it.
                (self
                    .tenant_api()
                    .get_current_tenant(forwarded(&context, GetCurrentTenantRequest {})))
                .await?
                .into_inner()
                .tenant
            }
            Err(status) => return Err(status),
        };
        let code = created
            .map(|tenant| tenant.code)
            .ok_or_else(|| tonic::Status::internal("the tenant response carries no tenant"))?;
        Ok((tenant_id, code))
    }

    /// The subscription that keeps bed states following the admissions module's events.
    pub fn bed_occupancy_subscription(&self) -> hmis_platform::outbox::Subscription {
        occupancy::subscription(self.core.clone())
    }

    /// Keys older than `retention` are forgotten; run periodically by the server.
    pub fn idempotency_keys(&self) -> &IdempotencyKeys {
        self.core.calls.keys()
    }
}

/// The permissions this module's calls ask for (its part of the catalogue roles are made of).
pub const PERMISSIONS: &[hmis_platform::auth::PermissionInfo] = &[
    hmis_platform::auth::permission(
        "core.read",
        "read facilities, wards, rooms, beds and dictionaries",
        false,
    ),
    hmis_platform::auth::permission(
        "core.manage",
        "create and change facilities, wards, rooms, beds, dictionaries",
        false,
    ),
    hmis_platform::auth::permission(
        "core.beds.manage",
        "change bed states (cleaning, out of service)",
        false,
    ),
    hmis_platform::auth::permission(
        "core.tenants.create",
        "create tenants (operators of a shared deployment)",
        false,
    ),
];

impl hmis_platform::module::Module for CoreModule {
    fn name(&self) -> &'static str {
        "core"
    }

    fn mount(&self, mount: &mut hmis_platform::module::Mount<'_>) {
        mount
            .service(self.tenant_service())
            .service(self.facility_service())
            .service(self.dictionary_service());
    }

    fn subscriptions(&self) -> Vec<hmis_platform::outbox::Subscription> {
        vec![self.bed_occupancy_subscription()]
    }

    fn idempotency_keys(&self) -> Option<IdempotencyKeys> {
        Some(self.core.calls.keys().clone())
    }

    fn permissions(&self) -> &'static [hmis_platform::auth::PermissionInfo] {
        PERMISSIONS
    }
}
