//! Requests of the inventory service, parsed into what the use cases are asked: every wrong
//! field is named at once (`INVALID_ARGUMENT` with field violations), nothing is echoed back.

use chrono::{DateTime, NaiveDate, Utc};
use hmis_platform::Violations;
use hmis_platform::amount::Amount;
use hmis_platform::paging::{PageSize, decode_token};
use hmis_platform::types::{Code, Line, Text};
use hmis_proto::openhmis::inventory::v1 as pb;
use uuid::Uuid;

use crate::app::{
    Closing, Counts, Fulfilment, Issue, ItemPage, MovementPage, NewItem, NewRequisition,
    NewWarehouse, PatientSlip, Receipt, Received, ReorderPoint, Return, Transfer, WardOrder,
    WardPeriod, WriteOff,
};
use crate::domain::{ItemClass, Provenance, WarehouseKind, WriteOffReason, parse_date, parse_unit};
use crate::error::Result;

/// One id, the whole request of a read by id.
pub(crate) fn id(field: &str, value: &str) -> Result<Uuid> {
    let mut violations = Violations::default();
    let id = violations.id(field, value);
    Ok(violations.finish(|| id)?)
}

/// A warehouse and, when one is named, an item.
pub(crate) fn warehouse_item(warehouse_id: &str, item_id: &str) -> Result<(Uuid, Option<Uuid>)> {
    let mut violations = Violations::default();
    let warehouse = violations.id("warehouse_id", warehouse_id);
    let item = violations.optional_id("item_id", item_id);
    Ok(violations.finish(|| Some((warehouse?, item?)))?)
}

/// A required, non-empty line of text.
fn required_line(violations: &mut Violations, field: &str, value: &str, why: &str) -> Option<Line> {
    let line = violations.check(field, Line::parse(value));
    if line.as_ref().is_some_and(Line::is_empty) {
        violations.add(field, why);
    }
    line
}

/// A required choice of an enum of the contract, as the domain's value.
fn required<P: TryFrom<i32>, D>(
    violations: &mut Violations,
    field: &str,
    value: i32,
    domain: impl FnOnce(P) -> Option<D>,
) -> Option<D> {
    let chosen = P::try_from(value).ok().and_then(domain);
    if chosen.is_none() {
        violations.add(field, "is required");
    }
    chosen
}

/// Lines of items to move.
fn lines(
    violations: &mut Violations,
    lines: &[pb::ItemQuantity],
) -> Vec<(Uuid, Amount, Option<Uuid>)> {
    if lines.is_empty() {
        violations.add("lines", "name at least one item");
    }
    lines
        .iter()
        .enumerate()
        .filter_map(|(index, line)| {
            let item = violations.id(&format!("lines[{index}].item_id"), &line.item_id);
            let quantity = violations.check(
                &format!("lines[{index}].quantity"),
                Amount::parse(&line.quantity),
            );
            let lot = violations.optional_id(&format!("lines[{index}].lot_id"), &line.lot_id);
            Some((item?, quantity?, lot?))
        })
        .collect()
}

fn is_atc_code(atc: &str) -> bool {
    atc.len() <= 7 && atc.chars().all(|c| c.is_ascii_alphanumeric())
}

pub(crate) fn create_item(message: &pb::CreateItemRequest) -> Result<NewItem> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    if message.item.is_none() {
        violations.add("item", "is required");
    }
    let item = message.item.clone().unwrap_or_default();
    let code = violations.check("item.code", Code::parse(&item.code));
    let name = required_line(&mut violations, "item.name", &item.name, "is required");
    let class = required(
        &mut violations,
        "item.item_class",
        item.item_class,
        |class| match class {
            pb::ItemClass::Medicine => Some(ItemClass::Medicine),
            pb::ItemClass::Parapharmaceutical => Some(ItemClass::Parapharmaceutical),
            pb::ItemClass::Auxiliary => Some(ItemClass::Auxiliary),
            pb::ItemClass::Food => Some(ItemClass::Food),
            pb::ItemClass::Unspecified => None,
        },
    );
    let base_unit = violations.check("item.base_unit", parse_unit(&item.base_unit));
    let group = violations.check(
        "item.preparation_group",
        Line::parse(&item.preparation_group),
    );
    let atc_code = item.atc_code.trim().to_uppercase();
    if !is_atc_code(&atc_code) {
        violations.add("item.atc_code", "is not an ATC code");
    }
    let mut packs = Vec::new();
    for (index, pack) in item.pack_units.iter().enumerate() {
        let field = |name: &str| format!("item.pack_units[{index}].{name}");
        let unit = violations.check(&field("name"), parse_unit(&pack.name));
        let quantity =
            violations.check(&field("base_quantity"), Amount::parse(&pack.base_quantity));
        packs.extend(unit.zip(quantity));
    }
    Ok(violations.finish(|| {
        Some(NewItem {
            key: key?,
            code: code?,
            name: name?,
            class: class?,
            atc_code,
            preparation_group: group?,
            base_unit: base_unit?,
            controlled: item.controlled,
            packs,
        })
    })?)
}

pub(crate) fn list_items(message: &pb::ListItemsRequest) -> Result<ItemPage> {
    let mut violations = Violations::default();
    let size = violations.check("page_size", PageSize::parse(message.page_size));
    let after = violations.check("page_token", decode_token(&message.page_token));
    let query = violations.check("query", Line::parse(&message.query));
    Ok(violations.finish(|| {
        let query = query?;
        Some(ItemPage {
            prefix: (!query.is_empty()).then(|| query.as_str().to_owned()),
            size: size?,
            after: after?,
        })
    })?)
}

pub(crate) fn create_warehouse(message: &pb::CreateWarehouseRequest) -> Result<NewWarehouse> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    if message.warehouse.is_none() {
        violations.add("warehouse", "is required");
    }
    let warehouse = message.warehouse.clone().unwrap_or_default();
    let code = violations.check("warehouse.code", Code::parse(&warehouse.code));
    let name = violations.check("warehouse.name", Line::parse(&warehouse.name));
    let kind = required(
        &mut violations,
        "warehouse.kind",
        warehouse.kind,
        |kind| match kind {
            pb::WarehouseKind::CentralPharmacy => Some(WarehouseKind::CentralPharmacy),
            pb::WarehouseKind::Ward => Some(WarehouseKind::Ward),
            pb::WarehouseKind::OperatingBlock => Some(WarehouseKind::OperatingBlock),
            pb::WarehouseKind::Other => Some(WarehouseKind::Other),
            pb::WarehouseKind::Unspecified => None,
        },
    );
    let facility = violations.id("warehouse.facility_id", &warehouse.facility_id);
    let department = violations.optional_id("warehouse.department_id", &warehouse.department_id);
    if kind == Some(WarehouseKind::Ward) && warehouse.department_id.trim().is_empty() {
        violations.add("warehouse.department_id", "a ward stock names its ward");
    }
    Ok(violations.finish(|| {
        Some(NewWarehouse {
            key: key?,
            code: code?,
            name: name?,
            kind: kind?,
            facility_id: facility?,
            department_id: department?,
        })
    })?)
}

pub(crate) fn set_reorder_point(message: &pb::SetReorderPointRequest) -> Result<ReorderPoint> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let warehouse_id = violations.id("warehouse_id", &message.warehouse_id);
    let item_id = violations.id("item_id", &message.item_id);
    let quantity = if message.quantity.trim() == "0" {
        Some(None)
    } else {
        violations
            .check("quantity", Amount::parse(&message.quantity))
            .map(Some)
    };
    Ok(violations.finish(|| {
        Some(ReorderPoint {
            key: key?,
            warehouse_id: warehouse_id?,
            item_id: item_id?,
            quantity: quantity?,
        })
    })?)
}

fn received(
    violations: &mut Violations,
    index: usize,
    line: &pb::ReceiptLine,
    today: NaiveDate,
) -> Option<Received> {
    let field = |name: &str| format!("lines[{index}].{name}");
    let item_id = violations.id(&field("item_id"), &line.item_id);
    let lot_number = required_line(
        violations,
        &field("lot_number"),
        &line.lot_number,
        "is required",
    );
    let expiry = violations.check(&field("expiry_date"), parse_date(&line.expiry_date));
    if expiry.is_some_and(|expiry| expiry <= today) {
        violations.add(field("expiry_date"), "the lot has expired");
    }
    let quantity = violations.check(&field("quantity"), Amount::parse(&line.quantity));
    let unit_cost = if line.unit_cost.trim() == "0" {
        Some(None)
    } else {
        violations
            .check(&field("unit_cost"), Amount::parse(&line.unit_cost))
            .map(Some)
    };
    let provenance = required(
        violations,
        &field("provenance"),
        line.provenance,
        |provenance| match provenance {
            pb::Provenance::Purchase => Some(Provenance::Purchase),
            pb::Provenance::Donation => Some(Provenance::Donation),
            pb::Provenance::StateProgramme => Some(Provenance::StateProgramme),
            pb::Provenance::Unspecified => None,
        },
    );
    Some(Received {
        item_id: item_id?,
        lot_number: lot_number?.as_str().to_owned(),
        expiry: expiry?,
        quantity: quantity?,
        unit: line.unit.trim().to_owned(),
        unit_cost: unit_cost?,
        provenance: provenance?,
    })
}

pub(crate) fn receive_stock(
    message: &pb::ReceiveStockRequest,
    now: DateTime<Utc>,
) -> Result<Receipt> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let warehouse_id = violations.id("warehouse_id", &message.warehouse_id);
    let supplier = violations.check("supplier", Line::parse(&message.supplier));
    let invoice = required_line(
        &mut violations,
        "invoice_number",
        &message.invoice_number,
        "is required (the source document)",
    );
    if message.lines.is_empty() {
        violations.add("lines", "name at least one item");
    }
    let lines: Vec<Received> = (message.lines.iter().enumerate())
        .filter_map(|(index, line)| received(&mut violations, index, line, now.date_naive()))
        .collect();
    Ok(violations.finish(|| {
        Some(Receipt {
            key: key?,
            warehouse_id: warehouse_id?,
            supplier: supplier?,
            invoice: invoice?,
            lines,
        })
    })?)
}

pub(crate) fn transfer_stock(message: &pb::TransferStockRequest) -> Result<Transfer> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let from = violations.id("from_warehouse_id", &message.from_warehouse_id);
    let to = violations.id("to_warehouse_id", &message.to_warehouse_id);
    if from.is_some() && from == to {
        violations.add("to_warehouse_id", "must differ from from_warehouse_id");
    }
    let document = violations.check("document_id", Line::parse(&message.document_id));
    let lines = lines(&mut violations, &message.lines);
    Ok(violations.finish(|| {
        Some(Transfer {
            key: key?,
            from: from?,
            to: to?,
            document: document?,
            lines,
        })
    })?)
}

pub(crate) fn issue_stock(message: &pb::IssueStockRequest) -> Result<Issue> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let warehouse_id = violations.id("warehouse_id", &message.warehouse_id);
    let patient = violations.optional_id("patient_id", &message.patient_id);
    let department = violations.optional_id("department_id", &message.department_id);
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
    let document_type = violations.check("document_type", Code::parse(&message.document_type));
    let document_id = required_line(
        &mut violations,
        "document_id",
        &message.document_id,
        "is required (the source document)",
    );
    let lines = lines(&mut violations, &message.lines);
    Ok(violations.finish(|| {
        Some(Issue {
            key: key?,
            warehouse_id: warehouse_id?,
            patient_id: patient?,
            department_id: department?,
            document_type: document_type?,
            document_id: document_id?,
            lines,
        })
    })?)
}

pub(crate) fn return_stock(message: &pb::ReturnStockRequest) -> Result<Return> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let warehouse_id = violations.id("warehouse_id", &message.warehouse_id);
    let movement_id = violations.id("movement_id", &message.movement_id);
    let quantity = violations.check("quantity", Amount::parse(&message.quantity));
    let reason = violations.check("reason", Text::parse_required(&message.reason));
    Ok(violations.finish(|| {
        Some(Return {
            key: key?,
            warehouse_id: warehouse_id?,
            movement_id: movement_id?,
            quantity: quantity?,
            reason: reason?,
        })
    })?)
}

pub(crate) fn write_off_stock(message: &pb::WriteOffStockRequest) -> Result<WriteOff> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let warehouse_id = violations.id("warehouse_id", &message.warehouse_id);
    let lot_id = violations.id("lot_id", &message.lot_id);
    let quantity = violations.check("quantity", Amount::parse(&message.quantity));
    let reason = required(
        &mut violations,
        "reason",
        message.reason,
        |reason| match reason {
            pb::WriteOffReason::Expired => Some(WriteOffReason::Expired),
            pb::WriteOffReason::Broken => Some(WriteOffReason::Broken),
            pb::WriteOffReason::Spoiled => Some(WriteOffReason::Spoiled),
            pb::WriteOffReason::Recalled => Some(WriteOffReason::Recalled),
            pb::WriteOffReason::Lost => Some(WriteOffReason::Lost),
            pb::WriteOffReason::Unspecified => None,
        },
    );
    let document = required_line(
        &mut violations,
        "document_id",
        &message.document_id,
        "is required (the write-off act)",
    );
    let note = violations.check("note", Text::parse(&message.note));
    Ok(violations.finish(|| {
        Some(WriteOff {
            key: key?,
            warehouse_id: warehouse_id?,
            lot_id: lot_id?,
            quantity: quantity?,
            reason: reason?,
            document: document?,
            note: note?,
        })
    })?)
}

pub(crate) fn list_movements(message: &pb::ListMovementsRequest) -> Result<MovementPage> {
    let mut violations = Violations::default();
    let warehouse_id = violations.id("warehouse_id", &message.warehouse_id);
    let item_id = violations.optional_id("item_id", &message.item_id);
    let size = violations.check("page_size", PageSize::parse(message.page_size));
    let after = violations.check("page_token", decode_token(&message.page_token));
    Ok(violations.finish(|| {
        Some(MovementPage {
            warehouse_id: warehouse_id?,
            item_id: item_id?,
            size: size?,
            after: after?,
        })
    })?)
}

pub(crate) fn start_stocktaking(
    message: &pb::StartStocktakingRequest,
) -> Result<(hmis_platform::idempotency::RequestKey, Uuid)> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let warehouse_id = violations.id("warehouse_id", &message.warehouse_id);
    Ok(violations.finish(|| Some((key?, warehouse_id?)))?)
}

pub(crate) fn record_counts(message: &pb::RecordCountsRequest) -> Result<Counts> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let id = violations.id("stocktaking_id", &message.stocktaking_id);
    if message.counts.is_empty() {
        violations.add("counts", "name at least one lot");
    }
    let mut counts = Vec::new();
    for (index, count) in message.counts.iter().enumerate() {
        let lot = violations.id(&format!("counts[{index}].lot_id"), &count.lot_id);
        let counted = if count.counted.trim() == "0" {
            Some("0".to_owned())
        } else {
            violations
                .check(
                    &format!("counts[{index}].counted"),
                    Amount::parse(&count.counted),
                )
                .map(|amount| amount.to_string())
        };
        counts.extend(lot.zip(counted));
    }
    Ok(violations.finish(|| {
        Some(Counts {
            key: key?,
            stocktaking_id: id?,
            counts,
        })
    })?)
}

pub(crate) fn close_stocktaking(message: &pb::CloseStocktakingRequest) -> Result<Closing> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let id = violations.id("id", &message.id);
    let etag = violations.optional_etag("etag", &message.etag);
    Ok(violations.finish(|| {
        Some(Closing {
            key: key?,
            stocktaking_id: id?,
            etag,
            cancel: message.cancel,
        })
    })?)
}

pub(crate) fn stock_report(message: &pb::GetStockReportRequest) -> Result<(Uuid, NaiveDate)> {
    let mut violations = Violations::default();
    let warehouse_id = violations.id("warehouse_id", &message.warehouse_id);
    let month = violations.check(
        "month",
        NaiveDate::parse_from_str(&format!("{}-01", message.month.trim()), "%Y-%m-%d")
            .map_err(|_| "must be a month, YYYY-MM"),
    );
    Ok(violations.finish(|| Some((warehouse_id?, month?)))?)
}

/// A warehouse over whole days, `from_date` to `to_date`.
pub(crate) fn ward_period(warehouse_id: &str, from: &str, to: &str) -> Result<WardPeriod> {
    let mut violations = Violations::default();
    let warehouse_id = violations.id("warehouse_id", warehouse_id);
    let period = violations.period(("from_date", from), ("to_date", to));
    Ok(violations.finish(|| {
        let (from, to) = period?;
        Some(WardPeriod {
            warehouse_id: warehouse_id?,
            from,
            to,
        })
    })?)
}

pub(crate) fn patient_slip(message: &pb::GetPatientSlipRequest) -> Result<PatientSlip> {
    let mut violations = Violations::default();
    let patient_id = violations.id("patient_id", &message.patient_id);
    let from = violations.optional_date("from_date", &message.from_date);
    let to = violations.optional_date("to_date", &message.to_date);
    Ok(violations.finish(|| {
        Some(PatientSlip {
            patient_id: patient_id?,
            from: from?,
            to: to?,
        })
    })?)
}

pub(crate) fn ward_order(message: &pb::RequisitionWardMedicationOrderRequest) -> Result<WardOrder> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let ward_stock = violations.id("ward_stock_id", &message.ward_stock_id);
    let supplier = violations.optional_id("supplier_id", &message.supplier_id);
    let start_date = violations.optional_date("start_date", &message.start_date);
    if !(0..=7).contains(&message.days) {
        violations.add("days", "must be 1 to 7 (0 means 1)");
    }
    Ok(violations.finish(|| {
        Some(WardOrder {
            key: key?,
            ward_stock_id: ward_stock?,
            supplier_id: supplier?,
            start_date: start_date?.map(|date| date.to_string()).unwrap_or_default(),
            days: message.days,
        })
    })?)
}

pub(crate) fn requisition(message: &pb::CreateRequisitionRequest) -> Result<NewRequisition> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    if message.requisition.is_none() {
        violations.add("requisition", "is required");
    }
    let requisition = message.requisition.clone().unwrap_or_default();
    let ward_stock = violations.id("requisition.ward_stock_id", &requisition.ward_stock_id);
    let supplier = violations.id("requisition.supplier_id", &requisition.supplier_id);
    let note = violations.check("requisition.note", Text::parse(&requisition.note));
    if requisition.lines.is_empty() {
        violations.add("requisition.lines", "name at least one item");
    }
    let mut lines: Vec<(Uuid, Amount)> = Vec::new();
    for (index, line) in requisition.lines.iter().enumerate() {
        let field = |name: &str| format!("requisition.lines[{index}].{name}");
        let item = violations.id(&field("item_id"), &line.item_id);
        let quantity = violations.check(&field("requested"), Amount::parse(&line.requested));
        if let (Some(item), Some(quantity)) = (item, quantity) {
            if lines.iter().any(|(known, _)| *known == item) {
                violations.add(field("item_id"), "is asked for twice");
            }
            lines.push((item, quantity));
        }
    }
    Ok(violations.finish(|| {
        Some(NewRequisition {
            key: key?,
            ward_stock_id: ward_stock?,
            supplier_id: supplier?,
            note: note?,
            lines,
        })
    })?)
}

pub(crate) fn fulfilment(message: &pb::FulfillRequisitionRequest) -> Result<Fulfilment> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let id = violations.id("requisition_id", &message.requisition_id);
    let lines = if message.lines.is_empty() {
        Vec::new()
    } else {
        lines(&mut violations, &message.lines)
    };
    Ok(violations.finish(|| {
        Some(Fulfilment {
            key: key?,
            requisition_id: id?,
            lines,
        })
    })?)
}
