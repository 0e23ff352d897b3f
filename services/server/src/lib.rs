//! The one deployable OpenHMIS process.
//!
//! [`Application::prepare`] finds or starts the database (embedded PostgreSQL when no URL is
//! configured), migrates it and connects; [`Application::serve`] mounts the selected modules'
//! tonic services beside gRPC health and reflection, accepts gRPC and grpc-web on one port,
//! runs the background workers, and on shutdown stops accepting, reports NOT_SERVING, and lets
//! calls in flight finish (up to the configured grace period).

pub mod console;
pub mod demo;
pub mod modules;
mod options;
pub mod report;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hmis_admissions::AdmissionsModule;
use hmis_audit::AuditModule;
use hmis_core::CoreModule;
use hmis_encounters::EncountersModule;
use hmis_iam::{IamModule, SeedUser};
use hmis_inventory::InventoryModule;
use hmis_patients::PatientsModule;
use hmis_platform::auth::Scope;
use hmis_platform::clock::{SharedClock, SystemClock};
use hmis_platform::config::EmbeddedOptions;
use hmis_platform::db::{self, Database};
use hmis_platform::embedded::{EmbeddedError, EmbeddedPostgres};
use hmis_platform::metrics::{Metrics, MetricsLayer};
use hmis_platform::outbox::Dispatcher;
use hmis_platform::{RequestContextLayer, TenantId};
use hmis_statistics::{Reporting, StatisticsModule};
use hmis_terminology::TerminologyModule;
use http::header::HeaderName;
use sqlx::postgres::PgConnectOptions;
use tokio::net::TcpListener;
use tonic::service::RoutesBuilder;
use tower_http::cors::{AllowOrigin, Any, CorsLayer};

use hmis_platform::module::Mount;
pub use modules::{MODULES, Modules};
pub use options::Options;

/// Where the embedded cluster goes when the default `./data` folder is out of its user's reach.
const FALLBACK_EMBEDDED_DIR: &str = "/var/lib/openhmis/postgres";

/// The request id the first tenant is created under; its id derives from it, so every start
/// finds the same tenant.
const BOOTSTRAP_REQUEST: &str = "bootstrap-tenant";

/// The first administrator's user name.
pub const BOOTSTRAP_ADMIN: &str = "admin";

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("unknown module `{0}`; known modules: {known}", known = MODULES.join(", "))]
    UnknownModule(String),
    #[error("upstream of module `{module}`: {reason}")]
    Upstream { module: String, reason: String },
    #[error("invalid database url: {0}")]
    DatabaseUrl(sqlx::Error),
    #[error(transparent)]
    Embedded(#[from] EmbeddedError),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("gRPC reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error("gRPC transport: {0}")]
    Transport(#[from] tonic::transport::Error),
    #[error("demo data: {0}")]
    Demo(tonic::Status),
    #[error("bootstrap: {0}")]
    Bootstrap(tonic::Status),
    #[error("iam: {0}")]
    Iam(#[from] hmis_iam::Error),
    #[error("the metrics port: {0}")]
    Admin(std::io::Error),
    #[error("electronic reporting: {0}")]
    Reporting(#[from] hmis_statistics::ReportingError),
    #[error(transparent)]
    DocumentStore(#[from] hmis_documents::StoreError),
}

/// What the first start set up.
#[derive(Debug, Clone)]
pub struct Bootstrapped {
    pub tenant_id: TenantId,
    /// The administrator's password when it was generated now (shown once).
    pub generated_admin_password: Option<String>,
}

/// The health service name that answers for the process alone (liveness probes).
pub const LIVENESS_SERVICE: &str = "openhmis.Liveness";

/// How many calls one client connection may have in flight at once (HTTP/2 streams).
pub const MAX_STREAMS_PER_CONNECTION: u32 = 200;

/// A database-ready process, not yet serving.
#[derive(Debug)]
pub struct Application {
    options: Options,
    database: Database,
    embedded: Option<EmbeddedPostgres>,
    /// How `prepare` reached the database as its owner (the migrating user); bulk tools such
    /// as the load generator's seeder write through it. `None` for `new`.
    owner: Option<PgConnectOptions>,
    /// The modules this process mounts, by name.
    mounted: Vec<String>,
    modules: Modules,
}

impl Application {
    /// Resolves the database (starting the embedded one if none is configured), migrates it,
    /// and opens the pools.
    pub async fn prepare(options: Options) -> Result<Self, ServerError> {
        // Refuse an unknown module before starting anything.
        select_modules(&options.server.modules)?;
        let (connect_options, embedded) = database_target(&options).await?;
        db::migrate(&connect_options).await?;
        let database = Database::connect(connect_options.clone(), &options.database).await?;
        let mut application = Self::new(options, database, Arc::new(SystemClock)).await?;
        application.embedded = embedded;
        application.owner = Some(connect_options);
        Ok(application)
    }

    /// A process over an already migrated database (tests, embedding), with its own clock.
    pub async fn new(
        options: Options,
        database: Database,
        clock: SharedClock,
    ) -> Result<Self, ServerError> {
        let mounted = select_modules(&options.server.modules)?;
        let upstreams = upstream_endpoints(&options.server.upstreams)?;
        // Sign-in without a tenant code means the standalone hospital: the configured
        // default, else the tenant the first start created.
        let default_tenant = options
            .server
            .default_tenant
            .map(TenantId::new)
            .unwrap_or_else(|| hmis_core::tenant_id_for_request(BOOTSTRAP_REQUEST));
        let iam = IamModule::new(
            database.clone(),
            clock.clone(),
            &options.iam,
            Some(default_tenant),
        )
        .await?;
        let reporting = Reporting::from_options(&options.statistics.reporting)?.map(Arc::new);
        if let Some(reporting) = &reporting {
            tracing::info!(
                key_id = reporting.key_id(),
                "electronic reporting to the statistics institute is on"
            );
        }
        let modules = Modules::build(
            &database, &clock, &options, iam, reporting, &mounted, &upstreams,
        )?;
        Ok(Self {
            options,
            database,
            embedded: None,
            owner: None,
            mounted,
            modules,
        })
    }

    pub fn database(&self) -> &Database {
        &self.database
    }

    /// The owner's connection options when `prepare` resolved the database (configured or
    /// embedded): row-level security does not apply through them, so only operator tools use
    /// them, never a request.
    pub fn owner_connect_options(&self) -> Option<&PgConnectOptions> {
        self.owner.as_ref()
    }

    /// Every module of this process, built once.
    pub fn modules(&self) -> &Modules {
        &self.modules
    }

    pub fn core(&self) -> CoreModule {
        self.modules.core.clone()
    }

    pub fn patients(&self) -> PatientsModule {
        self.modules.patients.clone()
    }

    /// Admissions, reading wards, beds and patients through those modules' services.
    pub fn admissions(&self) -> AdmissionsModule {
        self.modules.admissions.clone()
    }

    pub fn inventory(&self) -> InventoryModule {
        self.modules.inventory.clone()
    }

    pub fn statistics(&self) -> StatisticsModule {
        self.modules.statistics.clone()
    }

    pub fn surgery(&self) -> hmis_surgery::SurgeryModule {
        self.modules.surgery.clone()
    }

    pub fn scheduling(&self) -> hmis_scheduling::SchedulingModule {
        self.modules.scheduling.clone()
    }

    pub fn nutrition(&self) -> hmis_nutrition::NutritionModule {
        self.modules.nutrition.clone()
    }

    pub fn billing(&self) -> hmis_billing::BillingModule {
        self.modules.billing.clone()
    }

    pub fn laboratory(&self) -> hmis_laboratory::LaboratoryModule {
        self.modules.laboratory.clone()
    }

    pub fn documents(&self) -> hmis_documents::DocumentsModule {
        self.modules.documents.clone()
    }

    pub fn imaging(&self) -> hmis_imaging::ImagingModule {
        self.modules.imaging.clone()
    }

    pub fn terminology(&self) -> TerminologyModule {
        self.modules.terminology.clone()
    }

    /// The medical act, reading admissions, wards, patients and codes through those modules'
    /// services.
    pub fn encounters(&self) -> EncountersModule {
        self.modules.encounters.clone()
    }

    pub fn audit(&self) -> AuditModule {
        self.modules.audit.clone()
    }

    /// Checks every tenant's audit chain (for `openhmis audit verify`).
    pub async fn verify_audit(&self) -> Result<Vec<hmis_audit::chain::Report>, ServerError> {
        // Seal first, so everything committed so far is covered.
        self.audit().seal_pending().await?;
        Ok(hmis_audit::chain::verify_all(self.database.worker_pool()).await?)
    }

    pub fn iam(&self) -> &IamModule {
        &self.modules.iam
    }

    /// Makes sure the first tenant and its administrator exist (every start; only the first
    /// creates anything). The administrator also operates the deployment (may create tenants).
    pub async fn bootstrap(&self) -> Result<Bootstrapped, ServerError> {
        let options = &self.options.iam;
        // The tenant's code is the one it was created with, whatever the options say now.
        let (tenant_id, code) = self
            .core()
            .ensure_tenant(
                BOOTSTRAP_REQUEST,
                &options.bootstrap_tenant_code,
                &options.bootstrap_tenant_name,
            )
            .await
            .map_err(ServerError::Bootstrap)?;
        self.modules.iam.register_tenant(tenant_id, &code).await?;
        let (password, generated) = match &options.bootstrap_admin_password {
            Some(password) => (password.expose().to_owned(), false),
            None => (IamModule::generate_password()?, true),
        };
        let created = self
            .modules
            .iam
            .ensure_user(
                tenant_id,
                &SeedUser {
                    username: BOOTSTRAP_ADMIN,
                    display_name: "Administrator",
                    password: &password,
                    role_code: "administrator",
                    scope: Scope::Tenant,
                },
            )
            .await?;
        self.modules
            .iam
            .grant_role(tenant_id, BOOTSTRAP_ADMIN, "operator", Scope::Tenant)
            .await?;
        Ok(Bootstrapped {
            tenant_id,
            generated_admin_password: (created && generated).then_some(password),
        })
    }

    /// Loads the demo hospital and its staff into the bootstrap tenant.
    pub async fn load_demo(&self, tenant_id: TenantId) -> Result<(), ServerError> {
        let core = self.core();
        let wards = demo::load(&core, &self.modules.iam, tenant_id)
            .await
            .map_err(ServerError::Demo)?;
        let patients = demo::load_patients(&self.patients().api(), tenant_id)
            .await
            .map_err(ServerError::Demo)?;
        demo::load_admissions(
            &self.admissions().api(),
            &core,
            tenant_id,
            &wards,
            &patients,
        )
        .await
        .map_err(ServerError::Demo)?;
        self.terminology()
            .load_starter_set(tenant_id)
            .await
            .map_err(|error| ServerError::Demo(error.into()))?;
        let encounters = self.encounters();
        demo::load_formulary(&encounters.formulary_api(), tenant_id)
            .await
            .map_err(ServerError::Demo)?;
        demo::load_encounters(
            &self.admissions().api(),
            &encounters.api(),
            &encounters.formulary_api(),
            tenant_id,
            (&wards, &patients),
        )
        .await
        .map_err(ServerError::Demo)?;
        demo::load_inventory(
            &self.inventory().api(),
            &encounters.formulary_api(),
            &core,
            tenant_id,
            &wards,
        )
        .await
        .map_err(ServerError::Demo)?;
        demo::load_surgery(
            &self.modules.surgery.api(),
            (&core, &self.modules.iam, &self.inventory().api()),
            tenant_id,
            &wards,
        )
        .await
        .map_err(ServerError::Demo)?;
        demo::load_billing(&self.modules.billing.api(), tenant_id, &wards, &patients)
            .await
            .map_err(ServerError::Demo)?;
        demo::load_laboratory(&core, &self.modules.laboratory, tenant_id, &wards)
            .await
            .map_err(ServerError::Demo)?;
        demo::load_imaging(&core, &self.modules.imaging, tenant_id, &wards)
            .await
            .map_err(ServerError::Demo)?;
        demo::load_scheduling(
            &self.modules.scheduling.api(),
            &self.modules.iam,
            tenant_id,
            &wards,
        )
        .await
        .map_err(ServerError::Demo)?;
        demo::load_nutrition(
            &self.modules.nutrition.api(),
            (&core, &self.inventory().api()),
            tenant_id,
            &wards,
        )
        .await
        .map_err(ServerError::Demo)?;
        self.modules
            .documents
            .load_starter(&hmis_platform::RequestContext::system(tenant_id))
            .await
            .map_err(|error| ServerError::Demo(error.into()))?;
        Ok(())
    }

    /// Releases the database (and stops the embedded cluster) without serving.
    pub async fn shutdown(self) -> Result<(), ServerError> {
        self.database.close().await;
        if let Some(embedded) = &self.embedded {
            embedded.stop()?;
        }
        Ok(())
    }

    /// Binds the configured address.
    pub async fn bind(&self) -> std::io::Result<TcpListener> {
        TcpListener::bind(self.options.server.listen_addr).await
    }

    /// Serves until `shutdown` resolves, then drains calls in flight and releases the
    /// database (stopping the embedded cluster if this process started it).
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServerError> {
        let local_addr: Option<SocketAddr> = listener.local_addr().ok();
        let metrics = Metrics::new();
        let admin = match self.options.telemetry.metrics_addr {
            Some(addr) => Some(TcpListener::bind(addr).await.map_err(ServerError::Admin)?),
            None => None,
        };
        let (health_reporter, health_service) = tonic_health::server::health_reporter();
        let mut routes = RoutesBuilder::default();
        let mut mounted_services: Vec<&'static str> = Vec::new();
        let mut subscriptions = Vec::new();
        let mut purges = Vec::new();
        let mut workers = tokio::task::JoinSet::new();
        // Only the modules this process mounts run their services, followers and workers.
        for module in self.modules.all() {
            if !self.mounted.iter().any(|name| name == module.name()) {
                continue;
            }
            module.mount(&mut Mount::new(&mut routes, &mut mounted_services));
            subscriptions.extend(module.subscriptions());
            purges.extend(module.idempotency_keys());
            for worker in module.workers() {
                workers.spawn(worker);
            }
        }
        for service in &mounted_services {
            health_reporter
                .set_service_status(*service, tonic_health::ServingStatus::Serving)
                .await;
        }
        // The process itself, for liveness probes: serving while it runs, whatever the
        // database does (a restart would not bring the database back).
        health_reporter
            .set_service_status(LIVENESS_SERVICE, tonic_health::ServingStatus::Serving)
            .await;

        let mut reflection_v1 = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(hmis_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET);
        let mut reflection_v1alpha = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(hmis_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET);
        // Reflection lists what this process serves, not every contract it knows.
        for service in mounted_services
            .iter()
            .copied()
            .chain(["grpc.health.v1.Health"])
        {
            reflection_v1 = reflection_v1.with_service_name(service);
            reflection_v1alpha = reflection_v1alpha.with_service_name(service);
        }
        routes.add_service(health_service);
        routes.add_service(reflection_v1.build_v1()?);
        routes.add_service(reflection_v1alpha.build_v1alpha()?);

        workers.spawn(self.modules.iam.clone().run_key_reloader());
        // The database's availability: probed every second, and marked down the moment the
        // supervised embedded cluster dies (it is restarted; the probe sees it come back).
        let availability = self.database.availability().clone();
        workers.spawn(self.database.clone().probe_availability());
        if let Some(mut crashes) = self.embedded.as_ref().and_then(EmbeddedPostgres::crashes) {
            let availability = availability.clone();
            workers.spawn(async move {
                while crashes.changed().await.is_ok() {
                    availability.set(false);
                }
            });
        }
        let health_follower = tokio::spawn(follow_availability(
            health_reporter.clone(),
            mounted_services.clone(),
            availability.subscribe(),
        ));
        workers.spawn(purge_idempotency_keys(
            self.database.worker_pool().clone(),
            self.options.outbox.idempotency_retention,
            purges,
        ));
        if let Some(admin) = admin {
            tracing::info!(addr = %admin.local_addr().map(|addr| addr.to_string()).unwrap_or_default(), "metrics at /metrics");
            workers.spawn(serve_admin(admin, metrics.clone(), availability.clone()));
        }
        // Subscribers of modules this process mounts follow the events of the database's
        // outboxes (delivery is at least once; each handler is idempotent).
        let dispatcher = Dispatcher::new(
            self.database.worker_pool().clone(),
            self.options.outbox.clone(),
        )
        .spawn(subscriptions)
        .await?;
        let grace = self.options.server.shutdown_grace;
        let (draining_sender, draining) = tokio::sync::oneshot::channel::<()>();
        let signal = async move {
            shutdown.await;
            tracing::info!("shutdown signal received; draining calls in flight");
            health_follower.abort();
            for service in mounted_services.iter().chain(&[""]) {
                health_reporter
                    .set_service_status(*service, tonic_health::ServingStatus::NotServing)
                    .await;
            }
            let _ = draining_sender.send(());
        };

        tracing::info!(
            addr = %local_addr.map(|addr| addr.to_string()).unwrap_or_default(),
            modules = %self.mounted.join(","),
            console = %local_addr.map(|addr| format!("http://{addr}/")).unwrap_or_default(),
            "listening"
        );
        let server = tonic::transport::Server::builder()
            .accept_http1(true)
            // One connection may not hold the server's every task: streams past this wait.
            .max_concurrent_streams(MAX_STREAMS_PER_CONNECTION)
            .layer(console::ConsoleLayer)
            .layer(cors_layer())
            .layer(tonic_web::GrpcWebLayer::new())
            .layer(RequestContextLayer::new(self.modules.iam.verifier()))
            .layer(MetricsLayer::new(metrics))
            .add_routes(routes.routes())
            // Without TCP_NODELAY a response written in several HTTP/2 frames waits for the
            // client's delayed ACK: measured as a flat +40 ms on a 20-patient search.
            .serve_with_incoming_shutdown(
                tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true)),
                signal,
            );
        tokio::pin!(server);
        let served = tokio::select! {
            served = &mut server => served,
            _ = async {
                let _ = draining.await;
                tokio::time::sleep(grace).await;
            } => {
                tracing::warn!(grace_secs = grace.as_secs(), "calls still in flight after the grace period; stopping");
                Ok(())
            }
        };
        workers.abort_all();
        dispatcher.stop().await;
        self.shutdown().await?;
        tracing::info!("stopped");
        Ok(served?)
    }
}

/// Health follows the database: `NOT_SERVING` for every service (and the server as a whole)
/// while it is down, `SERVING` again once it answers.
async fn follow_availability(
    reporter: tonic_health::server::HealthReporter,
    services: Vec<&'static str>,
    mut availability: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        let status = if *availability.borrow_and_update() {
            tonic_health::ServingStatus::Serving
        } else {
            tonic_health::ServingStatus::NotServing
        };
        for service in services.iter().chain(&[""]) {
            reporter.set_service_status(*service, status).await;
        }
        if availability.changed().await.is_err() {
            return;
        }
    }
}

/// The admin port: `/metrics` for Prometheus, `/healthz` for plain HTTP probes (503 while
/// the database is down).
async fn serve_admin(
    listener: TcpListener,
    metrics: Metrics,
    availability: hmis_platform::db::Availability,
) {
    let app = axum::Router::new()
        .route(
            "/metrics",
            axum::routing::get(move || {
                let metrics = metrics.clone();
                async move {
                    (
                        [(http::header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                        metrics.render(),
                    )
                }
            }),
        )
        .route(
            "/healthz",
            axum::routing::get(move || {
                let up = availability.is_up();
                async move {
                    if up {
                        (http::StatusCode::OK, "ok")
                    } else {
                        (
                            http::StatusCode::SERVICE_UNAVAILABLE,
                            "database unavailable",
                        )
                    }
                }
            }),
        );
    if let Err(error) = axum::serve(listener, app).await {
        tracing::warn!(error = %error, "the metrics port stopped");
    }
}

fn select_modules(requested: &[String]) -> Result<Vec<String>, ServerError> {
    if requested.is_empty() {
        return Ok(MODULES.iter().map(|module| (*module).to_owned()).collect());
    }
    requested
        .iter()
        .map(|module| module.trim().to_owned())
        .map(|module| {
            if MODULES.contains(&module.as_str()) {
                Ok(module)
            } else {
                Err(ServerError::UnknownModule(module))
            }
        })
        .collect()
}

/// The configured upstreams, checked: known module names and valid URLs.
fn upstream_endpoints(
    configured: &std::collections::BTreeMap<String, String>,
) -> Result<std::collections::HashMap<String, tonic::transport::Endpoint>, ServerError> {
    configured
        .iter()
        .map(|(module, url)| {
            if !MODULES.contains(&module.as_str()) {
                return Err(ServerError::UnknownModule(module.clone()));
            }
            let endpoint = tonic::transport::Endpoint::from_shared(url.clone())
                .map_err(|error| ServerError::Upstream {
                    module: module.clone(),
                    reason: error.to_string(),
                })?
                .tcp_nodelay(true);
            Ok((module.clone(), endpoint))
        })
        .collect()
}

async fn database_target(
    options: &Options,
) -> Result<(PgConnectOptions, Option<EmbeddedPostgres>), ServerError> {
    if let Some(url) = &options.database.url {
        let connect_options = url
            .expose()
            .parse::<PgConnectOptions>()
            .map_err(ServerError::DatabaseUrl)?;
        return Ok((connect_options, None));
    }
    let mut embedded_options = options.database.embedded.clone();
    let embedded = match EmbeddedPostgres::start(&embedded_options).await {
        // Run as root from a home folder (mode 0700), the cluster's user cannot reach the
        // default ./data folder. A configured folder is the operator's choice and its error
        // stands; the default one moves to a system folder that user can reach.
        Err(EmbeddedError::Unreachable { .. })
            if embedded_options.dir == EmbeddedOptions::default().dir =>
        {
            embedded_options.dir = PathBuf::from(FALLBACK_EMBEDDED_DIR);
            tracing::info!(
                dir = FALLBACK_EMBEDDED_DIR,
                "the embedded cluster's user cannot reach ./data; using a system folder"
            );
            EmbeddedPostgres::start(&embedded_options).await?
        }
        other => other?,
    };
    embedded.ensure_database(&embedded_options.database).await?;
    Ok((
        embedded.connect_options(&embedded_options.database),
        Some(embedded),
    ))
}

/// Browsers reach gRPC through grpc-web; they must be allowed to read the gRPC status
/// headers, or every error looks like a network failure to them.
fn cors_layer() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::any())
        .allow_headers(Any)
        .allow_methods([http::Method::POST, http::Method::OPTIONS])
        .expose_headers([
            HeaderName::from_static("grpc-status"),
            HeaderName::from_static("grpc-message"),
            HeaderName::from_static("grpc-status-details-bin"),
            HeaderName::from_static("x-request-id"),
        ])
        .max_age(Duration::from_secs(3600))
}

/// Forgets the idempotency keys of the mounted modules once they are older than `retention`.
async fn purge_idempotency_keys(
    pool: sqlx::PgPool,
    retention: Duration,
    purges: Vec<hmis_platform::idempotency::IdempotencyKeys>,
) {
    let mut every_hour = tokio::time::interval(Duration::from_secs(3600));
    loop {
        every_hour.tick().await;
        for keys in &purges {
            match keys.purge(&pool, retention).await {
                Ok(purged) if purged > 0 => {
                    tracing::info!(purged, "forgot old idempotency keys")
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(error = %error, "purging idempotency keys failed"),
            }
        }
    }
}
