//! The verify command: every version's content read back and hashed again; a version whose
//! parts are missing, or whose bytes no longer give its SHA-256 and size, is named; so is, in
//! an object store, an object no version names (an upload cut short by a crash) or one a
//! deleted document left behind.

use std::collections::HashSet;

use hmis_platform::context::RequestId;
use uuid::Uuid;

use super::Archive;
use crate::error::Result;
use crate::store;

/// A version whose content is not what was stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub tenant_id: Uuid,
    pub document_id: Uuid,
    pub version: i32,
    /// "missing" (content gone), "altered" (the bytes give another hash or size),
    /// "unreferenced" (an object no version names) or "kept after deletion".
    pub problem: &'static str,
}

/// What the verify command found.
#[derive(Debug, Clone, Default)]
pub struct VerifyReport {
    /// Versions whose content was read back whole and matched.
    pub verified: usize,
    /// Versions of deleted documents (their content is gone by design).
    pub deleted: usize,
    pub findings: Vec<Finding>,
}

impl Archive {
    pub(crate) async fn verify(&self) -> Result<VerifyReport> {
        let database = self.calls.database();
        let mut report = VerifyReport::default();
        let mut named = HashSet::new();
        let mut deleted = HashSet::new();
        for (tenant_id, version) in store::all_versions(database.worker_pool()).await? {
            let mut tx = database.begin(tenant_id, &RequestId::generate()).await?;
            let document = store::get_document(&mut tx, version.document_id, false).await?;
            if let Some(key) = &version.object_key {
                named.insert(key.clone());
            }
            if document.deleted_at.is_some() {
                report.deleted += 1;
                deleted.extend(version.object_key.clone());
                continue;
            }
            let rehashed = self.content.rehash(&mut tx, &version).await?;
            let extra = self
                .content
                .part(&mut tx, &version, version.chunks)
                .await?
                .is_some()
                || self.content.longer_than_stored(&version).await?;
            drop(tx);
            let problem = match rehashed {
                None => Some("missing"),
                Some((size, sha256)) => {
                    let intact = !extra
                        && sha256 == version.sha256
                        && i64::try_from(size).is_ok_and(|size| size == version.size_bytes);
                    (!intact).then_some("altered")
                }
            };
            match problem {
                Some(problem) => report.findings.push(Finding {
                    tenant_id: tenant_id.as_uuid(),
                    document_id: version.document_id,
                    version: version.number,
                    problem,
                }),
                None => report.verified += 1,
            }
        }
        for key in self.content.keys().await? {
            let problem = if deleted.contains(&key) {
                "kept after deletion"
            } else if named.contains(&key) {
                continue;
            } else {
                "unreferenced"
            };
            // Objects not named as the archive names them are not the archive's.
            if let Some((tenant_id, document_id, version)) = object_of(&key) {
                report.findings.push(Finding {
                    tenant_id,
                    document_id,
                    version,
                    problem,
                });
            }
        }
        Ok(report)
    }
}

/// The tenant, document and version an object's key (`tenant/document/version.upload`) names.
fn object_of(key: &str) -> Option<(Uuid, Uuid, i32)> {
    let mut parts = key.split('/');
    let tenant = parts.next()?.parse().ok()?;
    let document = parts.next()?.parse().ok()?;
    let (version, upload) = parts.next()?.split_once('.')?;
    upload.parse::<Uuid>().ok()?;
    parts
        .next()
        .is_none()
        .then_some((tenant, document, version.parse().ok()?))
}
