//! The verify command: every version's content read back and hashed again; a version whose
//! chunks are missing, or whose bytes no longer give its SHA-256 and size, is named.

use hmis_platform::context::RequestId;
use uuid::Uuid;

use super::Archive;
use crate::domain;
use crate::error::Result;
use crate::store;

/// A version whose content is not what was stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub tenant_id: Uuid,
    pub document_id: Uuid,
    pub version: i32,
    /// "missing" (chunks gone) or "altered" (the bytes give another hash or size).
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
        for (tenant_id, version) in store::all_versions(database.worker_pool()).await? {
            let mut tx = database.begin(tenant_id, &RequestId::generate()).await?;
            let document = store::get_document(&mut tx, version.document_id, false).await?;
            if document.deleted_at.is_some() {
                report.deleted += 1;
                continue;
            }
            let mut rehash = domain::Rehash::default();
            let mut missing = false;
            for seq in 0..version.chunks {
                match store::chunk(&mut tx, (version.document_id, version.number, seq)).await? {
                    Some(bytes) => rehash.update(&bytes),
                    None => {
                        missing = true;
                        break;
                    }
                }
            }
            let extra = store::chunk(
                &mut tx,
                (version.document_id, version.number, version.chunks),
            )
            .await?
            .is_some();
            drop(tx);
            let problem = if missing {
                Some("missing")
            } else {
                let (size, sha256) = rehash.finish();
                let intact = !extra
                    && sha256 == version.sha256
                    && i64::try_from(size).is_ok_and(|size| size == version.size_bytes);
                (!intact).then_some("altered")
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
        Ok(report)
    }
}
