//! Spawns the server in-process on port 0 over a fresh database, like a deployment would
//! run it (bootstrap included), and signs in over real gRPC.

#![allow(dead_code)]

mod hospital;

pub use hospital::{OpenWard, WardSpec, eventually};

use std::net::SocketAddr;
use std::sync::Arc;

use hmis_admissions::AdmissionsModule;
use hmis_core::CoreModule;
use hmis_iam::{IamModule, SeedUser};
use hmis_platform::TenantId;
use hmis_platform::auth::Scope;
use hmis_platform::clock::SystemClock;
use hmis_platform::config::Secret;
use hmis_platform::testing::TestDatabase;
use hmis_proto::openhmis::core::v1 as pb;
use hmis_proto::openhmis::iam::v1 as iam_pb;
use hmis_statistics::StatisticsModule;
use iam_pb::admin_service_client::AdminServiceClient;
use iam_pb::auth_service_client::AuthServiceClient;
use openhmis_server::Application;
use openhmis_server::Options;
use pb::dictionary_service_client::DictionaryServiceClient;
use pb::facility_service_client::FacilityServiceClient;
use pb::tenant_service_client::TenantServiceClient;
use tokio::sync::oneshot;
use tonic::transport::Channel;

/// The bootstrap administrator's password in tests.
pub const ADMIN_PASSWORD: &str = "Ops-Secret-2026!";
/// The password test users get.
pub const USER_PASSWORD: &str = "Ward-Secret-2026!";

/// A signed-in caller.
#[derive(Debug, Clone)]
pub struct Session {
    pub tenant_id: TenantId,
    pub tenant_code: String,
    pub access_token: String,
    pub refresh_token: String,
}

/// The tests' signing-key secret (32 bytes, base64): no secret file is written.
pub const SIGNING_KEY_SECRET: &str = "b3BlbmhtaXMtdGVzdHMtc2lnbmluZy1rZXktc2VjcmU=";

pub struct TestApp {
    pub addr: SocketAddr,
    pub channel: Channel,
    pub db: TestDatabase,
    pub iam: IamModule,
    pub core: CoreModule,
    /// The admissions module of the running server, for its background job.
    pub admissions: AdmissionsModule,
    /// The statistics module of the running server, for its submitter and rebuilds.
    pub statistics: StatisticsModule,
    /// The laboratory module of the running server (its MLLP listener is bound by tests).
    pub laboratory: hmis_laboratory::LaboratoryModule,
    /// The nutrition module of the running server (tests send meal orders at the cut-off).
    pub nutrition: hmis_nutrition::NutritionModule,
    /// The bootstrap tenant's administrator, who also operates the deployment.
    pub operator: Session,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(Options::default()).await
    }

    pub async fn spawn_with(options: Options) -> Self {
        Self::spawn_with_clock(options, Arc::new(SystemClock)).await
    }

    /// The server on `clock` (a [`hmis_platform::clock::ManualClock`] a test moves): set it
    /// ahead of the real time, since access tokens' expiry is checked against the real clock.
    pub async fn spawn_with_clock(
        mut options: Options,
        clock: hmis_platform::clock::SharedClock,
    ) -> Self {
        let db = TestDatabase::new().await;
        options.server.listen_addr = SocketAddr::from(([127, 0, 0, 1], 0));
        options.iam.bootstrap_tenant_code = "OPS".to_owned();
        options.iam.bootstrap_admin_password = Some(Secret::new(ADMIN_PASSWORD));
        options.iam.signing_key_secret = Some(Secret::new(SIGNING_KEY_SECRET));
        options.documents.signing_secret = Some(Secret::new(SIGNING_KEY_SECRET));
        let application = Application::new(options, db.database.clone(), clock)
            .await
            .expect("valid options");
        application.bootstrap().await.expect("bootstrap");
        let iam = application.iam().clone();
        let core = application.core();
        let admissions = application.admissions();
        let statistics = application.statistics();
        let laboratory = application.laboratory();
        let nutrition = application.nutrition();
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
        let operator = login(&channel, "OPS", "admin", ADMIN_PASSWORD)
            .await
            .expect("bootstrap administrator signs in");
        Self {
            addr,
            channel,
            db,
            iam,
            core,
            admissions,
            statistics,
            laboratory,
            nutrition,
            operator,
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

    pub fn auth(&self) -> AuthServiceClient<Channel> {
        AuthServiceClient::new(self.channel.clone())
    }

    pub fn admin(&self) -> AdminServiceClient<Channel> {
        AdminServiceClient::new(self.channel.clone())
    }

    /// Creates a tenant the way an operator does and signs in as its administrator.
    pub async fn create_tenant(&self, code: &str) -> Session {
        let tenant = self
            .tenants()
            .create_tenant(signed_in(
                &self.operator,
                pb::CreateTenantRequest {
                    request_id: format!("tenant-{code}-{}", uuid::Uuid::new_v4()),
                    tenant: Some(pb::Tenant {
                        code: code.to_owned(),
                        name: format!("Hospital {code}"),
                        ..Default::default()
                    }),
                },
            ))
            .await
            .expect("create tenant")
            .into_inner()
            .tenant
            .expect("tenant in response");
        let tenant_id: TenantId = tenant.id.parse().expect("tenant id is a UUID");
        self.iam
            .register_tenant(tenant_id, code)
            .await
            .expect("register tenant");
        self.add_user(tenant_id, "admin", "administrator", Scope::Tenant)
            .await;
        self.login(code, "admin", USER_PASSWORD)
            .await
            .expect("tenant administrator signs in")
    }

    /// Creates a person with one role in `tenant_id` (password [`USER_PASSWORD`]).
    pub async fn add_user(
        &self,
        tenant_id: TenantId,
        username: &str,
        role_code: &str,
        scope: Scope,
    ) {
        self.iam
            .ensure_user(
                tenant_id,
                &SeedUser {
                    username,
                    display_name: username,
                    password: USER_PASSWORD,
                    role_code,
                    scope,
                },
            )
            .await
            .expect("seed user");
    }

    pub async fn login(
        &self,
        tenant_code: &str,
        username: &str,
        password: &str,
    ) -> Result<Session, tonic::Status> {
        login(&self.channel, tenant_code, username, password).await
    }

    /// Creates a facility as `session` and returns it.
    pub async fn create_facility(&self, session: &Session, code: &str) -> pb::Facility {
        self.facilities()
            .create_facility(signed_in(
                session,
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

pub async fn login(
    channel: &Channel,
    tenant_code: &str,
    username: &str,
    password: &str,
) -> Result<Session, tonic::Status> {
    let tokens = AuthServiceClient::new(channel.clone())
        .login(iam_pb::LoginRequest {
            tenant_code: tenant_code.to_owned(),
            credentials: Some(iam_pb::login_request::Credentials::Password(
                iam_pb::PasswordCredentials {
                    username: username.to_owned(),
                    password: password.to_owned(),
                },
            )),
        })
        .await?
        .into_inner()
        .tokens
        .expect("tokens in response");
    let me = AuthServiceClient::new(channel.clone())
        .get_me(bearer(&tokens.access_token, iam_pb::GetMeRequest {}))
        .await?
        .into_inner();
    Ok(Session {
        tenant_id: me.tenant_id.parse().expect("tenant id"),
        tenant_code: tenant_code.to_owned(),
        access_token: tokens.access_token,
        refresh_token: tokens.refresh_token,
    })
}

/// A request carrying `access_token`.
pub fn bearer<T>(access_token: &str, message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {access_token}")
            .parse()
            .expect("ascii metadata"),
    );
    request
}

/// A request made by `session`.
pub fn signed_in<T>(session: &Session, message: T) -> tonic::Request<T> {
    bearer(&session.access_token, message)
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
