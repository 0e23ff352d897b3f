//! The per-tenant hash chain over the audit trail.
//!
//! Records are inserted by every module without coordination; chaining them at insert time
//! would serialise every audited call of a tenant on the chain's head until commit. Instead a
//! sealer chains them afterwards, in commit order, reading only what can no longer be
//! overtaken ([`hmis_platform::db::commit_ordered_after`], as the outbox does). Entry n of a tenant stores
//! `chain_hash[n] = sha256(chain_hash[n-1] || record_hash[n])`, where `record_hash` covers every
//! field of the record, length-prefixed. Verification recomputes both from the records.

use std::collections::HashMap;

use chrono::{DateTime, SecondsFormat, Utc};
use sha2::{Digest, Sha256};
use sqlx::{FromRow, PgConnection, PgPool};

use crate::store;
use uuid::Uuid;

/// An audit record as stored.
#[derive(Debug, Clone, FromRow)]
pub struct StoredRecord {
    pub tenant_id: Uuid,
    pub record_id: Uuid,
    pub occurred_at: DateTime<Utc>,
    pub user_id: Uuid,
    pub username: String,
    pub method: String,
    pub patient_ids: Vec<Uuid>,
    pub resource_ids: Vec<String>,
    pub outcome: String,
    pub client_addr: String,
    pub request_id: String,
    pub break_glass_reason: String,
}

pub const RECORD_COLUMNS: &str = "tenant_id, record_id, occurred_at, user_id, username, method, \
     patient_ids, resource_ids, outcome, client_addr, request_id, break_glass_reason";

/// The hash of everything a record says. Each field is length-prefixed, so no two different
/// records can serialise alike.
pub fn record_hash(record: &StoredRecord) -> Vec<u8> {
    let mut hasher = Sha256::new();
    let mut field = |bytes: &[u8]| {
        hasher.update((bytes.len() as u64).to_be_bytes());
        hasher.update(bytes);
    };
    field(record.tenant_id.as_bytes());
    field(record.record_id.as_bytes());
    field(
        record
            .occurred_at
            .to_rfc3339_opts(SecondsFormat::Micros, true)
            .as_bytes(),
    );
    field(record.user_id.as_bytes());
    field(record.username.as_bytes());
    field(record.method.as_bytes());
    field(&(record.patient_ids.len() as u64).to_be_bytes());
    for patient_id in &record.patient_ids {
        field(patient_id.as_bytes());
    }
    field(&(record.resource_ids.len() as u64).to_be_bytes());
    for resource_id in &record.resource_ids {
        field(resource_id.as_bytes());
    }
    field(record.outcome.as_bytes());
    field(record.client_addr.as_bytes());
    field(record.request_id.as_bytes());
    field(record.break_glass_reason.as_bytes());
    hasher.finalize().to_vec()
}

pub fn chain_hash(previous: &[u8], record_hash: &[u8]) -> Vec<u8> {
    let mut hasher = Sha256::new();
    hasher.update(previous);
    hasher.update(record_hash);
    hasher.finalize().to_vec()
}

/// The hash the first entry of every tenant's chain follows.
pub const GENESIS: [u8; 32] = [0; 32];

/// A record the sealer has not chained yet, with its place in commit order.
#[derive(FromRow)]
pub struct PendingRecord {
    pub txid: String,
    pub id: i64,
    #[sqlx(flatten)]
    pub record: StoredRecord,
}

/// Seals every record that can be sealed now, in batches; returns how many. Runs as the
/// worker role. Concurrent sealers (several processes) take turns on the sealer row.
pub async fn seal_pending(pool: &PgPool, now: DateTime<Utc>) -> Result<usize, sqlx::Error> {
    let mut sealed = 0;
    loop {
        let batch = seal_batch(pool, now, 1000).await?;
        sealed += batch;
        if batch == 0 {
            return Ok(sealed);
        }
    }
}

async fn seal_batch(pool: &PgPool, now: DateTime<Utc>, limit: i64) -> Result<usize, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let (last_txid, last_id) = store::lock_sealer(&mut tx).await?;
    let pending = store::committed_after(&mut tx, &last_txid, last_id, limit).await?;
    let Some(last) = pending.last() else {
        return Ok(0);
    };
    let (new_txid, new_id) = (last.txid.clone(), last.id);
    let mut heads: HashMap<Uuid, (i64, Vec<u8>)> = HashMap::new();
    for pending_record in &pending {
        let record = &pending_record.record;
        let (seq, previous) = match heads.get(&record.tenant_id) {
            Some(head) => head.clone(),
            None => (store::chain_head(&mut tx, record.tenant_id).await?)
                .unwrap_or((0, GENESIS.to_vec())),
        };
        let hash = record_hash(record);
        let chained = chain_hash(&previous, &hash);
        let entry = ChainEntry {
            seq: seq + 1,
            record_id: record.record_id,
            record_hash: hash,
            chain_hash: chained.clone(),
        };
        store::insert_chain_entry(&mut tx, record.tenant_id, &entry, now).await?;
        heads.insert(record.tenant_id, (seq + 1, chained));
    }
    store::advance_sealer(&mut tx, &new_txid, new_id).await?;
    tx.commit().await?;
    Ok(pending.len())
}

/// What verification found wrong, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The record no longer matches the hash sealed for it.
    Altered { seq: i64, record_id: Uuid },
    /// The sealed record is gone.
    Removed { seq: i64, record_id: Uuid },
    /// The chain entry does not follow from its predecessor (or a position is missing).
    ChainBroken { seq: i64, record_id: Uuid },
    /// A record the sealer has passed has no chain entry.
    Unchained { record_id: Uuid },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub tenant_id: Uuid,
    pub checked: i64,
    pub problems: Vec<Problem>,
}

/// One position of a tenant's chain.
#[derive(FromRow)]
pub struct ChainEntry {
    pub seq: i64,
    pub record_id: Uuid,
    pub record_hash: Vec<u8>,
    pub chain_hash: Vec<u8>,
}

/// Verifies `tenant_id`'s chain over `connection` (a tenant transaction for the service, a
/// worker connection for the command line).
pub async fn verify(connection: &mut PgConnection, tenant_id: Uuid) -> Result<Report, sqlx::Error> {
    let entries = store::chain_of(connection, tenant_id).await?;
    let records: HashMap<Uuid, StoredRecord> = (store::records_of(connection, tenant_id))
        .await?
        .into_iter()
        .map(|record| (record.record_id, record))
        .collect();

    let mut problems = Vec::new();
    let mut previous = GENESIS.to_vec();
    for (position, entry) in entries.iter().enumerate() {
        let expected_seq = i64::try_from(position).unwrap_or(i64::MAX) + 1;
        if entry.seq != expected_seq
            || chain_hash(&previous, &entry.record_hash) != entry.chain_hash
        {
            problems.push(Problem::ChainBroken {
                seq: entry.seq,
                record_id: entry.record_id,
            });
        }
        match records.get(&entry.record_id) {
            None => problems.push(Problem::Removed {
                seq: entry.seq,
                record_id: entry.record_id,
            }),
            Some(record) if record_hash(record) != entry.record_hash => {
                problems.push(Problem::Altered {
                    seq: entry.seq,
                    record_id: entry.record_id,
                })
            }
            Some(_) => {}
        }
        previous = entry.chain_hash.clone();
    }

    // Records the sealer has passed must all be chained.
    let unchained = store::unchained(connection, tenant_id).await?;
    problems.extend(
        unchained
            .into_iter()
            .map(|record_id| Problem::Unchained { record_id }),
    );
    Ok(Report {
        tenant_id,
        checked: i64::try_from(entries.len()).unwrap_or(i64::MAX),
        problems,
    })
}

/// Verifies every tenant's chain (worker role); for `openhmis audit verify`.
pub async fn verify_all(pool: &PgPool) -> Result<Vec<Report>, sqlx::Error> {
    let tenants = store::audited_tenants(pool).await?;
    let mut connection = pool.acquire().await?;
    let mut reports = Vec::new();
    for tenant_id in tenants {
        reports.push(verify(&mut connection, tenant_id).await?);
    }
    Ok(reports)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> StoredRecord {
        StoredRecord {
            tenant_id: Uuid::nil(),
            record_id: Uuid::from_u128(7),
            occurred_at: DateTime::from_timestamp(1_800_000_000, 123_000).unwrap_or_default(),
            user_id: Uuid::from_u128(9),
            username: "nurse".to_owned(),
            method: "/x".to_owned(),
            patient_ids: vec![Uuid::from_u128(1)],
            resource_ids: vec!["a".to_owned()],
            outcome: "OK".to_owned(),
            client_addr: String::new(),
            request_id: "r".to_owned(),
            break_glass_reason: String::new(),
        }
    }

    #[test]
    fn every_field_counts_and_fields_cannot_be_shifted() {
        let base = record_hash(&record());
        let mut changed = record();
        changed.outcome = "PERMISSION_DENIED".to_owned();
        assert_ne!(record_hash(&changed), base);
        let mut shifted = record();
        shifted.resource_ids = vec![];
        shifted.username = "nursea".to_owned();
        assert_ne!(record_hash(&shifted), base);
        let mut more_patients = record();
        more_patients.patient_ids.push(Uuid::from_u128(2));
        assert_ne!(record_hash(&more_patients), base);
    }
}
