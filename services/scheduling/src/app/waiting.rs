//! The clinics' waiting lists: patients join with a window of days, and a place freed by a
//! cancellation, a reschedule or an expired hold is offered, as a hold, to the first one
//! waiting whose window and clinician it suits, in the transaction that freed it.

use chrono::Duration;
use hmis_platform::call::Shown;
use hmis_platform::idempotency::RequestKey;
use hmis_platform::wire::timestamp;
use hmis_proto::events::scheduling as events;
use hmis_proto::openhmis::scheduling::v1 as pb;

use super::*;
use crate::domain::{Channel, OFFER_HOURS, WaitingStatus};
use crate::store::{AppointmentRow, NewAppointment, WaitingRow};

/// What a JoinWaitingList call asks for, parsed.
#[derive(Debug)]
pub(crate) struct Joining {
    pub(crate) key: RequestKey,
    pub(crate) clinic_id: Uuid,
    pub(crate) clinician_id: Option<Uuid>,
    pub(crate) patient_id: Uuid,
    pub(crate) days: (NaiveDate, NaiveDate),
}

fn waiting_to_pb(row: &WaitingRow, zone: &chrono_tz::Tz) -> pb::WaitingListEntry {
    // The window ends at the start of the day after its last day.
    let last = row.wanted_until - Duration::seconds(1);
    pb::WaitingListEntry {
        id: row.id.to_string(),
        clinic_id: row.clinic_id.to_string(),
        clinician_id: row
            .clinician_id
            .map(|id| id.to_string())
            .unwrap_or_default(),
        patient_id: row.patient_id.to_string(),
        first_day: day_of(zone, row.wanted_from).to_string(),
        last_day: day_of(zone, last).to_string(),
        status: match row.status {
            WaitingStatus::Waiting => pb::WaitingStatus::Waiting,
            WaitingStatus::Offered => pb::WaitingStatus::Offered,
            WaitingStatus::Booked => pb::WaitingStatus::Booked,
            WaitingStatus::Lapsed => pb::WaitingStatus::Lapsed,
            WaitingStatus::Withdrawn => pb::WaitingStatus::Withdrawn,
        }
        .into(),
        offered_appointment_id: row
            .appointment_id
            .map(|id| id.to_string())
            .unwrap_or_default(),
        create_time: timestamp(row.created_at),
    }
}

impl Scheduling {
    /// Offers the free places of slot `slot_id` (taken for update by the caller) to the
    /// waiting list, one patient a place, in the caller's transaction; the patients offered.
    pub(crate) async fn offer_freed(
        &self,
        tx: &mut TenantTx,
        slot_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Vec<Uuid>> {
        let mut offered = Vec::new();
        loop {
            let slot = store::get_slot(tx, slot_id).await?;
            if slot.blocked || slot.start_time <= now || slot.booked >= slot.capacity {
                return Ok(offered);
            }
            let suits = (slot.clinic_id, slot.clinician_id);
            let during = (slot.start_time, slot.end_time);
            let Some(entry) = store::first_waiting_for(tx, suits, during).await? else {
                return Ok(offered);
            };
            store::take_places(tx, slot.id, 1).await?;
            let offer = NewAppointment {
                patient_id: entry.patient_id,
                channel: Channel::Desk,
                hold_until: Some((now + Duration::hours(OFFER_HOURS)).min(slot.start_time)),
                referral_id: None,
                booked_by: entry.added_by,
            };
            let row = AppointmentRow::new(&slot, offer, now);
            store::insert_appointment(tx, &row).await?;
            store::mark_waiting(tx, entry.id, WaitingStatus::Offered, Some(row.id)).await?;
            self.publish_appointment(tx, events::APPOINTMENT_BOOKED, &row, now)
                .await?;
            tracing::info!(slot_id = %slot.id, appointment_id = %row.id, "freed place offered");
            offered.push(entry.patient_id);
        }
    }

    pub(crate) async fn join_waiting_list(
        &self,
        context: &RequestContext,
        message: &pb::JoinWaitingListRequest,
        joining: Joining,
    ) -> Result<pb::JoinWaitingListResponse> {
        let method = method("JoinWaitingList");
        if let Some(replayed) = (self.calls)
            .replay(context, &method, &joining.key, message)
            .await?
        {
            return Ok(replayed);
        }
        let patient_id = joining.patient_id;
        let clinic = self
            .clinic(context, joining.clinic_id, "entry.clinic_id")
            .await?;
        if let Err(denied) = context.authorize(BOOK, &clinic_target(&clinic)) {
            return Err(self.calls.refuse(context, &[patient_id], denied).await);
        }
        self.check_patient(context, patient_id, None).await?;
        let zone = self
            .directory
            .time_zone(context, clinic.facility_id)
            .await?;
        let (from, until) = days_bounds(&zone, joining.days.0, joining.days.1);
        let now = self.calls.now();
        if until <= now {
            return Err(Error::invalid("entry.last_day", "has passed"));
        }
        self.calls
            .write(context, &method, &joining.key, message, async |tx| {
                let row = WaitingRow {
                    id: Uuid::now_v7(),
                    clinic_id: clinic.id,
                    clinician_id: joining.clinician_id,
                    patient_id,
                    wanted_from: from,
                    wanted_until: until,
                    status: WaitingStatus::Waiting,
                    appointment_id: None,
                    added_by: context.user_id(),
                    created_at: now,
                };
                store::insert_waiting(tx, &row).await?;
                record(tx, context, &[patient_id], now).await?;
                Ok(pb::JoinWaitingListResponse {
                    entry: Some(waiting_to_pb(&row, &zone)),
                })
            })
            .await
    }

    pub(crate) async fn list_waiting_list(
        &self,
        context: &RequestContext,
        clinic_id: Uuid,
    ) -> Result<pb::ListWaitingListResponse> {
        let clinic = self.clinic(context, clinic_id, "clinic_id").await?;
        context.authorize(READ, &clinic_target(&clinic))?;
        let zone = self
            .directory
            .time_zone(context, clinic.facility_id)
            .await?;
        let since = self.calls.now() - Duration::days(30);
        self.calls
            .read(context, async |tx| {
                let rows = store::waiting_list(tx, clinic.id, since).await?;
                let mut patients: Vec<Uuid> = rows.iter().map(|row| row.patient_id).collect();
                patients.sort();
                patients.dedup();
                Ok((
                    pb::ListWaitingListResponse {
                        entries: rows.iter().map(|row| waiting_to_pb(row, &zone)).collect(),
                    },
                    Shown::patients(patients),
                ))
            })
            .await
    }
}
