//! The use cases of inventory, one function per RPC (`catalog`, `movements`, `stocktaking`,
//! `requisitions`, `slips`): authorize against the warehouse's facility and ward, then write
//! the movements in one transaction under the request's idempotency key (the platform's call
//! kit). An issue to a patient touches patient data and is audited in its transaction.
//! What a use case is asked comes parsed (`grpc/parse.rs` names every wrong field); it
//! answers in the contract's messages, which retries are answered with.

mod catalog;
mod doses;
mod movements;
mod requisitions;
mod slips;
mod stocktaking;

pub(crate) use catalog::{ItemPage, NewItem, NewWarehouse, ReorderPoint};
pub(crate) use doses::DoseGiven;
pub(crate) use movements::{Issue, MovementPage, Receipt, Received, Return, Transfer, WriteOff};
pub(crate) use requisitions::{Fulfilment, NewRequisition, WardOrder};
pub(crate) use slips::{PatientSlip, WardPeriod};
pub(crate) use stocktaking::{Closing, Counts};

use chrono::{DateTime, NaiveDate, Utc};
use hmis_platform::amount::Amount;
use hmis_platform::auth::Target;
use hmis_platform::call::Calls;
use hmis_platform::outbox::Outbox;
use hmis_platform::{RequestContext, TenantTx};
use uuid::Uuid;

use crate::directory::Directory;
use crate::domain::{InHand, MovementKind, allocate};
use crate::error::{Error, Result};
use crate::store::{self, MovementRow, WarehouseRow};

pub(crate) const READ: &str = "pharmacy.read";
pub(crate) const MANAGE: &str = "pharmacy.manage";
/// Nurses send their ward's leftovers back (to the ward's stock or to the pharmacy).
pub(crate) const RETURN: &str = "pharmacy.return";
pub(crate) const DISPENSE: &str = "pharmacy.dispense";
/// Nurses ask for their ward's stock and print the slips of their ward's patients.
pub(crate) const ADMINISTER: &str = "nursing.administer";

const SERVICE: &str = "/openhmis.inventory.v1.InventoryService/";

/// The full gRPC method name of an rpc of the inventory service.
fn method(rpc: &str) -> String {
    format!("{SERVICE}{rpc}")
}

/// The module's state: the call kit over its schema and what it reads of other modules.
#[derive(Debug)]
pub(crate) struct Stores {
    pub(crate) calls: Calls<Error>,
    pub(crate) directory: Directory,
}

/// Who may act on a warehouse: its ward's staff, else its facility's.
pub(crate) fn target_of(warehouse: &WarehouseRow) -> Target {
    match warehouse.department_id {
        Some(department) => Target::department(warehouse.facility_id, department),
        None => Target::facility(warehouse.facility_id),
    }
}

/// A day or a month in a facility's time zone, as the instants it begins and ends.
fn local_period(
    zone: chrono_tz::Tz,
    first: NaiveDate,
    after_last: NaiveDate,
) -> Result<(DateTime<Utc>, DateTime<Utc>)> {
    use hmis_platform::days::midnight;
    Ok((midnight(&zone, first), midnight(&zone, after_last)))
}

impl Stores {
    /// The warehouse `id`, if the caller holds `permission` for it.
    async fn warehouse_for(
        tx: &mut TenantTx,
        context: &RequestContext,
        id: Uuid,
        permission: &str,
    ) -> Result<WarehouseRow> {
        let warehouse = store::get_warehouse(tx, id).await?;
        context
            .authorize(permission, &target_of(&warehouse))
            .map_err(Error::from)?;
        Ok(warehouse)
    }

    /// The instants that begin and end a period of the warehouse's facility's local days,
    /// once the caller may read the warehouse.
    async fn warehouse_period(
        &self,
        context: &RequestContext,
        warehouse_id: Uuid,
        first: NaiveDate,
        after_last: NaiveDate,
    ) -> Result<(DateTime<Utc>, DateTime<Utc>)> {
        let mut tx = self.calls.begin_read(context).await?;
        let warehouse = Self::warehouse_for(&mut tx, context, warehouse_id, READ).await?;
        tx.commit().await?;
        let zone = self
            .directory
            .time_zone(context, warehouse.facility_id)
            .await?;
        local_period(zone, first, after_last)
    }
}

/// A movement out of `from`, before the lots are known.
struct Outgoing<'a> {
    kind: MovementKind,
    from: Uuid,
    to: Option<Uuid>,
    document_type: &'a str,
    document_id: &'a str,
    patient_id: Option<Uuid>,
    department_id: Option<Uuid>,
}

/// One ledger line as a use case writes it: who, when, from where to where; the rest
/// (item, lot, quantity, cost, document) is the movement's own.
struct Line<'a> {
    kind: MovementKind,
    item_id: Uuid,
    lot_id: Uuid,
    from: Option<Uuid>,
    to: Option<Uuid>,
    quantity: String,
    unit_cost: String,
    document_type: &'a str,
    document_id: &'a str,
    reason: String,
}

impl Line<'_> {
    /// Writes the line, by the caller, at `now`, for nobody in particular.
    async fn record(
        self,
        tx: &mut TenantTx,
        context: &RequestContext,
        now: DateTime<Utc>,
    ) -> Result<MovementRow> {
        self.record_for(tx, context, now, None, None, None).await
    }

    /// Writes the line for a patient or a ward, or as the reversal of another.
    async fn record_for(
        self,
        tx: &mut TenantTx,
        context: &RequestContext,
        now: DateTime<Utc>,
        patient_id: Option<Uuid>,
        department_id: Option<Uuid>,
        reverses_id: Option<Uuid>,
    ) -> Result<MovementRow> {
        let row = store::record_movement(
            tx,
            &MovementRow {
                id: Uuid::now_v7(),
                kind: self.kind.as_db().to_owned(),
                item_id: self.item_id,
                lot_id: self.lot_id,
                from_warehouse_id: self.from,
                to_warehouse_id: self.to,
                quantity: self.quantity,
                unit_cost: self.unit_cost,
                actor_id: context.user_id(),
                document_type: self.document_type.to_owned(),
                document_id: self.document_id.to_owned(),
                reason: self.reason,
                patient_id,
                department_id,
                reverses_id,
                occurred_at: now,
            },
        )
        .await?;
        if patient_id.is_some()
            && matches!(self.kind, MovementKind::IssuePatient | MovementKind::Return)
        {
            publish_patient_movement(tx, &row, now).await?;
        }
        Ok(row)
    }
}

/// Tells billing (and whoever follows) that stock went to a patient or came back from one.
async fn publish_patient_movement(
    tx: &mut TenantTx,
    movement: &MovementRow,
    now: DateTime<Utc>,
) -> Result<()> {
    let item = store::get_item(tx, movement.item_id).await?;
    let event = hmis_proto::openhmis::inventory::v1::PatientStockMoved {
        movement: Some(crate::convert::movement_to_pb(movement)),
        item_code: item.code,
        item_name: item.name,
        base_unit: item.base_unit,
        item_kind: item.item_class,
    };
    Outbox::new(crate::SCHEMA)
        .publish(
            tx,
            hmis_proto::events::inventory::PATIENT_STOCK_MOVED,
            &movement.id.to_string(),
            &event,
            now,
        )
        .await?;
    Ok(())
}

/// Takes `quantity` of `item_id` out of a warehouse, first-expiry-first-out over its
/// unexpired lots (or from `lot`), one ledger line per lot.
async fn move_out(
    tx: &mut TenantTx,
    context: &RequestContext,
    (item_id, quantity, lot): (Uuid, Amount, Option<Uuid>),
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
                quantity: Amount::from_db(quantity).map_err(|_| Error::corrupt("balance"))?,
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
            .ok_or(Error::corrupt("allocated lot"))?;
        let line = Line {
            kind: movement.kind,
            item_id,
            lot_id,
            from: Some(movement.from),
            to: movement.to,
            quantity: amount.to_string(),
            unit_cost,
            document_type: movement.document_type,
            document_id: movement.document_id,
            reason: String::new(),
        };
        written.push(
            line.record_for(
                tx,
                context,
                now,
                movement.patient_id,
                movement.department_id,
                None,
            )
            .await?,
        );
    }
    Ok(written)
}

/// Moves each line out of a warehouse (see [`move_out`]), all the ledger lines written.
async fn move_all_out(
    tx: &mut TenantTx,
    context: &RequestContext,
    lines: Vec<(Uuid, Amount, Option<Uuid>)>,
    movement: &Outgoing<'_>,
    now: DateTime<Utc>,
) -> Result<Vec<MovementRow>> {
    let mut movements = Vec::new();
    for line in lines {
        movements.extend(move_out(tx, context, line, movement, now).await?);
    }
    Ok(movements)
}
