//! Setting up the booking office: clinics, their weekly schedules, the facility's holidays,
//! clinicians' leave, and the slots opened from them.

use std::collections::HashSet;

use hmis_platform::idempotency::RequestKey;
use hmis_platform::types::Line;
use hmis_proto::openhmis::scheduling::v1 as pb;

use super::*;
use crate::convert::{appointment_to_pb, clinic_to_pb, schedule_to_pb};
use crate::domain::{ClinicKind, Closed, WorkingHours, hours_overlap, slots_of};
use crate::store::{NewLeave, ScheduleRow};

/// What a CreateClinic call asks for, parsed.
#[derive(Debug)]
pub(crate) struct NewClinic {
    pub(crate) key: RequestKey,
    pub(crate) department_id: Uuid,
    pub(crate) code: String,
    pub(crate) name: Line,
    pub(crate) kind: ClinicKind,
    pub(crate) slot_minutes: i32,
    pub(crate) capacity: i32,
}

/// What an AddWeeklySchedule call asks for, parsed (0 minutes or capacity: the clinic's).
#[derive(Debug)]
pub(crate) struct NewSchedule {
    pub(crate) key: RequestKey,
    pub(crate) clinic_id: Uuid,
    pub(crate) clinician_id: Option<Uuid>,
    pub(crate) room_id: Option<Uuid>,
    pub(crate) hours: Vec<WorkingHours>,
    pub(crate) slot_minutes: Option<i32>,
    pub(crate) capacity: Option<i32>,
    pub(crate) valid_from: NaiveDate,
    pub(crate) valid_until: Option<NaiveDate>,
}

#[derive(Debug)]
pub(crate) struct NewHoliday {
    pub(crate) key: RequestKey,
    pub(crate) facility_id: Uuid,
    pub(crate) day: NaiveDate,
    pub(crate) name: Line,
}

#[derive(Debug)]
pub(crate) struct NewLeaveRequest {
    pub(crate) key: RequestKey,
    pub(crate) clinician_id: Uuid,
    pub(crate) facility_id: Uuid,
    pub(crate) days: (NaiveDate, NaiveDate),
    pub(crate) reason: Line,
}

#[derive(Debug)]
pub(crate) struct SlotOpening {
    pub(crate) key: RequestKey,
    pub(crate) clinic_id: Uuid,
    pub(crate) days: (NaiveDate, NaiveDate),
}

/// That the caller may set up the facility's booking office (scheduling.manage for the
/// facility, in any of its departments).
fn authorize_facility(context: &RequestContext, facility_id: Uuid) -> Result<()> {
    let departments = context.principal()?.departments_for(MANAGE, facility_id);
    if departments.is_some_and(|only| only.is_empty()) {
        return Err(Status::permission_denied(format!(
            "missing permission {MANAGE} for this facility"
        ))
        .into());
    }
    Ok(())
}

/// Blocks the open slots of a facility's days (or one clinician's) in `bounds` and puts the
/// appointments in them, to be rescheduled, on record: how many slots, and the appointments.
async fn close(
    tx: &mut TenantTx,
    context: &RequestContext,
    (facility_id, clinician_id): (Uuid, Option<Uuid>),
    bounds: (DateTime<Utc>, DateTime<Utc>),
    now: DateTime<Utc>,
) -> Result<(i32, Vec<pb::Appointment>)> {
    let blocked = store::block_slots(tx, facility_id, clinician_id, bounds).await?;
    let affected = store::appointments_in_blocked(tx, facility_id, clinician_id, bounds).await?;
    let patients: Vec<Uuid> = affected.iter().map(|a| a.patient_id).collect();
    record(tx, context, &patients, now).await?;
    Ok((
        i32::try_from(blocked).unwrap_or(i32::MAX),
        affected.iter().map(appointment_to_pb).collect(),
    ))
}

impl Scheduling {
    pub(crate) async fn create_clinic(
        &self,
        context: &RequestContext,
        message: &pb::CreateClinicRequest,
        new: NewClinic,
    ) -> Result<pb::CreateClinicResponse> {
        let method = method("CreateClinic");
        if let Some(replayed) = self
            .calls
            .replay(context, &method, &new.key, message)
            .await?
        {
            return Ok(replayed);
        }
        let department = self
            .directory
            .department(context, new.department_id)
            .await?;
        if !department.active {
            return Err(Error::invalid("clinic.department_id", "is closed"));
        }
        context.authorize(
            MANAGE,
            &Target::department(department.facility_id, new.department_id),
        )?;
        let now = self.calls.now();
        self.calls
            .write(context, &method, &new.key, message, async |tx| {
                let row = ClinicRow {
                    id: Uuid::now_v7(),
                    department_id: new.department_id,
                    facility_id: department.facility_id,
                    code: new.code.clone(),
                    name: new.name.as_str().to_owned(),
                    kind: new.kind,
                    slot_minutes: new.slot_minutes,
                    capacity: new.capacity,
                    active: true,
                    version: 1,
                };
                store::insert_clinic(tx, &row, now).await?;
                record(tx, context, &[], now).await?;
                Ok(pb::CreateClinicResponse {
                    clinic: Some(clinic_to_pb(&row)),
                })
            })
            .await
    }

    pub(crate) async fn list_clinics(
        &self,
        context: &RequestContext,
        facility_id: Uuid,
    ) -> Result<pb::ListClinicsResponse> {
        self.calls
            .transaction(context, async |tx| {
                let clinics = store::list_clinics(tx, facility_id).await?;
                Ok(pb::ListClinicsResponse {
                    clinics: clinics.iter().map(clinic_to_pb).collect(),
                })
            })
            .await
    }

    pub(crate) async fn add_schedule(
        &self,
        context: &RequestContext,
        message: &pb::AddWeeklyScheduleRequest,
        new: NewSchedule,
    ) -> Result<pb::AddWeeklyScheduleResponse> {
        let method = method("AddWeeklySchedule");
        if let Some(replayed) = self
            .calls
            .replay(context, &method, &new.key, message)
            .await?
        {
            return Ok(replayed);
        }
        let clinic = self
            .clinic(context, new.clinic_id, "schedule.clinic_id")
            .await?;
        context.authorize(MANAGE, &clinic_target(&clinic))?;
        if let Some(room_id) = new.room_id {
            self.directory
                .check_room(context, room_id, clinic.department_id)
                .await?;
        }
        let now = self.calls.now();
        self.calls
            .write(context, &method, &new.key, message, async |tx| {
                // Schedules of one clinic are added one at a time: the overlap check below
                // reads a list no other call is changing.
                let clinic = clinic_named(tx, new.clinic_id, "schedule.clinic_id", true).await?;
                let overlapping = store::schedules_of(tx, clinic.id)
                    .await?
                    .into_iter()
                    .filter(|other| other.clinician_id == new.clinician_id)
                    .filter(|other| {
                        other
                            .valid_until
                            .is_none_or(|until| until >= new.valid_from)
                            && new
                                .valid_until
                                .is_none_or(|until| until >= other.valid_from)
                    })
                    .any(|other| hours_overlap(&other.hours.0, &new.hours));
                if overlapping {
                    return Err(Error::precondition(
                        "the clinician already works in this clinic at some of those hours \
                         in that period",
                    ));
                }
                let row = ScheduleRow {
                    id: Uuid::now_v7(),
                    clinic_id: clinic.id,
                    clinician_id: new.clinician_id,
                    room_id: new.room_id,
                    hours: sqlx::types::Json(new.hours.clone()),
                    slot_minutes: new.slot_minutes.unwrap_or(clinic.slot_minutes),
                    capacity: new.capacity.unwrap_or(clinic.capacity),
                    valid_from: new.valid_from,
                    valid_until: new.valid_until,
                };
                store::insert_schedule(tx, &row, context.user_id(), now).await?;
                record(tx, context, &[], now).await?;
                Ok(pb::AddWeeklyScheduleResponse {
                    schedule: Some(schedule_to_pb(&row)),
                })
            })
            .await
    }

    pub(crate) async fn list_schedules(
        &self,
        context: &RequestContext,
        clinic_id: Uuid,
    ) -> Result<pb::ListWeeklySchedulesResponse> {
        self.calls
            .transaction(context, async |tx| {
                let clinic = clinic_named(tx, clinic_id, "clinic_id", false).await?;
                let schedules = store::schedules_of(tx, clinic.id).await?;
                Ok(pb::ListWeeklySchedulesResponse {
                    schedules: schedules.iter().map(schedule_to_pb).collect(),
                })
            })
            .await
    }

    pub(crate) async fn add_holiday(
        &self,
        context: &RequestContext,
        message: &pb::AddHolidayRequest,
        new: NewHoliday,
    ) -> Result<pb::AddHolidayResponse> {
        let method = method("AddHoliday");
        if let Some(replayed) = self
            .calls
            .replay(context, &method, &new.key, message)
            .await?
        {
            return Ok(replayed);
        }
        authorize_facility(context, new.facility_id)?;
        let zone = self.directory.time_zone(context, new.facility_id).await?;
        let bounds = days_bounds(&zone, new.day, new.day);
        let now = self.calls.now();
        self.calls
            .write(context, &method, &new.key, message, async |tx| {
                let facility_day = (new.facility_id, new.day, new.name.as_str());
                store::insert_holiday(tx, facility_day, context.user_id(), now).await?;
                let (blocked_slots, to_reschedule) =
                    close(tx, context, (new.facility_id, None), bounds, now).await?;
                Ok(pb::AddHolidayResponse {
                    blocked_slots,
                    to_reschedule,
                })
            })
            .await
    }

    pub(crate) async fn add_leave(
        &self,
        context: &RequestContext,
        message: &pb::AddLeaveRequest,
        new: NewLeaveRequest,
    ) -> Result<pb::AddLeaveResponse> {
        let method = method("AddLeave");
        if let Some(replayed) = self
            .calls
            .replay(context, &method, &new.key, message)
            .await?
        {
            return Ok(replayed);
        }
        authorize_facility(context, new.facility_id)?;
        let zone = self.directory.time_zone(context, new.facility_id).await?;
        let bounds = days_bounds(&zone, new.days.0, new.days.1);
        let now = self.calls.now();
        self.calls
            .write(context, &method, &new.key, message, async |tx| {
                let leave = NewLeave {
                    id: Uuid::now_v7(),
                    clinician_id: new.clinician_id,
                    facility_id: new.facility_id,
                    days: new.days,
                    reason: new.reason.as_str(),
                };
                store::insert_leave(tx, &leave, context.user_id(), now).await?;
                let whose = (new.facility_id, Some(new.clinician_id));
                let (blocked_slots, to_reschedule) = close(tx, context, whose, bounds, now).await?;
                Ok(pb::AddLeaveResponse {
                    blocked_slots,
                    to_reschedule,
                })
            })
            .await
    }

    pub(crate) async fn open_slots(
        &self,
        context: &RequestContext,
        message: &pb::OpenSlotsRequest,
        opening: SlotOpening,
    ) -> Result<pb::OpenSlotsResponse> {
        let method = method("OpenSlots");
        if let Some(replayed) = (self.calls)
            .replay(context, &method, &opening.key, message)
            .await?
        {
            return Ok(replayed);
        }
        let clinic = self.clinic(context, opening.clinic_id, "clinic_id").await?;
        context.authorize(MANAGE, &clinic_target(&clinic))?;
        if !clinic.active {
            return Err(Error::invalid("clinic_id", "is closed"));
        }
        let zone = self
            .directory
            .time_zone(context, clinic.facility_id)
            .await?;
        let now = self.calls.now();
        self.calls
            .write(context, &method, &opening.key, message, async |tx| {
                let weeks: Vec<_> = (store::schedules_of(tx, clinic.id).await?.iter())
                    .map(ScheduleRow::week)
                    .collect();
                let clinicians: Vec<Uuid> = (weeks.iter())
                    .filter_map(|week| week.clinician_id)
                    .collect::<HashSet<_>>()
                    .into_iter()
                    .collect();
                let closed = Closed {
                    holidays: store::holidays_between(tx, clinic.facility_id, opening.days)
                        .await?
                        .into_iter()
                        .collect(),
                    leave: store::leave_between(tx, &clinicians, opening.days).await?,
                };
                let slots = slots_of(&weeks, opening.days, &zone, &closed);
                let opened = store::open_slots(tx, (clinic.id, clinic.facility_id), &slots).await?;
                record(tx, context, &[], now).await?;
                tracing::info!(clinic_id = %clinic.id, opened, "slots opened");
                Ok(pb::OpenSlotsResponse {
                    opened: i32::try_from(opened).unwrap_or(i32::MAX),
                })
            })
            .await
    }
}
