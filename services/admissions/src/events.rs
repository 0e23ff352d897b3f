//! What admissions publishes through its outbox, in the transaction of the change. Payloads
//! are `openhmis.admissions.v1` messages; the event type is the message's full name.

use chrono::{DateTime, Utc};
use hmis_platform::TenantTx;
use hmis_platform::wire::timestamp;
use hmis_proto::openhmis::admissions::v1 as pb;
use prost::Message;
use uuid::Uuid;

use crate::app::Adt;
use crate::convert::visit_to_pb;
use crate::error::Result;
use crate::store::{AdmissionRow, VisitRow};

pub use hmis_proto::events::admissions::{
    ADMISSION_CANCELLED, ADMISSION_CONVERTED, ADMISSION_CORRECTED, BED_OCCUPANCY_CHANGED,
    DISCHARGE_ANNOUNCED, DISCHARGE_UNDONE, DISCHARGE_WITHDRAWN, EMERGENCY_VISIT_CLOSED,
    PATIENT_ADMITTED, PATIENT_DISCHARGED, PATIENT_TRANSFERRED,
};

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
