//! The audit module (`audit` schema): the trail every module writes through
//! [`hmis_platform::audit`], sealed here into a per-tenant hash chain ([`chain`]), and read
//! and verified through the `AuditService` and `openhmis audit verify`.

pub mod chain;
mod error;
mod grpc;
mod store;

use std::sync::Arc;
use std::time::Duration;

use hmis_platform::Database;
use hmis_platform::call::Calls;
use hmis_platform::clock::SharedClock;
use hmis_proto::openhmis::audit::v1::audit_service_server::AuditServiceServer;

pub use error::Error;
pub use grpc::{AuditApi, report_to_pb};

/// The schema the audit trail lives in (its records, the sealer's chain).
const SCHEMA: &str = "audit";

#[derive(Debug, Clone)]
pub struct AuditModule {
    audit: Arc<grpc::Audit>,
}

impl AuditModule {
    pub fn new(database: Database, clock: SharedClock) -> Self {
        Self {
            audit: Arc::new(grpc::Audit {
                calls: Calls::new(database, clock, SCHEMA),
            }),
        }
    }

    pub fn api(&self) -> AuditApi {
        AuditApi {
            audit: self.audit.clone(),
        }
    }

    pub fn service(&self) -> AuditServiceServer<AuditApi> {
        AuditServiceServer::new(self.api())
    }

    /// Seals what can be sealed now; the server runs this every `every`, tests call it.
    pub async fn seal_pending(&self) -> Result<usize, sqlx::Error> {
        chain::seal_pending(
            self.audit.calls.database().worker_pool(),
            self.audit.calls.now(),
        )
        .await
    }

    /// Seals in the background until the task is dropped.
    pub async fn run_sealer(self, every: Duration) {
        let mut ticks = tokio::time::interval(every);
        loop {
            ticks.tick().await;
            match self.seal_pending().await {
                Ok(0) => {}
                Ok(sealed) => tracing::debug!(sealed, "audit records sealed"),
                Err(error) => tracing::warn!(error = %error, "sealing the audit trail failed"),
            }
        }
    }
}

/// The permissions this module's calls ask for (its part of the catalogue roles are made of).
pub const PERMISSIONS: &[hmis_platform::auth::PermissionInfo] = &[hmis_platform::auth::permission(
    "audit.read",
    "read the audit trail and verify its chain",
    true,
)];

impl hmis_platform::module::Module for AuditModule {
    fn name(&self) -> &'static str {
        "audit"
    }

    fn mount(&self, mount: &mut hmis_platform::module::Mount<'_>) {
        mount.service(self.service());
    }

    fn workers(&self) -> Vec<hmis_platform::module::Worker> {
        vec![Box::pin(self.clone().run_sealer(Duration::from_secs(1)))]
    }

    fn permissions(&self) -> &'static [hmis_platform::auth::PermissionInfo] {
        PERMISSIONS
    }
}
