//! See the module documentation of `crate::app`.

use super::*;

/// What a RegisterEmergencyVisit call asks for, parsed.
#[derive(Debug)]
pub(crate) struct Arrival {
    pub(crate) key: RequestKey,
    pub(crate) patient_id: Uuid,
    pub(crate) department_id: Uuid,
    pub(crate) arrival: DateTime<Utc>,
    pub(crate) mode: ArrivalMode,
    pub(crate) triage: TriageLevel,
    pub(crate) complaint: Text,
    pub(crate) referral: serde_json::Value,
}

/// What a CloseEmergencyVisit call asks for, parsed.
#[derive(Debug)]
pub(crate) struct Closing {
    pub(crate) key: RequestKey,
    pub(crate) id: Uuid,
    pub(crate) outcome: EmergencyOutcome,
    pub(crate) close_time: Option<DateTime<Utc>>,
    pub(crate) note: Text,
}

/// What a ListEmergencyVisits call asks for, parsed.
#[derive(Debug)]
pub(crate) struct VisitPage {
    pub(crate) department_id: Uuid,
    pub(crate) open_only: bool,
    pub(crate) size: PageSize,
    pub(crate) after: Option<(DateTime<Utc>, Uuid)>,
}

impl Adt {
    pub(crate) async fn register_emergency_visit(
        &self,
        context: &RequestContext,
        message: &pb::RegisterEmergencyVisitRequest,
        arrival: Arrival,
    ) -> Result<pb::RegisterEmergencyVisitResponse> {
        let Arrival {
            key,
            patient_id,
            department_id,
            arrival,
            mode,
            triage,
            complaint,
            referral,
        } = arrival;
        let now = self.calls.now();
        if let Some(replayed) = self
            .calls
            .replay(context, &method("RegisterEmergencyVisit"), &key, message)
            .await?
        {
            return Ok(replayed);
        }
        let ward = self.directory.ward(context, department_id).await?;
        if ward.kind != WardKind::Emergency || !ward.active {
            return Err(Error::precondition(format!(
                "department {} is not an emergency unit in service",
                ward.name
            )));
        }
        let patient = self.patient(context, patient_id).await?;
        check_admittable(&patient)?;
        check_after_birth(&patient, "visit.arrival_time", arrival)?;
        if let Err(denied) =
            context.authorize(ADMIT, &Target::department(ward.facility_id, ward.id))
        {
            return Err(self.calls.refuse(context, &[patient_id], denied).await);
        }
        let response = self
            .calls
            .write(
                context,
                &method("RegisterEmergencyVisit"),
                &key,
                message,
                async |tx| {
                    self.backdating(tx, context, "visit.arrival_time", arrival, now)
                        .await?;
                    let row = store::insert_visit(
                        tx,
                        &NewVisit {
                            id: Uuid::now_v7(),
                            patient_id,
                            facility_id: ward.facility_id,
                            department_id,
                            arrival_time: arrival,
                            arrival_mode: mode,
                            referral: &referral,
                            triage_level: triage.get(),
                            chief_complaint: complaint.as_str(),
                        },
                        now,
                    )
                    .await?;
                    audit::record(tx, context, &AuditEntry::ok(&[patient_id]), now).await?;
                    Ok(pb::RegisterEmergencyVisitResponse {
                        visit: Some(visit_to_pb(&row)),
                        unpaid_debt: patient.unpaid_debt,
                    })
                },
            )
            .await?;
        Ok(response)
    }

    pub(crate) async fn close_emergency_visit(
        &self,
        context: &RequestContext,
        message: &pb::CloseEmergencyVisitRequest,
        closing: Closing,
    ) -> Result<pb::CloseEmergencyVisitResponse> {
        let Closing {
            key,
            id,
            outcome,
            close_time,
            note,
        } = closing;
        let now = self.calls.now();
        let response = self
            .calls
            .write(
                context,
                &method("CloseEmergencyVisit"),
                &key,
                message,
                async |tx| {
                    let row = store::get_visit(tx, id, Lock::ForUpdate).await?;
                    context
                        .authorize(
                            ADMIT,
                            &Target::department(row.facility_id, row.department_id),
                        )
                        .map_err(refused(row.patient_id))?;
                    if row.outcome.is_some() {
                        return Err(Error::precondition("the emergency visit is already closed"));
                    }
                    let at = self
                        .movement_time_in(
                            tx,
                            context,
                            "close_time",
                            (close_time, Some(row.arrival_time)),
                            now,
                        )
                        .await?;
                    let closed =
                        store::close_visit(tx, id, outcome, at, None, note.as_str(), now).await?;
                    events::visit_closed(self, tx, &closed, now).await?;
                    audit::record(tx, context, &AuditEntry::ok(&[row.patient_id]), now).await?;
                    Ok(pb::CloseEmergencyVisitResponse {
                        visit: Some(visit_to_pb(&closed)),
                    })
                },
            )
            .await?;
        Ok(response)
    }

    pub(crate) async fn list_emergency_visits(
        &self,
        context: &RequestContext,
        page: VisitPage,
    ) -> Result<pb::ListEmergencyVisitsResponse> {
        let VisitPage {
            department_id,
            open_only,
            size,
            after,
        } = page;
        let ward = self.directory.ward(context, department_id).await?;
        context.authorize(READ, &Target::department(ward.facility_id, ward.id))?;
        let mut tx = self.read_tx(context).await?;
        let rows = store::list_visits(&mut tx, department_id, open_only, after, size.fetch_limit())
            .await?;
        let (rows, next_page_token) = finish_page(rows, size, |row| (row.arrival_time, row.id));
        let ids: Vec<Uuid> = rows.iter().map(|row| row.patient_id).collect();
        self.commit_read(tx, context, Shown::patients(ids)).await?;
        Ok(pb::ListEmergencyVisitsResponse {
            visits: rows.iter().map(visit_to_pb).collect(),
            next_page_token,
        })
    }
}

impl Adt {
    pub(crate) async fn get_emergency_visit(
        &self,
        context: &RequestContext,
        id: Uuid,
    ) -> Result<pb::GetEmergencyVisitResponse> {
        let mut tx = self.read_tx(context).await?;
        let row = store::get_visit(&mut tx, id, Lock::None).await?;
        let access = match context.authorize_patient(
            READ,
            &Target::department(row.facility_id, row.department_id),
        ) {
            Ok(access) => access,
            Err(denied) => {
                drop(tx);
                return Err(self.calls.refuse(context, &[row.patient_id], denied).await);
            }
        };
        self.commit_read(tx, context, Shown::patient(row.patient_id, &access))
            .await?;
        Ok(pb::GetEmergencyVisitResponse {
            visit: Some(visit_to_pb(&row)),
        })
    }
}
