//! Terminology (`terminology` schema): code systems in versions — ICD-10 for diagnoses, a
//! procedure classification (ACHI) for DRG grouping, ATC for medicines, LOINC for laboratory
//! tests, or any other — with their concepts and hierarchy, search by code prefix and by
//! words, validation, and maps between versions. Other modules validate codes through
//! [`TerminologyApi`]'s contract, never these tables.
//!
//! Imports read ClaML or CSV ([`import`]) and replace one version of a system in one
//! transaction: a reader sees the old version or the new one, never half of it.

mod app;
pub mod domain;
mod error;
mod grpc;
pub mod import;
pub mod starter;
mod store;

use hmis_platform::clock::SharedClock;
use hmis_platform::context::RequestId;
use hmis_platform::{Database, TenantId};
use hmis_proto::openhmis::terminology::v1::terminology_service_server::TerminologyServiceServer;

use crate::domain::{ImportedConcept, ImportedMapping, SystemName, VersionName};

pub use error::Error;
pub use grpc::TerminologyApi;

/// The schema terminology owns.
pub const SCHEMA: &str = "terminology";

/// Concepts are written in batches of this many rows (one statement each).
const IMPORT_BATCH: usize = 2_000;

/// One version of a code system to store.
#[derive(Debug, Clone)]
pub struct CodeSystemImport {
    pub system: SystemName,
    pub version: VersionName,
    pub title: String,
    /// Where it came from (a file name), for the record.
    pub source: String,
    /// Make this the version codes are checked against (the first version of a system
    /// becomes the default anyway).
    pub make_default: bool,
    pub concepts: Vec<ImportedConcept>,
}

#[derive(Debug, Clone)]
pub struct TerminologyModule {
    database: Database,
    clock: SharedClock,
}

impl TerminologyModule {
    pub fn new(database: Database, clock: SharedClock) -> Self {
        Self { database, clock }
    }

    pub fn api(&self) -> TerminologyApi {
        TerminologyApi {
            terminology: app::Terminology {
                database: self.database.clone(),
            },
        }
    }

    pub fn service(&self) -> TerminologyServiceServer<TerminologyApi> {
        TerminologyServiceServer::new(self.api())
    }

    /// Stores `import` in `tenant_id`, replacing the same version if it was imported before.
    /// `progress` hears how many concepts are written so far.
    pub async fn import(
        &self,
        tenant_id: TenantId,
        import: &CodeSystemImport,
        progress: &(dyn Fn(usize) + Sync),
    ) -> Result<usize, Error> {
        let mut tx = self
            .database
            .begin(tenant_id, &RequestId::generate())
            .await?;
        let count = i32::try_from(import.concepts.len()).unwrap_or(i32::MAX);
        store::replace_system(
            &mut tx,
            &store::NewSystem {
                system: import.system.as_str(),
                version: import.version.as_str(),
                title: &import.title,
                source: &import.source,
                make_default: import.make_default,
            },
            count,
            self.clock.now(),
        )
        .await?;
        let mut written = 0;
        for batch in import.concepts.chunks(IMPORT_BATCH) {
            let first_ordinal = i32::try_from(written + 1).unwrap_or(i32::MAX);
            store::insert_concepts(
                &mut tx,
                import.system.as_str(),
                import.version.as_str(),
                batch,
                first_ordinal,
            )
            .await?;
            written += batch.len();
            progress(written);
        }
        tx.commit().await?;
        tracing::info!(
            tenant_id = %tenant_id,
            system = import.system.as_str(),
            version = import.version.as_str(),
            concepts = written,
            "code system imported"
        );
        Ok(written)
    }

    /// Replaces the map of `system` from one imported version to another.
    pub async fn import_map(
        &self,
        tenant_id: TenantId,
        system: &SystemName,
        from_version: &VersionName,
        to_version: &VersionName,
        mappings: &[ImportedMapping],
    ) -> Result<usize, Error> {
        let mut tx = self
            .database
            .begin(tenant_id, &RequestId::generate())
            .await?;
        for version in [from_version, to_version] {
            store::resolve_version(&mut tx, system.as_str(), Some(version.as_str())).await?;
        }
        store::replace_map(
            &mut tx,
            system.as_str(),
            from_version.as_str(),
            to_version.as_str(),
            mappings,
        )
        .await?;
        tx.commit().await?;
        Ok(mappings.len())
    }

    /// Loads the starter set ([`starter`]) into `tenant_id`, unless the tenant already has
    /// each system: a hospital that imported the full ICD-10 keeps it.
    pub async fn load_starter_set(&self, tenant_id: TenantId) -> Result<usize, Error> {
        let mut tx = self
            .database
            .begin(tenant_id, &RequestId::generate())
            .await?;
        let present = store::list_systems(&mut tx, None).await?;
        tx.commit().await?;
        let mut loaded = 0;
        for import in starter::code_systems()? {
            if present
                .iter()
                .any(|row| row.system == import.system.as_str())
            {
                continue;
            }
            loaded += self.import(tenant_id, &import, &|_| {}).await?;
        }
        Ok(loaded)
    }
}

/// The permissions this module's calls ask for (its part of the catalogue roles are made of).
pub const PERMISSIONS: &[hmis_platform::auth::PermissionInfo] = &[hmis_platform::auth::permission(
    "terminology.read",
    "read code systems (ICD-10, procedures, ATC, LOINC)",
    false,
)];

impl hmis_platform::module::Module for TerminologyModule {
    fn name(&self) -> &'static str {
        "terminology"
    }

    fn mount(&self, mount: &mut hmis_platform::module::Mount<'_>) {
        mount.service(self.service());
    }

    fn permissions(&self) -> &'static [hmis_platform::auth::PermissionInfo] {
        PERMISSIONS
    }
}
