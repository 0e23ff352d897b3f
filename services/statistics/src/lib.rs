//! Medical statistics (`statistics` schema): read models fed by the events of admissions
//! (each admission and its ward stays) and encounters (principal diagnoses), idempotent and
//! rebuildable from the events ([`StatisticsModule::rebuild`]); the daily census of a ward at
//! the facility's midnights and the patient movement analysis of a period.

mod chapters;
mod directory;
mod error;
mod follow;
mod form16;
mod grpc;
mod store;

use std::sync::Arc;

use hmis_platform::channel::ServiceChannel;
use hmis_platform::config::OutboxOptions;
use hmis_platform::context::RequestId;
use hmis_platform::outbox::{Dispatcher, Subscription};
use hmis_platform::{Database, TenantId};
use hmis_proto::openhmis::statistics::v1::statistics_service_server::StatisticsServiceServer;

pub use error::Error;
pub use grpc::StatisticsApi;

/// The schema statistics owns.
pub const SCHEMA: &str = "statistics";

/// The name the live subscriptions keep their offsets under.
const LIVE: &str = "statistics";

#[derive(Debug, Clone)]
pub struct StatisticsModule {
    office: Arc<grpc::Office>,
}

impl StatisticsModule {
    /// `core` serves `openhmis.core.v1.FacilityService` (wards, time zones, beds).
    pub fn new(database: Database, core: ServiceChannel) -> Self {
        Self {
            office: Arc::new(grpc::Office {
                database,
                directory: directory::Directory::new(core),
            }),
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
