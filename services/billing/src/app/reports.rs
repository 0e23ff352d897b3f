//! Billing's reports: revenue of a period by ward, physician, service group or payer, and
//! what patients and insurers owe now.

use chrono::NaiveDate;
use hmis_proto::openhmis::billing::v1 as pb;

use super::*;
use crate::store::{self, RevenueBy};

fn row_to_pb(row: &store::RevenueRow, by_payer: bool) -> pb::RevenueRow {
    let part = |money: hmis_platform::money::Money| {
        if by_payer {
            String::new()
        } else {
            money.to_string()
        }
    };
    pb::RevenueRow {
        key: row.key.clone(),
        charges: i32::try_from(row.charges).unwrap_or(i32::MAX),
        amount: row.amount.to_string(),
        insurers: part(row.insurers),
        patients: part(row.patients),
    }
}

impl Billing {
    pub(crate) async fn revenue(
        &self,
        context: &RequestContext,
        (facility_id, from, to, by): (Uuid, NaiveDate, NaiveDate, RevenueBy),
    ) -> Result<pb::GetRevenueResponse> {
        let zone = self.directory.time_zone(context, facility_id).await?;
        let bounds = hmis_platform::days::days(&zone, from, to);
        let by_payer = by == RevenueBy::Payer;
        self.calls
            .transaction(context, async |tx| {
                let rows = store::revenue(tx, by, bounds).await?;
                let total = store::RevenueRow {
                    key: String::new(),
                    // By payer a charge is counted once per share; the total counts charges.
                    charges: if by_payer {
                        rows.iter()
                            .filter(|row| row.key == "patient")
                            .map(|row| row.charges)
                            .sum()
                    } else {
                        rows.iter().map(|row| row.charges).sum()
                    },
                    amount: rows.iter().map(|row| row.amount).sum(),
                    insurers: rows.iter().map(|row| row.insurers).sum(),
                    patients: rows.iter().map(|row| row.patients).sum(),
                };
                Ok(pb::GetRevenueResponse {
                    rows: rows.iter().map(|row| row_to_pb(row, by_payer)).collect(),
                    total: Some(row_to_pb(&total, by_payer)),
                })
            })
            .await
    }

    pub(crate) async fn receivables(
        &self,
        context: &RequestContext,
    ) -> Result<pb::GetReceivablesResponse> {
        self.calls
            .transaction(context, async |tx| {
                let (accounts, owed) = store::patients_owe(tx).await?;
                let insurers = store::insurers_owe(tx).await?;
                Ok(pb::GetReceivablesResponse {
                    patients_owe: owed.to_string(),
                    owing_accounts: i32::try_from(accounts).unwrap_or(i32::MAX),
                    insurers: (insurers.into_iter())
                        .map(|row| pb::InsurerReceivable {
                            contract_id: row.contract_id.to_string(),
                            payer_code: row.payer_code,
                            shares: row.shares.to_string(),
                            claims_open: row.claims_open.to_string(),
                            open_claims: i32::try_from(row.open_claims).unwrap_or(i32::MAX),
                        })
                        .collect(),
                })
            })
            .await
    }
}
