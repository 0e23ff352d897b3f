//! The tonic adapter of inventory: parse, authorize against the warehouse's facility and
//! ward, then write the movements in one transaction under the request's idempotency key.
//! An issue to a patient touches patient data and is audited in its transaction.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use hmis_platform::amount::Amount;
use hmis_platform::audit::{self, AuditEntry};
use hmis_platform::auth::Target;
use hmis_platform::call::Calls;
use hmis_platform::idempotency::RequestKey;
use hmis_platform::paging::{PageSize, decode_token, finish_page};
use hmis_platform::types::{Code as ItemCode, Line, Text, Version, parse_uuid};
use hmis_platform::wire::timestamp;
use hmis_platform::{RequestContext, TenantTx, Violations};
use hmis_proto::openhmis::inventory::v1 as pb;
use pb::inventory_service_server::InventoryService;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::domain::{
    InHand, ItemClass, MovementKind, Provenance, WarehouseKind, WriteOffReason, allocate,
    parse_date, parse_unit,
};
use crate::error::{Error, Result};
use crate::store::{self, ItemRow, LotRow, MovementRow, WarehouseRow};

pub(crate) const READ: &str = "pharmacy.read";
pub(crate) const MANAGE: &str = "pharmacy.manage";
pub(crate) const DISPENSE: &str = "pharmacy.dispense";

const SERVICE: &str = "/openhmis.inventory.v1.InventoryService/";

/// The document type of a dispense that fills a prescription (its id is the document id).
const PRESCRIPTION: &str = "prescription";

#[derive(Debug)]
pub(crate) struct Stores {
    pub(crate) calls: Calls<Error>,
    pub(crate) directory: crate::directory::Directory,
}

#[derive(Debug, Clone)]
pub struct InventoryApi {
    pub(crate) stores: Arc<Stores>,
}

pub(crate) fn parse_id(field: &str, value: &str, violations: &mut Violations) -> Option<Uuid> {
    violations.check(field, parse_uuid(value))
}

fn parse_optional_id(
    field: &str,
    value: &str,
    violations: &mut Violations,
) -> Option<Option<Uuid>> {
    if value.trim().is_empty() {
        Some(None)
    } else {
        parse_id(field, value, violations).map(Some)
    }
}

fn optional_id(id: Option<Uuid>) -> String {
    id.map(|id| id.to_string()).unwrap_or_default()
}

pub(crate) use hmis_platform::amount::trim_scale as trim_decimal;

pub(crate) fn target_of(warehouse: &WarehouseRow) -> Target {
    match warehouse.department_id {
        Some(department) => Target::department(warehouse.facility_id, department),
        None => Target::facility(warehouse.facility_id),
    }
}

pub(crate) fn item_to_pb(row: &ItemRow) -> pb::Item {
    let class = match ItemClass::from_db(&row.item_class) {
        Some(ItemClass::Medicine) => pb::ItemClass::Medicine,
        Some(ItemClass::Parapharmaceutical) => pb::ItemClass::Parapharmaceutical,
        Some(ItemClass::Auxiliary) => pb::ItemClass::Auxiliary,
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

fn warehouse_to_pb(row: &WarehouseRow) -> pb::Warehouse {
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

/// Parsed lines of items to move.
pub(crate) fn parse_lines(
    lines: &[pb::ItemQuantity],
    violations: &mut Violations,
) -> Vec<(Uuid, Amount, Option<Uuid>)> {
    if lines.is_empty() {
        violations.add("lines", "name at least one item");
    }
    lines
        .iter()
        .enumerate()
        .filter_map(|(index, line)| {
            let item = parse_id(
                &format!("lines[{index}].item_id"),
                &line.item_id,
                violations,
            );
            let quantity = violations.check(
                &format!("lines[{index}].quantity"),
                Amount::parse(&line.quantity),
            );
            let lot =
                parse_optional_id(&format!("lines[{index}].lot_id"), &line.lot_id, violations);
            Some((item?, quantity?, lot?))
        })
        .collect()
}

/// A movement out of `from`, before the lots are known.
pub(crate) struct Outgoing<'a> {
    pub(crate) kind: MovementKind,
    pub(crate) from: Uuid,
    pub(crate) to: Option<Uuid>,
    pub(crate) document_type: &'a str,
    pub(crate) document_id: &'a str,
    pub(crate) reason: &'a str,
    pub(crate) patient_id: Option<Uuid>,
    pub(crate) department_id: Option<Uuid>,
}

/// The full gRPC method name of an rpc of the inventory service.
pub(crate) fn method(rpc: &str) -> String {
    format!("{SERVICE}{rpc}")
}

impl Stores {
    pub(crate) async fn read_tx(&self, context: &RequestContext) -> Result<TenantTx> {
        self.calls.begin_read(context).await
    }

    /// The warehouse `id`, if the caller holds `permission` for it.
    pub(crate) async fn warehouse_for(
        tx: &mut TenantTx,
        context: &RequestContext,
        id: Uuid,
        permission: &str,
    ) -> Result<WarehouseRow> {
        let warehouse = store::get_warehouse(tx, id).await?;
        context
            .authorize(permission, &target_of(&warehouse))
            .map_err(Error::Refused)?;
        Ok(warehouse)
    }
}

/// Takes `quantity` of `item_id` out of a warehouse, first-expiry-first-out over its
/// unexpired lots (or from `lot`), one ledger line per lot.
pub(crate) async fn move_out(
    tx: &mut TenantTx,
    context: &RequestContext,
    item_id: Uuid,
    quantity: Amount,
    lot: Option<Uuid>,
    movement: &Outgoing<'_>,
    now: DateTime<Utc>,
) -> Result<Vec<MovementRow>> {
    store::require_not_counting(tx, movement.from).await?;
    if let Some(to) = movement.to {
        store::require_not_counting(tx, to).await?;
    }
    let item = store::get_item(tx, item_id).await?;
    let in_hand = store::lock_in_hand(tx, movement.from, item_id, lot, now.date_naive()).await?;
    let lots = in_hand
        .iter()
        .map(|(lot_id, quantity, _)| {
            Ok(InHand {
                lot_id: *lot_id,
                quantity: Amount::from_db(quantity).map_err(|_| Error::CorruptRow("balance"))?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let taken = allocate(quantity, &lots).map_err(|shortage| Error::InsufficientStock {
        item: Some(item.name.clone()),
        requested: Some(shortage.requested),
        available: shortage.available,
    })?;
    let mut written = Vec::with_capacity(taken.len());
    for (lot_id, amount) in taken {
        let unit_cost = in_hand
            .iter()
            .find(|(id, _, _)| *id == lot_id)
            .map(|(_, _, cost)| cost.clone())
            .ok_or(Error::CorruptRow("allocated lot"))?;
        written.push(
            store::record_movement(
                tx,
                &MovementRow {
                    id: Uuid::now_v7(),
                    kind: movement.kind.as_db().to_owned(),
                    item_id,
                    lot_id,
                    from_warehouse_id: Some(movement.from),
                    to_warehouse_id: movement.to,
                    quantity: amount.to_string(),
                    unit_cost,
                    actor_id: context.user_id(),
                    document_type: movement.document_type.to_owned(),
                    document_id: movement.document_id.to_owned(),
                    reason: movement.reason.to_owned(),
                    patient_id: movement.patient_id,
                    department_id: movement.department_id,
                    reverses_id: None,
                    occurred_at: now,
                },
            )
            .await?,
        );
    }
    Ok(written)
}

#[tonic::async_trait]
impl InventoryService for InventoryApi {
    #[tracing::instrument(skip_all)]
    async fn create_item(
        &self,
        request: Request<pb::CreateItemRequest>,
    ) -> Result<Response<pb::CreateItemResponse>, Status> {
        let context = RequestContext::of(&request);
        let stores = &self.stores;
        context.authorize_any(MANAGE)?;
        let message = request.into_inner();
        let now = stores.calls.now();
        let item = message.item.clone().unwrap_or_default();
        let mut violations = Violations::default();
        let key = violations.check("request_id", RequestKey::parse(&message.request_id));
        if message.item.is_none() {
            violations.add("item", "is required");
        }
        let code = violations.check("item.code", ItemCode::parse(&item.code));
        let name = violations.check("item.name", Line::parse(&item.name));
        if name.as_ref().is_some_and(Line::is_empty) {
            violations.add("item.name", "is required");
        }
        let class = match pb::ItemClass::try_from(item.item_class) {
            Ok(pb::ItemClass::Medicine) => Some(ItemClass::Medicine),
            Ok(pb::ItemClass::Parapharmaceutical) => Some(ItemClass::Parapharmaceutical),
            Ok(pb::ItemClass::Auxiliary) => Some(ItemClass::Auxiliary),
            _ => {
                violations.add("item.item_class", "is required");
                None
            }
        };
        let base_unit = violations.check("item.base_unit", parse_unit(&item.base_unit));
        let group = violations.check(
            "item.preparation_group",
            Line::parse(&item.preparation_group),
        );
        let atc = item.atc_code.trim().to_uppercase();
        if atc.len() > 7 || atc.chars().any(|c| !c.is_ascii_alphanumeric()) {
            violations.add("item.atc_code", "is not an ATC code");
        }
        let mut packs = Vec::new();
        for (index, pack) in item.pack_units.iter().enumerate() {
            let name = violations.check(
                &format!("item.pack_units[{index}].name"),
                parse_unit(&pack.name),
            );
            let quantity = violations.check(
                &format!("item.pack_units[{index}].base_quantity"),
                Amount::parse(&pack.base_quantity),
            );
            if let (Some(name), Some(quantity)) = (name, quantity) {
                packs.push((name, quantity.to_string()));
            }
        }
        let (Some(key), Some(code), Some(name), Some(class), Some(base_unit), Some(group), true) = (
            key,
            code,
            name,
            class,
            base_unit,
            group,
            violations.is_empty(),
        ) else {
            return Err(Error::from(violations).into());
        };
        let response = stores
            .calls
            .write(
                &context,
                &method("CreateItem"),
                &key,
                &message,
                async |tx| {
                    let row = ItemRow {
                        id: Uuid::now_v7(),
                        code: code.as_str().to_owned(),
                        name: name.as_str().to_owned(),
                        item_class: class.as_db().to_owned(),
                        atc_code: atc,
                        preparation_group: group.as_str().to_owned(),
                        base_unit,
                        controlled: item.controlled,
                        version: 1,
                        pack_units: sqlx::types::Json(packs),
                    };
                    store::insert_item(tx, &row, now).await?;
                    Ok(pb::CreateItemResponse {
                        item: Some(item_to_pb(&row)),
                    })
                },
            )
            .await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all)]
    async fn list_items(
        &self,
        request: Request<pb::ListItemsRequest>,
    ) -> Result<Response<pb::ListItemsResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.get_ref();
        let mut violations = Violations::default();
        let size = violations.check("page_size", PageSize::parse(message.page_size));
        let after = violations
            .check(
                "page_token",
                decode_token::<(String, Uuid)>(&message.page_token),
            )
            .flatten();
        let query = violations.check("query", Line::parse(&message.query));
        let (Some(size), Some(query), true) = (size, query, violations.is_empty()) else {
            return Err(Error::from(violations).into());
        };
        let prefix = (!query.is_empty())
            .then(|| query.as_str().to_lowercase().replace(['%', '_', '\\'], ""));
        let mut tx = self.stores.read_tx(&context).await?;
        let rows = store::list_items(&mut tx, prefix.as_deref(), after, size.fetch_limit()).await?;
        tx.commit().await.map_err(Error::from)?;
        let (rows, next_page_token) = finish_page(rows, size, |row| (row.name.clone(), row.id));
        Ok(Response::new(pb::ListItemsResponse {
            items: rows.iter().map(item_to_pb).collect(),
            next_page_token,
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn create_warehouse(
        &self,
        request: Request<pb::CreateWarehouseRequest>,
    ) -> Result<Response<pb::CreateWarehouseResponse>, Status> {
        let context = RequestContext::of(&request);
        let stores = &self.stores;
        context.authorize_any(MANAGE)?;
        let message = request.into_inner();
        let now = stores.calls.now();
        let warehouse = message.warehouse.clone().unwrap_or_default();
        let mut violations = Violations::default();
        let key = violations.check("request_id", RequestKey::parse(&message.request_id));
        if message.warehouse.is_none() {
            violations.add("warehouse", "is required");
        }
        let code = violations.check("warehouse.code", ItemCode::parse(&warehouse.code));
        let name = violations.check("warehouse.name", Line::parse(&warehouse.name));
        let kind = match pb::WarehouseKind::try_from(warehouse.kind) {
            Ok(pb::WarehouseKind::CentralPharmacy) => Some(WarehouseKind::CentralPharmacy),
            Ok(pb::WarehouseKind::Ward) => Some(WarehouseKind::Ward),
            Ok(pb::WarehouseKind::OperatingBlock) => Some(WarehouseKind::OperatingBlock),
            Ok(pb::WarehouseKind::Other) => Some(WarehouseKind::Other),
            _ => {
                violations.add("warehouse.kind", "is required");
                None
            }
        };
        let facility = parse_id(
            "warehouse.facility_id",
            &warehouse.facility_id,
            &mut violations,
        );
        let department = parse_optional_id(
            "warehouse.department_id",
            &warehouse.department_id,
            &mut violations,
        );
        if kind == Some(WarehouseKind::Ward) && warehouse.department_id.trim().is_empty() {
            violations.add("warehouse.department_id", "a ward stock names its ward");
        }
        let (Some(key), Some(code), Some(name), Some(kind), Some(facility), Some(department), true) = (
            key,
            code,
            name,
            kind,
            facility,
            department,
            violations.is_empty(),
        ) else {
            return Err(Error::from(violations).into());
        };
        let row = WarehouseRow {
            id: Uuid::now_v7(),
            code: code.as_str().to_owned(),
            name: name.as_str().to_owned(),
            kind: kind.as_db().to_owned(),
            facility_id: facility,
            department_id: department,
        };
        context
            .authorize(MANAGE, &target_of(&row))
            .map_err(Error::Refused)?;
        let response = stores
            .calls
            .write(
                &context,
                &method("CreateWarehouse"),
                &key,
                &message,
                async |tx| {
                    store::insert_warehouse(tx, &row, now).await?;
                    Ok(pb::CreateWarehouseResponse {
                        warehouse: Some(warehouse_to_pb(&row)),
                    })
                },
            )
            .await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all)]
    async fn list_warehouses(
        &self,
        request: Request<pb::ListWarehousesRequest>,
    ) -> Result<Response<pb::ListWarehousesResponse>, Status> {
        let context = RequestContext::of(&request);
        let principal = context.authorize_any(READ)?;
        let mut tx = self.stores.read_tx(&context).await?;
        let rows = store::list_warehouses(&mut tx).await?;
        tx.commit().await.map_err(Error::from)?;
        Ok(Response::new(pb::ListWarehousesResponse {
            warehouses: rows
                .iter()
                .filter(|row| principal.is_allowed(READ, &target_of(row)))
                .map(warehouse_to_pb)
                .collect(),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn set_reorder_point(
        &self,
        request: Request<pb::SetReorderPointRequest>,
    ) -> Result<Response<pb::SetReorderPointResponse>, Status> {
        let context = RequestContext::of(&request);
        let stores = &self.stores;
        context.authorize_any(MANAGE)?;
        let message = request.into_inner();
        let mut violations = Violations::default();
        let key = violations.check("request_id", RequestKey::parse(&message.request_id));
        let warehouse_id = parse_id("warehouse_id", &message.warehouse_id, &mut violations);
        let item_id = parse_id("item_id", &message.item_id, &mut violations);
        let quantity = if message.quantity.trim() == "0" {
            Some(None)
        } else {
            violations
                .check("quantity", Amount::parse(&message.quantity))
                .map(Some)
        };
        let (Some(key), Some(warehouse_id), Some(item_id), Some(quantity), true) =
            (key, warehouse_id, item_id, quantity, violations.is_empty())
        else {
            return Err(Error::from(violations).into());
        };
        let response = stores
            .calls
            .write(
                &context,
                &method("SetReorderPoint"),
                &key,
                &message,
                async |tx| {
                    Stores::warehouse_for(tx, &context, warehouse_id, MANAGE).await?;
                    store::get_item(tx, item_id).await?;
                    let quantity = quantity.map(|quantity| quantity.to_string());
                    store::set_reorder_point(tx, warehouse_id, item_id, quantity.as_deref())
                        .await?;
                    Ok(pb::SetReorderPointResponse {})
                },
            )
            .await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all)]
    async fn list_purchase_suggestions(
        &self,
        request: Request<pb::ListPurchaseSuggestionsRequest>,
    ) -> Result<Response<pb::ListPurchaseSuggestionsResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let mut violations = Violations::default();
        let Some(warehouse_id) = parse_id(
            "warehouse_id",
            &request.get_ref().warehouse_id,
            &mut violations,
        ) else {
            return Err(Error::from(violations).into());
        };
        let mut tx = self.stores.read_tx(&context).await?;
        Stores::warehouse_for(&mut tx, &context, warehouse_id, READ).await?;
        let mut suggestions = Vec::new();
        for (item_id, in_stock, reorder_point) in
            store::below_reorder_point(&mut tx, warehouse_id).await?
        {
            let item = store::get_item(&mut tx, item_id).await?;
            let point =
                Amount::from_db(&reorder_point).map_err(|_| Error::CorruptRow("reorder point"))?;
            let held = Amount::from_db(&in_stock).map(Amount::scaled).unwrap_or(0);
            let suggested = Amount::from_scaled_positive(2 * point.scaled() - held)
                .map(|amount| amount.to_string())
                .unwrap_or_default();
            suggestions.push(pb::PurchaseSuggestion {
                item: Some(item_to_pb(&item)),
                in_stock: trim_decimal(&in_stock),
                reorder_point: point.to_string(),
                suggested_quantity: suggested,
            });
        }
        tx.commit().await.map_err(Error::from)?;
        Ok(Response::new(pb::ListPurchaseSuggestionsResponse {
            suggestions,
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn receive_stock(
        &self,
        request: Request<pb::ReceiveStockRequest>,
    ) -> Result<Response<pb::ReceiveStockResponse>, Status> {
        let context = RequestContext::of(&request);
        let stores = &self.stores;
        context.authorize_any(MANAGE)?;
        let message = request.into_inner();
        let now = stores.calls.now();
        let mut violations = Violations::default();
        let key = violations.check("request_id", RequestKey::parse(&message.request_id));
        let warehouse_id = parse_id("warehouse_id", &message.warehouse_id, &mut violations);
        let supplier = violations.check("supplier", Line::parse(&message.supplier));
        let invoice = violations.check("invoice_number", Line::parse(&message.invoice_number));
        if invoice.as_ref().is_some_and(Line::is_empty) {
            violations.add("invoice_number", "is required (the source document)");
        }
        if message.lines.is_empty() {
            violations.add("lines", "name at least one item");
        }
        struct Received {
            item_id: Uuid,
            lot_number: String,
            expiry: chrono::NaiveDate,
            quantity: Amount,
            unit: String,
            unit_cost: Amount,
            free: bool,
            provenance: Provenance,
        }
        let mut lines = Vec::new();
        for (index, line) in message.lines.iter().enumerate() {
            let field = |name: &str| format!("lines[{index}].{name}");
            let item_id = parse_id(&field("item_id"), &line.item_id, &mut violations);
            let lot_number = violations.check(&field("lot_number"), Line::parse(&line.lot_number));
            if lot_number.as_ref().is_some_and(Line::is_empty) {
                violations.add(field("lot_number"), "is required");
            }
            let expiry = violations.check(&field("expiry_date"), parse_date(&line.expiry_date));
            if expiry.is_some_and(|expiry| expiry <= now.date_naive()) {
                violations.add(field("expiry_date"), "the lot has expired");
            }
            let quantity = violations.check(&field("quantity"), Amount::parse(&line.quantity));
            let free = line.unit_cost.trim() == "0";
            let unit_cost = if free {
                Amount::parse("1").ok()
            } else {
                violations.check(&field("unit_cost"), Amount::parse(&line.unit_cost))
            };
            let provenance = match pb::Provenance::try_from(line.provenance) {
                Ok(pb::Provenance::Purchase) => Some(Provenance::Purchase),
                Ok(pb::Provenance::Donation) => Some(Provenance::Donation),
                Ok(pb::Provenance::StateProgramme) => Some(Provenance::StateProgramme),
                _ => {
                    violations.add(field("provenance"), "is required");
                    None
                }
            };
            if let (
                Some(item_id),
                Some(lot_number),
                Some(expiry),
                Some(quantity),
                Some(unit_cost),
                Some(provenance),
            ) = (item_id, lot_number, expiry, quantity, unit_cost, provenance)
            {
                lines.push(Received {
                    item_id,
                    lot_number: lot_number.as_str().to_owned(),
                    expiry,
                    quantity,
                    unit: line.unit.trim().to_owned(),
                    unit_cost,
                    free,
                    provenance,
                });
            }
        }
        let (Some(key), Some(warehouse_id), Some(supplier), Some(invoice), true) =
            (key, warehouse_id, supplier, invoice, violations.is_empty())
        else {
            return Err(Error::from(violations).into());
        };
        let response = stores
            .calls
            .write(
                &context,
                &method("ReceiveStock"),
                &key,
                &message,
                async |tx| {
                    Stores::warehouse_for(tx, &context, warehouse_id, MANAGE).await?;
                    store::require_not_counting(tx, warehouse_id).await?;
                    let mut movements = Vec::new();
                    for (index, line) in lines.iter().enumerate() {
                        let item = store::get_item(tx, line.item_id).await?;
                        let per_unit = if line.unit.is_empty() || line.unit == item.base_unit {
                            "1".to_owned()
                        } else {
                            item.pack_units
                                .0
                                .iter()
                                .find(|(name, _)| *name == line.unit)
                                .map(|(_, quantity)| quantity.clone())
                                .ok_or_else(|| {
                                    Error::invalid(
                                        &format!("lines[{index}].unit"),
                                        format!(
                                            "{} is counted in {} or its packs",
                                            item.name, item.base_unit
                                        ),
                                    )
                                })?
                        };
                        let factor = Amount::from_db(&per_unit)
                            .map_err(|_| Error::CorruptRow("pack unit"))?;
                        let base_quantity = line.quantity.times(factor).ok_or_else(|| {
                            Error::invalid(&format!("lines[{index}].quantity"), "is too large")
                        })?;
                        let cost = if line.free {
                            "0".to_owned()
                        } else {
                            line.unit_cost.to_string()
                        };
                        let lot = store::receive_lot(
                            tx,
                            line.item_id,
                            &line.lot_number,
                            line.expiry,
                            &cost,
                            &per_unit,
                            line.provenance.as_db(),
                            supplier.as_str(),
                            now,
                        )
                        .await?;
                        movements.push(
                            store::record_movement(
                                tx,
                                &MovementRow {
                                    id: Uuid::now_v7(),
                                    kind: MovementKind::Receipt.as_db().to_owned(),
                                    item_id: line.item_id,
                                    lot_id: lot.id,
                                    from_warehouse_id: None,
                                    to_warehouse_id: Some(warehouse_id),
                                    quantity: base_quantity.to_string(),
                                    unit_cost: lot.unit_cost.clone(),
                                    actor_id: context.user_id(),
                                    document_type: "invoice".to_owned(),
                                    document_id: invoice.as_str().to_owned(),
                                    reason: String::new(),
                                    patient_id: None,
                                    department_id: None,
                                    reverses_id: None,
                                    occurred_at: now,
                                },
                            )
                            .await?,
                        );
                    }
                    Ok(pb::ReceiveStockResponse {
                        movements: movements.iter().map(movement_to_pb).collect(),
                    })
                },
            )
            .await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all)]
    async fn transfer_stock(
        &self,
        request: Request<pb::TransferStockRequest>,
    ) -> Result<Response<pb::TransferStockResponse>, Status> {
        let context = RequestContext::of(&request);
        let stores = &self.stores;
        context.authorize_any(MANAGE)?;
        let message = request.into_inner();
        let now = stores.calls.now();
        let mut violations = Violations::default();
        let key = violations.check("request_id", RequestKey::parse(&message.request_id));
        let from = parse_id(
            "from_warehouse_id",
            &message.from_warehouse_id,
            &mut violations,
        );
        let to = parse_id("to_warehouse_id", &message.to_warehouse_id, &mut violations);
        if from.is_some() && from == to {
            violations.add("to_warehouse_id", "must differ from from_warehouse_id");
        }
        let document = violations.check("document_id", Line::parse(&message.document_id));
        let lines = parse_lines(&message.lines, &mut violations);
        let (Some(key), Some(from), Some(to), Some(document), true) =
            (key, from, to, document, violations.is_empty())
        else {
            return Err(Error::from(violations).into());
        };
        let response = stores
            .calls
            .write(
                &context,
                &method("TransferStock"),
                &key,
                &message,
                async |tx| {
                    Stores::warehouse_for(tx, &context, from, MANAGE).await?;
                    store::get_warehouse(tx, to).await?;
                    let mut movements = Vec::new();
                    for (item_id, quantity, lot) in lines {
                        movements.extend(
                            move_out(
                                tx,
                                &context,
                                item_id,
                                quantity,
                                lot,
                                &Outgoing {
                                    kind: MovementKind::Transfer,
                                    from,
                                    to: Some(to),
                                    document_type: "transfer",
                                    document_id: document.as_str(),
                                    reason: "",
                                    patient_id: None,
                                    department_id: None,
                                },
                                now,
                            )
                            .await?,
                        );
                    }
                    Ok(pb::TransferStockResponse {
                        movements: movements.iter().map(movement_to_pb).collect(),
                    })
                },
            )
            .await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all)]
    async fn issue_stock(
        &self,
        request: Request<pb::IssueStockRequest>,
    ) -> Result<Response<pb::IssueStockResponse>, Status> {
        let context = RequestContext::of(&request);
        let stores = &self.stores;
        context.authorize_any(DISPENSE)?;
        let message = request.into_inner();
        let now = stores.calls.now();
        let mut violations = Violations::default();
        let key = violations.check("request_id", RequestKey::parse(&message.request_id));
        let warehouse_id = parse_id("warehouse_id", &message.warehouse_id, &mut violations);
        let patient = parse_optional_id("patient_id", &message.patient_id, &mut violations);
        let department =
            parse_optional_id("department_id", &message.department_id, &mut violations);
        match (
            message.patient_id.trim().is_empty(),
            message.department_id.trim().is_empty(),
        ) {
            (true, true) => violations.add(
                "patient_id",
                "name the patient (or the ward, department_id)",
            ),
            (false, false) => violations.add(
                "department_id",
                "an issue goes to a patient or a ward, not both",
            ),
            _ => {}
        }
        let document_type =
            violations.check("document_type", ItemCode::parse(&message.document_type));
        let document_id = violations.check("document_id", Line::parse(&message.document_id));
        if document_id.as_ref().is_some_and(Line::is_empty) {
            violations.add("document_id", "is required (the source document)");
        }
        let lines = parse_lines(&message.lines, &mut violations);
        let (
            Some(key),
            Some(warehouse_id),
            Some(patient),
            Some(department),
            Some(document_type),
            Some(document_id),
            true,
        ) = (
            key,
            warehouse_id,
            patient,
            department,
            document_type,
            document_id,
            violations.is_empty(),
        )
        else {
            return Err(Error::from(violations).into());
        };
        // A dispense against a prescription fills that prescription: the patient's, still
        // active, and of the medicine issued.
        let prescribed = if document_type.as_str() == PRESCRIPTION {
            let Ok(prescription_id) = parse_uuid(document_id.as_str()) else {
                return Err(Error::invalid("document_id", "is not a prescription id").into());
            };
            let prescribed = stores
                .directory
                .prescription(&context, prescription_id)
                .await?;
            if patient != Some(prescribed.patient_id) {
                return Err(Error::invalid(
                    "patient_id",
                    "is not the patient the prescription is for",
                )
                .into());
            }
            if !prescribed.active {
                return Err(Error::Precondition(
                    "the prescription was discontinued; nothing more is dispensed on it".into(),
                )
                .into());
            }
            Some(prescribed)
        } else {
            None
        };
        let response = stores
            .calls
            .write(
                &context,
                &method("IssueStock"),
                &key,
                &message,
                async |tx| {
                    Stores::warehouse_for(tx, &context, warehouse_id, DISPENSE).await?;
                    if let Some(prescribed) = &prescribed {
                        for (index, (item_id, _, _)) in lines.iter().enumerate() {
                            let item = store::get_item(tx, *item_id).await?;
                            let same_medicine = item.code == prescribed.medicine_code
                                || (!item.atc_code.is_empty()
                                    && item.atc_code == prescribed.atc_code);
                            if !same_medicine {
                                return Err(Error::invalid(
                                    &format!("lines[{index}].item_id"),
                                    format!(
                                        "{} is not what the prescription names ({})",
                                        item.name, prescribed.medicine_name
                                    ),
                                ));
                            }
                        }
                    }
                    let kind = if patient.is_some() {
                        MovementKind::IssuePatient
                    } else {
                        MovementKind::IssueWard
                    };
                    let mut movements = Vec::new();
                    for (item_id, quantity, lot) in lines {
                        movements.extend(
                            move_out(
                                tx,
                                &context,
                                item_id,
                                quantity,
                                lot,
                                &Outgoing {
                                    kind,
                                    from: warehouse_id,
                                    to: None,
                                    document_type: document_type.as_str(),
                                    document_id: document_id.as_str(),
                                    reason: "",
                                    patient_id: patient,
                                    department_id: department,
                                },
                                now,
                            )
                            .await?,
                        );
                    }
                    if let Some(patient) = patient {
                        let patients = [patient];
                        let resources: Vec<String> = movements
                            .iter()
                            .map(|movement| movement.id.to_string())
                            .collect();
                        audit::record(
                            tx,
                            &context,
                            &AuditEntry {
                                resource_ids: &resources,
                                ..AuditEntry::ok(&patients)
                            },
                            now,
                        )
                        .await?;
                    }
                    Ok(pb::IssueStockResponse {
                        movements: movements.iter().map(movement_to_pb).collect(),
                    })
                },
            )
            .await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all)]
    async fn return_stock(
        &self,
        request: Request<pb::ReturnStockRequest>,
    ) -> Result<Response<pb::ReturnStockResponse>, Status> {
        let context = RequestContext::of(&request);
        let stores = &self.stores;
        context.authorize_any(MANAGE)?;
        let message = request.into_inner();
        let now = stores.calls.now();
        let mut violations = Violations::default();
        let key = violations.check("request_id", RequestKey::parse(&message.request_id));
        let warehouse_id = parse_id("warehouse_id", &message.warehouse_id, &mut violations);
        let movement_id = parse_id("movement_id", &message.movement_id, &mut violations);
        let quantity = violations.check("quantity", Amount::parse(&message.quantity));
        let reason = violations.check("reason", Text::parse_required(&message.reason));
        let (Some(key), Some(warehouse_id), Some(movement_id), Some(quantity), Some(reason), true) = (
            key,
            warehouse_id,
            movement_id,
            quantity,
            reason,
            violations.is_empty(),
        ) else {
            return Err(Error::from(violations).into());
        };
        let response = stores
            .calls
            .write(
                &context,
                &method("ReturnStock"),
                &key,
                &message,
                async |tx| {
                    Stores::warehouse_for(tx, &context, warehouse_id, MANAGE).await?;
                    store::require_not_counting(tx, warehouse_id).await?;
                    let original = store::lock_movement(tx, movement_id).await?;
                    let returnable = matches!(
                        MovementKind::from_db(&original.kind),
                        Some(
                            MovementKind::IssuePatient
                                | MovementKind::IssueWard
                                | MovementKind::Transfer
                        )
                    );
                    if !returnable || original.from_warehouse_id != Some(warehouse_id) {
                        return Err(Error::invalid(
                            "movement_id",
                            "returns reverse an issue or a transfer out of this warehouse",
                        ));
                    }
                    let issued = Amount::from_db(&original.quantity)
                        .map_err(|_| Error::CorruptRow("movement"))?;
                    let returned = Amount::from_db(&store::returned_of(tx, movement_id).await?)
                        .map(Amount::scaled)
                        .unwrap_or(0);
                    if returned + quantity.scaled() > issued.scaled() {
                        return Err(Error::Precondition(format!(
                            "only {} of that movement can still come back",
                            Amount::from_scaled_positive(issued.scaled() - returned)
                                .map(|left| left.to_string())
                                .unwrap_or_else(|| "none".to_owned())
                        )));
                    }
                    // A transfer comes back out of the ward it went to.
                    let movement = store::record_movement(
                        tx,
                        &MovementRow {
                            id: Uuid::now_v7(),
                            kind: MovementKind::Return.as_db().to_owned(),
                            item_id: original.item_id,
                            lot_id: original.lot_id,
                            from_warehouse_id: original.to_warehouse_id,
                            to_warehouse_id: Some(warehouse_id),
                            quantity: quantity.to_string(),
                            unit_cost: original.unit_cost.clone(),
                            actor_id: context.user_id(),
                            document_type: "return".to_owned(),
                            document_id: movement_id.to_string(),
                            reason: reason.as_str().to_owned(),
                            patient_id: original.patient_id,
                            department_id: original.department_id,
                            reverses_id: Some(movement_id),
                            occurred_at: now,
                        },
                    )
                    .await?;
                    if let Some(patient) = original.patient_id {
                        audit::record(tx, &context, &AuditEntry::ok(&[patient]), now).await?;
                    }
                    Ok(pb::ReturnStockResponse {
                        movement: Some(movement_to_pb(&movement)),
                    })
                },
            )
            .await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all)]
    async fn write_off_stock(
        &self,
        request: Request<pb::WriteOffStockRequest>,
    ) -> Result<Response<pb::WriteOffStockResponse>, Status> {
        let context = RequestContext::of(&request);
        let stores = &self.stores;
        context.authorize_any(MANAGE)?;
        let message = request.into_inner();
        let now = stores.calls.now();
        let mut violations = Violations::default();
        let key = violations.check("request_id", RequestKey::parse(&message.request_id));
        let warehouse_id = parse_id("warehouse_id", &message.warehouse_id, &mut violations);
        let lot_id = parse_id("lot_id", &message.lot_id, &mut violations);
        let quantity = violations.check("quantity", Amount::parse(&message.quantity));
        let reason = match pb::WriteOffReason::try_from(message.reason) {
            Ok(pb::WriteOffReason::Expired) => Some(WriteOffReason::Expired),
            Ok(pb::WriteOffReason::Broken) => Some(WriteOffReason::Broken),
            Ok(pb::WriteOffReason::Spoiled) => Some(WriteOffReason::Spoiled),
            Ok(pb::WriteOffReason::Recalled) => Some(WriteOffReason::Recalled),
            Ok(pb::WriteOffReason::Lost) => Some(WriteOffReason::Lost),
            _ => {
                violations.add("reason", "is required");
                None
            }
        };
        let document = violations.check("document_id", Line::parse(&message.document_id));
        if document.as_ref().is_some_and(Line::is_empty) {
            violations.add("document_id", "is required (the write-off act)");
        }
        let note = violations.check("note", Text::parse(&message.note));
        let (
            Some(key),
            Some(warehouse_id),
            Some(lot_id),
            Some(quantity),
            Some(reason),
            Some(document),
            Some(note),
            true,
        ) = (
            key,
            warehouse_id,
            lot_id,
            quantity,
            reason,
            document,
            note,
            violations.is_empty(),
        )
        else {
            return Err(Error::from(violations).into());
        };
        let response = stores
            .calls
            .write(
                &context,
                &method("WriteOffStock"),
                &key,
                &message,
                async |tx| {
                    Stores::warehouse_for(tx, &context, warehouse_id, MANAGE).await?;
                    store::require_not_counting(tx, warehouse_id).await?;
                    let lot = store::get_lot(tx, lot_id).await?;
                    let reason_text = if note.as_str().is_empty() {
                        reason.as_db().to_owned()
                    } else {
                        format!("{}: {}", reason.as_db(), note.as_str())
                    };
                    let movement = store::record_movement(
                        tx,
                        &MovementRow {
                            id: Uuid::now_v7(),
                            kind: MovementKind::WriteOff.as_db().to_owned(),
                            item_id: lot.item_id,
                            lot_id,
                            from_warehouse_id: Some(warehouse_id),
                            to_warehouse_id: None,
                            quantity: quantity.to_string(),
                            unit_cost: lot.unit_cost.clone(),
                            actor_id: context.user_id(),
                            document_type: "write_off".to_owned(),
                            document_id: document.as_str().to_owned(),
                            reason: reason_text,
                            patient_id: None,
                            department_id: None,
                            reverses_id: None,
                            occurred_at: now,
                        },
                    )
                    .await?;
                    Ok(pb::WriteOffStockResponse {
                        movement: Some(movement_to_pb(&movement)),
                    })
                },
            )
            .await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all)]
    async fn get_stock(
        &self,
        request: Request<pb::GetStockRequest>,
    ) -> Result<Response<pb::GetStockResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.get_ref();
        let mut violations = Violations::default();
        let warehouse_id = parse_id("warehouse_id", &message.warehouse_id, &mut violations);
        let item_id = parse_optional_id("item_id", &message.item_id, &mut violations);
        let (Some(warehouse_id), Some(item_id), true) =
            (warehouse_id, item_id, violations.is_empty())
        else {
            return Err(Error::from(violations).into());
        };
        let mut tx = self.stores.read_tx(&context).await?;
        Stores::warehouse_for(&mut tx, &context, warehouse_id, READ).await?;
        let lines = store::stock(&mut tx, warehouse_id, item_id).await?;
        tx.commit().await.map_err(Error::from)?;
        Ok(Response::new(pb::GetStockResponse {
            lines: lines
                .iter()
                .map(|(lot, quantity, value)| pb::StockLine {
                    lot: Some(lot_to_pb(lot)),
                    quantity: trim_decimal(quantity),
                    value: value.clone(),
                })
                .collect(),
        }))
    }

    async fn start_stocktaking(
        &self,
        request: Request<pb::StartStocktakingRequest>,
    ) -> Result<Response<pb::StartStocktakingResponse>, Status> {
        self.start_stocktaking_call(request).await
    }

    async fn record_counts(
        &self,
        request: Request<pb::RecordCountsRequest>,
    ) -> Result<Response<pb::RecordCountsResponse>, Status> {
        self.record_counts_call(request).await
    }

    async fn get_stocktaking(
        &self,
        request: Request<pb::GetStocktakingRequest>,
    ) -> Result<Response<pb::GetStocktakingResponse>, Status> {
        self.get_stocktaking_call(request).await
    }

    async fn close_stocktaking(
        &self,
        request: Request<pb::CloseStocktakingRequest>,
    ) -> Result<Response<pb::CloseStocktakingResponse>, Status> {
        self.close_stocktaking_call(request).await
    }

    async fn get_stock_report(
        &self,
        request: Request<pb::GetStockReportRequest>,
    ) -> Result<Response<pb::GetStockReportResponse>, Status> {
        self.stock_report_call(request).await
    }

    async fn create_requisition(
        &self,
        request: Request<pb::CreateRequisitionRequest>,
    ) -> Result<Response<pb::CreateRequisitionResponse>, Status> {
        self.create_requisition_call(request).await
    }

    async fn fulfill_requisition(
        &self,
        request: Request<pb::FulfillRequisitionRequest>,
    ) -> Result<Response<pb::FulfillRequisitionResponse>, Status> {
        self.fulfill_requisition_call(request).await
    }

    async fn get_requisition(
        &self,
        request: Request<pb::GetRequisitionRequest>,
    ) -> Result<Response<pb::GetRequisitionResponse>, Status> {
        self.get_requisition_call(request).await
    }

    async fn list_open_requisitions(
        &self,
        request: Request<pb::ListOpenRequisitionsRequest>,
    ) -> Result<Response<pb::ListOpenRequisitionsResponse>, Status> {
        self.open_requisitions_call(request).await
    }

    async fn get_patient_slip(
        &self,
        request: Request<pb::GetPatientSlipRequest>,
    ) -> Result<Response<pb::GetPatientSlipResponse>, Status> {
        self.patient_slip_call(request).await
    }

    async fn get_ward_stock_analysis(
        &self,
        request: Request<pb::GetWardStockAnalysisRequest>,
    ) -> Result<Response<pb::GetWardStockAnalysisResponse>, Status> {
        self.ward_stock_analysis_call(request).await
    }

    async fn list_controlled_register(
        &self,
        request: Request<pb::ListControlledRegisterRequest>,
    ) -> Result<Response<pb::ListControlledRegisterResponse>, Status> {
        self.controlled_register_call(request).await
    }

    #[tracing::instrument(skip_all)]
    async fn list_movements(
        &self,
        request: Request<pb::ListMovementsRequest>,
    ) -> Result<Response<pb::ListMovementsResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.get_ref();
        let mut violations = Violations::default();
        let warehouse_id = parse_id("warehouse_id", &message.warehouse_id, &mut violations);
        let item_id = parse_optional_id("item_id", &message.item_id, &mut violations);
        let size = violations.check("page_size", PageSize::parse(message.page_size));
        let after = violations
            .check(
                "page_token",
                decode_token::<(DateTime<Utc>, Uuid)>(&message.page_token),
            )
            .flatten();
        let (Some(warehouse_id), Some(item_id), Some(size), true) =
            (warehouse_id, item_id, size, violations.is_empty())
        else {
            return Err(Error::from(violations).into());
        };
        let mut tx = self.stores.read_tx(&context).await?;
        Stores::warehouse_for(&mut tx, &context, warehouse_id, READ).await?;
        let rows =
            store::movements(&mut tx, warehouse_id, item_id, after, size.fetch_limit()).await?;
        tx.commit().await.map_err(Error::from)?;
        let (rows, next_page_token) = finish_page(rows, size, |row| (row.occurred_at, row.id));
        Ok(Response::new(pb::ListMovementsResponse {
            movements: rows.iter().map(movement_to_pb).collect(),
            next_page_token,
        }))
    }
}
