//! Ward requisitions: a ward stock asks the pharmacy for items; the pharmacy fills the
//! request with transfers naming it, in one go or in parts. `supplied <= requested` is a
//! database check, and the requisition row is locked while it is filled, so two pharmacists
//! filling it at once cannot send it twice.

use hmis_platform::amount::Amount;
use hmis_platform::auth::Target;
use hmis_platform::idempotency::RequestKey;
use hmis_platform::types::{Text, Version};
use hmis_platform::wire::timestamp;
use hmis_platform::{RequestContext, TenantTx, Violations};
use hmis_proto::openhmis::inventory::v1 as pb;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::domain::{MovementKind, WarehouseKind};
use crate::error::{Error, Result};
use crate::grpc::method;
use crate::grpc::{
    DISPENSE, InventoryApi, Outgoing, READ, Stores, move_out, movement_to_pb, parse_id,
    parse_lines, target_of, trim_decimal,
};
use crate::store::{self, RequisitionRow};

/// Nurses ask for their ward's stock.
const REQUEST: &str = "nursing.administer";

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

impl InventoryApi {
    #[tracing::instrument(skip_all)]
    pub(crate) async fn create_requisition_call(
        &self,
        request: Request<pb::CreateRequisitionRequest>,
    ) -> Result<Response<pb::CreateRequisitionResponse>, Status> {
        let context = RequestContext::of(&request);
        let stores = &self.stores;
        context.authorize_any(REQUEST)?;
        let message = request.into_inner();
        let now = stores.calls.now();
        let requisition = message.requisition.clone().unwrap_or_default();
        let mut violations = Violations::default();
        let key = violations.check("request_id", RequestKey::parse(&message.request_id));
        if message.requisition.is_none() {
            violations.add("requisition", "is required");
        }
        let ward_stock = parse_id(
            "requisition.ward_stock_id",
            &requisition.ward_stock_id,
            &mut violations,
        );
        let supplier = parse_id(
            "requisition.supplier_id",
            &requisition.supplier_id,
            &mut violations,
        );
        let note = violations.check("requisition.note", Text::parse(&requisition.note));
        if requisition.lines.is_empty() {
            violations.add("requisition.lines", "name at least one item");
        }
        let mut lines: Vec<(Uuid, String)> = Vec::new();
        for (index, line) in requisition.lines.iter().enumerate() {
            let item = parse_id(
                &format!("requisition.lines[{index}].item_id"),
                &line.item_id,
                &mut violations,
            );
            let quantity = violations.check(
                &format!("requisition.lines[{index}].requested"),
                Amount::parse(&line.requested),
            );
            if let (Some(item), Some(quantity)) = (item, quantity) {
                if lines.iter().any(|(known, _)| *known == item) {
                    violations.add(
                        format!("requisition.lines[{index}].item_id"),
                        "is asked for twice",
                    );
                }
                lines.push((item, quantity.to_string()));
            }
        }
        let (Some(key), Some(ward_stock), Some(supplier), Some(note), true) =
            (key, ward_stock, supplier, note, violations.is_empty())
        else {
            return Err(Error::from(violations).into());
        };
        let response = stores
            .calls
            .write(
                &context,
                &method("CreateRequisition"),
                &key,
                &message,
                async |tx| {
                    let ward = store::get_warehouse(tx, ward_stock).await?;
                    if WarehouseKind::from_db(&ward.kind) == Some(WarehouseKind::CentralPharmacy) {
                        return Err(Error::invalid(
                            "requisition.ward_stock_id",
                            "is the pharmacy itself, not a ward stock",
                        ));
                    }
                    context
                        .authorize(REQUEST, &target_of(&ward))
                        .map_err(Error::Refused)?;
                    store::get_warehouse(tx, supplier).await?;
                    for (item, _) in &lines {
                        store::get_item(tx, *item).await?;
                    }
                    let row = RequisitionRow {
                        id: Uuid::now_v7(),
                        ward_stock_id: ward_stock,
                        supplier_id: supplier,
                        status: "open".to_owned(),
                        note: note.as_str().to_owned(),
                        requested_by: context.user_id(),
                        created_at: now,
                        version: 1,
                    };
                    store::insert_requisition(tx, &row, &lines).await?;
                    Ok(pb::CreateRequisitionResponse {
                        requisition: Some(requisition_to_pb(tx, &row).await?),
                    })
                },
            )
            .await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all)]
    pub(crate) async fn fulfill_requisition_call(
        &self,
        request: Request<pb::FulfillRequisitionRequest>,
    ) -> Result<Response<pb::FulfillRequisitionResponse>, Status> {
        let context = RequestContext::of(&request);
        let stores = &self.stores;
        context.authorize_any(DISPENSE)?;
        let message = request.into_inner();
        let now = stores.calls.now();
        let mut violations = Violations::default();
        let key = violations.check("request_id", RequestKey::parse(&message.request_id));
        let id = parse_id("requisition_id", &message.requisition_id, &mut violations);
        let sent = if message.lines.is_empty() {
            Vec::new()
        } else {
            parse_lines(&message.lines, &mut violations)
        };
        let (Some(key), Some(id), true) = (key, id, violations.is_empty()) else {
            return Err(Error::from(violations).into());
        };
        let response = stores
            .calls
            .write(
                &context,
                &method("FulfillRequisition"),
                &key,
                &message,
                async |tx| {
                    let row = store::get_requisition(tx, id, true).await?;
                    Stores::warehouse_for(tx, &context, row.supplier_id, DISPENSE).await?;
                    if row.status != "open" {
                        return Err(Error::Precondition(format!(
                            "the requisition is {}",
                            row.status
                        )));
                    }
                    let outstanding = store::requisition_lines(tx, id).await?;
                    // What to send: the lines given, else everything outstanding.
                    let mut to_send: Vec<(Uuid, Amount)> = Vec::new();
                    if sent.is_empty() {
                        for (item, requested, supplied) in &outstanding {
                            let left = Amount::from_db(requested).map(Amount::scaled).unwrap_or(0)
                                - Amount::from_db(supplied).map(Amount::scaled).unwrap_or(0);
                            if let Some(left) = Amount::from_scaled_positive(left) {
                                to_send.push((*item, left));
                            }
                        }
                    } else {
                        for (index, (item, quantity, _)) in sent.iter().enumerate() {
                            if !outstanding.iter().any(|(asked, _, _)| asked == item) {
                                return Err(Error::invalid(
                                    &format!("lines[{index}].item_id"),
                                    "is not asked for by the requisition",
                                ));
                            }
                            to_send.push((*item, *quantity));
                        }
                    }
                    let document = id.to_string();
                    let mut movements = Vec::new();
                    for (item, quantity) in to_send {
                        store::add_supplied(tx, id, item, &quantity.to_string()).await?;
                        movements.extend(
                            move_out(
                                tx,
                                &context,
                                item,
                                quantity,
                                None,
                                &Outgoing {
                                    kind: MovementKind::Transfer,
                                    from: row.supplier_id,
                                    to: Some(row.ward_stock_id),
                                    document_type: "requisition",
                                    document_id: &document,
                                    reason: "",
                                    patient_id: None,
                                    department_id: None,
                                },
                                now,
                            )
                            .await?,
                        );
                    }
                    store::settle_requisition(tx, id, now).await?;
                    let row = store::get_requisition(tx, id, false).await?;
                    Ok(pb::FulfillRequisitionResponse {
                        requisition: Some(requisition_to_pb(tx, &row).await?),
                        movements: movements.iter().map(movement_to_pb).collect(),
                    })
                },
            )
            .await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all)]
    pub(crate) async fn get_requisition_call(
        &self,
        request: Request<pb::GetRequisitionRequest>,
    ) -> Result<Response<pb::GetRequisitionResponse>, Status> {
        let context = RequestContext::of(&request);
        let principal = context.principal()?.clone();
        let mut violations = Violations::default();
        let Some(id) = parse_id("id", &request.get_ref().id, &mut violations) else {
            return Err(Error::from(violations).into());
        };
        let mut tx = self.stores.read_tx(&context).await?;
        let row = store::get_requisition(&mut tx, id, false).await?;
        let ward = store::get_warehouse(&mut tx, row.ward_stock_id).await?;
        let supplier = store::get_warehouse(&mut tx, row.supplier_id).await?;
        let allowed = |target: &Target| {
            principal.is_allowed(READ, target) || principal.is_allowed(REQUEST, target)
        };
        if !allowed(&target_of(&ward)) && !allowed(&target_of(&supplier)) {
            return Err(Status::permission_denied(
                "neither the asking ward nor the supplying warehouse is yours",
            ));
        }
        let requisition = requisition_to_pb(&mut tx, &row).await?;
        tx.commit().await.map_err(Error::from)?;
        Ok(Response::new(pb::GetRequisitionResponse {
            requisition: Some(requisition),
        }))
    }

    #[tracing::instrument(skip_all)]
    pub(crate) async fn open_requisitions_call(
        &self,
        request: Request<pb::ListOpenRequisitionsRequest>,
    ) -> Result<Response<pb::ListOpenRequisitionsResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let mut violations = Violations::default();
        let Some(supplier) = parse_id(
            "supplier_id",
            &request.get_ref().supplier_id,
            &mut violations,
        ) else {
            return Err(Error::from(violations).into());
        };
        let mut tx = self.stores.read_tx(&context).await?;
        Stores::warehouse_for(&mut tx, &context, supplier, READ).await?;
        let rows = store::open_requisitions(&mut tx, supplier).await?;
        let mut requisitions = Vec::with_capacity(rows.len());
        for row in &rows {
            requisitions.push(requisition_to_pb(&mut tx, row).await?);
        }
        tx.commit().await.map_err(Error::from)?;
        Ok(Response::new(pb::ListOpenRequisitionsResponse {
            requisitions,
        }))
    }
}
