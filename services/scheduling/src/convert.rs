//! The scheduling module's rows in the contract's words, and the contract's enumerations
//! parsed into the domain's.

use hmis_platform::types::Version;
use hmis_platform::wire::timestamp;
use hmis_proto::openhmis::scheduling::v1 as pb;
use uuid::Uuid;

use crate::domain::{
    AppointmentStatus, Channel, ClinicKind, QueuePriority, ReferralKind, ReferralStatus,
    TicketStatus, VisitOutcome, minutes_between,
};
use crate::store::{AppointmentRow, ClinicRow, ReferralRow, ScheduleRow, SlotRow, TicketRow};

fn optional(id: Option<Uuid>) -> String {
    id.map(|id| id.to_string()).unwrap_or_default()
}

pub(crate) fn clinic_kind_to_pb(kind: ClinicKind) -> pb::ClinicKind {
    match kind {
        ClinicKind::Consultation => pb::ClinicKind::Consultation,
        ClinicKind::Laboratory => pb::ClinicKind::Laboratory,
        ClinicKind::Imaging => pb::ClinicKind::Imaging,
        ClinicKind::Procedure => pb::ClinicKind::Procedure,
    }
}

pub(crate) fn parse_clinic_kind(value: i32) -> Result<ClinicKind, &'static str> {
    match pb::ClinicKind::try_from(value) {
        Ok(pb::ClinicKind::Consultation) => Ok(ClinicKind::Consultation),
        Ok(pb::ClinicKind::Laboratory) => Ok(ClinicKind::Laboratory),
        Ok(pb::ClinicKind::Imaging) => Ok(ClinicKind::Imaging),
        Ok(pb::ClinicKind::Procedure) => Ok(ClinicKind::Procedure),
        _ => Err("must be a clinic kind"),
    }
}

pub(crate) fn parse_channel(value: i32) -> Result<Channel, &'static str> {
    match pb::Channel::try_from(value) {
        Ok(pb::Channel::Desk) => Ok(Channel::Desk),
        Ok(pb::Channel::Kiosk) => Ok(Channel::Kiosk),
        Ok(pb::Channel::Phone) => Ok(Channel::Phone),
        Ok(pb::Channel::Online) => Ok(Channel::Online),
        _ => Err("must be a booking channel"),
    }
}

pub(crate) fn parse_priority(value: i32) -> Result<QueuePriority, &'static str> {
    match pb::QueuePriority::try_from(value) {
        Ok(pb::QueuePriority::Unspecified | pb::QueuePriority::Routine) => {
            Ok(QueuePriority::Routine)
        }
        Ok(pb::QueuePriority::Priority) => Ok(QueuePriority::Priority),
        Ok(pb::QueuePriority::Urgent) => Ok(QueuePriority::Urgent),
        Err(_) => Err("must be a queue priority"),
    }
}

pub(crate) fn parse_outcome(value: i32) -> Result<VisitOutcome, &'static str> {
    match pb::VisitOutcome::try_from(value) {
        Ok(pb::VisitOutcome::FollowUp) => Ok(VisitOutcome::FollowUp),
        Ok(pb::VisitOutcome::Referred) => Ok(VisitOutcome::Referred),
        Ok(pb::VisitOutcome::Admitted) => Ok(VisitOutcome::Admitted),
        Ok(pb::VisitOutcome::ToFamilyDoctor) => Ok(VisitOutcome::ToFamilyDoctor),
        _ => Err("must be a visit outcome"),
    }
}

pub(crate) fn parse_referral_status(value: i32) -> Result<ReferralStatus, &'static str> {
    match pb::ReferralStatus::try_from(value) {
        Ok(pb::ReferralStatus::Unspecified | pb::ReferralStatus::Waiting) => {
            Ok(ReferralStatus::Waiting)
        }
        Ok(pb::ReferralStatus::Booked) => Ok(ReferralStatus::Booked),
        Ok(pb::ReferralStatus::Seen) => Ok(ReferralStatus::Seen),
        Err(_) => Err("must be a referral status"),
    }
}

pub(crate) fn clinic_to_pb(row: &ClinicRow) -> pb::Clinic {
    pb::Clinic {
        id: row.id.to_string(),
        department_id: row.department_id.to_string(),
        facility_id: row.facility_id.to_string(),
        code: row.code.clone(),
        name: row.name.clone(),
        kind: clinic_kind_to_pb(row.kind).into(),
        slot_minutes: row.slot_minutes,
        capacity: row.capacity,
        active: row.active,
        etag: Version::from_db(row.version).etag(),
    }
}

pub(crate) fn schedule_to_pb(row: &ScheduleRow) -> pb::WeeklySchedule {
    pb::WeeklySchedule {
        id: row.id.to_string(),
        clinic_id: row.clinic_id.to_string(),
        clinician_id: optional(row.clinician_id),
        room_id: optional(row.room_id),
        hours: (row.hours.0.iter())
            .map(|hours| pb::WorkingHours {
                weekday: i32::try_from(hours.weekday).unwrap_or_default(),
                start: hours.start.format("%H:%M").to_string(),
                end: hours.end.format("%H:%M").to_string(),
            })
            .collect(),
        slot_minutes: row.slot_minutes,
        capacity: row.capacity,
        valid_from: row.valid_from.to_string(),
        valid_until: row
            .valid_until
            .map(|day| day.to_string())
            .unwrap_or_default(),
    }
}

pub(crate) fn slot_to_pb(row: &SlotRow) -> pb::Slot {
    pb::Slot {
        id: row.id.to_string(),
        clinic_id: row.clinic_id.to_string(),
        clinician_id: optional(row.clinician_id),
        room_id: optional(row.room_id),
        start_time: timestamp(row.start_time),
        end_time: timestamp(row.end_time),
        capacity: row.capacity,
        booked: row.booked,
        blocked: row.blocked,
    }
}

fn status_to_pb(status: AppointmentStatus) -> pb::AppointmentStatus {
    match status {
        AppointmentStatus::Held => pb::AppointmentStatus::Held,
        AppointmentStatus::Booked => pb::AppointmentStatus::Booked,
        AppointmentStatus::CheckedIn => pb::AppointmentStatus::CheckedIn,
        AppointmentStatus::Completed => pb::AppointmentStatus::Completed,
        AppointmentStatus::Cancelled => pb::AppointmentStatus::Cancelled,
        AppointmentStatus::NoShow => pb::AppointmentStatus::NoShow,
        AppointmentStatus::Expired => pb::AppointmentStatus::Expired,
    }
}

fn channel_to_pb(channel: Channel) -> pb::Channel {
    match channel {
        Channel::Desk => pb::Channel::Desk,
        Channel::Kiosk => pb::Channel::Kiosk,
        Channel::Phone => pb::Channel::Phone,
        Channel::Online => pb::Channel::Online,
    }
}

pub(crate) fn appointment_to_pb(row: &AppointmentRow) -> pb::Appointment {
    pb::Appointment {
        id: row.id.to_string(),
        slot_id: row.slot_id.to_string(),
        clinic_id: row.clinic_id.to_string(),
        clinician_id: optional(row.clinician_id),
        patient_id: row.patient_id.to_string(),
        start_time: timestamp(row.start_time),
        end_time: timestamp(row.end_time),
        status: status_to_pb(row.status).into(),
        channel: channel_to_pb(row.channel).into(),
        hold_expire_time: row.hold_until.and_then(timestamp),
        referral_id: optional(row.referral_id),
        booked_by: row.booked_by.to_string(),
        create_time: timestamp(row.created_at),
        cancel_reason: row.cancel_reason.clone(),
        cancelled_by: optional(row.cancelled_by),
        etag: Version::from_db(row.version).etag(),
    }
}

pub(crate) fn referral_to_pb(row: &ReferralRow) -> pb::ReferralToSee {
    pb::ReferralToSee {
        referral_id: row.referral_id.to_string(),
        patient_id: row.patient_id.to_string(),
        kind: match row.kind {
            ReferralKind::Laboratory => pb::ReferralKind::Laboratory,
            ReferralKind::Imaging => pb::ReferralKind::Imaging,
            ReferralKind::Consultation => pb::ReferralKind::Consultation,
        }
        .into(),
        codes: row.codes.clone(),
        specialty: row.specialty.clone(),
        target_department_id: optional(row.target_department_id),
        referring_department_id: optional(row.referring_department_id),
        referred_by: row.referred_by.to_string(),
        urgency: row.urgency.clone(),
        create_time: timestamp(row.created_at),
        status: match row.status {
            ReferralStatus::Waiting => pb::ReferralStatus::Waiting,
            ReferralStatus::Booked => pb::ReferralStatus::Booked,
            ReferralStatus::Seen => pb::ReferralStatus::Seen,
        }
        .into(),
        appointment_id: optional(row.appointment_id),
    }
}

pub(crate) fn ticket_to_pb(row: &TicketRow, clinic_code: &str) -> pb::Ticket {
    pb::Ticket {
        id: row.id.to_string(),
        number: format!("{clinic_code}-{:03}", row.number),
        clinic_id: row.clinic_id.to_string(),
        patient_id: row.patient_id.to_string(),
        appointment_id: optional(row.appointment_id),
        priority: match QueuePriority::from_db(row.priority) {
            Some(QueuePriority::Urgent) => pb::QueuePriority::Urgent,
            Some(QueuePriority::Priority) => pb::QueuePriority::Priority,
            _ => pb::QueuePriority::Routine,
        }
        .into(),
        status: match row.status {
            TicketStatus::Waiting => pb::TicketStatus::Waiting,
            TicketStatus::Called => pb::TicketStatus::Called,
            TicketStatus::InConsultation => pb::TicketStatus::InConsultation,
            TicketStatus::Done => pb::TicketStatus::Done,
            TicketStatus::Left => pb::TicketStatus::Left,
        }
        .into(),
        arrive_time: timestamp(row.arrived_at),
        call_time: row.called_at.and_then(timestamp),
        start_time: row.started_at.and_then(timestamp),
        end_time: row.ended_at.and_then(timestamp),
        appointment_time: row.appointment_time.and_then(timestamp),
        called_to: row.called_to.clone(),
        clinician_id: optional(row.clinician_id),
        encounter_id: optional(row.encounter_id),
        outcome: match row.outcome {
            None => pb::VisitOutcome::Unspecified,
            Some(VisitOutcome::FollowUp) => pb::VisitOutcome::FollowUp,
            Some(VisitOutcome::Referred) => pb::VisitOutcome::Referred,
            Some(VisitOutcome::Admitted) => pb::VisitOutcome::Admitted,
            Some(VisitOutcome::ToFamilyDoctor) => pb::VisitOutcome::ToFamilyDoctor,
        }
        .into(),
        follow_up_appointment_id: optional(row.follow_up_appointment_id),
        wait_minutes: row
            .called_at
            .map_or(0, |called| minutes_between(row.arrived_at, called)),
        etag: Version::from_db(row.version).etag(),
    }
}
