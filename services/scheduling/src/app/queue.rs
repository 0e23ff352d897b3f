//! The day's queue, from arrival to the end of the visit (check-in, call, consultation with
//! its outpatient encounter, the outcome and a follow-up), and the clinics' report.

use chrono::Duration;
use hmis_platform::call::Shown;
use hmis_platform::idempotency::RequestKey;
use hmis_platform::types::Line;
use hmis_proto::events::scheduling as events;
use hmis_proto::openhmis::scheduling::v1 as pb;

use super::*;
use crate::convert::ticket_to_pb;
use crate::domain::{
    AppointmentStatus, Channel, EARLIEST_CHECK_IN_MINUTES, QueuePriority, ReferralStatus,
    TicketStatus, VisitOutcome, Waiting, calling_key,
};
use crate::store::{
    AppointmentChange, AppointmentRow, NewAppointment, NewTicket, TicketChange, TicketRow,
};

/// What a CheckIn call asks for, parsed: an appointment, or a walk-in to a clinic.
#[derive(Debug)]
pub(crate) enum CheckInRequest {
    Appointment {
        key: RequestKey,
        id: Uuid,
        priority: QueuePriority,
    },
    WalkIn {
        key: RequestKey,
        clinic_id: Uuid,
        patient_id: Uuid,
        priority: QueuePriority,
    },
}

/// What a CallTicket call asks for, parsed: a ticket, or the next of a clinic.
#[derive(Debug)]
pub(crate) struct CallRequest {
    pub(crate) key: RequestKey,
    pub(crate) ticket_id: Option<Uuid>,
    pub(crate) clinic_id: Option<Uuid>,
    pub(crate) called_to: Line,
}

/// What a FinishVisit call asks for, parsed (a follow-up slot only with that outcome).
#[derive(Debug)]
pub(crate) struct Finishing {
    pub(crate) key: RequestKey,
    pub(crate) ticket_id: Uuid,
    pub(crate) outcome: VisitOutcome,
    pub(crate) follow_up_slot_id: Option<Uuid>,
}

fn waiting(row: &TicketRow) -> Waiting {
    Waiting {
        priority: QueuePriority::from_db(row.priority).unwrap_or(QueuePriority::Routine),
        appointment_time: row.appointment_time,
        arrived_at: row.arrived_at,
        number: row.number,
    }
}

/// The queue in calling order: waiting tickets first, in the order they will be called, then
/// those called or in consultation, then those done, by number.
fn in_calling_order(mut tickets: Vec<TicketRow>) -> Vec<TicketRow> {
    tickets.sort_by_key(|row| {
        let stage = match row.status {
            TicketStatus::Waiting => 0,
            TicketStatus::Called | TicketStatus::InConsultation => 1,
            TicketStatus::Done | TicketStatus::Left => 2,
        };
        let key = calling_key(&waiting(row));
        if stage == 0 {
            (stage, key)
        } else {
            (
                stage,
                (
                    std::cmp::Reverse(QueuePriority::Routine),
                    row.arrived_at,
                    row.number,
                ),
            )
        }
    });
    tickets
}

impl Scheduling {
    async fn publish_ticket(
        &self,
        tx: &mut TenantTx,
        event_type: &str,
        (row, clinic): (&TicketRow, &ClinicRow),
        now: DateTime<Utc>,
    ) -> Result<pb::Ticket> {
        let ticket = ticket_to_pb(row, &clinic.code);
        let (department_id, facility_id) = (
            clinic.department_id.to_string(),
            clinic.facility_id.to_string(),
        );
        let id = row.id.to_string();
        if event_type == events::PATIENT_CHECKED_IN {
            let event = pb::PatientCheckedIn {
                ticket: Some(ticket.clone()),
                department_id,
                facility_id,
                clinic_code: clinic.code.clone(),
            };
            self.outbox
                .publish(tx, event_type, &id, &event, now)
                .await?;
        } else {
            let event = pb::VisitCompleted {
                ticket: Some(ticket.clone()),
                department_id,
                facility_id,
                clinic_code: clinic.code.clone(),
            };
            self.outbox
                .publish(tx, event_type, &id, &event, now)
                .await?;
        }
        Ok(ticket)
    }

    pub(crate) async fn check_in(
        &self,
        context: &RequestContext,
        message: &pb::CheckInRequest,
        request: CheckInRequest,
    ) -> Result<pb::CheckInResponse> {
        let method = method("CheckIn");
        let (key, priority) = match &request {
            CheckInRequest::Appointment { key, priority, .. }
            | CheckInRequest::WalkIn { key, priority, .. } => (key, *priority),
        };
        if let Some(replayed) = self.calls.replay(context, &method, key, message).await? {
            return Ok(replayed);
        }
        let (clinic, appointment) = match &request {
            CheckInRequest::Appointment { id, .. } => {
                let id = *id;
                self.calls
                    .transaction(context, async |tx| {
                        let row = match store::get_appointment(tx, id, false).await {
                            Err(Error::NotFound(_)) => {
                                return Err(Error::invalid("appointment_id", "was not found"));
                            }
                            found => found?,
                        };
                        let clinic = store::get_clinic(tx, row.clinic_id, false).await?;
                        Ok((clinic, Some(row)))
                    })
                    .await?
            }
            CheckInRequest::WalkIn { clinic_id, .. } => {
                (self.clinic(context, *clinic_id, "clinic_id").await?, None)
            }
        };
        let patient_id = match (&request, &appointment) {
            (_, Some(row)) => row.patient_id,
            (CheckInRequest::WalkIn { patient_id, .. }, None) => *patient_id,
            (CheckInRequest::Appointment { .. }, None) => {
                return Err(Error::corrupt("appointment"));
            }
        };
        if let Err(denied) = context.authorize(QUEUE, &clinic_target(&clinic)) {
            return Err(self.calls.refuse(context, &[patient_id], denied).await);
        }
        if appointment.is_none() {
            if !clinic.active {
                return Err(Error::invalid("clinic_id", "is closed"));
            }
            self.check_patient(context, patient_id, None).await?;
        }
        let zone = self
            .directory
            .time_zone(context, clinic.facility_id)
            .await?;
        let now = self.calls.now();
        let today = day_of(&zone, now);
        if let Some(row) = &appointment {
            if day_of(&zone, row.start_time) != today {
                return Err(Error::precondition(
                    "the appointment is not today; reschedule it or check in as a walk-in",
                ));
            }
            if now < row.start_time - Duration::minutes(EARLIEST_CHECK_IN_MINUTES) {
                return Err(Error::precondition(format!(
                    "check-in opens {EARLIEST_CHECK_IN_MINUTES} minutes before the appointment"
                )));
            }
        }
        self.calls
            .write(context, &method, key, message, async |tx| {
                let appointment = match &appointment {
                    Some(row) => {
                        let row = store::get_appointment(tx, row.id, true).await?;
                        if row.status != AppointmentStatus::Booked {
                            return Err(Error::precondition(format!(
                                "the appointment is {}",
                                row.status.as_db().replace('_', " ")
                            )));
                        }
                        let checked_in = AppointmentChange {
                            status: Some(AppointmentStatus::CheckedIn),
                            ..AppointmentChange::default()
                        };
                        // PatientCheckedIn below tells of it, naming the appointment.
                        let row = store::change_appointment(tx, row.id, &checked_in).await?;
                        Some((row.id, row.start_time))
                    }
                    None => None,
                };
                let number = store::next_number(tx, clinic.id, today).await?;
                let ticket = NewTicket {
                    id: Uuid::now_v7(),
                    clinic_id: clinic.id,
                    day: today,
                    number,
                    patient_id,
                    appointment,
                    priority: priority.as_db(),
                    checked_in_by: context.user_id(),
                };
                let row = store::insert_ticket(tx, &ticket, now).await?;
                let ticket = self
                    .publish_ticket(tx, events::PATIENT_CHECKED_IN, (&row, &clinic), now)
                    .await?;
                record(tx, context, &[patient_id], now).await?;
                Ok(pb::CheckInResponse {
                    ticket: Some(ticket),
                })
            })
            .await
    }

    pub(crate) async fn get_queue(
        &self,
        context: &RequestContext,
        clinic_id: Uuid,
        day: Option<NaiveDate>,
    ) -> Result<pb::GetQueueResponse> {
        let clinic = self.clinic(context, clinic_id, "clinic_id").await?;
        context.authorize(READ, &clinic_target(&clinic))?;
        let zone = self
            .directory
            .time_zone(context, clinic.facility_id)
            .await?;
        let day = day.unwrap_or_else(|| day_of(&zone, self.calls.now()));
        self.calls
            .read(context, async |tx| {
                let rows =
                    in_calling_order(store::tickets_of_day(tx, clinic.id, day, false).await?);
                let mut patients: Vec<Uuid> = rows.iter().map(|row| row.patient_id).collect();
                patients.sort();
                patients.dedup();
                Ok((
                    pb::GetQueueResponse {
                        tickets: rows
                            .iter()
                            .map(|row| ticket_to_pb(row, &clinic.code))
                            .collect(),
                    },
                    Shown::patients(patients),
                ))
            })
            .await
    }

    /// The ticket a request names and its clinic, read before a change that consults others.
    async fn ticket_and_clinic(
        &self,
        context: &RequestContext,
        id: Uuid,
    ) -> Result<(TicketRow, ClinicRow)> {
        self.calls
            .transaction(context, async |tx| {
                let ticket = match store::get_ticket(tx, id, false).await {
                    Err(Error::NotFound(_)) => {
                        return Err(Error::invalid("ticket_id", "was not found"));
                    }
                    found => found?,
                };
                let clinic = store::get_clinic(tx, ticket.clinic_id, false).await?;
                Ok((ticket, clinic))
            })
            .await
    }

    /// The ticket `id`, locked, in `status`, in a clinic where the caller holds `QUEUE`.
    async fn lock_ticket(
        tx: &mut TenantTx,
        context: &RequestContext,
        id: Uuid,
        statuses: &[TicketStatus],
    ) -> Result<(TicketRow, ClinicRow)> {
        let ticket = store::get_ticket(tx, id, true).await?;
        let clinic = store::get_clinic(tx, ticket.clinic_id, false).await?;
        context
            .authorize(QUEUE, &clinic_target(&clinic))
            .map_err(refused(vec![ticket.patient_id]))?;
        if !statuses.contains(&ticket.status) {
            return Err(Error::precondition(format!(
                "the ticket is {}",
                ticket.status.as_db().replace('_', " ")
            )));
        }
        Ok((ticket, clinic))
    }

    pub(crate) async fn call_ticket(
        &self,
        context: &RequestContext,
        message: &pb::CallTicketRequest,
        call: CallRequest,
    ) -> Result<pb::CallTicketResponse> {
        let method = method("CallTicket");
        if let Some(replayed) = self
            .calls
            .replay(context, &method, &call.key, message)
            .await?
        {
            return Ok(replayed);
        }
        // The next of a clinic is taken in the clinic's day.
        let next_of = match call.clinic_id {
            Some(clinic_id) => {
                let clinic = self.clinic(context, clinic_id, "clinic_id").await?;
                context.authorize(QUEUE, &clinic_target(&clinic))?;
                let zone = self
                    .directory
                    .time_zone(context, clinic.facility_id)
                    .await?;
                Some((clinic, day_of(&zone, self.calls.now())))
            }
            None => None,
        };
        let now = self.calls.now();
        self.calls
            .write(context, &method, &call.key, message, async |tx| {
                let (ticket, clinic) = match (call.ticket_id, &next_of) {
                    (Some(id), _) => {
                        let callable = [TicketStatus::Waiting, TicketStatus::Called];
                        Self::lock_ticket(tx, context, id, &callable).await?
                    }
                    (None, Some((clinic, day))) => {
                        let waiting = store::tickets_of_day(tx, clinic.id, *day, true).await?;
                        let first = in_calling_order(waiting).into_iter().next();
                        let Some(first) = first else {
                            return Err(Error::precondition("nobody is waiting"));
                        };
                        (first, clinic.clone())
                    }
                    (None, None) => return Err(Error::invalid("ticket_id", "is required")),
                };
                let called = TicketChange {
                    status: Some(TicketStatus::Called),
                    called: Some((
                        ticket.called_at.unwrap_or(now),
                        call.called_to.as_str(),
                        context.user_id(),
                    )),
                    ..TicketChange::default()
                };
                let row = store::change_ticket(tx, ticket.id, &called).await?;
                record(tx, context, &[row.patient_id], now).await?;
                Ok(pb::CallTicketResponse {
                    ticket: Some(ticket_to_pb(&row, &clinic.code)),
                })
            })
            .await
    }

    pub(crate) async fn start_consultation(
        &self,
        context: &RequestContext,
        message: &pb::StartConsultationRequest,
        (key, ticket_id): (RequestKey, Uuid),
    ) -> Result<pb::StartConsultationResponse> {
        let method = method("StartConsultation");
        if let Some(replayed) = self.calls.replay(context, &method, &key, message).await? {
            return Ok(replayed);
        }
        let (ticket, clinic) = self.ticket_and_clinic(context, ticket_id).await?;
        if let Err(denied) = context.authorize(QUEUE, &clinic_target(&clinic)) {
            return Err(self
                .calls
                .refuse(context, &[ticket.patient_id], denied)
                .await);
        }
        if ticket.status != TicketStatus::Called {
            return Err(Error::precondition("call the patient in first"));
        }
        // Opened as the clinician, once per ticket whatever the retries (its request id).
        let encounter_id = self
            .directory
            .open_encounter(
                context,
                format!("scheduling:{}:encounter", ticket.id),
                ticket.patient_id,
                clinic.department_id,
            )
            .await?;
        let now = self.calls.now();
        self.calls
            .write(context, &method, &key, message, async |tx| {
                let called = [TicketStatus::Called];
                let (ticket, clinic) = Self::lock_ticket(tx, context, ticket_id, &called).await?;
                let started = TicketChange {
                    status: Some(TicketStatus::InConsultation),
                    started: Some((now, encounter_id)),
                    ..TicketChange::default()
                };
                let row = store::change_ticket(tx, ticket.id, &started).await?;
                record(tx, context, &[row.patient_id], now).await?;
                Ok(pb::StartConsultationResponse {
                    ticket: Some(ticket_to_pb(&row, &clinic.code)),
                })
            })
            .await
    }

    pub(crate) async fn mark_ticket_left(
        &self,
        context: &RequestContext,
        message: &pb::MarkTicketLeftRequest,
        (key, ticket_id): (RequestKey, Uuid),
    ) -> Result<pb::MarkTicketLeftResponse> {
        let now = self.calls.now();
        let method = method("MarkTicketLeft");
        self.calls
            .write(context, &method, &key, message, async |tx| {
                let waiting = [TicketStatus::Waiting, TicketStatus::Called];
                let (ticket, clinic) = Self::lock_ticket(tx, context, ticket_id, &waiting).await?;
                let left = TicketChange {
                    status: Some(TicketStatus::Left),
                    left_at: Some(now),
                    ..TicketChange::default()
                };
                let row = store::change_ticket(tx, ticket.id, &left).await?;
                // Not seen: the appointment did not take place, its referral waits again.
                if let Some(appointment_id) = row.appointment_id {
                    let missed = AppointmentChange {
                        status: Some(AppointmentStatus::NoShow),
                        ended_at: Some(now),
                        ..AppointmentChange::default()
                    };
                    let missed = store::change_appointment(tx, appointment_id, &missed).await?;
                    if let Some(referral) = missed.referral_id {
                        store::mark_referral(tx, referral, ReferralStatus::Waiting, None).await?;
                    }
                    self.publish_appointment(tx, events::APPOINTMENT_ENDED, &missed, now)
                        .await?;
                }
                record(tx, context, &[row.patient_id], now).await?;
                Ok(pb::MarkTicketLeftResponse {
                    ticket: Some(ticket_to_pb(&row, &clinic.code)),
                })
            })
            .await
    }

    /// Books the follow-up of a visit in `slot_id` (in the visit's transaction).
    async fn book_follow_up(
        &self,
        tx: &mut TenantTx,
        context: &RequestContext,
        (slot_id, patient_id): (Uuid, Uuid),
        now: DateTime<Utc>,
    ) -> Result<AppointmentRow> {
        let slot = match store::get_slot(tx, slot_id).await {
            Err(Error::NotFound(_)) => {
                return Err(Error::invalid("follow_up_slot_id", "was not found"));
            }
            found => found?,
        };
        let clinic = store::get_clinic(tx, slot.clinic_id, false).await?;
        context
            .authorize(BOOK, &clinic_target(&clinic))
            .map_err(refused(vec![patient_id]))?;
        let (slot, _) = self.take_place(tx, slot.id, now).await?;
        if slot.blocked || slot.start_time <= now {
            return Err(Error::invalid(
                "follow_up_slot_id",
                "is closed or has started; choose a later slot",
            ));
        }
        let new = NewAppointment {
            patient_id,
            channel: Channel::Desk,
            hold_until: None,
            referral_id: None,
            booked_by: context.user_id(),
        };
        let row = AppointmentRow::new(&slot, new, now);
        store::insert_appointment(tx, &row).await?;
        self.publish_appointment(tx, events::APPOINTMENT_BOOKED, &row, now)
            .await?;
        Ok(row)
    }

    pub(crate) async fn finish_visit(
        &self,
        context: &RequestContext,
        message: &pb::FinishVisitRequest,
        finishing: Finishing,
    ) -> Result<pb::FinishVisitResponse> {
        let method = method("FinishVisit");
        let now = self.calls.now();
        let response = match (self.calls)
            .replay(context, &method, &finishing.key, message)
            .await?
        {
            Some(replayed) => replayed,
            None => {
                self.calls
                    .write(context, &method, &finishing.key, message, async |tx| {
                        let open = [TicketStatus::InConsultation];
                        let (ticket, clinic) =
                            Self::lock_ticket(tx, context, finishing.ticket_id, &open).await?;
                        let follow_up = match finishing.follow_up_slot_id {
                            Some(slot_id) => Some(
                                self.book_follow_up(tx, context, (slot_id, ticket.patient_id), now)
                                    .await?,
                            ),
                            None => None,
                        };
                        let ended = TicketChange {
                            status: Some(TicketStatus::Done),
                            ended: Some((
                                now,
                                finishing.outcome,
                                follow_up.as_ref().map(|row| row.id),
                            )),
                            ..TicketChange::default()
                        };
                        let row = store::change_ticket(tx, ticket.id, &ended).await?;
                        if let Some(appointment_id) = row.appointment_id {
                            let completed = AppointmentChange {
                                status: Some(AppointmentStatus::Completed),
                                ended_at: Some(now),
                                ..AppointmentChange::default()
                            };
                            let done =
                                store::change_appointment(tx, appointment_id, &completed).await?;
                            if let Some(referral) = done.referral_id {
                                store::mark_referral(tx, referral, ReferralStatus::Seen, None)
                                    .await?;
                            }
                        }
                        let ticket = self
                            .publish_ticket(tx, events::VISIT_COMPLETED, (&row, &clinic), now)
                            .await?;
                        record(tx, context, &[row.patient_id], now).await?;
                        Ok(pb::FinishVisitResponse {
                            ticket: Some(ticket),
                            follow_up: follow_up.as_ref().map(crate::convert::appointment_to_pb),
                        })
                    })
                    .await?
            }
        };
        // The encounter closes once the visit is on record; a retry closes it if this failed.
        let encounter = (response.ticket.as_ref())
            .and_then(|ticket| Uuid::parse_str(&ticket.encounter_id).ok());
        if let Some(encounter_id) = encounter {
            self.directory
                .close_encounter(
                    context,
                    format!("scheduling:{}:close", finishing.ticket_id),
                    encounter_id,
                )
                .await?;
        }
        Ok(response)
    }

    pub(crate) async fn clinic_report(
        &self,
        context: &RequestContext,
        facility_id: Uuid,
        (first, last): (NaiveDate, NaiveDate),
    ) -> Result<pb::GetClinicReportResponse> {
        let departments = context.principal()?.departments_for(READ, facility_id);
        if departments.as_ref().is_some_and(Vec::is_empty) {
            return Err(Status::permission_denied(format!(
                "missing permission {READ} for this facility"
            ))
            .into());
        }
        let zone = self.directory.time_zone(context, facility_id).await?;
        let bounds = days_bounds(&zone, first, last);
        self.calls
            .transaction(context, async |tx| {
                let clinics: std::collections::HashMap<Uuid, Uuid> =
                    (store::list_clinics(tx, facility_id).await?.into_iter())
                        .map(|clinic| (clinic.id, clinic.department_id))
                        .collect();
                let visible = |clinic: &Uuid| {
                    clinics.get(clinic).is_some_and(|department| {
                        departments
                            .as_ref()
                            .is_none_or(|only| only.contains(department))
                    })
                };
                let rows = store::clinic_report(tx, facility_id, bounds, (first, last)).await?;
                let percent = |part: i64, whole: i64| {
                    if whole == 0 {
                        0.0
                    } else {
                        (part as f64) * 100.0 / (whole as f64)
                    }
                };
                let count = |value: i64| i32::try_from(value).unwrap_or(i32::MAX);
                Ok(pb::GetClinicReportResponse {
                    rows: (rows.iter())
                        .filter(|row| visible(&row.clinic_id))
                        .map(|row| {
                            let attended = row.visits - row.walk_ins;
                            pb::ClinicReportRow {
                                clinic_id: row.clinic_id.to_string(),
                                clinician_id: row
                                    .clinician_id
                                    .map(|id| id.to_string())
                                    .unwrap_or_default(),
                                places_offered: count(row.places_offered),
                                places_booked: count(row.places_booked),
                                appointments: count(row.appointments),
                                visits: count(row.visits),
                                no_shows: count(row.no_shows),
                                cancelled: count(row.cancelled),
                                walk_ins: count(row.walk_ins),
                                no_show_rate_percent: percent(
                                    row.no_shows,
                                    attended + row.no_shows,
                                ),
                                utilisation_percent: percent(row.places_booked, row.places_offered),
                                mean_days_booking_to_visit: row
                                    .mean_days_booking_to_visit
                                    .unwrap_or(0.0),
                                mean_minutes_arrival_to_call: row
                                    .mean_minutes_arrival_to_call
                                    .unwrap_or(0.0),
                            }
                        })
                        .collect(),
                })
            })
            .await
    }
}
