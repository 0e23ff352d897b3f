//! Ward requisitions: a ward stock asks the pharmacy for items; the pharmacy fills the
//! request with transfers naming it, in one go or in parts. `supplied <= requested` is a
//! database check, and the requisition row is locked while it is filled, so two pharmacists
//! filling it at once cannot send it twice.

use hmis_platform::amount::Amount;
use hmis_platform::auth::Target;
use hmis_platform::idempotency::RequestKey;
use hmis_platform::types::{Text, Version};
use hmis_platform::wire::timestamp;
use hmis_platform::{RequestContext, TenantTx};
use hmis_proto::openhmis::inventory::v1 as pb;
use tonic::Status;
use uuid::Uuid;

use super::movements::ItemQuantity;
use super::{ADMINISTER, DISPENSE, Outgoing, READ, Stores, method, move_out, target_of};
use crate::convert::{movement_to_pb, trim_decimal};
use crate::domain::{MovementKind, WarehouseKind};
use crate::error::{Error, Result};
use crate::store::{self, RequisitionRow};

/// A ward stock's medication order to turn into a requisition.
pub(crate) struct WardOrder {
    pub(crate) key: RequestKey,
    pub(crate) ward_stock_id: Uuid,
    /// `None`: the ward's facility's central pharmacy.
    pub(crate) supplier_id: Option<Uuid>,
    /// "YYYY-MM-DD", or empty for tomorrow (encounters checks it).
    pub(crate) start_date: String,
    pub(crate) days: i32,
}

/// The ward stock `id` names (`field` is refused when it is the pharmacy itself).
async fn ward_stock(tx: &mut TenantTx, id: Uuid, field: &str) -> Result<store::WarehouseRow> {
    let ward = store::get_warehouse(tx, id).await?;
    if WarehouseKind::from_db(&ward.kind) == Some(WarehouseKind::CentralPharmacy) {
        return Err(Error::invalid(
            field,
            "is the pharmacy itself, not a ward stock",
        ));
    }
    Ok(ward)
}

/// Records an open requisition of `requisition`'s lines from its supplier.
async fn insert_requisition(
    tx: &mut TenantTx,
    context: &RequestContext,
    requisition: &NewRequisition,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<RequisitionRow> {
    store::get_warehouse(tx, requisition.supplier_id).await?;
    let row = RequisitionRow {
        id: Uuid::now_v7(),
        ward_stock_id: requisition.ward_stock_id,
        supplier_id: requisition.supplier_id,
        status: "open".to_owned(),
        note: requisition.note.as_str().to_owned(),
        requested_by: context.user_id(),
        created_at: now,
        version: 1,
    };
    let lines: Vec<(Uuid, String)> = requisition
        .lines
        .iter()
        .map(|(item, quantity)| (*item, quantity.to_string()))
        .collect();
    store::insert_requisition(tx, &row, &lines).await?;
    Ok(row)
}

/// A ward stock asking a supplier (the pharmacy) for items.
pub(crate) struct NewRequisition {
    pub(crate) key: RequestKey,
    pub(crate) ward_stock_id: Uuid,
    pub(crate) supplier_id: Uuid,
    pub(crate) note: Text,
    /// Each item once, with how much of it.
    pub(crate) lines: Vec<(Uuid, Amount)>,
}

/// What the pharmacy sends of a requisition: the lines given, else all that is outstanding.
pub(crate) struct Fulfilment {
    pub(crate) key: RequestKey,
    pub(crate) requisition_id: Uuid,
    pub(crate) lines: Vec<ItemQuantity>,
}

async fn requisition_to_pb(tx: &mut TenantTx, row: &RequisitionRow) -> Result<pb::Requisition> {
    let lines = store::requisition_lines(tx, row.id).await?;
    Ok(pb::Requisition {
        id: row.id.to_string(),
        ward_stock_id: row.ward_stock_id.to_string(),
        supplier_id: row.supplier_id.to_string(),
        status: match row.status.as_str() {
            "open" => pb::RequisitionStatus::Open,
            "fulfilled" => pb::RequisitionStatus::Fulfilled,
            "cancelled" => pb::RequisitionStatus::Cancelled,
            _ => pb::RequisitionStatus::Unspecified,
        }
        .into(),
        lines: lines
            .iter()
            .map(|(item, requested, supplied)| pb::RequisitionLine {
                item_id: item.to_string(),
                requested: trim_decimal(requested),
                supplied: trim_decimal(supplied),
            })
            .collect(),
        note: row.note.clone(),
        requested_by: row.requested_by.to_string(),
        create_time: timestamp(row.created_at),
        etag: Version::from_db(row.version).etag(),
    })
}

/// What is left to send of each line: asked for less what was supplied.
fn outstanding(lines: &[(Uuid, String, String)]) -> Vec<(Uuid, Amount)> {
    lines
        .iter()
        .filter_map(|(item, requested, supplied)| {
            let left = Amount::from_db(requested).map(Amount::scaled).unwrap_or(0)
                - Amount::from_db(supplied).map(Amount::scaled).unwrap_or(0);
            Amount::from_scaled_positive(left).map(|left| (*item, left))
        })
        .collect()
}

impl Stores {
    pub(crate) async fn create_requisition(
        &self,
        context: &RequestContext,
        message: &pb::CreateRequisitionRequest,
        requisition: NewRequisition,
    ) -> Result<pb::CreateRequisitionResponse> {
        let now = self.calls.now();
        let method = method("CreateRequisition");
        (self.calls)
            .write(context, &method, &requisition.key, message, async |tx| {
                let ward =
                    ward_stock(tx, requisition.ward_stock_id, "requisition.ward_stock_id").await?;
                context
                    .authorize(ADMINISTER, &target_of(&ward))
                    .map_err(Error::from)?;
                for (item, _) in &requisition.lines {
                    store::get_item(tx, *item).await?;
                }
                let row = insert_requisition(tx, context, &requisition, now).await?;
                Ok(pb::CreateRequisitionResponse {
                    requisition: Some(requisition_to_pb(tx, &row).await?),
                })
            })
            .await
    }

    /// The ward's medication order as a requisition: read from encounters under the caller,
    /// each medicine on the catalogue item of its code counted in its form unit.
    pub(crate) async fn requisition_ward_order(
        &self,
        context: &RequestContext,
        message: &pb::RequisitionWardMedicationOrderRequest,
        order: WardOrder,
    ) -> Result<pb::RequisitionWardMedicationOrderResponse> {
        let now = self.calls.now();
        let method = method("RequisitionWardMedicationOrder");
        if let Some(replayed) = (self.calls)
            .replay(context, &method, &order.key, message)
            .await?
        {
            return Ok(replayed);
        }
        let mut tx = self.calls.begin_read(context).await?;
        let ward = ward_stock(&mut tx, order.ward_stock_id, "ward_stock_id").await?;
        let supplier_id = match order.supplier_id {
            Some(supplier_id) => supplier_id,
            None => match store::central_pharmacies(&mut tx, ward.facility_id).await?[..] {
                [only] => only,
                [] => {
                    return Err(Error::invalid(
                        "supplier_id",
                        "the ward's facility has no central pharmacy; name the supplier",
                    ));
                }
                _ => {
                    return Err(Error::invalid(
                        "supplier_id",
                        "the ward's facility has several central pharmacies; name one",
                    ));
                }
            },
        };
        tx.commit().await?;
        context
            .authorize(ADMINISTER, &target_of(&ward))
            .map_err(Error::from)?;
        let Some(department_id) = ward.department_id else {
            return Err(Error::invalid(
                "ward_stock_id",
                "is not the stock of a ward",
            ));
        };
        let medication = (self.directory)
            .ward_medication_order(context, department_id, (&order.start_date, order.days))
            .await?;
        (self.calls)
            .write(context, &method, &order.key, message, async |tx| {
                let mut lines = Vec::new();
                let mut unmatched = Vec::new();
                for total in &medication.totals {
                    let item = store::item_by_code(tx, &total.medicine_code).await?;
                    let quantity = u32::try_from(total.whole_units)
                        .ok()
                        .and_then(|units| Amount::parse("1").ok()?.times_count(units));
                    match (item, quantity) {
                        (Some(item), Some(quantity)) if item.base_unit == total.form_unit => {
                            lines.push((item.id, quantity));
                        }
                        (_, None) => {}
                        _ => unmatched
                            .push(format!("{} ({})", total.medicine_code, total.medicine_name)),
                    }
                }
                if lines.is_empty() {
                    return Err(Error::Precondition(if unmatched.is_empty() {
                        "the ward's medication order asks for nothing over that period".to_owned()
                    } else {
                        format!(
                            "no medicine of the order has a catalogue item: {}",
                            hmis_platform::error::bounded(unmatched.join(", "), 200)
                        )
                    }));
                }
                let requisition = NewRequisition {
                    key: order.key.clone(),
                    ward_stock_id: order.ward_stock_id,
                    supplier_id,
                    note: Text::parse(&format!(
                        "ward medication order from {} for {} day(s)",
                        medication.start_date, medication.days
                    ))
                    .map_err(|_| Error::corrupt("ward medication order"))?,
                    lines,
                };
                let row = insert_requisition(tx, context, &requisition, now).await?;
                Ok(pb::RequisitionWardMedicationOrderResponse {
                    requisition: Some(requisition_to_pb(tx, &row).await?),
                    unmatched,
                })
            })
            .await
    }

    pub(crate) async fn fulfill_requisition(
        &self,
        context: &RequestContext,
        message: &pb::FulfillRequisitionRequest,
        fulfilment: Fulfilment,
    ) -> Result<pb::FulfillRequisitionResponse> {
        let now = self.calls.now();
        let id = fulfilment.requisition_id;
        let method = method("FulfillRequisition");
        (self.calls)
            .write(context, &method, &fulfilment.key, message, async |tx| {
                let row = store::get_requisition(tx, id, true).await?;
                Self::warehouse_for(tx, context, row.supplier_id, DISPENSE).await?;
                if row.status != "open" {
                    return Err(Error::Precondition(format!(
                        "the requisition is {}",
                        row.status
                    )));
                }
                let asked = store::requisition_lines(tx, id).await?;
                let mut to_send = Vec::new();
                if fulfilment.lines.is_empty() {
                    to_send = outstanding(&asked);
                }
                for (index, (item, quantity, _)) in fulfilment.lines.iter().enumerate() {
                    if !asked.iter().any(|(asked, _, _)| asked == item) {
                        return Err(Error::invalid(
                            &format!("lines[{index}].item_id"),
                            "is not asked for by the requisition",
                        ));
                    }
                    to_send.push((*item, *quantity));
                }
                let document = id.to_string();
                let outgoing = Outgoing {
                    kind: MovementKind::Transfer,
                    from: row.supplier_id,
                    to: Some(row.ward_stock_id),
                    document_type: "requisition",
                    document_id: &document,
                    patient_id: None,
                    department_id: None,
                };
                let mut movements = Vec::new();
                for (item, quantity) in to_send {
                    store::add_supplied(tx, id, item, &quantity.to_string()).await?;
                    movements.extend(
                        move_out(tx, context, (item, quantity, None), &outgoing, now).await?,
                    );
                }
                store::settle_requisition(tx, id, now).await?;
                let row = store::get_requisition(tx, id, false).await?;
                Ok(pb::FulfillRequisitionResponse {
                    requisition: Some(requisition_to_pb(tx, &row).await?),
                    movements: movements.iter().map(movement_to_pb).collect(),
                })
            })
            .await
    }

    /// A requisition, to the staff of the ward that asks or of the warehouse that supplies.
    pub(crate) async fn get_requisition(
        &self,
        context: &RequestContext,
        id: Uuid,
    ) -> Result<pb::GetRequisitionResponse> {
        let principal = context.principal()?;
        let allowed = |target: &Target| {
            principal.is_allowed(READ, target) || principal.is_allowed(ADMINISTER, target)
        };
        let requisition = (self.calls)
            .transaction(context, async |tx| {
                let row = store::get_requisition(tx, id, false).await?;
                let ward = store::get_warehouse(tx, row.ward_stock_id).await?;
                let supplier = store::get_warehouse(tx, row.supplier_id).await?;
                if !allowed(&target_of(&ward)) && !allowed(&target_of(&supplier)) {
                    return Err(Error::from(Status::permission_denied(
                        "neither the asking ward nor the supplying warehouse is yours",
                    )));
                }
                requisition_to_pb(tx, &row).await
            })
            .await?;
        Ok(pb::GetRequisitionResponse {
            requisition: Some(requisition),
        })
    }

    /// The requisitions a supplying warehouse has still to fill.
    pub(crate) async fn list_open_requisitions(
        &self,
        context: &RequestContext,
        supplier_id: Uuid,
    ) -> Result<pb::ListOpenRequisitionsResponse> {
        let requisitions = (self.calls)
            .transaction(context, async |tx| {
                Self::warehouse_for(tx, context, supplier_id, READ).await?;
                let rows = store::open_requisitions(tx, supplier_id).await?;
                let mut requisitions = Vec::with_capacity(rows.len());
                for row in &rows {
                    requisitions.push(requisition_to_pb(tx, row).await?);
                }
                Ok(requisitions)
            })
            .await?;
        Ok(pb::ListOpenRequisitionsResponse { requisitions })
    }
}
