//! Requests of the scheduling service, parsed into what the use cases are asked: every wrong
//! field is named at once (`INVALID_ARGUMENT` with field violations), nothing is echoed back.

use hmis_platform::Violations;
use hmis_platform::types::{Code, Line, Text, parse_date};
use hmis_platform::wire::parse_timestamp;
use hmis_proto::openhmis::scheduling::v1 as pb;
use uuid::Uuid;

use crate::app::{
    AppointmentChangeRequest, Booking, CallRequest, CheckInRequest, Finishing, FreeSlotQuery,
    Joining, NewClinic, NewHoliday, NewLeaveRequest, NewSchedule, Rescheduling, SlotOpening,
};
use crate::convert::{
    parse_channel, parse_clinic_kind, parse_outcome, parse_priority, parse_referral_status,
};
use crate::domain::{
    MAX_CAPACITY, MAX_HOLD_MINUTES, MAX_OPEN_DAYS, MAX_SLOT_MINUTES, MIN_SLOT_MINUTES,
    ReferralStatus, VisitOutcome, WorkingHours,
};
use crate::error::Result;

/// Working-hour lines one weekly schedule holds.
const MAX_HOURS: usize = 21;
/// The most slots one FindFreeSlots answers, and how many when not said.
const MAX_FREE_SLOTS: i32 = 200;
const DEFAULT_FREE_SLOTS: i64 = 20;
/// The longest period the clinics' report covers, in days.
const MAX_REPORT_DAYS: i64 = 366;

/// One id, the whole request of a read by id.
pub(crate) fn id(field: &str, value: &str) -> Result<Uuid> {
    let mut violations = Violations::default();
    let id = violations.id(field, value);
    Ok(violations.finish(|| id)?)
}

fn required_line(field: &str, value: &str, violations: &mut Violations) -> Option<Line> {
    let line = violations.check(field, Line::parse(value))?;
    if line.is_empty() {
        violations.add(field, "must not be empty");
        return None;
    }
    Some(line)
}

/// A whole number in `[min, max]`; `zero_is_default` lets 0 mean "the clinic's".
fn bounded(
    field: &str,
    value: i32,
    (min, max): (i32, i32),
    zero_is_default: bool,
    violations: &mut Violations,
) -> Option<Option<i32>> {
    if value == 0 && zero_is_default {
        return Some(None);
    }
    if !(min..=max).contains(&value) {
        violations.add(field, format!("must be from {min} to {max}"));
        return None;
    }
    Some(Some(value))
}

pub(crate) fn create_clinic(message: &pb::CreateClinicRequest) -> Result<NewClinic> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let clinic = message.clinic.clone().unwrap_or_default();
    let department_id = violations.id("clinic.department_id", &clinic.department_id);
    let code = violations.check("clinic.code", Code::parse(&clinic.code));
    let name = required_line("clinic.name", &clinic.name, &mut violations);
    let kind = violations.check("clinic.kind", parse_clinic_kind(clinic.kind));
    let slot_minutes = bounded(
        "clinic.slot_minutes",
        clinic.slot_minutes,
        (MIN_SLOT_MINUTES, MAX_SLOT_MINUTES),
        false,
        &mut violations,
    );
    let capacity = bounded(
        "clinic.capacity",
        clinic.capacity,
        (1, MAX_CAPACITY),
        false,
        &mut violations,
    );
    Ok(violations.finish(|| {
        Some(NewClinic {
            key: key?,
            department_id: department_id?,
            code: code?.as_str().to_owned(),
            name: name?,
            kind: kind?,
            slot_minutes: slot_minutes??,
            capacity: capacity??,
        })
    })?)
}

pub(crate) fn add_schedule(message: &pb::AddWeeklyScheduleRequest) -> Result<NewSchedule> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let schedule = message.schedule.clone().unwrap_or_default();
    let clinic_id = violations.id("schedule.clinic_id", &schedule.clinic_id);
    let clinician_id = violations.optional_id("schedule.clinician_id", &schedule.clinician_id);
    let room_id = violations.optional_id("schedule.room_id", &schedule.room_id);
    let hours = if schedule.hours.is_empty() || schedule.hours.len() > MAX_HOURS {
        violations.add(
            "schedule.hours",
            format!("must list from 1 to {MAX_HOURS} working hours"),
        );
        None
    } else {
        let before = violations.len();
        let mut parsed: Vec<WorkingHours> = Vec::with_capacity(schedule.hours.len());
        for (index, line) in schedule.hours.iter().enumerate() {
            match WorkingHours::parse(line.weekday, &line.start, &line.end) {
                Ok(hours) => {
                    if crate::domain::hours_overlap(&parsed, &[hours]) {
                        violations.add(
                            format!("schedule.hours[{index}]"),
                            "overlaps an earlier line",
                        );
                    }
                    parsed.push(hours);
                }
                Err((field, reason)) => {
                    violations.add(format!("schedule.hours[{index}].{field}"), reason);
                }
            }
        }
        (violations.len() == before).then_some(parsed)
    };
    let slot_minutes = bounded(
        "schedule.slot_minutes",
        schedule.slot_minutes,
        (MIN_SLOT_MINUTES, MAX_SLOT_MINUTES),
        true,
        &mut violations,
    );
    let capacity = bounded(
        "schedule.capacity",
        schedule.capacity,
        (1, MAX_CAPACITY),
        true,
        &mut violations,
    );
    let valid_from = violations.check("schedule.valid_from", parse_date(&schedule.valid_from));
    let valid_until = violations.optional_date("schedule.valid_until", &schedule.valid_until);
    if let (Some(from), Some(Some(until))) = (valid_from, valid_until)
        && until < from
    {
        violations.add("schedule.valid_until", "must not be before valid_from");
    }
    Ok(violations.finish(|| {
        Some(NewSchedule {
            key: key?,
            clinic_id: clinic_id?,
            clinician_id: clinician_id?,
            room_id: room_id?,
            hours: hours?,
            slot_minutes: slot_minutes?,
            capacity: capacity?,
            valid_from: valid_from?,
            valid_until: valid_until?,
        })
    })?)
}

pub(crate) fn add_holiday(message: &pb::AddHolidayRequest) -> Result<NewHoliday> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let facility_id = violations.id("facility_id", &message.facility_id);
    let day = violations.check("day", parse_date(&message.day));
    let name = required_line("name", &message.name, &mut violations);
    Ok(violations.finish(|| {
        Some(NewHoliday {
            key: key?,
            facility_id: facility_id?,
            day: day?,
            name: name?,
        })
    })?)
}

pub(crate) fn add_leave(message: &pb::AddLeaveRequest) -> Result<NewLeaveRequest> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let clinician_id = violations.id("clinician_id", &message.clinician_id);
    let facility_id = violations.id("facility_id", &message.facility_id);
    let days = violations.period(
        ("first_day", &message.first_day),
        ("last_day", &message.last_day),
    );
    if days.is_some_and(|(first, last)| (last - first).num_days() >= MAX_REPORT_DAYS) {
        violations.add("last_day", "must be within a year of first_day");
    }
    let reason = required_line("reason", &message.reason, &mut violations);
    Ok(violations.finish(|| {
        Some(NewLeaveRequest {
            key: key?,
            clinician_id: clinician_id?,
            facility_id: facility_id?,
            days: days?,
            reason: reason?,
        })
    })?)
}

pub(crate) fn open_slots(message: &pb::OpenSlotsRequest) -> Result<SlotOpening> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let clinic_id = violations.id("clinic_id", &message.clinic_id);
    let days = violations.period(
        ("first_day", &message.first_day),
        ("last_day", &message.last_day),
    );
    if days.is_some_and(|(first, last)| (last - first).num_days() >= MAX_OPEN_DAYS) {
        violations.add(
            "last_day",
            format!("must be within {MAX_OPEN_DAYS} days of first_day"),
        );
    }
    Ok(violations.finish(|| {
        Some(SlotOpening {
            key: key?,
            clinic_id: clinic_id?,
            days: days?,
        })
    })?)
}

pub(crate) fn find_free_slots(message: &pb::FindFreeSlotsRequest) -> Result<FreeSlotQuery> {
    let mut violations = Violations::default();
    let clinic_id = violations.id("clinic_id", &message.clinic_id);
    let clinician_id = violations.optional_id("clinician_id", &message.clinician_id);
    let from = violations.check("from_time", parse_timestamp(message.from_time.as_ref()));
    let until = violations.check("until_time", parse_timestamp(message.until_time.as_ref()));
    if let (Some(Some(from)), Some(Some(until))) = (from, until)
        && (until <= from || until - from > chrono::Duration::days(MAX_OPEN_DAYS))
    {
        violations.add(
            "until_time",
            format!("must be after from_time, within {MAX_OPEN_DAYS} days"),
        );
    }
    let limit = match message.limit {
        0 => Some(DEFAULT_FREE_SLOTS),
        limit @ 1..=MAX_FREE_SLOTS => Some(i64::from(limit)),
        _ => {
            violations.add("limit", format!("must be from 0 to {MAX_FREE_SLOTS}"));
            None
        }
    };
    Ok(violations.finish(|| {
        Some(FreeSlotQuery {
            clinic_id: clinic_id?,
            clinician_id: clinician_id?,
            from: from?,
            until: until?,
            limit: limit?,
        })
    })?)
}

pub(crate) fn book_appointment(message: &pb::BookAppointmentRequest) -> Result<Booking> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let slot_id = violations.id("slot_id", &message.slot_id);
    let patient_id = violations.id("patient_id", &message.patient_id);
    let channel = violations.check("channel", parse_channel(message.channel));
    let hold_minutes = match (message.hold, message.hold_minutes) {
        (false, 0) => Some(None),
        (false, _) => {
            violations.add("hold_minutes", "is only for a hold");
            None
        }
        (true, minutes @ 1..=MAX_HOLD_MINUTES) => Some(Some(minutes)),
        (true, _) => {
            violations.add(
                "hold_minutes",
                format!("must be from 1 to {MAX_HOLD_MINUTES} for a hold"),
            );
            None
        }
    };
    let referral_id = violations.optional_id("referral_id", &message.referral_id);
    Ok(violations.finish(|| {
        Some(Booking {
            key: key?,
            slot_id: slot_id?,
            patient_id: patient_id?,
            channel: channel?,
            hold_minutes: hold_minutes?,
            referral_id: referral_id?,
        })
    })?)
}

fn appointment_change(
    (request_id, id, reason, etag): (&str, &str, Option<&str>, &str),
) -> Result<AppointmentChangeRequest> {
    let mut violations = Violations::default();
    let key = violations.request_key(request_id);
    let id = violations.id("id", id);
    let reason = match reason {
        Some(reason) => violations.check("reason", Text::parse_required(reason)),
        None => Some(Text::default()),
    };
    let etag = violations.optional_etag("etag", etag);
    Ok(violations.finish(|| {
        Some(AppointmentChangeRequest {
            key: key?,
            id: id?,
            reason: reason?,
            etag,
        })
    })?)
}

pub(crate) fn confirm(message: &pb::ConfirmAppointmentRequest) -> Result<AppointmentChangeRequest> {
    appointment_change((&message.request_id, &message.id, None, ""))
}

pub(crate) fn cancel(message: &pb::CancelAppointmentRequest) -> Result<AppointmentChangeRequest> {
    appointment_change((
        &message.request_id,
        &message.id,
        Some(&message.reason),
        &message.etag,
    ))
}

pub(crate) fn no_show(message: &pb::MarkNoShowRequest) -> Result<AppointmentChangeRequest> {
    appointment_change((&message.request_id, &message.id, None, ""))
}

pub(crate) fn reschedule(message: &pb::RescheduleAppointmentRequest) -> Result<Rescheduling> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let id = violations.id("id", &message.id);
    let slot_id = violations.id("slot_id", &message.slot_id);
    let etag = violations.optional_etag("etag", &message.etag);
    Ok(violations.finish(|| {
        Some(Rescheduling {
            key: key?,
            id: id?,
            slot_id: slot_id?,
            etag,
        })
    })?)
}

/// A ListAppointments request: a clinic and an optional day, or a patient.
pub(crate) enum AppointmentList {
    Clinic(Uuid, Option<chrono::NaiveDate>),
    Patient(Uuid),
}

pub(crate) fn list_appointments(message: &pb::ListAppointmentsRequest) -> Result<AppointmentList> {
    let mut violations = Violations::default();
    let list = match (message.clinic_id.is_empty(), message.patient_id.is_empty()) {
        (false, true) => {
            let clinic = violations.id("clinic_id", &message.clinic_id);
            let day = violations.optional_date("day", &message.day);
            clinic
                .zip(day)
                .map(|(clinic, day)| AppointmentList::Clinic(clinic, day))
        }
        (true, false) => violations
            .id("patient_id", &message.patient_id)
            .map(AppointmentList::Patient),
        _ => {
            violations.add(
                "clinic_id",
                "name either a clinic or a patient (patient_id)",
            );
            None
        }
    };
    Ok(violations.finish(|| list)?)
}

pub(crate) fn list_referrals(message: &pb::ListReferralsRequest) -> Result<(Uuid, ReferralStatus)> {
    let mut violations = Violations::default();
    let department_id = violations.id("department_id", &message.department_id);
    let status = violations.check("status", parse_referral_status(message.status));
    Ok(violations.finish(|| Some((department_id?, status?)))?)
}

pub(crate) fn check_in(message: &pb::CheckInRequest) -> Result<CheckInRequest> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let priority = violations.check("priority", parse_priority(message.priority));
    let request = if message.appointment_id.is_empty() {
        let clinic_id = violations.id("clinic_id", &message.clinic_id);
        let patient_id = violations.id("patient_id", &message.patient_id);
        clinic_id
            .zip(patient_id)
            .map(|(clinic_id, patient_id)| (None, Some((clinic_id, patient_id))))
    } else {
        if !message.clinic_id.is_empty() || !message.patient_id.is_empty() {
            violations.add(
                "appointment_id",
                "names the clinic and patient; leave clinic_id and patient_id empty",
            );
        }
        violations
            .id("appointment_id", &message.appointment_id)
            .map(|id| (Some(id), None))
    };
    Ok(violations.finish(|| {
        let (key, priority) = (key?, priority?);
        Some(match request? {
            (Some(id), _) => CheckInRequest::Appointment { key, id, priority },
            (None, Some((clinic_id, patient_id))) => CheckInRequest::WalkIn {
                key,
                clinic_id,
                patient_id,
                priority,
            },
            (None, None) => return None,
        })
    })?)
}

pub(crate) fn get_queue(
    message: &pb::GetQueueRequest,
) -> Result<(Uuid, Option<chrono::NaiveDate>)> {
    let mut violations = Violations::default();
    let clinic_id = violations.id("clinic_id", &message.clinic_id);
    let day = violations.optional_date("day", &message.day);
    Ok(violations.finish(|| Some((clinic_id?, day?)))?)
}

pub(crate) fn call_ticket(message: &pb::CallTicketRequest) -> Result<CallRequest> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let ticket_id = violations.optional_id("ticket_id", &message.ticket_id);
    let clinic_id = violations.optional_id("clinic_id", &message.clinic_id);
    if matches!((ticket_id, clinic_id), (Some(None), Some(None))) {
        violations.add(
            "ticket_id",
            "name a ticket, or a clinic (clinic_id) to call its next",
        );
    }
    if matches!((ticket_id, clinic_id), (Some(Some(_)), Some(Some(_)))) {
        violations.add("clinic_id", "must be empty when a ticket is named");
    }
    let called_to = required_line("called_to", &message.called_to, &mut violations);
    Ok(violations.finish(|| {
        Some(CallRequest {
            key: key?,
            ticket_id: ticket_id?,
            clinic_id: clinic_id?,
            called_to: called_to?,
        })
    })?)
}

/// A change of one ticket: its request id and the ticket.
pub(crate) fn ticket_command(
    request_id: &str,
    ticket_id: &str,
) -> Result<(hmis_platform::idempotency::RequestKey, Uuid)> {
    let mut violations = Violations::default();
    let key = violations.request_key(request_id);
    let ticket_id = violations.id("ticket_id", ticket_id);
    Ok(violations.finish(|| Some((key?, ticket_id?)))?)
}

pub(crate) fn finish_visit(message: &pb::FinishVisitRequest) -> Result<Finishing> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let ticket_id = violations.id("ticket_id", &message.ticket_id);
    let outcome = violations.check("outcome", parse_outcome(message.outcome));
    let slot = violations.optional_id("follow_up_slot_id", &message.follow_up_slot_id);
    match (outcome, slot) {
        (Some(VisitOutcome::FollowUp), Some(None)) => {
            violations.add("follow_up_slot_id", "is required for a follow-up");
        }
        (Some(outcome), Some(Some(_))) if outcome != VisitOutcome::FollowUp => {
            violations.add("follow_up_slot_id", "is only for a follow-up");
        }
        _ => {}
    }
    Ok(violations.finish(|| {
        Some(Finishing {
            key: key?,
            ticket_id: ticket_id?,
            outcome: outcome?,
            follow_up_slot_id: slot?,
        })
    })?)
}

pub(crate) fn clinic_report(
    message: &pb::GetClinicReportRequest,
) -> Result<(Uuid, (chrono::NaiveDate, chrono::NaiveDate))> {
    let mut violations = Violations::default();
    let facility_id = violations.id("facility_id", &message.facility_id);
    let days = violations.period(
        ("first_day", &message.first_day),
        ("last_day", &message.last_day),
    );
    if days.is_some_and(|(first, last)| (last - first).num_days() >= MAX_REPORT_DAYS) {
        violations.add(
            "last_day",
            format!("must be within {MAX_REPORT_DAYS} days of first_day"),
        );
    }
    Ok(violations.finish(|| Some((facility_id?, days?)))?)
}

pub(crate) fn join_waiting_list(message: &pb::JoinWaitingListRequest) -> Result<Joining> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let entry = message.entry.clone().unwrap_or_default();
    let clinic_id = violations.id("entry.clinic_id", &entry.clinic_id);
    let clinician_id = violations.optional_id("entry.clinician_id", &entry.clinician_id);
    let patient_id = violations.id("entry.patient_id", &entry.patient_id);
    let days = violations.period(
        ("entry.first_day", &entry.first_day),
        ("entry.last_day", &entry.last_day),
    );
    if days.is_some_and(|(first, last)| (last - first).num_days() >= MAX_REPORT_DAYS) {
        violations.add("entry.last_day", "must be within a year of first_day");
    }
    Ok(violations.finish(|| {
        Some(Joining {
            key: key?,
            clinic_id: clinic_id?,
            clinician_id: clinician_id?,
            patient_id: patient_id?,
            days: days?,
        })
    })?)
}
