//! Booking: the free-slot search, appointments held, booked, confirmed, rescheduled,
//! cancelled or not shown up, and the referrals a department has to see.

use chrono::Duration;
use hmis_platform::call::Shown;
use hmis_platform::idempotency::RequestKey;
use hmis_platform::types::{Text, Version};
use hmis_proto::events::scheduling as events;
use hmis_proto::openhmis::scheduling::v1 as pb;

use super::*;
use crate::convert::{appointment_to_pb, referral_to_pb, slot_to_pb};
use crate::domain::{AppointmentStatus, Channel, ReferralStatus, WaitingStatus};
use crate::store::{AppointmentChange, AppointmentRow, NewAppointment, SlotRow};

/// What a FindFreeSlots call asks for, parsed.
#[derive(Debug)]
pub(crate) struct FreeSlotQuery {
    pub(crate) clinic_id: Uuid,
    pub(crate) clinician_id: Option<Uuid>,
    pub(crate) from: Option<DateTime<Utc>>,
    pub(crate) until: Option<DateTime<Utc>>,
    pub(crate) limit: i64,
}

/// What a BookAppointment call asks for, parsed.
#[derive(Debug)]
pub(crate) struct Booking {
    pub(crate) key: RequestKey,
    pub(crate) slot_id: Uuid,
    pub(crate) patient_id: Uuid,
    pub(crate) channel: Channel,
    /// Minutes to hold the place for; none: book it.
    pub(crate) hold_minutes: Option<i32>,
    pub(crate) referral_id: Option<Uuid>,
}

/// What a RescheduleAppointment call asks for, parsed.
#[derive(Debug)]
pub(crate) struct Rescheduling {
    pub(crate) key: RequestKey,
    pub(crate) id: Uuid,
    pub(crate) slot_id: Uuid,
    pub(crate) etag: Option<Version>,
}

/// What a Confirm, Cancel or MarkNoShow call asks for, parsed (a reason only to cancel).
#[derive(Debug)]
pub(crate) struct AppointmentChangeRequest {
    pub(crate) key: RequestKey,
    pub(crate) id: Uuid,
    pub(crate) reason: Text,
    pub(crate) etag: Option<Version>,
}

/// That a slot can take a new booking at `now`.
fn bookable(slot: &SlotRow, now: DateTime<Utc>, field: &'static str) -> Result<()> {
    if slot.blocked {
        return Err(Error::precondition(
            "the slot is closed (a holiday or the clinician's leave)",
        ));
    }
    if slot.start_time <= now {
        return Err(Error::invalid(
            field,
            "has started already; choose a later slot",
        ));
    }
    Ok(())
}

impl Scheduling {
    /// Publishes `event_type` for the appointment; its message in the contract's words.
    pub(super) async fn publish_appointment(
        &self,
        tx: &mut TenantTx,
        event_type: &str,
        row: &AppointmentRow,
        now: DateTime<Utc>,
    ) -> Result<pb::Appointment> {
        let appointment = appointment_to_pb(row);
        let id = row.id.to_string();
        let message = Some(appointment.clone());
        match event_type {
            events::APPOINTMENT_BOOKED => {
                let event = pb::AppointmentBooked {
                    appointment: message,
                };
                self.outbox
                    .publish(tx, event_type, &id, &event, now)
                    .await?
            }
            events::APPOINTMENT_RESCHEDULED => {
                let event = pb::AppointmentRescheduled {
                    appointment: message,
                };
                self.outbox
                    .publish(tx, event_type, &id, &event, now)
                    .await?
            }
            _ => {
                let event = pb::AppointmentEnded {
                    appointment: message,
                };
                self.outbox
                    .publish(tx, event_type, &id, &event, now)
                    .await?
            }
        };
        Ok(appointment)
    }

    /// Takes slot `slot_id` and lets its expired holds go (their places given back, each published),
    /// inside the caller's transaction, before a place of it is taken.
    pub(crate) async fn let_holds_go(
        &self,
        tx: &mut TenantTx,
        slot_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Vec<Uuid>> {
        // The slot's row first, as every booking and the hold job take it: they never wait on
        // each other's appointments in the opposite order.
        store::get_slot_for_update(tx, slot_id).await?;
        let expired = store::expire_holds_of_slot(tx, slot_id, now).await?;
        if expired.is_empty() {
            return Ok(Vec::new());
        }
        let places = i32::try_from(expired.len()).unwrap_or(i32::MAX);
        store::take_places(tx, slot_id, -places).await?;
        for row in &expired {
            self.publish_appointment(tx, events::APPOINTMENT_ENDED, row, now)
                .await?;
            if let Some(referral) = row.referral_id {
                store::mark_referral(tx, referral, ReferralStatus::Waiting, None).await?;
            }
            store::settle_offer(tx, row.id, WaitingStatus::Lapsed).await?;
        }
        let mut patients: Vec<Uuid> = expired.iter().map(|row| row.patient_id).collect();
        patients.extend(self.offer_freed(tx, slot_id, now).await?);
        Ok(patients)
    }

    pub(crate) async fn find_free_slots(
        &self,
        context: &RequestContext,
        query: FreeSlotQuery,
    ) -> Result<pb::FindFreeSlotsResponse> {
        let now = self.calls.now();
        let from = query.from.unwrap_or(now).max(now);
        let until = query.until.unwrap_or(from + Duration::weeks(4));
        self.calls
            .transaction(context, async |tx| {
                let clinic = clinic_named(tx, query.clinic_id, "clinic_id", false).await?;
                let found = (query.clinician_id, (from, until), query.limit);
                let slots = store::free_slots(tx, (clinic.id, found.0), found.1, found.2).await?;
                Ok(pb::FindFreeSlotsResponse {
                    slots: slots.iter().map(slot_to_pb).collect(),
                })
            })
            .await
    }

    /// The slot a booking names in `field`, its clinic and what the registry announced of the
    /// patient, in one statement. Holds of the slot expired by now are let go first, in this
    /// transaction of their own: the places they free (and the offers to the waiting list)
    /// stand whether or not the booking then succeeds.
    async fn slot_to_book(
        &self,
        context: &RequestContext,
        (slot_id, field): (Uuid, &'static str),
        patient_id: Uuid,
    ) -> Result<store::SlotToBook> {
        let now = self.calls.now();
        self.calls
            .transaction(context, async |tx| {
                let Some(found) = store::slot_to_book(tx, slot_id, Some(patient_id), now).await?
                else {
                    return Err(Error::invalid(field, "was not found"));
                };
                if found.expired_holds {
                    self.let_holds_go(tx, slot_id, now).await?;
                }
                Ok(found)
            })
            .await
    }

    /// That the patient may be booked (registered, not merged away, alive): from what the
    /// registry's events told scheduling (`known`, read with the call's first statement), or,
    /// for a patient not announced yet, from the registry.
    pub(crate) async fn check_patient(
        &self,
        context: &RequestContext,
        patient_id: Uuid,
        known: Option<Option<(bool, Option<Uuid>)>>,
    ) -> Result<()> {
        let known = match known {
            Some(known) => known,
            None => {
                self.calls
                    .transaction(context, async |tx| {
                        store::known_patient(tx, patient_id).await
                    })
                    .await?
            }
        };
        match known {
            Some((deceased, merged_into)) => {
                match hmis_patients_api::refusal(deceased, merged_into) {
                    Some(reason) => Err(Error::precondition(reason)),
                    None => Ok(()),
                }
            }
            None => self.directory.check_patient(context, patient_id).await,
        }
    }

    /// Takes a place of slot `slot_id` in the caller's transaction: a free one, else (full,
    /// unless holds expired since the slot was read) after letting expired holds go, when the
    /// database decides. The slot as it is now and the patients whose holds were let go or
    /// offered a place.
    pub(crate) async fn take_place(
        &self,
        tx: &mut TenantTx,
        slot_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<(SlotRow, Vec<Uuid>)> {
        if let Some(slot) = store::take_free_place(tx, slot_id).await? {
            return Ok((slot, Vec::new()));
        }
        let patients = self.let_holds_go(tx, slot_id, now).await?;
        Ok((store::take_places(tx, slot_id, 1).await?, patients))
    }

    /// That `referral_id` may be booked for the patient in the clinic (locked in `tx`).
    async fn check_referral(
        tx: &mut TenantTx,
        referral_id: Uuid,
        patient_id: Uuid,
        clinic: &ClinicRow,
    ) -> Result<()> {
        let Some(referral) = store::get_referral(tx, referral_id).await? else {
            return Err(Error::invalid("referral_id", "was not found"));
        };
        if referral.patient_id != patient_id {
            return Err(Error::invalid(
                "referral_id",
                "is not the patient's referral",
            ));
        }
        if referral
            .target_department_id
            .is_some_and(|department| department != clinic.department_id)
        {
            return Err(Error::invalid(
                "referral_id",
                "is meant for another department",
            ));
        }
        if referral.status != ReferralStatus::Waiting {
            return Err(Error::ReferralBooked);
        }
        Ok(())
    }

    pub(crate) async fn book_appointment(
        &self,
        context: &RequestContext,
        message: &pb::BookAppointmentRequest,
        booking: Booking,
    ) -> Result<pb::BookAppointmentResponse> {
        let method = method("BookAppointment");
        if let Some(replayed) = (self.calls)
            .replay(context, &method, &booking.key, message)
            .await?
        {
            return Ok(replayed);
        }
        let patient_id = booking.patient_id;
        let found = (self.slot_to_book(context, (booking.slot_id, "slot_id"), patient_id)).await?;
        let (slot, clinic) = (found.slot, found.clinic);
        if let Err(denied) = context.authorize(BOOK, &clinic_target(&clinic)) {
            return Err(self.calls.refuse(context, &[patient_id], denied).await);
        }
        let now = self.calls.now();
        bookable(&slot, now, "slot_id")?;
        self.check_patient(context, patient_id, Some(found.patient))
            .await?;
        let response = self
            .calls
            .write(context, &method, &booking.key, message, async |tx| {
                let (slot, mut patients) = self.take_place(tx, slot.id, now).await?;
                bookable(&slot, now, "slot_id")?;
                if let Some(referral_id) = booking.referral_id {
                    Self::check_referral(tx, referral_id, patient_id, &clinic).await?;
                }
                let new = NewAppointment {
                    patient_id,
                    channel: booking.channel,
                    hold_until: (booking.hold_minutes)
                        .map(|minutes| now + Duration::minutes(i64::from(minutes))),
                    referral_id: booking.referral_id,
                    booked_by: context.user_id(),
                };
                let row = AppointmentRow::new(&slot, new, now);
                store::insert_appointment(tx, &row).await?;
                if let Some(referral_id) = booking.referral_id {
                    store::mark_referral(tx, referral_id, ReferralStatus::Booked, Some(row.id))
                        .await?;
                }
                let appointment = self
                    .publish_appointment(tx, events::APPOINTMENT_BOOKED, &row, now)
                    .await?;
                patients.push(patient_id);
                record(tx, context, &patients, now).await?;
                Ok(pb::BookAppointmentResponse {
                    appointment: Some(appointment),
                })
            })
            .await?;
        tracing::info!(slot_id = %slot.id, "appointment booked");
        Ok(response)
    }

    /// The appointment `id`, locked, in one of `statuses`, as of the etag read, in a clinic
    /// where the caller holds `permission` (a refusal is audited after the rollback).
    async fn lock_appointment(
        tx: &mut TenantTx,
        context: &RequestContext,
        (id, permission): (Uuid, &str),
        statuses: &[AppointmentStatus],
        etag: Option<Version>,
    ) -> Result<(AppointmentRow, ClinicRow)> {
        let row = store::get_appointment(tx, id, true).await?;
        let clinic = store::get_clinic(tx, row.clinic_id, false).await?;
        context
            .authorize(permission, &clinic_target(&clinic))
            .map_err(refused(vec![row.patient_id]))?;
        if !statuses.contains(&row.status) {
            return Err(Error::precondition(format!(
                "the appointment is {}",
                row.status.as_db().replace('_', " ")
            )));
        }
        if etag.is_some_and(|etag| etag != Version::from_db(row.version)) {
            return Err(Error::Stale("appointment"));
        }
        Ok((row, clinic))
    }

    pub(crate) async fn confirm_appointment(
        &self,
        context: &RequestContext,
        message: &pb::ConfirmAppointmentRequest,
        change: AppointmentChangeRequest,
    ) -> Result<pb::ConfirmAppointmentResponse> {
        let now = self.calls.now();
        let method = method("ConfirmAppointment");
        self.calls
            .write(context, &method, &change.key, message, async |tx| {
                let held = [AppointmentStatus::Held];
                let (row, _) =
                    Self::lock_appointment(tx, context, (change.id, BOOK), &held, change.etag)
                        .await?;
                if row.hold_until.is_none_or(|until| until <= now) {
                    return Err(Error::precondition(
                        "the hold has expired; book the slot again",
                    ));
                }
                let confirmed = AppointmentChange {
                    status: Some(AppointmentStatus::Booked),
                    ..AppointmentChange::default()
                };
                let row = store::change_appointment(tx, row.id, &confirmed).await?;
                store::settle_offer(tx, row.id, WaitingStatus::Booked).await?;
                let appointment = self
                    .publish_appointment(tx, events::APPOINTMENT_BOOKED, &row, now)
                    .await?;
                record(tx, context, &[row.patient_id], now).await?;
                Ok(pb::ConfirmAppointmentResponse {
                    appointment: Some(appointment),
                })
            })
            .await
    }

    pub(crate) async fn reschedule_appointment(
        &self,
        context: &RequestContext,
        message: &pb::RescheduleAppointmentRequest,
        change: Rescheduling,
    ) -> Result<pb::RescheduleAppointmentResponse> {
        let now = self.calls.now();
        let method = method("RescheduleAppointment");
        self.calls
            .write(context, &method, &change.key, message, async |tx| {
                let booked = [AppointmentStatus::Booked];
                let (row, clinic) =
                    Self::lock_appointment(tx, context, (change.id, BOOK), &booked, change.etag)
                        .await?;
                let target = match store::get_slot(tx, change.slot_id).await {
                    Err(Error::NotFound(_)) => {
                        return Err(Error::invalid("slot_id", "was not found"));
                    }
                    found => found?,
                };
                if target.clinic_id != clinic.id {
                    return Err(Error::invalid("slot_id", "is a slot of another clinic"));
                }
                if target.id == row.slot_id {
                    return Err(Error::invalid(
                        "slot_id",
                        "is the appointment's slot already",
                    ));
                }
                let (target, mut patients) = self.take_place(tx, target.id, now).await?;
                bookable(&target, now, "slot_id")?;
                store::take_places(tx, row.slot_id, -1).await?;
                patients.extend(self.offer_freed(tx, row.slot_id, now).await?);
                let moved = AppointmentChange {
                    slot: Some((target.id, target.start_time, target.end_time)),
                    ..AppointmentChange::default()
                };
                let row = store::change_appointment(tx, row.id, &moved).await?;
                let appointment = self
                    .publish_appointment(tx, events::APPOINTMENT_RESCHEDULED, &row, now)
                    .await?;
                patients.push(row.patient_id);
                record(tx, context, &patients, now).await?;
                Ok(pb::RescheduleAppointmentResponse {
                    appointment: Some(appointment),
                })
            })
            .await
    }

    pub(crate) async fn cancel_appointment(
        &self,
        context: &RequestContext,
        message: &pb::CancelAppointmentRequest,
        change: AppointmentChangeRequest,
    ) -> Result<pb::CancelAppointmentResponse> {
        let now = self.calls.now();
        let method = method("CancelAppointment");
        self.calls
            .write(context, &method, &change.key, message, async |tx| {
                let open = [AppointmentStatus::Held, AppointmentStatus::Booked];
                let (row, _) =
                    Self::lock_appointment(tx, context, (change.id, BOOK), &open, change.etag)
                        .await?;
                let cancelled = AppointmentChange {
                    status: Some(AppointmentStatus::Cancelled),
                    cancelled: Some((change.reason.as_str(), context.user_id())),
                    ended_at: Some(now),
                    ..AppointmentChange::default()
                };
                let row = store::change_appointment(tx, row.id, &cancelled).await?;
                store::take_places(tx, row.slot_id, -1).await?;
                if let Some(referral) = row.referral_id {
                    store::mark_referral(tx, referral, ReferralStatus::Waiting, None).await?;
                }
                store::settle_offer(tx, row.id, WaitingStatus::Withdrawn).await?;
                let appointment = self
                    .publish_appointment(tx, events::APPOINTMENT_ENDED, &row, now)
                    .await?;
                let mut patients = vec![row.patient_id];
                patients.extend(self.offer_freed(tx, row.slot_id, now).await?);
                record(tx, context, &patients, now).await?;
                Ok(pb::CancelAppointmentResponse {
                    appointment: Some(appointment),
                })
            })
            .await
    }

    pub(crate) async fn mark_no_show(
        &self,
        context: &RequestContext,
        message: &pb::MarkNoShowRequest,
        change: AppointmentChangeRequest,
    ) -> Result<pb::MarkNoShowResponse> {
        let now = self.calls.now();
        let method = method("MarkNoShow");
        self.calls
            .write(context, &method, &change.key, message, async |tx| {
                let booked = [AppointmentStatus::Booked];
                let (row, _) =
                    Self::lock_appointment(tx, context, (change.id, QUEUE), &booked, None).await?;
                if now < row.start_time {
                    return Err(Error::precondition(
                        "the appointment has not started yet; cancel it instead",
                    ));
                }
                let missed = AppointmentChange {
                    status: Some(AppointmentStatus::NoShow),
                    ended_at: Some(now),
                    ..AppointmentChange::default()
                };
                // The place stays taken: its time went unused, as the utilisation says.
                let row = store::change_appointment(tx, row.id, &missed).await?;
                if let Some(referral) = row.referral_id {
                    store::mark_referral(tx, referral, ReferralStatus::Waiting, None).await?;
                }
                let appointment = self
                    .publish_appointment(tx, events::APPOINTMENT_ENDED, &row, now)
                    .await?;
                record(tx, context, &[row.patient_id], now).await?;
                Ok(pb::MarkNoShowResponse {
                    appointment: Some(appointment),
                })
            })
            .await
    }

    pub(crate) async fn get_appointment(
        &self,
        context: &RequestContext,
        id: Uuid,
    ) -> Result<pb::GetAppointmentResponse> {
        self.calls
            .read(context, async |tx| {
                let row = store::get_appointment(tx, id, false).await?;
                let clinic = store::get_clinic(tx, row.clinic_id, false).await?;
                context
                    .authorize(READ, &clinic_target(&clinic))
                    .map_err(refused(vec![row.patient_id]))?;
                Ok((
                    pb::GetAppointmentResponse {
                        appointment: Some(appointment_to_pb(&row)),
                    },
                    Shown::patients(vec![row.patient_id]),
                ))
            })
            .await
    }

    /// A clinic's appointments of a day.
    pub(crate) async fn list_clinic_appointments(
        &self,
        context: &RequestContext,
        clinic_id: Uuid,
        day: Option<NaiveDate>,
    ) -> Result<pb::ListAppointmentsResponse> {
        let clinic = self.clinic(context, clinic_id, "clinic_id").await?;
        context.authorize(READ, &clinic_target(&clinic))?;
        let zone = self
            .directory
            .time_zone(context, clinic.facility_id)
            .await?;
        let day = day.unwrap_or_else(|| day_of(&zone, self.calls.now()));
        let bounds = days_bounds(&zone, day, day);
        self.calls
            .read(context, async |tx| {
                let rows = store::appointments_of_clinic(tx, clinic.id, bounds).await?;
                let mut patients: Vec<Uuid> = rows.iter().map(|row| row.patient_id).collect();
                patients.sort();
                patients.dedup();
                Ok((
                    pb::ListAppointmentsResponse {
                        appointments: rows.iter().map(appointment_to_pb).collect(),
                    },
                    Shown::patients(patients),
                ))
            })
            .await
    }

    /// A patient's appointments in the clinics the caller may read.
    pub(crate) async fn list_patient_appointments(
        &self,
        context: &RequestContext,
        patient_id: Uuid,
    ) -> Result<pb::ListAppointmentsResponse> {
        self.calls
            .read(context, async |tx| {
                let rows = store::appointments_of_patient(tx, patient_id).await?;
                let mut shown = Vec::with_capacity(rows.len());
                let mut readable = std::collections::HashMap::new();
                for row in rows {
                    let allowed = match readable.get(&row.clinic_id) {
                        Some(allowed) => *allowed,
                        None => {
                            let clinic = store::get_clinic(tx, row.clinic_id, false).await?;
                            let allowed = context.authorize(READ, &clinic_target(&clinic)).is_ok();
                            readable.insert(row.clinic_id, allowed);
                            allowed
                        }
                    };
                    if allowed {
                        shown.push(appointment_to_pb(&row));
                    }
                }
                Ok((
                    pb::ListAppointmentsResponse {
                        appointments: shown,
                    },
                    Shown::patients(vec![patient_id]),
                ))
            })
            .await
    }

    pub(crate) async fn list_referrals(
        &self,
        context: &RequestContext,
        department_id: Uuid,
        status: ReferralStatus,
    ) -> Result<pb::ListReferralsResponse> {
        let department = self.directory.department(context, department_id).await?;
        context.authorize(
            READ,
            &Target::department(department.facility_id, department_id),
        )?;
        self.calls
            .read(context, async |tx| {
                let rows =
                    store::referrals_to_see(tx, (department_id, department.facility_id), status)
                        .await?;
                let mut patients: Vec<Uuid> = rows.iter().map(|row| row.patient_id).collect();
                patients.sort();
                patients.dedup();
                Ok((
                    pb::ListReferralsResponse {
                        referrals: rows.iter().map(referral_to_pb).collect(),
                    },
                    Shown::patients(patients),
                ))
            })
            .await
    }
}
