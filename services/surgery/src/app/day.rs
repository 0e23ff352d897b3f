//! The day of surgery: the WHO checklist's pauses, the milestones (into the room .. out of
//! it, which start and complete the operation), the operation's and the anaesthesia's
//! records (signed, then only amended, every version kept), and what the operation used,
//! issued to the patient through the inventory ledger.

use hmis_platform::call::Shown;
use hmis_platform::idempotency::RequestKey;
use hmis_platform::types::{Text, Version};
use hmis_proto::events::surgery as events;
use hmis_proto::openhmis::surgery::v1 as pb;

use super::*;
use crate::convert::{consumed_to_pb, operation_to_pb, record_to_pb};
use crate::domain::{
    ChecklistPhase, Milestone, OperationStatus, RecordContent, RecordKind, milestone_fits,
};
use crate::store::{self, ChecklistRow, MilestoneRow, OperationRow, RecordRow};

/// What a WriteRecord call asks for, parsed.
#[derive(Debug)]
pub(crate) struct Writing {
    pub(crate) key: RequestKey,
    pub(crate) id: Uuid,
    pub(crate) content: RecordContent,
    pub(crate) sign: bool,
    pub(crate) reason: Text,
    pub(crate) etag: Option<Version>,
}

/// What a RecordConsumption call asks for, parsed.
#[derive(Debug)]
pub(crate) struct Consumption {
    pub(crate) key: RequestKey,
    pub(crate) id: Uuid,
    pub(crate) warehouse_id: Uuid,
    pub(crate) lines: Vec<(Uuid, String)>,
}

/// How far in the future a milestone may be recorded (clocks in a theatre drift).
const CLOCK_SLACK_MINUTES: i64 = 2;

impl Surgery {
    /// The operation `id`, locked, in a department where the caller may `permission` (a
    /// refusal is audited after the rollback), with one of `statuses`.
    pub(super) async fn lock_for(
        tx: &mut TenantTx,
        context: &RequestContext,
        (id, permission): (Uuid, &str),
        statuses: &[OperationStatus],
    ) -> Result<OperationRow> {
        let row = store::get_operation(tx, id, true).await?;
        let target = Target::department(row.facility_id, row.department_id);
        context
            .authorize(permission, &target)
            .map_err(refused(vec![row.patient_id]))?;
        if !statuses.contains(&row.status) {
            return Err(Error::precondition(format!(
                "the operation is {}",
                row.status
            )));
        }
        Ok(row)
    }

    pub(crate) async fn confirm_checklist_phase(
        &self,
        context: &RequestContext,
        message: &pb::ConfirmChecklistPhaseRequest,
        (key, id, phase, items): (RequestKey, Uuid, ChecklistPhase, Vec<String>),
    ) -> Result<pb::ConfirmChecklistPhaseResponse> {
        let now = self.calls.now();
        let method = method("ConfirmChecklistPhase");
        self.calls
            .write(context, &method, &key, message, async |tx| {
                let open = [OperationStatus::Scheduled, OperationStatus::InProgress];
                let row = Self::lock_for(tx, context, (id, RECORD), &open).await?;
                let done = store::checklists_of(tx, &[id]).await?;
                if done.iter().any(|pause| pause.phase == phase) {
                    return Err(Error::precondition(format!("{phase} is already confirmed")));
                }
                if let Some(before) = phase.after()
                    && !done.iter().any(|pause| pause.phase == before)
                {
                    return Err(Error::precondition(format!(
                        "{before} must be confirmed first"
                    )));
                }
                let missing = phase
                    .missing(&items)
                    .map_err(|reason| Error::invalid("confirmed_items", reason))?;
                if !missing.is_empty() {
                    return Err(Error::invalid(
                        "confirmed_items",
                        format!("leaves out {}", missing.join(", ")),
                    ));
                }
                let pause = ChecklistRow {
                    operation_id: id,
                    phase,
                    confirmed_items: items.clone(),
                    confirmed_by: context.user_id(),
                    confirmed_at: now,
                };
                store::insert_checklist(tx, &pause).await?;
                store::set_status(tx, id, row.status).await?;
                super::record(tx, context, &[row.patient_id], now).await?;
                let record = store::operation_record(tx, id).await?;
                Ok(pb::ConfirmChecklistPhaseResponse {
                    operation: Some(operation_to_pb(&record)),
                })
            })
            .await
    }

    pub(crate) async fn record_milestone(
        &self,
        context: &RequestContext,
        message: &pb::RecordMilestoneRequest,
        (key, id, milestone, at): (RequestKey, Uuid, Milestone, Option<DateTime<Utc>>),
    ) -> Result<pb::RecordMilestoneResponse> {
        let now = self.calls.now();
        let at = at.unwrap_or(now);
        if at > now + chrono::Duration::minutes(CLOCK_SLACK_MINUTES) {
            return Err(Error::invalid("time", "must not be in the future"));
        }
        let method = method("RecordMilestone");
        self.calls
            .write(context, &method, &key, message, async |tx| {
                let (from, to) = milestone.moves();
                let row = Self::lock_for(tx, context, (id, RECORD), &[from]).await?;
                let before = store::operation_record(tx, id).await?;
                if let Some(phase) = milestone.needs()
                    && !before.checklist.iter().any(|pause| pause.phase == phase)
                {
                    return Err(Error::precondition(format!(
                        "the checklist's {phase} must be confirmed before {milestone}"
                    )));
                }
                let recorded: Vec<_> = before.times.iter().map(|t| (t.milestone, t.at)).collect();
                milestone_fits(milestone, at, &recorded).map_err(|reason| {
                    if reason.starts_with("must") {
                        Error::invalid("time", reason)
                    } else {
                        Error::precondition(reason)
                    }
                })?;
                let time = MilestoneRow {
                    operation_id: id,
                    milestone,
                    at,
                    recorded_by: context.user_id(),
                };
                store::insert_milestone(tx, &time).await?;
                store::set_status(tx, id, to).await?;
                if to == OperationStatus::Completed {
                    store::release_team(tx, id).await?;
                }
                let record = store::operation_record(tx, id).await?;
                let operation = operation_to_pb(&record);
                let aggregate = id.to_string();
                match milestone {
                    Milestone::IntoRoom => {
                        let event = pb::OperationStarted {
                            operation: Some(operation.clone()),
                        };
                        (self.outbox)
                            .publish(tx, events::OPERATION_STARTED, &aggregate, &event, now)
                            .await?;
                    }
                    Milestone::OutOfRoom => {
                        let event = pb::OperationCompleted {
                            operation: Some(operation.clone()),
                        };
                        (self.outbox)
                            .publish(tx, events::OPERATION_COMPLETED, &aggregate, &event, now)
                            .await?;
                    }
                    _ => {}
                }
                super::record(tx, context, &[row.patient_id], now).await?;
                Ok(pb::RecordMilestoneResponse {
                    operation: Some(operation),
                })
            })
            .await
    }

    pub(crate) async fn write_record(
        &self,
        context: &RequestContext,
        message: &pb::WriteRecordRequest,
        writing: Writing,
    ) -> Result<pb::WriteRecordResponse> {
        let method = method("WriteRecord");
        if let Some(replayed) = self
            .calls
            .replay(context, &method, &writing.key, message)
            .await?
        {
            return Ok(replayed);
        }
        if let RecordContent::Operation(note) = &writing.content {
            let field = "operation.performed_procedure_codes";
            self.directory
                .procedures(context, field, &note.performed)
                .await?;
        }
        let content = serde_json::to_value(&writing.content)
            .map_err(|_| Error::corrupt("operation record"))?;
        let kind = writing.content.kind();
        let now = self.calls.now();
        self.calls
            .write(context, &method, &writing.key, message, async |tx| {
                let statuses = [OperationStatus::InProgress, OperationStatus::Completed];
                let row = Self::lock_for(tx, context, (writing.id, RECORD), &statuses).await?;
                let versions = store::record_versions(tx, writing.id, kind).await?;
                let latest = versions.last().map(|version| i64::from(version.version));
                if writing.etag.map(|etag| etag.get()) != latest {
                    return Err(Error::Stale("record"));
                }
                if store::ever_signed(&versions) && writing.reason.as_str().is_empty() {
                    return Err(Error::invalid(
                        "amendment_reason",
                        "is required: the record is signed",
                    ));
                }
                let version = RecordRow {
                    operation_id: writing.id,
                    kind,
                    version: versions.last().map_or(1, |latest| latest.version + 1),
                    content: content.clone(),
                    signed: writing.sign,
                    amendment_reason: if store::ever_signed(&versions) {
                        writing.reason.as_str().to_owned()
                    } else {
                        String::new()
                    },
                    written_by: context.user_id(),
                    written_at: now,
                };
                store::insert_record(tx, &version).await?;
                super::record(tx, context, &[row.patient_id], now).await?;
                Ok(pb::WriteRecordResponse {
                    record: Some(record_to_pb(&version)?),
                })
            })
            .await
    }

    pub(crate) async fn list_record_versions(
        &self,
        context: &RequestContext,
        (id, kind): (Uuid, RecordKind),
    ) -> Result<pb::ListRecordVersionsResponse> {
        self.calls
            .read(context, async |tx| {
                let row = store::get_operation(tx, id, false).await?;
                let target = Target::department(row.facility_id, row.department_id);
                context
                    .authorize(READ, &target)
                    .map_err(refused(vec![row.patient_id]))?;
                let versions = store::record_versions(tx, id, kind).await?;
                let versions = versions.iter().map(record_to_pb).collect::<Result<_>>()?;
                Ok((
                    pb::ListRecordVersionsResponse { versions },
                    Shown::patients(vec![row.patient_id]),
                ))
            })
            .await
    }

    pub(crate) async fn record_consumption(
        &self,
        context: &RequestContext,
        message: &pb::RecordConsumptionRequest,
        consumption: Consumption,
    ) -> Result<pb::RecordConsumptionResponse> {
        let method = method("RecordConsumption");
        let key = &consumption.key;
        if let Some(replayed) = self.calls.replay(context, &method, key, message).await? {
            return Ok(replayed);
        }
        let statuses = [OperationStatus::InProgress, OperationStatus::Completed];
        let row = self
            .calls
            .transaction(context, async |tx| {
                Self::lock_for(tx, context, (consumption.id, RECORD), &statuses).await
            })
            .await?;
        // The ledger's own idempotency makes a retried call find the issue it made.
        let movements = (self.directory)
            .issue_to_patient(
                context,
                format!("{}/stock", key.as_str()),
                (consumption.warehouse_id, row.patient_id, row.id),
                &consumption.lines,
            )
            .await?;
        let now = self.calls.now();
        // The ledger's issue is the call's audited access to the patient (under this call's
        // method and request id); linking its movements here touches no patient data.
        self.calls
            .write(context, &method, key, message, async |tx| {
                let by = (context.user_id(), now);
                let (id, warehouse) = (consumption.id, consumption.warehouse_id);
                store::insert_consumption(tx, id, warehouse, &movements, by).await?;
                let consumed = store::consumed(tx, id).await?;
                Ok(pb::RecordConsumptionResponse {
                    consumed: consumed.iter().map(consumed_to_pb).collect(),
                    movement_ids: movements
                        .iter()
                        .map(|(movement, _, _)| movement.to_string())
                        .collect(),
                })
            })
            .await
    }

    pub(crate) async fn set_procedure_pack(
        &self,
        context: &RequestContext,
        message: &pb::SetProcedurePackRequest,
        (key, code, lines): (RequestKey, String, Vec<(Uuid, String)>),
    ) -> Result<pb::SetProcedurePackResponse> {
        let method = method("SetProcedurePack");
        if let Some(replayed) = self.calls.replay(context, &method, &key, message).await? {
            return Ok(replayed);
        }
        self.directory
            .procedures(context, "procedure_code", std::slice::from_ref(&code))
            .await?;
        let now = self.calls.now();
        self.calls
            .write(context, &method, &key, message, async |tx| {
                store::set_pack(tx, &code, &lines).await?;
                super::record(tx, context, &[], now).await?;
                let pack = store::packs(tx, std::slice::from_ref(&code)).await?;
                Ok(pb::SetProcedurePackResponse {
                    procedure_code: code.clone(),
                    lines: pack.iter().map(consumed_to_pb).collect(),
                })
            })
            .await
    }

    pub(crate) async fn get_operation_pack(
        &self,
        context: &RequestContext,
        id: Uuid,
    ) -> Result<pb::GetOperationPackResponse> {
        self.calls
            .transaction(context, async |tx| {
                let record = store::operation_record(tx, id).await?;
                let row = &record.row;
                let target = Target::department(row.facility_id, row.department_id);
                context.authorize(READ, &target)?;
                let codes: Vec<String> = record.procedures.iter().map(|p| p.code.clone()).collect();
                let pack = store::packs(tx, &codes).await?;
                let consumed = store::consumed(tx, id).await?;
                Ok(pb::GetOperationPackResponse {
                    lines: pack.iter().map(consumed_to_pb).collect(),
                    consumed: consumed.iter().map(consumed_to_pb).collect(),
                })
            })
            .await
    }
}
