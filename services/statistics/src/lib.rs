//! Medical statistics (`statistics` schema): read models fed by the events of admissions
//! (each admission and its ward stays) and encounters (principal diagnoses), idempotent and
//! rebuildable from the events ([`StatisticsModule::rebuild`]); the daily census of a ward at
//! the facility's midnights, the patient movement analysis of a period (by ward, specialty
//! or ICD-10 chapter), Form 16, the registers, and the electronic submission of reports to the
//! national statistics institute (signed, schema-checked, retried until answered).

mod chapters;
mod delivery;
mod directory;
mod document;
mod error;
mod follow;
mod form16;
mod grpc;
mod occupancy;
mod operations;
mod options;
mod registers;
mod reports;
mod schedules;
mod signing;
mod store;
mod submissions;

use std::sync::Arc;

use hmis_platform::channel::ServiceChannel;
use hmis_platform::clock::Clock;
use hmis_platform::config::OutboxOptions;
use hmis_platform::context::RequestId;
use hmis_platform::idempotency::IdempotencyKeys;
use hmis_platform::outbox::{Dispatcher, Subscription};
use hmis_platform::{Database, TenantId};
use hmis_proto::openhmis::statistics::v1::statistics_service_server::StatisticsServiceServer;

pub use delivery::{Reporting, ReportingError};
pub use document::{SCHEMA as REPORT_SCHEMA, SCHEMA_VERSION as REPORT_SCHEMA_VERSION};
pub use error::Error;
pub use grpc::StatisticsApi;
pub use options::{ReportingOptions, StatisticsOptions};
pub use signing::{KeyError, Signer};

/// The schema statistics owns.
pub const SCHEMA: &str = "statistics";

/// The name the live subscriptions keep their offsets under.
const LIVE: &str = "statistics";

#[derive(Debug, Clone)]
pub struct StatisticsModule {
    office: Arc<grpc::Office>,
}

impl StatisticsModule {
    /// `core` serves `openhmis.core.v1.FacilityService` (wards, time zones, beds);
    /// `reporting` is where submitted reports go (`None`: submissions are refused).
    pub fn new(
        database: Database,
        clock: Arc<dyn Clock>,
        core: ServiceChannel,
        reporting: Option<Arc<Reporting>>,
    ) -> Self {
        Self {
            office: Arc::new(grpc::Office {
                database,
                directory: directory::Directory::new(core),
                clock,
                keys: IdempotencyKeys::new(SCHEMA),
                reporting,
            }),
        }
    }

    /// The submitter: sends signed reports and asks about them until the process stops.
    /// `None` when reporting is not configured.
    pub fn submitter(&self) -> Option<impl std::future::Future<Output = ()> + Send + 'static> {
        let reporting = self.office.reporting.clone()?;
        Some(delivery::run(self.office.clone(), reporting))
    }

    /// One round of the submitter now (what the background task does every poll interval);
    /// returns how many submissions it sent or asked about.
    pub async fn deliver_due_submissions(&self) -> Result<usize, Error> {
        match &self.office.reporting {
            Some(reporting) => self.office.deliver_due(reporting).await,
            None => Ok(0),
        }
    }

    /// One round of the report scheduler now (what the background task does every poll
    /// interval): submits every scheduled month whose time has come; returns how many runs it
    /// made.
    pub async fn run_due_schedules(&self) -> Result<usize, Error> {
        self.office.run_due_schedules().await
    }

    /// The report scheduler, until the process stops.
    pub fn scheduler(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let office = self.office.clone();
        async move {
            let interval = office
                .reporting
                .as_ref()
                .map(|reporting| reporting.options.poll_interval)
                .unwrap_or(std::time::Duration::from_secs(60))
                .max(std::time::Duration::from_secs(1));
            let mut ticks = tokio::time::interval(interval);
            loop {
                ticks.tick().await;
                if let Err(error) = office.run_due_schedules().await {
                    tracing::warn!(error = %error, "the report scheduler failed; will retry");
                }
            }
        }
    }

    pub fn service(&self) -> StatisticsServiceServer<StatisticsApi> {
        StatisticsServiceServer::new(StatisticsApi {
            office: self.office.clone(),
        })
    }

    /// The subscriptions that keep the read models.
    pub fn subscriptions(&self) -> Vec<Subscription> {
        follow::subscriptions(self.office.database.clone(), LIVE)
    }

    /// Forgets a tenant's read models and builds them again from every event the outboxes
    /// hold (under subscriptions of a fresh name, which start from the first event). Returns
    /// how many events were read. Events of other tenants are read and stored again too:
    /// the handlers are idempotent, so that changes nothing.
    pub async fn rebuild(&self, tenant_id: TenantId) -> Result<usize, Error> {
        let database = &self.office.database;
        let mut tx = database.begin(tenant_id, &RequestId::generate()).await?;
        store::clear(&mut tx).await?;
        tx.commit().await?;
        let name = format!("{LIVE}.rebuild.{}", uuid::Uuid::now_v7());
        let dispatcher = Dispatcher::new(database.worker_pool().clone(), OutboxOptions::default());
        let mut read = 0;
        for subscription in follow::subscriptions(database.clone(), &name) {
            read += dispatcher.deliver_pending(&subscription).await?;
        }
        Ok(read)
    }
}

/// The permissions this module's calls ask for (its part of the catalogue roles are made of).
pub const PERMISSIONS: &[hmis_platform::auth::PermissionInfo] = &[
    hmis_platform::auth::permission(
        "statistics.read",
        "read census, movement and national reports",
        false,
    ),
    hmis_platform::auth::permission(
        "statistics.submit",
        "submit reports to the statistics institute",
        false,
    ),
];

impl hmis_platform::module::Module for StatisticsModule {
    fn name(&self) -> &'static str {
        "statistics"
    }

    fn mount(&self, mount: &mut hmis_platform::module::Mount<'_>) {
        mount.service(self.service());
    }

    fn subscriptions(&self) -> Vec<hmis_platform::outbox::Subscription> {
        StatisticsModule::subscriptions(self)
    }

    fn workers(&self) -> Vec<hmis_platform::module::Worker> {
        self.submitter()
            .map(|submitter| Box::pin(submitter) as hmis_platform::module::Worker)
            .into_iter()
            .chain([Box::pin(self.scheduler()) as hmis_platform::module::Worker])
            .collect()
    }

    fn idempotency_keys(&self) -> Option<IdempotencyKeys> {
        Some(self.office.keys.clone())
    }

    fn permissions(&self) -> &'static [hmis_platform::auth::PermissionInfo] {
        PERMISSIONS
    }
}
