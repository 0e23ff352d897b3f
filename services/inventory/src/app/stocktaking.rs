//! Stocktaking and the reports of the ledger: the month's report to accounting and the
//! controlled-substances register.

use chrono::{Datelike, Duration, NaiveDate};
use hmis_platform::amount::Amount;
use hmis_platform::idempotency::RequestKey;
use hmis_platform::types::Version;
use hmis_platform::wire::timestamp;
use hmis_platform::{RequestContext, TenantTx};
use hmis_proto::openhmis::inventory::v1 as pb;
use uuid::Uuid;

use super::movements::patients_named;
use super::{Line, MANAGE, READ, Stores, method};
use crate::convert::{item_to_pb, lot_to_pb, movement_to_pb, trim_decimal};
use crate::domain::MovementKind;
use crate::error::{Error, Result};
use crate::store::{self, MovementRow, StocktakingRow};

/// Lots counted: each lot and what was found of it.
pub(crate) struct Counts {
    pub(crate) key: RequestKey,
    pub(crate) stocktaking_id: Uuid,
    /// The count as a decimal text (`0` when none was found).
    pub(crate) counts: Vec<(Uuid, String)>,
}

/// A stocktaking posted (its differences become adjustments) or cancelled.
pub(crate) struct Closing {
    pub(crate) key: RequestKey,
    pub(crate) stocktaking_id: Uuid,
    pub(crate) etag: Option<Version>,
    pub(crate) cancel: bool,
}

fn status_to_pb(status: &str) -> pb::StocktakingStatus {
    match status {
        "open" => pb::StocktakingStatus::Open,
        "posted" => pb::StocktakingStatus::Posted,
        "cancelled" => pb::StocktakingStatus::Cancelled,
        _ => pb::StocktakingStatus::Unspecified,
    }
}

async fn stocktaking_to_pb(tx: &mut TenantTx, row: &StocktakingRow) -> Result<pb::Stocktaking> {
    let lines = store::stocktaking_lines(tx, row.id).await?;
    Ok(pb::Stocktaking {
        id: row.id.to_string(),
        warehouse_id: row.warehouse_id.to_string(),
        status: status_to_pb(&row.status).into(),
        started_by: row.started_by.to_string(),
        start_time: timestamp(row.started_at),
        close_time: row.closed_at.and_then(timestamp),
        lines: lines
            .iter()
            .map(|(lot, expected, counted, difference)| pb::CountLine {
                lot: Some(lot_to_pb(lot)),
                expected: trim_decimal(expected),
                counted: counted.as_deref().map(trim_decimal).unwrap_or_default(),
                difference: difference.as_deref().map(trim_decimal).unwrap_or_default(),
            })
            .collect(),
        etag: Version::from_db(row.version).etag(),
    })
}

/// The open stocktaking `id`, locked, once the caller may manage its warehouse.
async fn open_stocktaking(
    tx: &mut TenantTx,
    context: &RequestContext,
    id: Uuid,
) -> Result<StocktakingRow> {
    let row = store::get_stocktaking(tx, id, true).await?;
    Stores::warehouse_for(tx, context, row.warehouse_id, MANAGE).await?;
    if row.status != "open" {
        return Err(Error::Precondition(format!(
            "the stocktaking is {}",
            row.status
        )));
    }
    Ok(row)
}

/// `value` as a signed decimal text.
fn signed(value: i64) -> String {
    let magnitude = Amount::from_scaled_positive(value.abs()).map(|amount| amount.to_string());
    match (value < 0, magnitude) {
        (true, Some(magnitude)) => format!("-{magnitude}"),
        (false, Some(magnitude)) => magnitude,
        (_, None) => "0".to_owned(),
    }
}

/// The first day of the month after the one `month` begins.
fn next_month(month: NaiveDate) -> Result<NaiveDate> {
    if month.month() == 12 {
        NaiveDate::from_ymd_opt(month.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(month.year(), month.month() + 1, 1)
    }
    .ok_or(Error::corrupt("month"))
}

impl Stores {
    pub(crate) async fn start_stocktaking(
        &self,
        context: &RequestContext,
        message: &pb::StartStocktakingRequest,
        (key, warehouse_id): (RequestKey, Uuid),
    ) -> Result<pb::StartStocktakingResponse> {
        let now = self.calls.now();
        let method = method("StartStocktaking");
        (self.calls)
            .write(context, &method, &key, message, async |tx| {
                Self::warehouse_for(tx, context, warehouse_id, MANAGE).await?;
                let row =
                    store::start_stocktaking(tx, warehouse_id, context.user_id(), now).await?;
                Ok(pb::StartStocktakingResponse {
                    stocktaking: Some(stocktaking_to_pb(tx, &row).await?),
                })
            })
            .await
    }

    pub(crate) async fn record_counts(
        &self,
        context: &RequestContext,
        message: &pb::RecordCountsRequest,
        counts: Counts,
    ) -> Result<pb::RecordCountsResponse> {
        let id = counts.stocktaking_id;
        let method = method("RecordCounts");
        (self.calls)
            .write(context, &method, &counts.key, message, async |tx| {
                open_stocktaking(tx, context, id).await?;
                for (lot, counted) in &counts.counts {
                    store::get_lot(tx, *lot).await?;
                    store::record_count(tx, id, *lot, counted).await?;
                }
                store::touch_stocktaking(tx, id, "open", None).await?;
                let row = store::get_stocktaking(tx, id, false).await?;
                Ok(pb::RecordCountsResponse {
                    stocktaking: Some(stocktaking_to_pb(tx, &row).await?),
                })
            })
            .await
    }

    pub(crate) async fn get_stocktaking(
        &self,
        context: &RequestContext,
        id: Uuid,
    ) -> Result<pb::GetStocktakingResponse> {
        let stocktaking = (self.calls)
            .transaction(context, async |tx| {
                let row = store::get_stocktaking(tx, id, false).await?;
                Self::warehouse_for(tx, context, row.warehouse_id, READ).await?;
                stocktaking_to_pb(tx, &row).await
            })
            .await?;
        Ok(pb::GetStocktakingResponse {
            stocktaking: Some(stocktaking),
        })
    }

    pub(crate) async fn close_stocktaking(
        &self,
        context: &RequestContext,
        message: &pb::CloseStocktakingRequest,
        closing: Closing,
    ) -> Result<pb::CloseStocktakingResponse> {
        let now = self.calls.now();
        let id = closing.stocktaking_id;
        let method = method("CloseStocktaking");
        (self.calls)
            .write(context, &method, &closing.key, message, async |tx| {
                let row = open_stocktaking(tx, context, id).await?;
                if closing
                    .etag
                    .is_some_and(|etag| etag != Version::from_db(row.version))
                {
                    return Err(Error::Precondition(
                        "counts were recorded since the stocktaking was read; read it again".into(),
                    ));
                }
                let adjustments = if closing.cancel {
                    Vec::new()
                } else {
                    Self::post_differences(tx, context, &row, now).await?
                };
                let status = if closing.cancel {
                    "cancelled"
                } else {
                    "posted"
                };
                store::touch_stocktaking(tx, id, status, Some(now)).await?;
                let row = store::get_stocktaking(tx, id, false).await?;
                Ok(pb::CloseStocktakingResponse {
                    stocktaking: Some(stocktaking_to_pb(tx, &row).await?),
                    adjustments: adjustments.iter().map(movement_to_pb).collect(),
                })
            })
            .await
    }

    /// Each counted lot's difference from its balance, recorded on the stocktaking and
    /// posted to the ledger as an adjustment.
    async fn post_differences(
        tx: &mut TenantTx,
        context: &RequestContext,
        row: &StocktakingRow,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<MovementRow>> {
        let document_id = row.id.to_string();
        let mut adjustments = Vec::new();
        for (lot, _, counted, _) in store::stocktaking_lines(tx, row.id).await? {
            let Some(counted) = counted else { continue };
            let balance = store::lock_balance(tx, row.warehouse_id, lot.id).await?;
            let counted = Amount::from_db(&counted).map(Amount::scaled).unwrap_or(0);
            let balance = Amount::from_db(&balance).map(Amount::scaled).unwrap_or(0);
            let difference = counted - balance;
            store::set_difference(tx, row.id, lot.id, &signed(difference)).await?;
            let Some(quantity) = Amount::from_scaled_positive(difference.abs()) else {
                continue;
            };
            let (from, to, reason) = if difference < 0 {
                (Some(row.warehouse_id), None, "stocktaking loss")
            } else {
                (None, Some(row.warehouse_id), "stocktaking gain")
            };
            let line = Line {
                kind: MovementKind::Adjustment,
                item_id: lot.item_id,
                lot_id: lot.id,
                from,
                to,
                quantity: quantity.to_string(),
                unit_cost: lot.unit_cost.clone(),
                document_type: "stocktaking",
                document_id: &document_id,
                reason: reason.to_owned(),
            };
            adjustments.push(line.record(tx, context, now).await?);
        }
        Ok(adjustments)
    }

    /// The month's report to accounting: each item's opening, received, issued and closing
    /// stock and value, the month cut at the facility's local midnights.
    pub(crate) async fn stock_report(
        &self,
        context: &RequestContext,
        warehouse_id: Uuid,
        month: NaiveDate,
    ) -> Result<pb::GetStockReportResponse> {
        let (start, end) =
            (self.warehouse_period(context, warehouse_id, month, next_month(month)?)).await?;
        let lines = (self.calls)
            .transaction(context, async |tx| {
                let rows = store::stock_report(tx, warehouse_id, start, end).await?;
                let mut lines = Vec::with_capacity(rows.len());
                for row in rows {
                    let item = store::get_item(tx, row.item_id).await?;
                    let figure = |quantity: &str, value: &str| pb::StockFigure {
                        quantity: trim_decimal(quantity),
                        value: value.to_owned(),
                    };
                    lines.push(pb::StockReportLine {
                        warehouse_id: row.warehouse_id.to_string(),
                        item: Some(item_to_pb(&item)),
                        opening: Some(figure(&row.opening_quantity, &row.opening_value)),
                        received: Some(figure(&row.received_quantity, &row.received_value)),
                        issued: Some(figure(&row.issued_quantity, &row.issued_value)),
                        closing: Some(figure(&row.closing_quantity, &row.closing_value)),
                    });
                }
                Ok(lines)
            })
            .await?;
        Ok(pb::GetStockReportResponse {
            period_start: timestamp(start),
            period_end: timestamp(end),
            lines,
        })
    }

    /// Every movement of a controlled substance in the warehouse over whole local days, with
    /// the balance it left.
    pub(crate) async fn controlled_register(
        &self,
        context: &RequestContext,
        warehouse_id: Uuid,
        (from, to): (NaiveDate, NaiveDate),
    ) -> Result<pb::ListControlledRegisterResponse> {
        let (start, end) =
            (self.warehouse_period(context, warehouse_id, from, to + Duration::days(1))).await?;
        // Controlled substances issued to patients name them: a read of their data, on record.
        let rows = (self.calls)
            .read(context, async |tx| {
                let rows = store::controlled_register(tx, warehouse_id, start, end).await?;
                let shown = patients_named(rows.iter().map(|row| row.movement.patient_id));
                Ok((rows, shown))
            })
            .await?;
        Ok(pb::ListControlledRegisterResponse {
            entries: rows
                .iter()
                .map(|row| pb::RegisterEntry {
                    movement: Some(movement_to_pb(&row.movement)),
                    item_name: row.item_name.clone(),
                    lot_number: row.lot_number.clone(),
                    change: trim_decimal(&row.change),
                    balance_after: trim_decimal(&row.balance_after),
                })
                .collect(),
        })
    }
}
