//! What the wards read of the ledger: the personalized slip of a patient (what was issued to
//! them, priced) and the ward stock's consumption against its stock.

use std::fmt::Write;

use chrono::{Duration, NaiveDate};
use hmis_platform::amount::Amount;
use hmis_platform::audit::{self, AuditEntry};
use hmis_platform::{RequestContext, Violations};
use hmis_proto::openhmis::inventory::v1 as pb;
use tonic::{Request, Response, Status};

use crate::domain::parse_date;
use crate::error::{Error, Result};
use crate::grpc::{InventoryApi, READ, Stores, item_to_pb, parse_id, trim_decimal};
use crate::stocktaking::local_period;
use crate::store;

/// Nurses print the slip of their ward's patients too.
const ADMINISTER: &str = "nursing.administer";

fn optional_date(
    field: &str,
    value: &str,
    violations: &mut Violations,
) -> Option<Option<NaiveDate>> {
    if value.trim().is_empty() {
        Some(None)
    } else {
        violations.check(field, parse_date(value)).map(Some)
    }
}

/// Sums decimal texts (values in cents) exactly.
fn sum_values<'a>(values: impl Iterator<Item = &'a str>) -> String {
    let cents: i64 = values
        .filter_map(|value| {
            Amount::from_db(value)
                .ok()
                .map(|amount| amount.scaled() / 100)
        })
        .sum();
    format!("{}.{:02}", cents / 100, cents % 100)
}

impl InventoryApi {
    #[tracing::instrument(skip_all)]
    pub(crate) async fn patient_slip_call(
        &self,
        request: Request<pb::GetPatientSlipRequest>,
    ) -> Result<Response<pb::GetPatientSlipResponse>, Status> {
        let context = RequestContext::of(&request);
        if context.authorize_any(READ).is_err() {
            context.authorize_any(ADMINISTER)?;
        }
        let message = request.get_ref();
        let mut violations = Violations::default();
        let patient_id = parse_id("patient_id", &message.patient_id, &mut violations);
        let from = optional_date("from_date", &message.from_date, &mut violations);
        let to = optional_date("to_date", &message.to_date, &mut violations);
        let (Some(patient_id), Some(from), Some(to), true) =
            (patient_id, from, to, violations.is_empty())
        else {
            return Err(Error::from(violations).into());
        };
        let start = from.map(|day| day.and_time(chrono::NaiveTime::MIN).and_utc());
        let end = to.map(|day| {
            (day + Duration::days(1))
                .and_time(chrono::NaiveTime::MIN)
                .and_utc()
        });
        let now = self.stores.calls.now();
        let mut tx = self.stores.read_tx(&context).await?;
        let rows = store::patient_slip(&mut tx, patient_id, start, end).await?;
        let mut lines = Vec::with_capacity(rows.len());
        let mut text = String::new();
        let _ = writeln!(text, "PERSONALIZED SLIP");
        let _ = writeln!(text, "Patient: {patient_id}");
        if let (Some(from), Some(to)) = (from, to) {
            let _ = writeln!(text, "Period: {from} to {to}");
        }
        let _ = writeln!(text);
        for row in &rows {
            let item = store::get_item(&mut tx, row.item_id).await?;
            let _ = writeln!(
                text,
                "{} (lot {}): {} {} x {} = {}",
                item.name,
                row.lot_number,
                trim_decimal(&row.quantity),
                item.base_unit,
                trim_decimal(&row.unit_cost),
                row.value
            );
            lines.push(pb::SlipLine {
                item: Some(item_to_pb(&item)),
                lot_number: row.lot_number.clone(),
                quantity: trim_decimal(&row.quantity),
                unit_cost: trim_decimal(&row.unit_cost),
                value: row.value.clone(),
                document_ids: row.document_ids.clone(),
            });
        }
        let total_value = sum_values(rows.iter().map(|row| row.value.as_str()));
        let _ = writeln!(text, "\nTotal: {total_value}");
        audit::record(&mut tx, &context, &AuditEntry::ok(&[patient_id]), now)
            .await
            .map_err(Error::from)?;
        tx.commit().await.map_err(Error::from)?;
        Ok(Response::new(pb::GetPatientSlipResponse {
            lines,
            total_value,
            text,
        }))
    }

    #[tracing::instrument(skip_all)]
    pub(crate) async fn ward_stock_analysis_call(
        &self,
        request: Request<pb::GetWardStockAnalysisRequest>,
    ) -> Result<Response<pb::GetWardStockAnalysisResponse>, Status> {
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
        let days = (to - from).num_days() + 1;
        let mut tx = self.stores.read_tx(&context).await?;
        let rows = store::stock_report(&mut tx, warehouse_id, start, end).await?;
        let mut lines = Vec::with_capacity(rows.len());
        for row in rows {
            let item = store::get_item(&mut tx, row.item_id).await?;
            let consumed = Amount::from_db(&row.issued_quantity).ok();
            let daily = consumed
                .and_then(|consumed| Amount::from_scaled_positive(consumed.scaled() / days.max(1)));
            let closing = Amount::from_db(&row.closing_quantity)
                .map(Amount::scaled)
                .unwrap_or(0);
            lines.push(pb::WardStockLine {
                item: Some(item_to_pb(&item)),
                opening: trim_decimal(&row.opening_quantity),
                received: trim_decimal(&row.received_quantity),
                consumed: trim_decimal(&row.issued_quantity),
                closing: trim_decimal(&row.closing_quantity),
                daily_consumption: daily.map(|daily| daily.to_string()).unwrap_or_default(),
                days_of_cover: daily
                    .map(|daily| (closing / daily.scaled()).to_string())
                    .unwrap_or_default(),
            });
        }
        tx.commit().await.map_err(Error::from)?;
        Ok(Response::new(pb::GetWardStockAnalysisResponse { lines }))
    }
}
