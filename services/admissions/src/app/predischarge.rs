//! See the module documentation of `crate::app`. Pre-discharge: the physician announces the
//! discharge (type, planned time, destination) once the stay has its principal diagnosis;
//! encounters refuses new orders for the stay while it stands; it is withdrawn with a reason.

use super::*;
use crate::store::PlannedDischargeColumns;

/// What an AnnounceDischarge call asks for, parsed.
#[derive(Debug)]
pub(crate) struct Announcement {
    pub(crate) key: RequestKey,
    pub(crate) id: Uuid,
    pub(crate) kind: DischargeType,
    /// `None`: now.
    pub(crate) planned_time: Option<DateTime<Utc>>,
    pub(crate) destination: Line,
    pub(crate) etag: Option<Version>,
}

impl Adt {
    pub(crate) async fn announce_discharge(
        &self,
        context: &RequestContext,
        message: &pb::AnnounceDischargeRequest,
        announcement: Announcement,
    ) -> Result<pb::AnnounceDischargeResponse> {
        let Announcement {
            key,
            id,
            kind,
            planned_time,
            destination,
            etag,
        } = announcement;
        let now = self.calls.now();
        let planned_time = planned_time.unwrap_or(now);
        if planned_time < now - chrono::Duration::minutes(5) {
            let mut violations = Violations::default();
            violations.add(
                "discharge.planned_time",
                "must not be in the past (the discharge itself records when she left)",
            );
            return Err(Error::from(violations));
        }
        let response = self
            .calls
            .write(context, &method("AnnounceDischarge"), &key, message, async |tx| {
                let row = lock_for_change(tx, context, id, ADMIT, Must::BeOpen, etag).await?;
                if row.planned_discharge_type.is_some() {
                    return Err(Error::precondition(
                        "the discharge is already announced; withdraw it to announce another",
                    ));
                }
                if !store::has_principal_diagnosis(tx, id).await? {
                    return Err(Error::precondition(
                        "the stay has no principal diagnosis: record it in the stay's encounter \
                         before announcing the discharge",
                    ));
                }
                let row = store::update_admission(
                    tx,
                    id,
                    &AdmissionChange {
                        planned_discharge: Some(Some(PlannedDischargeColumns {
                            kind,
                            time: planned_time,
                            destination: destination.as_str().to_owned(),
                            by: context.user_id(),
                            announced_at: now,
                        })),
                        ..Default::default()
                    },
                    now,
                )
                .await?;
                let admission = Adt::to_pb(tx, &row).await?;
                events::publish(
                    self,
                    tx,
                    events::DISCHARGE_ANNOUNCED,
                    &row,
                    &pb::DischargeAnnounced {
                        admission: Some(admission.clone()),
                    },
                    now,
                )
                .await?;
                audit::record(tx, context, &AuditEntry::ok(&[row.patient_id]), now).await?;
                Ok(pb::AnnounceDischargeResponse {
                    admission: Some(admission),
                })
            })
            .await?;
        Ok(response)
    }

    pub(crate) async fn withdraw_discharge(
        &self,
        context: &RequestContext,
        message: &pb::WithdrawDischargeRequest,
        change: ReasonedChange,
    ) -> Result<pb::WithdrawDischargeResponse> {
        let ReasonedChange {
            key,
            id,
            reason,
            etag,
        } = change;
        let now = self.calls.now();
        let response = self
            .calls
            .write(
                context,
                &method("WithdrawDischarge"),
                &key,
                message,
                async |tx| {
                    let row = lock_for_change(tx, context, id, ADMIT, Must::BeOpen, etag).await?;
                    if row.planned_discharge_type.is_none() {
                        return Err(Error::precondition(
                            "no discharge is announced for this stay",
                        ));
                    }
                    let row = store::update_admission(
                        tx,
                        id,
                        &AdmissionChange {
                            planned_discharge: Some(None),
                            ..Default::default()
                        },
                        now,
                    )
                    .await?;
                    let admission = Adt::to_pb(tx, &row).await?;
                    events::publish(
                        self,
                        tx,
                        events::DISCHARGE_WITHDRAWN,
                        &row,
                        &pb::DischargeWithdrawn {
                            admission: Some(admission.clone()),
                            reason: reason.as_str().to_owned(),
                        },
                        now,
                    )
                    .await?;
                    audit::record(tx, context, &AuditEntry::ok(&[row.patient_id]), now).await?;
                    Ok(pb::WithdrawDischargeResponse {
                        admission: Some(admission),
                    })
                },
            )
            .await?;
        Ok(response)
    }
}

/// The most announced discharges the desk's worklist shows at once.
const WORKLIST_LIMIT: i64 = 200;

fn hold_to_pb(hold: crate::directory::Hold) -> pb::DischargeHold {
    use crate::directory::Hold;
    let (kind, detail, quantity) = match hold {
        Hold::LaboratoryResults(orders) => (
            pb::DischargeHoldKind::LaboratoryResults,
            orders.join("; "),
            orders.len().to_string(),
        ),
        Hold::ImagingReports(orders) => (
            pb::DischargeHoldKind::ImagingReports,
            orders.join("; "),
            orders.len().to_string(),
        ),
        Hold::UnpaidBalance(owed) => (
            pb::DischargeHoldKind::UnpaidBalance,
            format!("{owed} owed on the stay's account"),
            owed,
        ),
        Hold::Unknown(module, why) => (
            pb::DischargeHoldKind::Unknown,
            format!("{module}: {why}"),
            String::new(),
        ),
    };
    pb::DischargeHold {
        kind: kind as i32,
        detail,
        quantity,
    }
}

impl Adt {
    /// The discharge desk's worklist of a facility: its announced discharges, each with what
    /// still holds it up (asked of the other modules on the caller's behalf, all patients at
    /// once).
    pub(crate) async fn list_discharge_worklist(
        &self,
        context: &RequestContext,
        facility_id: Uuid,
    ) -> Result<pb::ListDischargeWorklistResponse> {
        context.authorize(READ, &Target::facility(facility_id))?;
        let mut tx = self.read_tx(context).await?;
        let rows = store::announced_discharges(&mut tx, facility_id, WORKLIST_LIMIT).await?;
        let mut admissions = Vec::with_capacity(rows.len());
        for row in &rows {
            admissions.push(Adt::to_pb(&mut tx, row).await?);
        }
        let patients: Vec<Uuid> = rows.iter().map(|row| row.patient_id).collect();
        self.commit_read(tx, context, Shown::patients(patients))
            .await?;
        let holds = futures::future::join_all(rows.iter().map(|row| {
            self.directory
                .discharge_holds(context, row.patient_id, row.id)
        }))
        .await;
        Ok(pb::ListDischargeWorklistResponse {
            entries: admissions
                .into_iter()
                .zip(holds)
                .zip(&rows)
                .map(|((admission, holds), row)| {
                    let mut holds: Vec<pb::DischargeHold> =
                        holds.into_iter().map(hold_to_pb).collect();
                    if row.discharge_summary_at.is_none() {
                        holds.insert(
                            0,
                            pb::DischargeHold {
                                kind: pb::DischargeHoldKind::DischargeSummary as i32,
                                detail: "the discharge summary is not written".to_owned(),
                                quantity: String::new(),
                            },
                        );
                    }
                    pb::DischargeWorklistEntry {
                        admission: Some(admission),
                        holds,
                    }
                })
                .collect(),
        })
    }
}
