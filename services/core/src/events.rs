//! Core's domain events, published through the `core` outbox in the transaction of the
//! change. Payloads are `openhmis.core.v1` messages; the event type is the message's full name.

use hmis_platform::TenantTx;
use hmis_proto::openhmis::core::v1 as pb;

use crate::app::Core;
use crate::domain::{Bed, BedState, Department, Facility};
use crate::error::Result;

pub const FACILITY_CHANGED: &str = "openhmis.core.v1.FacilityChanged";
pub const DEPARTMENT_CHANGED: &str = "openhmis.core.v1.DepartmentChanged";
pub const BED_CHANGED: &str = "openhmis.core.v1.BedChanged";

pub(crate) async fn facility_changed(
    core: &Core,
    tx: &mut TenantTx,
    facility: &Facility,
) -> Result<()> {
    let event = pb::FacilityChanged {
        facility: Some(crate::convert::facility_to_pb(facility)),
    };
    core.outbox
        .publish(
            tx,
            FACILITY_CHANGED,
            &facility.id.to_string(),
            &event,
            facility.updated_at,
        )
        .await?;
    Ok(())
}

pub(crate) async fn department_changed(
    core: &Core,
    tx: &mut TenantTx,
    department: &Department,
) -> Result<()> {
    let event = pb::DepartmentChanged {
        department: Some(crate::convert::department_to_pb(department)),
    };
    core.outbox
        .publish(
            tx,
            DEPARTMENT_CHANGED,
            &department.id.to_string(),
            &event,
            department.updated_at,
        )
        .await?;
    Ok(())
}

pub(crate) async fn bed_changed(
    core: &Core,
    tx: &mut TenantTx,
    bed: &Bed,
    previous_state: Option<BedState>,
) -> Result<()> {
    let event = pb::BedChanged {
        bed: Some(crate::convert::bed_to_pb(bed)),
        previous_state: previous_state
            .map(crate::convert::bed_state_to_pb)
            .unwrap_or(pb::BedState::Unspecified)
            .into(),
        reason: bed.state_reason.clone(),
        change_time: hmis_platform::wire::timestamp(bed.updated_at),
    };
    core.outbox
        .publish(tx, BED_CHANGED, &bed.id.to_string(), &event, bed.updated_at)
        .await?;
    Ok(())
}
