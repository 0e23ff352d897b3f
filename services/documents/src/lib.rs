//! The document archive (`documents` schema): documents of patients' records (scanned
//! consents, referral letters, external results, photos, documents the hospital issued) with
//! their kind, patient, admission or encounter, who added them and when; content streamed in
//! and out in chunks with a size limit, its type recognised from its bytes, its SHA-256, every
//! version kept on replacement; retention per kind, legal holds, deletion only at the end of
//! retention; and a verify command that hashes every stored content again.
//!
//! Content is kept in PostgreSQL (`documents.chunks`) by default, or in an object store (a
//! directory, or an S3-compatible bucket) when `[documents] content_store` names one;
//! metadata always stays in PostgreSQL.
//!
//! The hospital's own documents (the medical extract, certificates, prescriptions, the
//! personal slip, a ward's medication order, Form 16) are issued here: the module that owns
//! the data lays it out (its `-api` crate), this one renders the PDF (`hmis-print`) under the
//! facility's letterhead, archives it as issued and signs it, as the issuing clinician and as
//! the facility, with keys derived from a secret the database never sees.

mod app;
mod content;
mod convert;
pub mod domain;
mod error;
mod grpc;
mod signing;
mod starter;
mod store;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hmis_platform::call::Calls;
use hmis_platform::channel::ServiceChannel;
use hmis_platform::clock::SharedClock;
use hmis_platform::config::Secret;
use hmis_platform::idempotency::IdempotencyKeys;
use hmis_platform::outbox::Outbox;
use hmis_platform::secrets::{deployment_key, given_key};
use hmis_platform::{Database, RequestContext};
use hmis_proto::openhmis::documents::v1::document_service_server::DocumentServiceServer;
use serde::{Deserialize, Serialize};

pub use app::{Finding, VerifyReport};
pub use content::{ContentStore, StoreError};
pub use error::Error;
pub use grpc::DocumentsApi;

/// How long a facility's or ward's name and address are kept for letterheads.
const CORE_MEMORY: Duration = Duration::from_secs(60);

/// The schema the archive owns; its outbox is published under this name.
pub const SCHEMA: &str = "documents";

/// `[documents]`: the archive's own limit and the key issued documents are signed with.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct DocumentsOptions {
    /// The largest content stored, in bytes, whatever a kind allows (default 1 GiB).
    pub max_upload_bytes: Option<u64>,
    /// The deployment's document-signing secret, 32 bytes in base64, from which every
    /// tenant's clinicians' and facilities' keys are derived. Kept out of the database.
    pub signing_secret: Option<Secret>,
    /// Where that secret is kept when `signing_secret` is not set: read, or created at the
    /// first start (0600). Default `data/secrets/document-signing.key`.
    pub signing_secret_file: Option<PathBuf>,
    /// Earlier signing secrets (base64), kept after a rotation only to verify what they
    /// signed; nothing is signed with them.
    pub earlier_signing_secrets: Vec<Secret>,
    /// Where new content is kept: unset, in PostgreSQL; `file:///a/directory` or
    /// `s3://bucket[/prefix]` for an object store. Content stored earlier stays where it is.
    pub content_store: Option<String>,
    /// An S3-compatible store's settings by object_store's names (`endpoint`, `region`,
    /// `allow_http`, ...); its credentials come from the environment (`AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`), never from this file.
    pub content_store_options: BTreeMap<String, String>,
}

/// The modules whose data the archive prints, each reached on behalf of the caller.
#[derive(Debug, Clone)]
pub struct Channels {
    pub core: ServiceChannel,
    pub patients: ServiceChannel,
    /// `openhmis.iam.v1.AuthService` (who the issuer is).
    pub iam: ServiceChannel,
    pub encounters: ServiceChannel,
    /// `openhmis.encounters.v1.CertificateService`.
    pub certificates: ServiceChannel,
    pub inventory: ServiceChannel,
    pub statistics: ServiceChannel,
}

#[derive(Debug, Clone)]
pub struct DocumentsModule {
    archive: Arc<app::Archive>,
}

impl DocumentsModule {
    /// The archive, keeping content in `content` ([`ContentStore::open`] with these
    /// options); `channels` reach the modules whose documents it prints (none: it prints
    /// none, e.g. for the verify command alone). The signing
    /// secret is read (or created) here: when it cannot be, the archive still keeps documents
    /// but refuses to issue or verify signed ones, and the log says why.
    pub fn new(
        database: Database,
        clock: SharedClock,
        options: DocumentsOptions,
        content: ContentStore,
        channels: Option<Channels>,
    ) -> Self {
        let file = options
            .signing_secret_file
            .clone()
            .unwrap_or_else(|| PathBuf::from("data/secrets/document-signing.key"));
        let earlier: Result<Vec<_>, _> = options
            .earlier_signing_secrets
            .iter()
            .map(given_key)
            .collect();
        let signer = match (
            deployment_key(options.signing_secret.as_ref(), &file),
            earlier,
        ) {
            (Ok(secret), Ok(earlier)) => Some(signing::Signer::with_earlier(secret, earlier)),
            (Err(error), _) | (_, Err(error)) => {
                tracing::error!(error = %error, "a document-signing secret is unreadable");
                None
            }
        };
        let printers = channels.map(|channels| {
            let core = hmis_core_api::CoreClient::remembering(channels.core, CORE_MEMORY);
            app::Printers {
                encounters: hmis_encounters_api::EncountersPrinter::new(
                    channels.encounters,
                    channels.certificates,
                    core.clone(),
                ),
                inventory: hmis_inventory_api::InventoryPrinter::new(channels.inventory),
                statistics: hmis_statistics_api::StatisticsPrinter::new(channels.statistics),
                patients: hmis_patients_api::PatientsClient::new(channels.patients),
                core,
                iam: hmis_iam_api::IamClient::new(channels.iam),
            }
        });
        Self {
            archive: Arc::new(app::Archive {
                calls: Calls::new(database, clock, SCHEMA),
                outbox: Outbox::new(SCHEMA),
                max_upload: options.max_upload_bytes.unwrap_or(1 << 30),
                content,
                signer,
                printers,
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
