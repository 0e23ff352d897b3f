//! Booking interventions: book (an emergency may bump elective bookings and may override
//! privileges with a reason), reschedule, cancel, and the day's theatre list.

use hmis_platform::call::Shown;
use hmis_platform::idempotency::RequestKey;
use hmis_platform::types::{Text, Version};
use hmis_proto::events::surgery as events;
use hmis_proto::openhmis::surgery::v1 as pb;

use super::*;
use crate::convert::{operation_to_pb, session_to_pb};
use crate::domain::{
    AnaesthesiaType, Grade, Held, OperationStatus, Priority, Slot, Team, beyond_privileges,
};
use crate::store::{self, NewOperation, OperationRecord, OperationRow, OverrideRow};

/// What a BookOperation call asks for, parsed.
#[derive(Debug)]
pub(crate) struct Booking {
    pub(crate) key: RequestKey,
    pub(crate) theatre_id: Uuid,
    pub(crate) patient_id: Uuid,
    pub(crate) admission_id: Option<Uuid>,
    pub(crate) slot: Slot,
    pub(crate) priority: Priority,
    pub(crate) anaesthesia: AnaesthesiaType,
    pub(crate) codes: Vec<String>,
    pub(crate) team: Team,
    /// Only for an emergency (the parser refuses it otherwise).
    pub(crate) bump_elective: bool,
    /// Only for an emergency; empty: no override.
    pub(crate) override_reason: Text,
}

/// What a RescheduleOperation call asks for, parsed.
#[derive(Debug)]
pub(crate) struct Rescheduling {
    pub(crate) key: RequestKey,
    pub(crate) id: Uuid,
    pub(crate) start: DateTime<Utc>,
    pub(crate) minutes: Option<i32>,
    pub(crate) theatre_id: Option<Uuid>,
    pub(crate) etag: Option<Version>,
}

/// What a CancelOperation call asks for, parsed.
#[derive(Debug)]
pub(crate) struct Cancelling {
    pub(crate) key: RequestKey,
    pub(crate) id: Uuid,
    pub(crate) reason: Text,
    pub(crate) etag: Option<Version>,
}

/// What a GetTheatreList call asks for, parsed.
#[derive(Debug)]
pub(crate) struct TheatreListQuery {
    pub(crate) facility_id: Uuid,
    pub(crate) day: NaiveDate,
    pub(crate) theatre_id: Option<Uuid>,
    pub(crate) surgeon_id: Option<Uuid>,
}

/// The procedures of a booking with their grades, as the privilege check reads them.
fn graded(procedures: &[(String, String, Option<i16>)]) -> Vec<(String, Option<Grade>)> {
    (procedures.iter())
        .map(|(code, _, grade)| (code.clone(), grade.and_then(Grade::from_db)))
        .collect()
}

fn held(rows: &[store::PrivilegeRow]) -> Vec<Held> {
    (rows.iter())
        .map(|row| Held {
            max_grade: row.max_grade.and_then(Grade::from_db),
            procedure_code: row.procedure_code.clone(),
            valid_from: row.valid_from,
            valid_until: row.valid_until,
            status: row.status,
        })
        .collect()
}

fn beyond_message(codes: &[String]) -> String {
    format!(
        "the procedure {} is beyond the primary surgeon's privileges",
        codes.join(", ")
    )
}

impl Surgery {
    /// That the patient may be operated on (registered, not merged away, alive) and that the
    /// admission, if any, is theirs and open: from what the events told surgery, or, for a
    /// patient or admission not announced yet, from the registry and admissions.
    async fn check_patient(
        &self,
        context: &RequestContext,
        patient_id: Uuid,
        admission_id: Option<Uuid>,
    ) -> Result<()> {
        let (patient, admission) = self
            .calls
            .transaction(context, async |tx| {
                let patient = store::known_patient(tx, patient_id).await?;
                let admission = match admission_id {
                    Some(id) => store::known_admission(tx, id).await?,
                    None => None,
                };
                Ok((patient, admission))
            })
            .await?;
        match patient {
            Some((deceased, merged_into)) => {
                if let Some(reason) = hmis_patients_api::refusal(deceased, merged_into) {
                    return Err(Error::precondition(reason));
                }
            }
            None => self.directory.check_patient(context, patient_id).await?,
        }
        match (admission_id, admission) {
            (None, _) => Ok(()),
            (Some(_), Some((whose, _))) if whose != patient_id => Err(Error::invalid(
                "admission_id",
                "is not the patient's admission",
            )),
            (Some(_), Some((_, false))) => Err(Error::precondition("the admission is not open")),
            (Some(_), Some((_, true))) => Ok(()),
            (Some(id), None) => {
                self.directory
                    .check_admission(context, id, patient_id)
                    .await
            }
        }
    }

    async fn publish(
        &self,
        tx: &mut TenantTx,
        event_type: &str,
        record: &OperationRecord,
        now: DateTime<Utc>,
    ) -> Result<pb::Operation> {
        let operation = operation_to_pb(record);
        let id = record.row.id.to_string();
        let message = Some(operation.clone());
        match event_type {
            events::OPERATION_SCHEDULED => {
                let event = pb::OperationScheduled { operation: message };
                self.outbox
                    .publish(tx, event_type, &id, &event, now)
                    .await?
            }
            events::OPERATION_RESCHEDULED => {
                let event = pb::OperationRescheduled { operation: message };
                self.outbox
                    .publish(tx, event_type, &id, &event, now)
                    .await?
            }
            _ => {
                let event = pb::OperationCancelled { operation: message };
                self.outbox
                    .publish(tx, event_type, &id, &event, now)
                    .await?
            }
        };
        Ok(operation)
    }

    /// Which of `procedures` the surgeon holds no privilege for on `day`.
    async fn beyond(
        tx: &mut TenantTx,
        surgeon_id: Uuid,
        procedures: &[(String, String, Option<i16>)],
        day: NaiveDate,
    ) -> Result<Vec<String>> {
        let privileges = store::list_privileges(tx, Some(surgeon_id)).await?;
        Ok(beyond_privileges(
            &held(&privileges),
            &graded(procedures),
            day,
        ))
    }

    pub(crate) async fn book_operation(
        &self,
        context: &RequestContext,
        message: &pb::BookOperationRequest,
        booking: Booking,
    ) -> Result<pb::BookOperationResponse> {
        let method = method("BookOperation");
        if let Some(replayed) = self
            .calls
            .replay(context, &method, &booking.key, message)
            .await?
        {
            return Ok(replayed);
        }
        let patient_id = booking.patient_id;
        let theatre = self
            .calls
            .transaction(context, async |tx| {
                theatre_named(tx, booking.theatre_id, "theatre_id").await
            })
            .await?;
        if !theatre.active {
            return Err(Error::invalid("theatre_id", "is closed"));
        }
        if let Err(denied) = context.authorize(PLAN, &theatre_target(&theatre)) {
            return Err(self.calls.refuse(context, &[patient_id], denied).await);
        }
        self.check_patient(context, patient_id, booking.admission_id)
            .await?;
        let checked = (self.directory)
            .procedures(context, "procedure_codes", &booking.codes)
            .await?;
        let zone = self
            .directory
            .time_zone(context, theatre.facility_id)
            .await?;
        let day = day_of(&zone, booking.slot.start);
        let now = self.calls.now();
        let id = Uuid::now_v7();
        let response = self
            .calls
            .write(context, &method, &booking.key, message, async |tx| {
                let mut holders = vec![theatre.id, patient_id];
                holders.extend(booking.team.members().iter().map(|(user, _)| *user));
                store::lock_holders(tx, holders).await?;
                let grades = store::grades_of(tx, &booking.codes).await?;
                let procedures: Vec<(String, String, Option<i16>)> = (checked.iter())
                    .map(|p| {
                        (
                            p.code.clone(),
                            p.display.clone(),
                            grades.get(&p.code).copied(),
                        )
                    })
                    .collect();
                let specialty =
                    match store::session_specialty(tx, theatre.id, booking.slot.start).await? {
                        Some(specialty) => specialty,
                        None => theatre.specialty_codes.first().cloned().unwrap_or_default(),
                    };
                let surgeon = booking.team.primary_surgeon();
                let beyond = Self::beyond(tx, surgeon, &procedures, day).await?;
                let overriding = !beyond.is_empty();
                if overriding && booking.override_reason.as_str().is_empty() {
                    let denied = Status::permission_denied(beyond_message(&beyond));
                    return Err(Error::refused(denied, vec![patient_id]));
                }
                let mut patients = vec![patient_id];
                let mut bumped_ids = Vec::new();
                if booking.bump_elective {
                    for elective in
                        store::overlapping_electives(tx, theatre.id, &booking.slot).await?
                    {
                        let reason = format!("bumped by emergency operation {id}");
                        let status = OperationStatus::Bumped;
                        store::end_operation(tx, elective.id, status, &reason, Some(id)).await?;
                        let record = store::operation_record(tx, elective.id).await?;
                        self.publish(tx, events::OPERATION_CANCELLED, &record, now)
                            .await?;
                        patients.push(elective.patient_id);
                        bumped_ids.push(elective.id.to_string());
                    }
                }
                let new = NewOperation {
                    id,
                    theatre: &theatre,
                    patient_id,
                    admission_id: booking.admission_id,
                    slot: booking.slot,
                    priority: booking.priority,
                    anaesthesia_type: booking.anaesthesia,
                    specialty_code: &specialty,
                    override_reason: if overriding {
                        booking.override_reason.as_str()
                    } else {
                        ""
                    },
                    booked_by: context.user_id(),
                    procedures: &procedures,
                    team: booking.team.members(),
                };
                store::insert_operation(tx, &new, now).await?;
                if overriding {
                    let row = OverrideRow {
                        id: Uuid::now_v7(),
                        operation_id: id,
                        surgeon_id: surgeon,
                        procedure_codes: beyond,
                        reason: booking.override_reason.as_str().to_owned(),
                        recorded_by: context.user_id(),
                        recorded_at: now,
                        reviewed_by: None,
                        reviewed_at: None,
                        review_note: String::new(),
                    };
                    store::insert_override(tx, &row).await?;
                }
                let record = store::operation_record(tx, id).await?;
                let operation = self
                    .publish(tx, events::OPERATION_SCHEDULED, &record, now)
                    .await?;
                super::record(tx, context, &patients, now).await?;
                Ok(pb::BookOperationResponse {
                    operation: Some(operation),
                    bumped_operation_ids: bumped_ids,
                })
            })
            .await?;
        tracing::info!(operation_id = %id, "operation booked");
        Ok(response)
    }

    /// The operation `id`, locked, scheduled, as of the etag read, in a department where the
    /// caller may plan (a refusal is audited after the rollback).
    async fn lock_scheduled(
        tx: &mut TenantTx,
        context: &RequestContext,
        id: Uuid,
        etag: Option<Version>,
    ) -> Result<OperationRow> {
        let row = Self::lock_for(tx, context, (id, PLAN), &[OperationStatus::Scheduled]).await?;
        if etag.is_some_and(|etag| etag != Version::from_db(row.version)) {
            return Err(Error::Stale("operation"));
        }
        Ok(row)
    }

    pub(crate) async fn reschedule_operation(
        &self,
        context: &RequestContext,
        message: &pb::RescheduleOperationRequest,
        change: Rescheduling,
    ) -> Result<pb::RescheduleOperationResponse> {
        let method = method("RescheduleOperation");
        if let Some(replayed) = self
            .calls
            .replay(context, &method, &change.key, message)
            .await?
        {
            return Ok(replayed);
        }
        let facility_id = self
            .calls
            .transaction(context, async |tx| {
                Ok(store::get_operation(tx, change.id, false)
                    .await?
                    .facility_id)
            })
            .await?;
        let zone = self.directory.time_zone(context, facility_id).await?;
        let now = self.calls.now();
        self.calls
            .write(context, &method, &change.key, message, async |tx| {
                let row = Self::lock_scheduled(tx, context, change.id, change.etag).await?;
                let theatre_id = change.theatre_id.unwrap_or(row.theatre_id);
                let theatre = theatre_named(tx, theatre_id, "theatre_id").await?;
                context
                    .authorize(PLAN, &theatre_target(&theatre))
                    .map_err(refused(vec![row.patient_id]))?;
                if !theatre.active {
                    return Err(Error::invalid("theatre_id", "is closed"));
                }
                let minutes = change.minutes.unwrap_or_else(|| {
                    i32::try_from((row.end_time - row.start_time).num_minutes()).unwrap_or(0)
                });
                let slot = Slot::parse(change.start, minutes)
                    .map_err(|reason| Error::invalid("duration_minutes", reason))?;
                let record = store::operation_record(tx, row.id).await?;
                let mut holders = vec![theatre.id, row.patient_id];
                holders.extend(record.team.iter().map(|member| member.user_id));
                store::lock_holders(tx, holders).await?;
                if row.privilege_override_reason.is_empty() {
                    let procedures: Vec<_> = (record.procedures.iter())
                        .map(|p| (p.code.clone(), p.display.clone(), p.grade))
                        .collect();
                    let surgeon = (record.team.first()).map(|member| member.user_id);
                    let day = day_of(&zone, slot.start);
                    let beyond = match surgeon {
                        Some(surgeon) => Self::beyond(tx, surgeon, &procedures, day).await?,
                        None => Vec::new(),
                    };
                    if !beyond.is_empty() {
                        let denied = Status::permission_denied(beyond_message(&beyond));
                        return Err(Error::refused(denied, vec![row.patient_id]));
                    }
                }
                store::move_operation(tx, row.id, &theatre, &slot).await?;
                let record = store::operation_record(tx, row.id).await?;
                let operation = self
                    .publish(tx, events::OPERATION_RESCHEDULED, &record, now)
                    .await?;
                super::record(tx, context, &[row.patient_id], now).await?;
                Ok(pb::RescheduleOperationResponse {
                    operation: Some(operation),
                })
            })
            .await
    }

    pub(crate) async fn cancel_operation(
        &self,
        context: &RequestContext,
        message: &pb::CancelOperationRequest,
        cancelling: Cancelling,
    ) -> Result<pb::CancelOperationResponse> {
        let now = self.calls.now();
        self.calls
            .write(
                context,
                &method("CancelOperation"),
                &cancelling.key,
                message,
                async |tx| {
                    let row =
                        Self::lock_scheduled(tx, context, cancelling.id, cancelling.etag).await?;
                    let (status, reason) = (OperationStatus::Cancelled, cancelling.reason.as_str());
                    store::end_operation(tx, row.id, status, reason, None).await?;
                    let record = store::operation_record(tx, row.id).await?;
                    let operation = self
                        .publish(tx, events::OPERATION_CANCELLED, &record, now)
                        .await?;
                    super::record(tx, context, &[row.patient_id], now).await?;
                    Ok(pb::CancelOperationResponse {
                        operation: Some(operation),
                    })
                },
            )
            .await
    }

    pub(crate) async fn get_operation(
        &self,
        context: &RequestContext,
        id: Uuid,
    ) -> Result<pb::GetOperationResponse> {
        self.calls
            .read(context, async |tx| {
                let record = store::operation_record(tx, id).await?;
                let row = &record.row;
                let target = Target::department(row.facility_id, row.department_id);
                context
                    .authorize(READ, &target)
                    .map_err(refused(vec![row.patient_id]))?;
                let shown = Shown::patients(vec![row.patient_id]);
                Ok((
                    pb::GetOperationResponse {
                        operation: Some(operation_to_pb(&record)),
                    },
                    shown,
                ))
            })
            .await
    }

    pub(crate) async fn get_theatre_list(
        &self,
        context: &RequestContext,
        query: TheatreListQuery,
    ) -> Result<pb::GetTheatreListResponse> {
        let departments = context
            .principal()?
            .departments_for(READ, query.facility_id);
        if departments.as_ref().is_some_and(Vec::is_empty) {
            return Err(Status::permission_denied(format!(
                "missing permission {READ} for this facility"
            ))
            .into());
        }
        let zone = self.directory.time_zone(context, query.facility_id).await?;
        let bounds = day_bounds(&zone, query.day);
        self.calls
            .read(context, async |tx| {
                let visible = |department: Uuid| {
                    departments
                        .as_ref()
                        .is_none_or(|only| only.contains(&department))
                };
                let rows = store::theatre_list(
                    tx,
                    query.facility_id,
                    bounds,
                    query.theatre_id,
                    query.surgeon_id,
                )
                .await?;
                let rows: Vec<_> = (rows.into_iter())
                    .filter(|row| visible(row.department_id))
                    .collect();
                let theatres: std::collections::HashSet<Uuid> =
                    store::list_theatres(tx, query.facility_id)
                        .await?
                        .into_iter()
                        .filter(|theatre| visible(theatre.department_id))
                        .map(|theatre| theatre.id)
                        .collect();
                let sessions =
                    store::sessions_between(tx, query.facility_id, bounds, query.theatre_id)
                        .await?;
                let records = store::with_details(tx, rows).await?;
                let mut patients: Vec<Uuid> = records.iter().map(|r| r.row.patient_id).collect();
                patients.sort();
                patients.dedup();
                Ok((
                    pb::GetTheatreListResponse {
                        operations: records.iter().map(operation_to_pb).collect(),
                        sessions: (sessions.iter())
                            .filter(|session| theatres.contains(&session.theatre_id))
                            .map(session_to_pb)
                            .collect(),
                    },
                    Shown::patients(patients),
                ))
            })
            .await
    }
}
