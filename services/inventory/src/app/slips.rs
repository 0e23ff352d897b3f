//! What the wards read of the ledger: the personalized slip of a patient (what was issued to
//! them, priced) and the ward stock's consumption against its stock.

use std::fmt::Write;

use chrono::{Duration, NaiveDate, NaiveTime};
use hmis_platform::RequestContext;
use hmis_platform::amount::Amount;
use hmis_platform::call::Shown;
use hmis_proto::openhmis::inventory::v1 as pb;
use uuid::Uuid;

use super::Stores;
use crate::convert::{item_to_pb, trim_decimal};
use crate::error::Result;
use crate::store;

/// What was issued to a patient, over whole days when a period is given.
pub(crate) struct PatientSlip {
    pub(crate) patient_id: Uuid,
    pub(crate) from: Option<NaiveDate>,
    pub(crate) to: Option<NaiveDate>,
}

/// A ward stock over whole local days, first to last.
pub(crate) struct WardPeriod {
    pub(crate) warehouse_id: Uuid,
    pub(crate) from: NaiveDate,
    pub(crate) to: NaiveDate,
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

impl Stores {
    /// The patient's personalized slip, priced, as lines and as printable text; a read of
    /// patient data, on record.
    pub(crate) async fn patient_slip(
        &self,
        context: &RequestContext,
        slip: PatientSlip,
    ) -> Result<pb::GetPatientSlipResponse> {
        let PatientSlip {
            patient_id,
            from,
            to,
        } = slip;
        let start = from.map(|day| day.and_time(NaiveTime::MIN).and_utc());
        let end = to.map(|day| (day + Duration::days(1)).and_time(NaiveTime::MIN).and_utc());
        (self.calls)
            .read(context, async |tx| {
                let rows = store::patient_slip(tx, patient_id, start, end).await?;
                let mut lines = Vec::with_capacity(rows.len());
                let mut text = String::new();
                let _ = writeln!(text, "PERSONALIZED SLIP");
                let _ = writeln!(text, "Patient: {patient_id}");
                if let (Some(from), Some(to)) = (from, to) {
                    let _ = writeln!(text, "Period: {from} to {to}");
                }
                let _ = writeln!(text);
                for row in &rows {
                    let item = store::get_item(tx, row.item_id).await?;
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
                let slip = pb::GetPatientSlipResponse {
                    lines,
                    total_value,
                    text,
                };
                Ok((slip, Shown::patients(vec![patient_id])))
            })
            .await
    }

    /// Each item's consumption over the period, per day, and how many days the stock left
    /// covers at that pace.
    pub(crate) async fn ward_stock_analysis(
        &self,
        context: &RequestContext,
        period: WardPeriod,
    ) -> Result<pb::GetWardStockAnalysisResponse> {
        let WardPeriod {
            warehouse_id,
            from,
            to,
        } = period;
        let (start, end) =
            (self.warehouse_period(context, warehouse_id, from, to + Duration::days(1))).await?;
        let days = (to - from).num_days() + 1;
        let lines = (self.calls)
            .transaction(context, async |tx| {
                let rows = store::stock_report(tx, warehouse_id, start, end).await?;
                let mut lines = Vec::with_capacity(rows.len());
                for row in rows {
                    let item = store::get_item(tx, row.item_id).await?;
                    let consumed = Amount::from_db(&row.issued_quantity).ok();
                    let daily = consumed.and_then(|consumed| {
                        Amount::from_scaled_positive(consumed.scaled() / days.max(1))
                    });
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
                Ok(lines)
            })
            .await?;
        Ok(pb::GetWardStockAnalysisResponse { lines })
    }
}
