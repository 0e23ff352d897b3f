//! Movements of the ledger: receipts from suppliers, transfers between warehouses, issues to
//! patients and wards, returns, write-offs; and the stock they leave.

use chrono::{DateTime, NaiveDate, Utc};
use hmis_platform::RequestContext;
use hmis_platform::amount::Amount;
use hmis_platform::audit::{self, AuditEntry};
use hmis_platform::call::Shown;
use hmis_platform::idempotency::RequestKey;
use hmis_platform::paging::{PageSize, finish_page};
use hmis_platform::types::{Code, Line as TextLine, Text, parse_uuid};
use hmis_proto::openhmis::inventory::v1 as pb;
use uuid::Uuid;

use super::{DISPENSE, Line, MANAGE, Outgoing, READ, RETURN, Stores, method, move_all_out};
use crate::convert::{lot_to_pb, movement_to_pb, trim_decimal};
use crate::directory::Prescribed;
use crate::domain::{MovementKind, Provenance, WriteOffReason};
use crate::error::{Error, Result};
use crate::store::{self, ItemRow};

/// The document type of a dispense that fills a prescription (its id is the document id).
const PRESCRIPTION: &str = "prescription";

/// Counts `total` (ten-thousandths of the form unit) against what the prescription allows;
/// refuses, changing nothing, when it would go past it.
async fn fill(
    tx: &mut hmis_platform::TenantTx,
    prescription_id: Uuid,
    prescribed: &Prescribed,
    total: i64,
) -> Result<()> {
    let (Some(limit), Some(quantity)) =
        (prescribed.dispensable, Amount::from_scaled_positive(total))
    else {
        return Err(Error::Precondition(
            "the prescription does not say how much may be dispensed".into(),
        ));
    };
    let (quantity, limit_text) = (quantity.to_string(), limit.to_string());
    if !store::fill_prescription(tx, prescription_id, &quantity, &limit_text).await? {
        let dispensed = hmis_platform::amount::trim_scale(
            &store::dispensed_against(tx, prescription_id).await?,
        );
        return Err(Error::Precondition(format!(
            "that would dispense more than was prescribed: {dispensed} of {limit_text} {} \
             dispensed already",
            prescribed.form_unit
        )));
    }
    Ok(())
}

/// One item to move: the item, how much of it, and the lot when the caller chose one.
pub(crate) type ItemQuantity = (Uuid, Amount, Option<Uuid>);

/// A delivery from a supplier into a warehouse, under its invoice.
pub(crate) struct Receipt {
    pub(crate) key: RequestKey,
    pub(crate) warehouse_id: Uuid,
    pub(crate) supplier: TextLine,
    pub(crate) invoice: TextLine,
    pub(crate) lines: Vec<Received>,
}

/// One lot received.
pub(crate) struct Received {
    pub(crate) item_id: Uuid,
    pub(crate) lot_number: String,
    pub(crate) expiry: NaiveDate,
    pub(crate) quantity: Amount,
    /// The unit the quantity is counted in: empty or the base unit, or a pack's.
    pub(crate) unit: String,
    /// `None` when the lot came free (a donation, a state programme).
    pub(crate) unit_cost: Option<Amount>,
    pub(crate) provenance: Provenance,
}

pub(crate) struct Transfer {
    pub(crate) key: RequestKey,
    pub(crate) from: Uuid,
    pub(crate) to: Uuid,
    pub(crate) document: TextLine,
    pub(crate) lines: Vec<ItemQuantity>,
}

/// An issue to a patient or to a ward, under its source document.
pub(crate) struct Issue {
    pub(crate) key: RequestKey,
    pub(crate) warehouse_id: Uuid,
    pub(crate) patient_id: Option<Uuid>,
    pub(crate) department_id: Option<Uuid>,
    pub(crate) document_type: Code,
    pub(crate) document_id: TextLine,
    pub(crate) lines: Vec<ItemQuantity>,
}

/// Part or all of an issue or a transfer coming back.
pub(crate) struct Return {
    pub(crate) key: RequestKey,
    pub(crate) warehouse_id: Uuid,
    pub(crate) movement_id: Uuid,
    pub(crate) quantity: Amount,
    pub(crate) reason: Text,
}

pub(crate) struct WriteOff {
    pub(crate) key: RequestKey,
    pub(crate) warehouse_id: Uuid,
    pub(crate) lot_id: Uuid,
    pub(crate) quantity: Amount,
    pub(crate) reason: WriteOffReason,
    pub(crate) document: TextLine,
    pub(crate) note: Text,
}

/// A page of a warehouse's ledger, newest first, of one item when one is named.
pub(crate) struct MovementPage {
    pub(crate) warehouse_id: Uuid,
    pub(crate) item_id: Option<Uuid>,
    pub(crate) size: PageSize,
    pub(crate) after: Option<(DateTime<Utc>, Uuid)>,
}

/// The patients some of `patient_ids` name, each once, as a read shows them.
pub(crate) fn patients_named(patient_ids: impl Iterator<Item = Option<Uuid>>) -> Shown {
    let mut patients: Vec<Uuid> = patient_ids.flatten().collect();
    patients.sort_unstable();
    patients.dedup();
    Shown::patients(patients)
}

/// How many base units one `unit` of `item` is (`1` for the base unit itself).
fn units_per(item: &ItemRow, unit: &str, field: &str) -> Result<String> {
    if unit.is_empty() || unit == item.base_unit {
        return Ok("1".to_owned());
    }
    item.pack_units
        .0
        .iter()
        .find(|(name, _)| name == unit)
        .map(|(_, quantity)| quantity.clone())
        .ok_or_else(|| {
            Error::invalid(
                field,
                format!(
                    "{} is counted in {} or its packs",
                    item.name, item.base_unit
                ),
            )
        })
}

impl Stores {
    pub(crate) async fn receive_stock(
        &self,
        context: &RequestContext,
        message: &pb::ReceiveStockRequest,
        receipt: Receipt,
    ) -> Result<pb::ReceiveStockResponse> {
        let now = self.calls.now();
        let method = method("ReceiveStock");
        (self.calls)
            .write(context, &method, &receipt.key, message, async |tx| {
                Self::warehouse_for(tx, context, receipt.warehouse_id, MANAGE).await?;
                store::require_not_counting(tx, receipt.warehouse_id).await?;
                let mut movements = Vec::new();
                for (index, line) in receipt.lines.iter().enumerate() {
                    let item = store::get_item(tx, line.item_id).await?;
                    let per_unit = units_per(&item, &line.unit, &format!("lines[{index}].unit"))?;
                    let factor =
                        Amount::from_db(&per_unit).map_err(|_| Error::corrupt("pack unit"))?;
                    let base_quantity = line.quantity.times(factor).ok_or_else(|| {
                        Error::invalid(&format!("lines[{index}].quantity"), "is too large")
                    })?;
                    let cost = line
                        .unit_cost
                        .map_or_else(|| "0".to_owned(), |cost| cost.to_string());
                    let lot = store::receive_lot(
                        tx,
                        line.item_id,
                        &line.lot_number,
                        line.expiry,
                        &cost,
                        &per_unit,
                        line.provenance.as_db(),
                        receipt.supplier.as_str(),
                        now,
                    )
                    .await?;
                    let line = Line {
                        kind: MovementKind::Receipt,
                        item_id: line.item_id,
                        lot_id: lot.id,
                        from: None,
                        to: Some(receipt.warehouse_id),
                        quantity: base_quantity.to_string(),
                        unit_cost: lot.unit_cost.clone(),
                        document_type: "invoice",
                        document_id: receipt.invoice.as_str(),
                        reason: String::new(),
                    };
                    movements.push(line.record(tx, context, now).await?);
                }
                Ok(pb::ReceiveStockResponse {
                    movements: movements.iter().map(movement_to_pb).collect(),
                })
            })
            .await
    }

    pub(crate) async fn transfer_stock(
        &self,
        context: &RequestContext,
        message: &pb::TransferStockRequest,
        transfer: Transfer,
    ) -> Result<pb::TransferStockResponse> {
        let now = self.calls.now();
        let method = method("TransferStock");
        (self.calls)
            .write(context, &method, &transfer.key, message, async |tx| {
                Self::warehouse_for(tx, context, transfer.from, MANAGE).await?;
                store::get_warehouse(tx, transfer.to).await?;
                let outgoing = Outgoing {
                    kind: MovementKind::Transfer,
                    from: transfer.from,
                    to: Some(transfer.to),
                    document_type: "transfer",
                    document_id: transfer.document.as_str(),
                    patient_id: None,
                    department_id: None,
                };
                let movements = move_all_out(tx, context, transfer.lines, &outgoing, now).await?;
                Ok(pb::TransferStockResponse {
                    movements: movements.iter().map(movement_to_pb).collect(),
                })
            })
            .await
    }

    /// A dispense against a prescription fills that prescription: the patient's, still
    /// active, and of the medicine issued.
    async fn prescription_filled(
        &self,
        context: &RequestContext,
        issue: &Issue,
    ) -> Result<Option<(Uuid, Prescribed)>> {
        if issue.document_type.as_str() != PRESCRIPTION {
            return Ok(None);
        }
        let Ok(prescription_id) = parse_uuid(issue.document_id.as_str()) else {
            return Err(Error::invalid("document_id", "is not a prescription id"));
        };
        let prescribed = self
            .directory
            .prescription(context, prescription_id)
            .await?;
        if issue.patient_id != Some(prescribed.patient_id) {
            return Err(Error::invalid(
                "patient_id",
                "is not the patient the prescription is for",
            ));
        }
        if !prescribed.active {
            return Err(Error::Precondition(
                "the prescription was discontinued; nothing more is dispensed on it".into(),
            ));
        }
        Ok(Some((prescription_id, prescribed)))
    }

    pub(crate) async fn issue_stock(
        &self,
        context: &RequestContext,
        message: &pb::IssueStockRequest,
        issue: Issue,
    ) -> Result<pb::IssueStockResponse> {
        let now = self.calls.now();
        let prescribed = self.prescription_filled(context, &issue).await?;
        let method = method("IssueStock");
        (self.calls)
            .write(context, &method, &issue.key, message, async |tx| {
                Self::warehouse_for(tx, context, issue.warehouse_id, DISPENSE).await?;
                if let Some((prescription_id, prescribed)) = &prescribed {
                    let mut total: i64 = 0;
                    for (index, (item_id, quantity, _)) in issue.lines.iter().enumerate() {
                        total = total.saturating_add(quantity.scaled());
                        let item = store::get_item(tx, *item_id).await?;
                        let same_medicine = item.code == prescribed.medicine_code
                            || (!item.atc_code.is_empty() && item.atc_code == prescribed.atc_code);
                        if !same_medicine {
                            return Err(Error::invalid(
                                &format!("lines[{index}].item_id"),
                                format!(
                                    "{} is not what the prescription names ({})",
                                    item.name, prescribed.medicine_name
                                ),
                            ));
                        }
                        if item.base_unit != prescribed.form_unit {
                            return Err(Error::invalid(
                                &format!("lines[{index}].item_id"),
                                format!(
                                    "is counted in {}, the prescription in {}",
                                    item.base_unit, prescribed.form_unit
                                ),
                            ));
                        }
                    }
                    fill(tx, *prescription_id, prescribed, total).await?;
                }
                let outgoing = Outgoing {
                    kind: if issue.patient_id.is_some() {
                        MovementKind::IssuePatient
                    } else {
                        MovementKind::IssueWard
                    },
                    from: issue.warehouse_id,
                    to: None,
                    document_type: issue.document_type.as_str(),
                    document_id: issue.document_id.as_str(),
                    patient_id: issue.patient_id,
                    department_id: issue.department_id,
                };
                let movements = move_all_out(tx, context, issue.lines, &outgoing, now).await?;
                if let Some(patient) = issue.patient_id {
                    let patients = [patient];
                    let resources: Vec<String> = movements
                        .iter()
                        .map(|movement| movement.id.to_string())
                        .collect();
                    let entry = AuditEntry {
                        resource_ids: &resources,
                        ..AuditEntry::ok(&patients)
                    };
                    audit::record(tx, context, &entry, now).await?;
                }
                Ok(pb::IssueStockResponse {
                    movements: movements.iter().map(movement_to_pb).collect(),
                })
            })
            .await
    }

    pub(crate) async fn return_stock(
        &self,
        context: &RequestContext,
        message: &pb::ReturnStockRequest,
        back: Return,
    ) -> Result<pb::ReturnStockResponse> {
        let now = self.calls.now();
        let method = method("ReturnStock");
        (self.calls)
            .write(context, &method, &back.key, message, async |tx| {
                let destination = store::get_warehouse(tx, back.warehouse_id).await?;
                let original = store::lock_movement(tx, back.movement_id).await?;
                // The pharmacy's managers return anything into their stock; a ward's nurses
                // (pharmacy.return) what leaves their ward's stock: an issue's leftovers back
                // into it, or what it was sent back to where it came from.
                if context
                    .authorize(MANAGE, &super::target_of(&destination))
                    .is_err()
                {
                    let leaving = match original.to_warehouse_id {
                        Some(ward) => store::get_warehouse(tx, ward).await?,
                        None => destination.clone(),
                    };
                    context
                        .authorize(RETURN, &super::target_of(&leaving))
                        .map_err(Error::from)?;
                }
                store::require_not_counting(tx, back.warehouse_id).await?;
                let returnable = matches!(
                    MovementKind::from_db(&original.kind),
                    Some(
                        MovementKind::IssuePatient
                            | MovementKind::IssueWard
                            | MovementKind::Transfer
                    )
                );
                if !returnable || original.from_warehouse_id != Some(back.warehouse_id) {
                    return Err(Error::invalid(
                        "movement_id",
                        "returns reverse an issue or a transfer out of this warehouse",
                    ));
                }
                let issued =
                    Amount::from_db(&original.quantity).map_err(|_| Error::corrupt("movement"))?;
                let returned = Amount::from_db(&store::returned_of(tx, back.movement_id).await?)
                    .map(Amount::scaled)
                    .unwrap_or(0);
                if returned + back.quantity.scaled() > issued.scaled() {
                    return Err(Error::Precondition(format!(
                        "only {} of that movement can still come back",
                        Amount::from_scaled_positive(issued.scaled() - returned)
                            .map(|left| left.to_string())
                            .unwrap_or_else(|| "none".to_owned())
                    )));
                }
                // A transfer comes back out of the ward it went to.
                let document_id = back.movement_id.to_string();
                let line = Line {
                    kind: MovementKind::Return,
                    item_id: original.item_id,
                    lot_id: original.lot_id,
                    from: original.to_warehouse_id,
                    to: Some(back.warehouse_id),
                    quantity: back.quantity.to_string(),
                    unit_cost: original.unit_cost.clone(),
                    document_type: "return",
                    document_id: &document_id,
                    reason: back.reason.as_str().to_owned(),
                };
                let movement = line
                    .record_for(
                        tx,
                        context,
                        now,
                        original.patient_id,
                        original.department_id,
                        Some(back.movement_id),
                    )
                    .await?;
                // What comes back from a dispense no longer counts against its prescription.
                if original.document_type == PRESCRIPTION
                    && let Ok(prescription_id) = parse_uuid(&original.document_id)
                {
                    store::unfill_prescription(tx, prescription_id, &back.quantity.to_string())
                        .await?;
                }
                if let Some(patient) = original.patient_id {
                    audit::record(tx, context, &AuditEntry::ok(&[patient]), now).await?;
                }
                Ok(pb::ReturnStockResponse {
                    movement: Some(movement_to_pb(&movement)),
                })
            })
            .await
    }

    pub(crate) async fn write_off_stock(
        &self,
        context: &RequestContext,
        message: &pb::WriteOffStockRequest,
        write_off: WriteOff,
    ) -> Result<pb::WriteOffStockResponse> {
        let now = self.calls.now();
        let method = method("WriteOffStock");
        (self.calls)
            .write(context, &method, &write_off.key, message, async |tx| {
                Self::warehouse_for(tx, context, write_off.warehouse_id, MANAGE).await?;
                store::require_not_counting(tx, write_off.warehouse_id).await?;
                let lot = store::get_lot(tx, write_off.lot_id).await?;
                let reason = write_off.reason.as_db();
                let line = Line {
                    kind: MovementKind::WriteOff,
                    item_id: lot.item_id,
                    lot_id: write_off.lot_id,
                    from: Some(write_off.warehouse_id),
                    to: None,
                    quantity: write_off.quantity.to_string(),
                    unit_cost: lot.unit_cost.clone(),
                    document_type: "write_off",
                    document_id: write_off.document.as_str(),
                    reason: match write_off.note.as_str() {
                        "" => reason.to_owned(),
                        note => format!("{reason}: {note}"),
                    },
                };
                let movement = line.record(tx, context, now).await?;
                Ok(pb::WriteOffStockResponse {
                    movement: Some(movement_to_pb(&movement)),
                })
            })
            .await
    }

    /// What a warehouse holds, lot by lot, of one item or of all.
    pub(crate) async fn get_stock(
        &self,
        context: &RequestContext,
        warehouse_id: Uuid,
        item_id: Option<Uuid>,
    ) -> Result<pb::GetStockResponse> {
        let lines = (self.calls)
            .transaction(context, async |tx| {
                Self::warehouse_for(tx, context, warehouse_id, READ).await?;
                store::stock(tx, warehouse_id, item_id).await
            })
            .await?;
        Ok(pb::GetStockResponse {
            lines: lines
                .iter()
                .map(|(lot, quantity, value)| pb::StockLine {
                    lot: Some(lot_to_pb(lot)),
                    quantity: trim_decimal(quantity),
                    value: value.clone(),
                })
                .collect(),
        })
    }

    pub(crate) async fn list_movements(
        &self,
        context: &RequestContext,
        page: MovementPage,
    ) -> Result<pb::ListMovementsResponse> {
        let MovementPage {
            warehouse_id,
            item_id,
            size,
            after,
        } = page;
        // Issues to patients name them: the page is a read of their data, on record.
        let rows = (self.calls)
            .read(context, async |tx| {
                Self::warehouse_for(tx, context, warehouse_id, READ).await?;
                let rows =
                    store::movements(tx, warehouse_id, item_id, after, size.fetch_limit()).await?;
                let shown = patients_named(rows.iter().take(size.get()).map(|row| row.patient_id));
                Ok((rows, shown))
            })
            .await?;
        let (rows, next_page_token) = finish_page(rows, size, |row| (row.occurred_at, row.id));
        Ok(pb::ListMovementsResponse {
            movements: rows.iter().map(movement_to_pb).collect(),
            next_page_token,
        })
    }
}
