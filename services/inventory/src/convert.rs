//! Rows of the store as the contract's messages.

use hmis_platform::types::Version;
use hmis_platform::wire::timestamp;
use hmis_proto::openhmis::inventory::v1 as pb;
use uuid::Uuid;

use crate::domain::{ItemClass, MovementKind, Provenance, WarehouseKind};
use crate::store::{ItemRow, LotRow, MovementRow, WarehouseRow};

pub(crate) use hmis_platform::amount::trim_scale as trim_decimal;

fn optional_id(id: Option<Uuid>) -> String {
    id.map(|id| id.to_string()).unwrap_or_default()
}

pub(crate) fn item_to_pb(row: &ItemRow) -> pb::Item {
    let class = match ItemClass::from_db(&row.item_class) {
        Some(ItemClass::Medicine) => pb::ItemClass::Medicine,
        Some(ItemClass::Parapharmaceutical) => pb::ItemClass::Parapharmaceutical,
        Some(ItemClass::Auxiliary) => pb::ItemClass::Auxiliary,
        Some(ItemClass::Food) => pb::ItemClass::Food,
        None => pb::ItemClass::Unspecified,
    };
    pb::Item {
        id: row.id.to_string(),
        code: row.code.clone(),
        name: row.name.clone(),
        item_class: class.into(),
        atc_code: row.atc_code.clone(),
        preparation_group: row.preparation_group.clone(),
        base_unit: row.base_unit.clone(),
        pack_units: row
            .pack_units
            .0
            .iter()
            .map(|(name, quantity)| pb::PackUnit {
                name: name.clone(),
                base_quantity: trim_decimal(quantity),
            })
            .collect(),
        controlled: row.controlled,
        etag: Version::from_db(row.version).etag(),
    }
}

pub(crate) fn warehouse_to_pb(row: &WarehouseRow) -> pb::Warehouse {
    let kind = match WarehouseKind::from_db(&row.kind) {
        Some(WarehouseKind::CentralPharmacy) => pb::WarehouseKind::CentralPharmacy,
        Some(WarehouseKind::Ward) => pb::WarehouseKind::Ward,
        Some(WarehouseKind::OperatingBlock) => pb::WarehouseKind::OperatingBlock,
        Some(WarehouseKind::Other) => pb::WarehouseKind::Other,
        None => pb::WarehouseKind::Unspecified,
    };
    pb::Warehouse {
        id: row.id.to_string(),
        code: row.code.clone(),
        name: row.name.clone(),
        kind: kind.into(),
        facility_id: row.facility_id.to_string(),
        department_id: optional_id(row.department_id),
    }
}

pub(crate) fn lot_to_pb(row: &LotRow) -> pb::Lot {
    let provenance = match Provenance::from_db(&row.provenance) {
        Some(Provenance::Purchase) => pb::Provenance::Purchase,
        Some(Provenance::Donation) => pb::Provenance::Donation,
        Some(Provenance::StateProgramme) => pb::Provenance::StateProgramme,
        None => pb::Provenance::Unspecified,
    };
    pb::Lot {
        id: row.id.to_string(),
        item_id: row.item_id.to_string(),
        lot_number: row.lot_number.clone(),
        expiry_date: row.expiry_date.to_string(),
        unit_cost: trim_decimal(&row.unit_cost),
        provenance: provenance.into(),
        supplier: row.supplier.clone(),
    }
}

pub(crate) fn movement_to_pb(row: &MovementRow) -> pb::Movement {
    let kind = match MovementKind::from_db(&row.kind) {
        Some(MovementKind::Receipt) => pb::MovementKind::Receipt,
        Some(MovementKind::Transfer) => pb::MovementKind::Transfer,
        Some(MovementKind::IssuePatient) => pb::MovementKind::IssuePatient,
        Some(MovementKind::IssueWard) => pb::MovementKind::IssueWard,
        Some(MovementKind::Return) => pb::MovementKind::Return,
        Some(MovementKind::WriteOff) => pb::MovementKind::WriteOff,
        Some(MovementKind::Adjustment) => pb::MovementKind::Adjustment,
        None => pb::MovementKind::Unspecified,
    };
    pb::Movement {
        id: row.id.to_string(),
        kind: kind.into(),
        item_id: row.item_id.to_string(),
        lot_id: row.lot_id.to_string(),
        from_warehouse_id: optional_id(row.from_warehouse_id),
        to_warehouse_id: optional_id(row.to_warehouse_id),
        quantity: trim_decimal(&row.quantity),
        unit_cost: trim_decimal(&row.unit_cost),
        actor_id: row.actor_id.to_string(),
        document_type: row.document_type.clone(),
        document_id: row.document_id.clone(),
        reason: row.reason.clone(),
        patient_id: optional_id(row.patient_id),
        department_id: optional_id(row.department_id),
        occur_time: timestamp(row.occurred_at),
    }
}
