//! What admissions publishes through its outbox, in the transaction of the change. Payloads
//! are `openhmis.admissions.v1` messages; the event type is the message's full name.

use chrono::{DateTime, Utc};
use hmis_platform::TenantTx;
use hmis_platform::wire::timestamp;
use hmis_proto::openhmis::admissions::v1 as pb;
use prost::Message;
use uuid::Uuid;

use crate::convert::visit_to_pb;
use crate::error::Result;
use crate::grpc::Adt;
use crate::store::{AdmissionRow, VisitRow};

pub const PATIENT_ADMITTED: &str = "openhmis.admissions.v1.PatientAdmitted";
pub const PATIENT_TRANSFERRED: &str = "openhmis.admissions.v1.PatientTransferred";
pub const PATIENT_DISCHARGED: &str = "openhmis.admissions.v1.PatientDischarged";
pub const ADMISSION_CANCELLED: &str = "openhmis.admissions.v1.AdmissionCancelled";
pub const DISCHARGE_UNDONE: &str = "openhmis.admissions.v1.DischargeUndone";
pub const ADMISSION_CONVERTED: &str = "openhmis.admissions.v1.AdmissionConverted";
pub const EMERGENCY_VISIT_CLOSED: &str = "openhmis.admissions.v1.EmergencyVisitClosed";
pub const BED_OCCUPANCY_CHANGED: &str = "openhmis.admissions.v1.BedOccupancyChanged";

/// Every event type whose payload carries the admission as field 1, as it is after the
/// change: subscribers keeping "who is where" read them all the same way.
pub const ADMISSION_EVENTS: &[&str] = &[
    PATIENT_ADMITTED,
    PATIENT_TRANSFERRED,
    PATIENT_DISCHARGED,
    ADMISSION_CANCELLED,
    DISCHARGE_UNDONE,
    ADMISSION_CONVERTED,
];

/// The admission an admission event carries, whichever of [`ADMISSION_EVENTS`] it is.
pub fn admission_of(event_type: &str, payload: &[u8]) -> Option<pb::Admission> {
    // Each of these messages has `Admission admission = 1`; decoding as the lightest of them
    // reads that field and skips the rest.
    if !ADMISSION_EVENTS.contains(&event_type) {
        return None;
    }
    pb::PatientAdmitted::decode(payload).ok()?.admission
}

pub(crate) async fn publish<E: Message>(
    adt: &Adt,
    tx: &mut TenantTx,
    event_type: &str,
    admission: &AdmissionRow,
    event: &E,
    at: DateTime<Utc>,
) -> Result<()> {
    adt.outbox
        .publish(tx, event_type, &admission.id.to_string(), event, at)
        .await?;
    Ok(())
}

/// A bed taken, held or let go by `admission`.
pub(crate) async fn bed(
    adt: &Adt,
    tx: &mut TenantTx,
    bed_id: Uuid,
    admission: &AdmissionRow,
    occupancy: pb::BedOccupancy,
    at: DateTime<Utc>,
) -> Result<()> {
    let event = pb::BedOccupancyChanged {
        bed_id: bed_id.to_string(),
        admission_id: admission.id.to_string(),
        patient_id: admission.patient_id.to_string(),
        occupancy: occupancy.into(),
        change_time: timestamp(at),
    };
    adt.outbox
        .publish(tx, BED_OCCUPANCY_CHANGED, &bed_id.to_string(), &event, at)
        .await?;
    Ok(())
}

pub(crate) async fn visit_closed(
    adt: &Adt,
    tx: &mut TenantTx,
    visit: &VisitRow,
    at: DateTime<Utc>,
) -> Result<()> {
    let event = pb::EmergencyVisitClosed {
        visit: Some(visit_to_pb(visit)),
    };
    adt.outbox
        .publish(
            tx,
            EMERGENCY_VISIT_CLOSED,
            &visit.id.to_string(),
            &event,
            at,
        )
        .await?;
    Ok(())
}
