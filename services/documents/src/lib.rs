//! The document archive (`documents` schema): documents of patients' records (scanned
//! consents, referral letters, external results, photos, documents the hospital issued) with
//! their kind, patient, admission or encounter, who added them and when; content streamed in
//! and out in chunks with a size limit, its type recognised from its bytes, its SHA-256, every
//! version kept on replacement; retention per kind, legal holds, deletion only at the end of
//! retention; and a verify command that hashes every stored content again.
//!
//! Content is kept in PostgreSQL (`documents.chunks`); metadata always is.

mod app;
mod convert;
pub mod domain;
mod error;
mod grpc;
mod starter;
mod store;

use std::sync::Arc;

use hmis_platform::call::Calls;
use hmis_platform::clock::SharedClock;
use hmis_platform::idempotency::IdempotencyKeys;
use hmis_platform::outbox::Outbox;
use hmis_platform::{Database, RequestContext};
use hmis_proto::openhmis::documents::v1::document_service_server::DocumentServiceServer;
use serde::{Deserialize, Serialize};

pub use app::{Finding, VerifyReport};
pub use error::Error;
pub use grpc::DocumentsApi;

/// The schema the archive owns; its outbox is published under this name.
pub const SCHEMA: &str = "documents";

/// `[documents]`: the archive's own limit.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct DocumentsOptions {
    /// The largest content stored, in bytes, whatever a kind allows (default 1 GiB).
    pub max_upload_bytes: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct DocumentsModule {
    archive: Arc<app::Archive>,
}

impl DocumentsModule {
    pub fn new(database: Database, clock: SharedClock, options: DocumentsOptions) -> Self {
        Self {
            archive: Arc::new(app::Archive {
                calls: Calls::new(database, clock, SCHEMA),
                outbox: Outbox::new(SCHEMA),
                max_upload: options.max_upload_bytes.unwrap_or(1 << 30),
            }),
        }
    }

    pub fn api(&self) -> DocumentsApi {
        DocumentsApi {
            archive: self.archive.clone(),
        }
    }

    pub fn service(&self) -> DocumentServiceServer<DocumentsApi> {
        DocumentServiceServer::new(self.api())
            .max_decoding_message_size(grpc::MAX_STORE + 64 * 1024)
    }

    /// Stores the starter kinds of documents for the tenant of `context`.
    pub async fn load_starter(&self, context: &RequestContext) -> Result<usize, Error> {
        let kinds = starter::kinds();
        let count = kinds.len();
        for kind in kinds {
            self.archive.set_kind(context, kind).await?;
        }
        Ok(count)
    }

    /// Reads every stored version back and hashes it again (`openhmis documents verify`).
    pub async fn verify(&self) -> Result<VerifyReport, Error> {
        self.archive.verify().await
    }
}

/// The permissions this module's calls ask for (its part of the catalogue roles are made of).
pub const PERMISSIONS: &[hmis_platform::auth::PermissionInfo] = &[
    hmis_platform::auth::permission(
        "documents.read",
        "read and download the documents of patients' records",
        true,
    ),
    hmis_platform::auth::permission(
        "documents.write",
        "add documents to patients' records and replace them with new versions",
        true,
    ),
    hmis_platform::auth::permission(
        "documents.manage",
        "set the kinds of documents and their retention; put documents on legal hold",
        true,
    ),
    hmis_platform::auth::permission(
        "documents.delete",
        "delete documents whose retention has ended",
        true,
    ),
];

impl hmis_platform::module::Module for DocumentsModule {
    fn name(&self) -> &'static str {
        "documents"
    }

    fn mount(&self, mount: &mut hmis_platform::module::Mount<'_>) {
        mount.service(self.service());
    }

    fn idempotency_keys(&self) -> Option<IdempotencyKeys> {
        Some(self.archive.calls.keys().clone())
    }

    fn permissions(&self) -> &'static [hmis_platform::auth::PermissionInfo] {
        PERMISSIONS
    }
}
