//! Spawns the server in-process on port 0 over a fresh database, like a deployment would
//! run it, and hands out real gRPC clients.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;

use hmis_platform::TenantId;
use hmis_platform::clock::SystemClock;
use hmis_platform::config::Options;
use hmis_platform::testing::TestDatabase;
use hmis_proto::openhmis::core::v1 as pb;
use openhmis_server::Application;
use pb::dictionary_service_client::DictionaryServiceClient;
use pb::facility_service_client::FacilityServiceClient;
use pb::tenant_service_client::TenantServiceClient;
use tokio::sync::oneshot;
use tonic::transport::Channel;

pub struct TestApp {
    pub addr: SocketAddr,
    pub channel: Channel,
    pub db: TestDatabase,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(Options::default()).await
    }

    pub async fn spawn_with(mut options: Options) -> Self {
        let db = TestDatabase::new().await;
        options.server.listen_addr = SocketAddr::from(([127, 0, 0, 1], 0));
        let application = Application::new(options, db.database.clone(), Arc::new(SystemClock))
            .expect("valid options");
        let listener = application.bind().await.expect("bind port 0");
        let addr = listener.local_addr().expect("bound address");
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            application
                .serve(listener, async {
                    let _ = stopped.await;
                })
                .await
                .expect("server ran");
        });
        let channel = Channel::from_shared(format!("http://{addr}"))
            .expect("valid uri")
            .connect()
            .await
            .expect("connect to the server");
        Self {
            addr,
            channel,
            db,
            stop: Some(stop),
            server: Some(server),
        }
    }

    pub fn tenants(&self) -> TenantServiceClient<Channel> {
        TenantServiceClient::new(self.channel.clone())
    }

    pub fn facilities(&self) -> FacilityServiceClient<Channel> {
        FacilityServiceClient::new(self.channel.clone())
    }

    pub fn dictionaries(&self) -> DictionaryServiceClient<Channel> {
        DictionaryServiceClient::new(self.channel.clone())
    }

    /// Creates a tenant and returns its id.
    pub async fn create_tenant(&self, code: &str) -> TenantId {
        let tenant = self
            .tenants()
            .create_tenant(pb::CreateTenantRequest {
                request_id: format!("tenant-{code}-{}", uuid::Uuid::new_v4()),
                tenant: Some(pb::Tenant {
                    code: code.to_owned(),
                    name: format!("Hospital {code}"),
                    ..Default::default()
                }),
            })
            .await
            .expect("create tenant")
            .into_inner()
            .tenant
            .expect("tenant in response");
        tenant.id.parse().expect("tenant id is a UUID")
    }

    /// Creates a facility for `tenant` and returns it.
    pub async fn create_facility(&self, tenant: TenantId, code: &str) -> pb::Facility {
        self.facilities()
            .create_facility(as_tenant(
                tenant,
                pb::CreateFacilityRequest {
                    request_id: uuid::Uuid::new_v4().to_string(),
                    facility: Some(facility(code)),
                },
            ))
            .await
            .expect("create facility")
            .into_inner()
            .facility
            .expect("facility in response")
    }

    /// Stops the server the way SIGTERM does and waits for it.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.expect("server task");
        }
    }
}

/// A request acting for `tenant` (the x-tenant-id metadata).
pub fn as_tenant<T>(tenant: TenantId, message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert(
        "x-tenant-id",
        tenant.to_string().parse().expect("ascii metadata"),
    );
    request
}

pub fn facility(code: &str) -> pb::Facility {
    pb::Facility {
        code: code.to_owned(),
        name: format!("Facility {code}"),
        time_zone: "Europe/Chisinau".to_owned(),
        address: "1 Hospital Street".to_owned(),
        ..Default::default()
    }
}

/// The fields named by an INVALID_ARGUMENT status's BadRequest details.
pub fn violated_fields(status: &tonic::Status) -> Vec<String> {
    use tonic_types::StatusExt;
    status
        .get_details_bad_request()
        .map(|bad_request| {
            bad_request
                .field_violations
                .into_iter()
                .map(|violation| violation.field)
                .collect()
        })
        .unwrap_or_default()
}
