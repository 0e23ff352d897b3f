//! Merging a duplicate record into its survivor, and undoing it: the identifiers move, both
//! records get a version, the event is published and the change is on record.

use chrono::{DateTime, Utc};
use hmis_platform::audit::{self, AuditEntry};
use hmis_platform::idempotency::RequestKey;
use hmis_platform::types::{Text, Version};
use hmis_platform::wire::timestamp;
use hmis_platform::{RequestContext, TenantTx};
use hmis_proto::openhmis::patients::v1 as pb;
use tonic::Status;
use uuid::Uuid;

use super::{CONFIDENTIAL, PATIENTS_MERGED, PATIENTS_UNMERGED, Registry, sees_confidential};
use crate::convert::{changed_fields, patient_to_pb};
use crate::error::Error;
use crate::store::{self, Lock, PatientRow};

/// A duplicate folded into its survivor, each as the desk read it.
pub(crate) struct Merge {
    pub(crate) key: RequestKey,
    pub(crate) survivor_id: Uuid,
    pub(crate) merged_id: Uuid,
    pub(crate) survivor_version: Version,
    pub(crate) merged_version: Version,
    pub(crate) reason: Text,
}

/// A merge undone: the duplicate restored.
pub(crate) struct Unmerge {
    pub(crate) key: RequestKey,
    pub(crate) merged_id: Uuid,
    pub(crate) reason: Text,
}

/// The two records of a merge, as they were before it changed them.
type Pair = [(PatientRow, Vec<store::IdentifierRow>); 2];

impl Registry {
    /// Locks a survivor and a duplicate, always in id order (crossed merges of one pair then
    /// wait instead of deadlocking), and refuses a caller who may not see either of them.
    async fn lock_pair(
        &self,
        tx: &mut TenantTx,
        context: &RequestContext,
        survivor_id: Uuid,
        merged_id: Uuid,
    ) -> Result<Pair, Error> {
        let first = store::get_patient(tx, survivor_id.min(merged_id), Lock::ForUpdate).await?;
        let second = store::get_patient(tx, survivor_id.max(merged_id), Lock::ForUpdate).await?;
        let pair = if first.0.id == survivor_id {
            [first, second]
        } else {
            [second, first]
        };
        if pair.iter().any(|(row, _)| row.confidential) && !sees_confidential(context) {
            return Err(Error::refused(
                Status::permission_denied(format!(
                    "a record is confidential: missing permission {CONFIDENTIAL}"
                )),
                vec![survivor_id, merged_id],
            ));
        }
        Ok(pair)
    }

    /// After a merge or an unmerge moved identifiers: the duplicate points at `merged_into`
    /// (or at nobody), and both records get a version naming what changed.
    async fn reversion_pair(
        &self,
        tx: &mut TenantTx,
        context: &RequestContext,
        before: &Pair,
        merged_into: Option<Uuid>,
        kind: pb::ChangeKind,
        now: DateTime<Utc>,
    ) -> Result<[pb::Patient; 2], Error> {
        let today = now.date_naive();
        let mut after: [pb::Patient; 2] = Default::default();
        for (index, (old_row, old_identifiers)) in before.iter().enumerate() {
            let duplicate = index == 1;
            let into = if duplicate { merged_into } else { None };
            let row = store::touch_patient(tx, old_row.id, into, now).await?;
            let identifiers = store::identifiers_of(tx, old_row.id).await?;
            let new = patient_to_pb(&row, &identifiers, today)?;
            let mut changed =
                changed_fields(&patient_to_pb(old_row, old_identifiers, today)?, &new);
            if duplicate {
                changed.push("merged_into_id".to_owned());
            }
            self.record_version(tx, context, &new, &row, (kind, changed), now)
                .await?;
            after[index] = new;
        }
        Ok(after)
    }
}

impl Registry {
    pub(crate) async fn merge_patients(
        &self,
        context: &RequestContext,
        message: &pb::MergePatientsRequest,
        merge: Merge,
    ) -> Result<pb::MergePatientsResponse, Error> {
        let now = self.calls.now();
        let (survivor_id, merged_id) = (merge.survivor_id, merge.merged_id);
        let response = self
            .write(context, "MergePatients", &merge.key, message, async |tx| {
                let pair = self.lock_pair(tx, context, survivor_id, merged_id).await?;
                for (row, _) in &pair {
                    if let Some(into) = row.merged_into {
                        return Err(Error::MergedAway(into));
                    }
                }
                if Version::from_db(pair[0].0.version) != merge.survivor_version
                    || Version::from_db(pair[1].0.version) != merge.merged_version
                {
                    return Err(Error::Stale);
                }
                let user = context.user_id();
                let reason = merge.reason.as_str();
                let merge_id = store::merge(tx, survivor_id, merged_id, reason, user, now).await?;
                let kind = pb::ChangeKind::Merged;
                let [survivor, merged] = self
                    .reversion_pair(tx, context, &pair, Some(survivor_id), kind, now)
                    .await?;
                let event = pb::PatientsMerged {
                    merge_id: merge_id.to_string(),
                    survivor_id: survivor_id.to_string(),
                    merged_id: merged_id.to_string(),
                    merge_time: timestamp(now),
                };
                let subject = merged_id.to_string();
                (self
                    .outbox
                    .publish(tx, PATIENTS_MERGED, &subject, &event, now))
                .await?;
                let patients = [survivor_id, merged_id];
                let entry = AuditEntry::ok(&patients);
                audit::record(tx, context, &entry, now).await?;
                Ok(pb::MergePatientsResponse {
                    survivor: Some(survivor),
                    merged: Some(merged),
                    merge_id: merge_id.to_string(),
                })
            })
            .await?;
        tracing::info!(%survivor_id, %merged_id, "patients merged");
        Ok(response)
    }

    pub(crate) async fn unmerge_patient(
        &self,
        context: &RequestContext,
        message: &pb::UnmergePatientRequest,
        unmerge: Unmerge,
    ) -> Result<pb::UnmergePatientResponse, Error> {
        let now = self.calls.now();
        let merged_id = unmerge.merged_id;
        let response = self
            .write(
                context,
                "UnmergePatient",
                &unmerge.key,
                message,
                async |tx| {
                    let merge =
                        store::open_merge_of(tx, merged_id)
                            .await?
                            .ok_or(Error::Precondition(
                                "the patient is not merged into another",
                            ))?;
                    let survivor_id = merge.survivor_id;
                    let pair = self.lock_pair(tx, context, survivor_id, merged_id).await?;
                    let user = context.user_id();
                    store::unmerge(tx, &merge, unmerge.reason.as_str(), user, now).await?;
                    let kind = pb::ChangeKind::Unmerged;
                    let [survivor, restored] = self
                        .reversion_pair(tx, context, &pair, None, kind, now)
                        .await?;
                    let event = pb::PatientsUnmerged {
                        merge_id: merge.id.to_string(),
                        survivor_id: survivor_id.to_string(),
                        restored_id: merged_id.to_string(),
                        unmerge_time: timestamp(now),
                    };
                    let subject = merged_id.to_string();
                    (self
                        .outbox
                        .publish(tx, PATIENTS_UNMERGED, &subject, &event, now))
                    .await?;
                    let patients = [survivor_id, merged_id];
                    let entry = AuditEntry::ok(&patients);
                    audit::record(tx, context, &entry, now).await?;
                    Ok(pb::UnmergePatientResponse {
                        survivor: Some(survivor),
                        restored: Some(restored),
                    })
                },
            )
            .await?;
        tracing::info!(%merged_id, "merge undone");
        Ok(response)
    }
}
