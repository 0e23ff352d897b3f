//! The nursing record of an encounter: vital signs (coded in LOINC, in their units, within
//! what a living patient can show), nursing notes and care given. Only nurses write it
//! (`nursing.record`, in the ward); whoever reads the encounter reads it.

use chrono::{DateTime, Utc};
use hmis_platform::RequestContext;
use hmis_platform::call::Shown;
use hmis_platform::idempotency::RequestKey;
use hmis_proto::openhmis::encounters::v1 as pb;
use uuid::Uuid;

use super::Ward;
use crate::convert::{nursing_entry_to_pb, sign_kind_to_pb};
use crate::domain::nursing::SIGN_KINDS;
use crate::error::Result;
use crate::store::{self, NursingRow, StoredSign};

/// Nurses keep the nursing record.
pub(crate) const RECORD: &str = "nursing.record";

/// What a nurse writes in the record, parsed: the signs checked against their kinds.
pub(crate) enum Charted {
    VitalSigns(Vec<StoredSign>),
    Note(String),
    Care(String),
}

pub(crate) struct NursingWrite {
    pub(crate) key: RequestKey,
    pub(crate) encounter_id: Uuid,
    pub(crate) charted: Charted,
    pub(crate) observed: DateTime<Utc>,
}

impl Ward {
    /// Writes one entry of the nursing record (`rpc` names the call for idempotency).
    pub(crate) async fn chart<Req: prost::Message>(
        &self,
        context: &RequestContext,
        rpc: &str,
        message: &Req,
        write: NursingWrite,
    ) -> Result<pb::NursingEntry> {
        let now = self.calls.now();
        let method = Ward::method(rpc);
        let NursingWrite {
            key,
            encounter_id,
            charted,
            observed,
        } = write;
        let (kind, vital_signs, text) = match charted {
            Charted::VitalSigns(signs) => ("vital_signs", signs, String::new()),
            Charted::Note(text) => ("note", Vec::new(), text),
            Charted::Care(text) => ("care", Vec::new(), text),
        };
        (self.calls)
            .write(context, &method, &key, message, async |tx| {
                let encounter =
                    Ward::encounter_for_change(tx, context, encounter_id, RECORD).await?;
                let row = NursingRow {
                    id: Uuid::now_v7(),
                    encounter_id,
                    patient_id: encounter.patient_id,
                    kind: kind.to_owned(),
                    vital_signs: sqlx::types::Json(vital_signs),
                    text,
                    observed_at: observed,
                    recorded_by: context.user_id(),
                    recorded_at: now,
                };
                let stored = store::insert_nursing_entry(tx, &row).await?;
                super::audit_change(tx, context, encounter.patient_id, stored.id, now).await?;
                Ok(nursing_entry_to_pb(&stored))
            })
            .await
    }

    pub(crate) async fn nursing_record(
        &self,
        context: &RequestContext,
        encounter_id: Uuid,
    ) -> Result<pb::GetNursingRecordResponse> {
        let mut tx = self.read_tx(context).await?;
        let (encounter, access) = self
            .readable_encounter(&mut tx, context, encounter_id)
            .await?;
        let rows = store::nursing_entries(&mut tx, encounter_id).await?;
        self.commit_read(tx, context, Shown::patient(encounter.patient_id, &access))
            .await?;
        Ok(pb::GetNursingRecordResponse {
            entries: rows.iter().map(nursing_entry_to_pb).collect(),
            vital_sign_kinds: SIGN_KINDS.iter().map(sign_kind_to_pb).collect(),
        })
    }
}
