//! Stocktaking and the reports of the ledger: the month's report to accounting and the
//! controlled-substances register.

use chrono::{Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use hmis_platform::amount::Amount;
use hmis_platform::idempotency::RequestKey;
use hmis_platform::types::Version;
use hmis_platform::wire::timestamp;
use hmis_platform::{RequestContext, Violations};
use hmis_proto::openhmis::inventory::v1 as pb;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::domain::{MovementKind, parse_date};
use crate::error::{Error, Result};
use crate::grpc::method;
use crate::grpc::{
    InventoryApi, MANAGE, READ, Stores, item_to_pb, lot_to_pb, movement_to_pb, parse_id,
    trim_decimal,
};
use crate::store::{self, MovementRow, StocktakingRow};

fn status_to_pb(status: &str) -> pb::StocktakingStatus {
    match status {
        "open" => pb::StocktakingStatus::Open,
        "posted" => pb::StocktakingStatus::Posted,
        "cancelled" => pb::StocktakingStatus::Cancelled,
        _ => pb::StocktakingStatus::Unspecified,
    }
}

async fn stocktaking_to_pb(
    tx: &mut hmis_platform::TenantTx,
    row: &StocktakingRow,
) -> Result<pb::Stocktaking> {
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

/// A day or a month in a facility's time zone, as the instants it begins and ends.
pub(crate) fn local_period(
    zone: chrono_tz::Tz,
    first: NaiveDate,
    after_last: NaiveDate,
) -> Result<(chrono::DateTime<Utc>, chrono::DateTime<Utc>)> {
    let midnight = |day: NaiveDate| {
        zone.from_local_datetime(&day.and_time(NaiveTime::MIN))
            .earliest()
            .map(|at| at.with_timezone(&Utc))
            .ok_or(Error::CorruptRow("local midnight"))
    };
    Ok((midnight(first)?, midnight(after_last)?))
}

impl InventoryApi {
    #[tracing::instrument(skip_all)]
    pub(crate) async fn start_stocktaking_call(
        &self,
        request: Request<pb::StartStocktakingRequest>,
    ) -> Result<Response<pb::StartStocktakingResponse>, Status> {
        let context = RequestContext::of(&request);
        let stores = &self.stores;
        context.authorize_any(MANAGE)?;
        let message = request.into_inner();
        let now = stores.calls.now();
        let mut violations = Violations::default();
        let key = violations.check("request_id", RequestKey::parse(&message.request_id));
        let warehouse_id = parse_id("warehouse_id", &message.warehouse_id, &mut violations);
        let (Some(key), Some(warehouse_id), true) = (key, warehouse_id, violations.is_empty())
        else {
            return Err(Error::from(violations).into());
        };
        let response = stores
            .calls
            .write(
                &context,
                &method("StartStocktaking"),
                &key,
                &message,
                async |tx| {
                    Stores::warehouse_for(tx, &context, warehouse_id, MANAGE).await?;
                    let row =
                        store::start_stocktaking(tx, warehouse_id, context.user_id(), now).await?;
                    Ok(pb::StartStocktakingResponse {
                        stocktaking: Some(stocktaking_to_pb(tx, &row).await?),
                    })
                },
            )
            .await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all)]
    pub(crate) async fn record_counts_call(
        &self,
        request: Request<pb::RecordCountsRequest>,
    ) -> Result<Response<pb::RecordCountsResponse>, Status> {
        let context = RequestContext::of(&request);
        let stores = &self.stores;
        context.authorize_any(MANAGE)?;
        let message = request.into_inner();
        let mut violations = Violations::default();
        let key = violations.check("request_id", RequestKey::parse(&message.request_id));
        let id = parse_id("stocktaking_id", &message.stocktaking_id, &mut violations);
        if message.counts.is_empty() {
            violations.add("counts", "name at least one lot");
        }
        let mut counts = Vec::new();
        for (index, count) in message.counts.iter().enumerate() {
            let lot = parse_id(
                &format!("counts[{index}].lot_id"),
                &count.lot_id,
                &mut violations,
            );
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
            if let (Some(lot), Some(counted)) = (lot, counted) {
                counts.push((lot, counted));
            }
        }
        let (Some(key), Some(id), true) = (key, id, violations.is_empty()) else {
            return Err(Error::from(violations).into());
        };
        let response = stores
            .calls
            .write(
                &context,
                &method("RecordCounts"),
                &key,
                &message,
                async |tx| {
                    let row = store::get_stocktaking(tx, id, true).await?;
                    Stores::warehouse_for(tx, &context, row.warehouse_id, MANAGE).await?;
                    if row.status != "open" {
                        return Err(Error::Precondition(format!(
                            "the stocktaking is {}",
                            row.status
                        )));
                    }
                    for (lot, counted) in &counts {
                        store::get_lot(tx, *lot).await?;
                        store::record_count(tx, id, *lot, counted).await?;
                    }
                    store::touch_stocktaking(tx, id, "open", None).await?;
                    let row = store::get_stocktaking(tx, id, false).await?;
                    Ok(pb::RecordCountsResponse {
                        stocktaking: Some(stocktaking_to_pb(tx, &row).await?),
                    })
                },
            )
            .await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all)]
    pub(crate) async fn get_stocktaking_call(
        &self,
        request: Request<pb::GetStocktakingRequest>,
    ) -> Result<Response<pb::GetStocktakingResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let mut violations = Violations::default();
        let Some(id) = parse_id("id", &request.get_ref().id, &mut violations) else {
            return Err(Error::from(violations).into());
        };
        let mut tx = self.stores.read_tx(&context).await?;
        let row = store::get_stocktaking(&mut tx, id, false).await?;
        Stores::warehouse_for(&mut tx, &context, row.warehouse_id, READ).await?;
        let stocktaking = stocktaking_to_pb(&mut tx, &row).await?;
        tx.commit().await.map_err(Error::from)?;
        Ok(Response::new(pb::GetStocktakingResponse {
            stocktaking: Some(stocktaking),
        }))
    }

    #[tracing::instrument(skip_all)]
    pub(crate) async fn close_stocktaking_call(
        &self,
        request: Request<pb::CloseStocktakingRequest>,
    ) -> Result<Response<pb::CloseStocktakingResponse>, Status> {
        let context = RequestContext::of(&request);
        let stores = &self.stores;
        context.authorize_any(MANAGE)?;
        let message = request.into_inner();
        let now = stores.calls.now();
        let mut violations = Violations::default();
        let key = violations.check("request_id", RequestKey::parse(&message.request_id));
        let id = parse_id("id", &message.id, &mut violations);
        let etag = if message.etag.trim().is_empty() {
            None
        } else {
            violations.check("etag", Version::parse_etag(&message.etag))
        };
        let (Some(key), Some(id), true) = (key, id, violations.is_empty()) else {
            return Err(Error::from(violations).into());
        };
        let cancel = message.cancel;
        let response = stores
            .calls
            .write(
                &context,
                &method("CloseStocktaking"),
                &key,
                &message,
                async |tx| {
                    let row = store::get_stocktaking(tx, id, true).await?;
                    Stores::warehouse_for(tx, &context, row.warehouse_id, MANAGE).await?;
                    if row.status != "open" {
                        return Err(Error::Precondition(format!(
                            "the stocktaking is {}",
                            row.status
                        )));
                    }
                    if etag.is_some_and(|etag| etag != Version::from_db(row.version)) {
                        return Err(Error::Precondition(
                            "counts were recorded since the stocktaking was read; read it again"
                                .into(),
                        ));
                    }
                    let mut adjustments = Vec::new();
                    if !cancel {
                        for (lot, _, counted, _) in store::stocktaking_lines(tx, id).await? {
                            let Some(counted) = counted else { continue };
                            let balance = store::lock_balance(tx, row.warehouse_id, lot.id).await?;
                            let counted_scaled =
                                Amount::from_db(&counted).map(Amount::scaled).unwrap_or(0);
                            let balance_scaled =
                                Amount::from_db(&balance).map(Amount::scaled).unwrap_or(0);
                            let difference = counted_scaled - balance_scaled;
                            let signed = if difference < 0 {
                                format!(
                                    "-{}",
                                    Amount::from_scaled_positive(-difference)
                                        .map(|a| a.to_string())
                                        .unwrap_or_default()
                                )
                            } else {
                                Amount::from_scaled_positive(difference)
                                    .map(|a| a.to_string())
                                    .unwrap_or_else(|| "0".to_owned())
                            };
                            store::set_difference(tx, id, lot.id, &signed).await?;
                            let Some(quantity) = Amount::from_scaled_positive(difference.abs())
                            else {
                                continue;
                            };
                            let (from, to) = if difference < 0 {
                                (Some(row.warehouse_id), None)
                            } else {
                                (None, Some(row.warehouse_id))
                            };
                            adjustments.push(
                                store::record_movement(
                                    tx,
                                    &MovementRow {
                                        id: Uuid::now_v7(),
                                        kind: MovementKind::Adjustment.as_db().to_owned(),
                                        item_id: lot.item_id,
                                        lot_id: lot.id,
                                        from_warehouse_id: from,
                                        to_warehouse_id: to,
                                        quantity: quantity.to_string(),
                                        unit_cost: lot.unit_cost.clone(),
                                        actor_id: context.user_id(),
                                        document_type: "stocktaking".to_owned(),
                                        document_id: id.to_string(),
                                        reason: if difference < 0 {
                                            "stocktaking loss".to_owned()
                                        } else {
                                            "stocktaking gain".to_owned()
                                        },
                                        patient_id: None,
                                        department_id: None,
                                        reverses_id: None,
                                        occurred_at: now,
                                    },
                                )
                                .await?,
                            );
                        }
                    }
                    let status = if cancel { "cancelled" } else { "posted" };
                    store::touch_stocktaking(tx, id, status, Some(now)).await?;
                    let row = store::get_stocktaking(tx, id, false).await?;
                    Ok(pb::CloseStocktakingResponse {
                        stocktaking: Some(stocktaking_to_pb(tx, &row).await?),
                        adjustments: adjustments.iter().map(movement_to_pb).collect(),
                    })
                },
            )
            .await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all)]
    pub(crate) async fn stock_report_call(
        &self,
        request: Request<pb::GetStockReportRequest>,
    ) -> Result<Response<pb::GetStockReportResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.get_ref();
        let mut violations = Violations::default();
        let warehouse_id = parse_id("warehouse_id", &message.warehouse_id, &mut violations);
        let month = violations.check(
            "month",
            NaiveDate::parse_from_str(&format!("{}-01", message.month.trim()), "%Y-%m-%d")
                .map_err(|_| "must be a month, YYYY-MM"),
        );
        let (Some(warehouse_id), Some(month), true) = (warehouse_id, month, violations.is_empty())
        else {
            return Err(Error::from(violations).into());
        };
        let next_month = if month.month() == 12 {
            NaiveDate::from_ymd_opt(month.year() + 1, 1, 1)
        } else {
            NaiveDate::from_ymd_opt(month.year(), month.month() + 1, 1)
        }
        .ok_or(Error::CorruptRow("month"))?;
        let mut tx = self.stores.read_tx(&context).await?;
        let warehouse = Stores::warehouse_for(&mut tx, &context, warehouse_id, READ).await?;
        tx.commit().await.map_err(Error::from)?;
        let zone = self
            .stores
            .directory
            .time_zone(&context, warehouse.facility_id)
            .await?;
        let (start, end) = local_period(zone, month, next_month)?;
        let mut tx = self.stores.read_tx(&context).await?;
        let rows = store::stock_report(&mut tx, warehouse_id, start, end).await?;
        let mut lines = Vec::with_capacity(rows.len());
        for row in rows {
            let item = store::get_item(&mut tx, row.item_id).await?;
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
        tx.commit().await.map_err(Error::from)?;
        Ok(Response::new(pb::GetStockReportResponse {
            period_start: timestamp(start),
            period_end: timestamp(end),
            lines,
        }))
    }

    #[tracing::instrument(skip_all)]
    pub(crate) async fn controlled_register_call(
        &self,
        request: Request<pb::ListControlledRegisterRequest>,
    ) -> Result<Response<pb::ListControlledRegisterResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.get_ref();
        let mut violations = Violations::default();
        let warehouse_id = parse_id("warehouse_id", &message.warehouse_id, &mut violations);
        let from = violations.check("from_date", parse_date(&message.from_date));
        let to = violations.check("to_date", parse_date(&message.to_date));
        if let (Some(from), Some(to)) = (from, to)
            && to < from
        {
            violations.add("to_date", "must not be before from_date");
        }
        let (Some(warehouse_id), Some(from), Some(to), true) =
            (warehouse_id, from, to, violations.is_empty())
        else {
            return Err(Error::from(violations).into());
        };
        let mut tx = self.stores.read_tx(&context).await?;
        let warehouse = Stores::warehouse_for(&mut tx, &context, warehouse_id, READ).await?;
        tx.commit().await.map_err(Error::from)?;
        let zone = self
            .stores
            .directory
            .time_zone(&context, warehouse.facility_id)
            .await?;
        let (start, end) = local_period(zone, from, to + Duration::days(1))?;
        let mut tx = self.stores.read_tx(&context).await?;
        let rows = store::controlled_register(&mut tx, warehouse_id, start, end).await?;
        tx.commit().await.map_err(Error::from)?;
        Ok(Response::new(pb::ListControlledRegisterResponse {
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
        }))
    }
}
