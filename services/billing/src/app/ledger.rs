//! Money between the hospital, its insurers and its accountants: an insurer's remittance
//! (the DRG claims it pays, the rest on account), the insurer's reconciliation by day or
//! month, the tenant's chart of accounts and the journal of a period for accounting.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use hmis_platform::idempotency::RequestKey;
use hmis_platform::money::Money;
use hmis_platform::wire::timestamp;
use hmis_proto::openhmis::billing::v1 as pb;

use super::*;
use crate::error::Error;
use crate::store::{self, RemittanceRow};

/// What a RecordRemittance call asks for, parsed.
#[derive(Debug)]
pub(crate) struct NewRemittance {
    pub(crate) key: RequestKey,
    pub(crate) contract_id: Uuid,
    pub(crate) reference: String,
    pub(crate) received_on: NaiveDate,
    pub(crate) amount: Money,
    /// (admission of the DRG case, paid), each case once.
    pub(crate) lines: Vec<(Uuid, Money)>,
}

/// What a GetInsurerReconciliation call asks for, parsed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reconciliation {
    pub(crate) contract_id: Uuid,
    pub(crate) facility_id: Uuid,
    pub(crate) from: NaiveDate,
    pub(crate) to: NaiveDate,
    pub(crate) monthly: bool,
}

/// The roles of the chart of accounts, with their default codes (in the shape of the
/// Moldovan national chart: 611 revenue from sales, 221 trade receivables, 241 cash in
/// hand, 242 current accounts, 245 transfers in transit).
pub(crate) const LEDGER_ROLES: &[(&str, &str)] = &[
    ("revenue", "611"),
    ("patients", "2211"),
    ("insurers", "2212"),
    ("cash", "241"),
    ("card", "245"),
    ("bank_transfer", "242"),
    ("mobile", "245"),
];

/// The service group revenue without a group goes to.
const NO_GROUP: &str = "other";

fn count(n: i64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn chart(set: Vec<(String, String)>) -> BTreeMap<String, String> {
    let mut chart: BTreeMap<String, String> = (LEDGER_ROLES.iter())
        .map(|(role, code)| ((*role).to_owned(), (*code).to_owned()))
        .collect();
    chart.extend(set);
    chart
}

fn ledger_to_pb(chart: &BTreeMap<String, String>) -> Vec<pb::LedgerAccount> {
    (LEDGER_ROLES.iter())
        .map(|(role, _)| pb::LedgerAccount {
            role: (*role).to_owned(),
            code: chart.get(*role).cloned().unwrap_or_default(),
        })
        .collect()
}

#[derive(Debug, Default, Clone)]
struct Period {
    charges: i64,
    charged: Money,
    claims: Option<store::ReconciledClaims>,
    received: Money,
    on_account: Money,
}

fn period_to_pb(key: String, period: &Period) -> pb::ReconciliationRow {
    let claims = period.claims.as_ref();
    let claim_count = |pick: fn(&store::ReconciledClaims) -> i64| count(claims.map_or(0, pick));
    let claim_money =
        |pick: fn(&store::ReconciledClaims) -> Money| claims.map_or(Money::ZERO, pick).to_string();
    pb::ReconciliationRow {
        period: key,
        charges: count(period.charges),
        charged: period.charged.to_string(),
        claims: claim_count(|c| c.claims),
        claimed: claim_money(|c| c.claimed),
        claims_sent: claim_count(|c| c.sent),
        claims_accepted: claim_count(|c| c.accepted),
        claims_rejected: claim_count(|c| c.rejected),
        claims_paid: claim_count(|c| c.paid),
        paid_claims_claimed: claim_money(|c| c.paid_claimed),
        paid_claims_paid: claim_money(|c| c.paid_paid),
        received: period.received.to_string(),
        received_on_account: period.on_account.to_string(),
    }
}

impl Billing {
    pub(crate) async fn record_remittance(
        &self,
        context: &RequestContext,
        message: &pb::RecordRemittanceRequest,
        new: NewRemittance,
    ) -> Result<pb::RecordRemittanceResponse> {
        let now = self.calls.now();
        let method = method("RecordRemittance");
        self.calls
            .write(context, &method, &new.key, message, async |tx| {
                let contract = match store::get_contract(tx, new.contract_id).await {
                    Err(Error::NotFound(_)) => {
                        return Err(Error::invalid("contract_id", "was not found"));
                    }
                    found => found?,
                };
                let admissions: Vec<Uuid> = new.lines.iter().map(|(id, _)| *id).collect();
                let claims = store::claims_to_pay(tx, &admissions).await?;
                for (index, (admission_id, _)) in new.lines.iter().enumerate() {
                    let field = format!("lines[{index}].admission_id");
                    let problem = match claims.iter().find(|(id, ..)| id == admission_id) {
                        None => Some("has no DRG case".to_owned()),
                        Some((_, claimed_from, ..)) if *claimed_from != Some(contract.id) => {
                            Some("is not claimed from that insurer".to_owned())
                        }
                        Some((_, _, status, _)) if status != "accepted" => {
                            Some(format!("is a {status} claim, not an accepted one"))
                        }
                        Some(_) => None,
                    };
                    if let Some(problem) = problem {
                        return Err(Error::invalid(&field, problem));
                    }
                }
                let allocated: Money = new.lines.iter().map(|(_, amount)| *amount).sum();
                if allocated > new.amount {
                    return Err(Error::invalid(
                        "lines",
                        "pay more than the remittance's amount",
                    ));
                }
                let row = RemittanceRow {
                    id: Uuid::now_v7(),
                    contract_id: contract.id,
                    reference: new.reference.clone(),
                    received_on: new.received_on,
                    amount: new.amount,
                    allocated,
                    recorded_by: context.user_id(),
                    recorded_at: now,
                };
                store::insert_remittance(tx, &row, &new.lines).await?;
                store::pay_claims(tx, &admissions).await?;
                let mut patients: Vec<Uuid> = claims.iter().map(|claim| claim.3).collect();
                patients.sort_unstable();
                patients.dedup();
                record(tx, context, &patients, now).await?;
                Ok(pb::RecordRemittanceResponse {
                    remittance: Some(pb::Remittance {
                        id: row.id.to_string(),
                        contract_id: row.contract_id.to_string(),
                        reference: row.reference,
                        received_date: row.received_on.format("%Y-%m-%d").to_string(),
                        amount: row.amount.to_string(),
                        lines: (new.lines.iter())
                            .map(|(admission_id, amount)| pb::RemittanceLine {
                                admission_id: admission_id.to_string(),
                                amount: amount.to_string(),
                            })
                            .collect(),
                        unallocated: (row.amount - row.allocated).to_string(),
                        recorded_by: row.recorded_by.to_string(),
                        record_time: timestamp(row.recorded_at),
                    }),
                })
            })
            .await
    }

    pub(crate) async fn reconciliation(
        &self,
        context: &RequestContext,
        asked: Reconciliation,
    ) -> Result<pb::GetInsurerReconciliationResponse> {
        let zone = self.directory.time_zone(context, asked.facility_id).await?;
        let bounds = hmis_platform::days::days(&zone, asked.from, asked.to);
        let (unit, format) = if asked.monthly {
            ("month", "YYYY-MM")
        } else {
            ("day", "YYYY-MM-DD")
        };
        self.calls
            .transaction(context, async |tx| {
                if let Err(Error::NotFound(_)) = store::get_contract(tx, asked.contract_id).await {
                    return Err(Error::invalid("contract_id", "was not found"));
                }
                let cut = (zone.name(), unit, format);
                let mut periods: BTreeMap<String, Period> = BTreeMap::new();
                for (key, charges, charged) in
                    store::reconciled_charges(tx, asked.contract_id, bounds, cut).await?
                {
                    let period = periods.entry(key).or_default();
                    period.charges = charges;
                    period.charged = charged;
                }
                for claims in store::reconciled_claims(tx, asked.contract_id, bounds, cut).await? {
                    let key = claims.period.clone();
                    periods.entry(key).or_default().claims = Some(claims);
                }
                let days = (asked.from, asked.to);
                for (key, received, on_account) in
                    store::reconciled_remittances(tx, asked.contract_id, days, (unit, format))
                        .await?
                {
                    let period = periods.entry(key).or_default();
                    period.received = received;
                    period.on_account = on_account;
                }
                let mut total = Period {
                    claims: Some(store::ReconciledClaims {
                        period: String::new(),
                        claims: 0,
                        claimed: Money::ZERO,
                        sent: 0,
                        accepted: 0,
                        rejected: 0,
                        paid: 0,
                        paid_claimed: Money::ZERO,
                        paid_paid: Money::ZERO,
                    }),
                    ..Period::default()
                };
                for period in periods.values() {
                    total.charges += period.charges;
                    total.charged = total.charged + period.charged;
                    total.received = total.received + period.received;
                    total.on_account = total.on_account + period.on_account;
                    if let (Some(sum), Some(claims)) = (total.claims.as_mut(), &period.claims) {
                        sum.claims += claims.claims;
                        sum.claimed = sum.claimed + claims.claimed;
                        sum.sent += claims.sent;
                        sum.accepted += claims.accepted;
                        sum.rejected += claims.rejected;
                        sum.paid += claims.paid;
                        sum.paid_claimed = sum.paid_claimed + claims.paid_claimed;
                        sum.paid_paid = sum.paid_paid + claims.paid_paid;
                    }
                }
                let outstanding = store::claims_outstanding(tx, asked.contract_id).await?;
                let range = format!(
                    "{}/{}",
                    asked.from.format("%Y-%m-%d"),
                    asked.to.format("%Y-%m-%d")
                );
                Ok(pb::GetInsurerReconciliationResponse {
                    rows: (periods.iter())
                        .map(|(key, period)| period_to_pb(key.clone(), period))
                        .collect(),
                    total: Some(period_to_pb(range, &total)),
                    claims_outstanding: outstanding.to_string(),
                })
            })
            .await
    }

    pub(crate) async fn set_ledger_accounts(
        &self,
        context: &RequestContext,
        message: &pb::SetLedgerAccountsRequest,
        (key, accounts): (RequestKey, Vec<(&'static str, String)>),
    ) -> Result<pb::SetLedgerAccountsResponse> {
        let now = self.calls.now();
        let method = method("SetLedgerAccounts");
        self.calls
            .write(context, &method, &key, message, async |tx| {
                for (role, code) in &accounts {
                    store::set_ledger_account(tx, role, code).await?;
                }
                record(tx, context, &[], now).await?;
                let chart = chart(store::ledger_accounts(tx).await?);
                Ok(pb::SetLedgerAccountsResponse {
                    accounts: ledger_to_pb(&chart),
                })
            })
            .await
    }

    pub(crate) async fn export_journal(
        &self,
        context: &RequestContext,
        (facility_id, from, to): (Uuid, NaiveDate, NaiveDate),
    ) -> Result<pb::ExportJournalResponse> {
        let zone = self.directory.time_zone(context, facility_id).await?;
        let bounds = hmis_platform::days::days(&zone, from, to);
        self.calls
            .transaction(context, async |tx| {
                let chart = chart(store::ledger_accounts(tx).await?);
                let movements = store::movements(tx, bounds, (from, to), zone.name()).await?;
                // Shares of one payer from national and supplementary contracts meet on one
                // account; the lines are by day, journal and account.
                let mut lines: BTreeMap<(NaiveDate, String, String), Money> = BTreeMap::new();
                for movement in movements {
                    let code = chart.get(&movement.role).cloned().unwrap_or_default();
                    let account = match movement.role.as_str() {
                        "revenue" if movement.detail.is_empty() => format!("{code}.{NO_GROUP}"),
                        "revenue" | "insurers" => format!("{code}.{}", movement.detail),
                        _ => code,
                    };
                    let line = (lines.entry((movement.day, movement.journal, account)))
                        .or_insert(Money::ZERO);
                    *line = *line + movement.amount;
                }
                let mut response = pb::ExportJournalResponse {
                    csv: "date,account,debit,credit,journal\n".to_owned(),
                    ..Default::default()
                };
                let (mut debits, mut credits) = (Money::ZERO, Money::ZERO);
                for ((day, journal, account), amount) in lines {
                    if amount.is_zero() {
                        continue;
                    }
                    let (debit, credit) = if amount.is_negative() {
                        (Money::ZERO, -amount)
                    } else {
                        (amount, Money::ZERO)
                    };
                    debits = debits + debit;
                    credits = credits + credit;
                    let line = pb::JournalLine {
                        date: day.format("%Y-%m-%d").to_string(),
                        account,
                        debit: debit.to_string(),
                        credit: credit.to_string(),
                        journal,
                    };
                    response.csv.push_str(&format!(
                        "{},{},{},{},{}\n",
                        line.date,
                        csv_field(&line.account),
                        line.debit,
                        line.credit,
                        line.journal
                    ));
                    response.lines.push(line);
                }
                response.total_debit = debits.to_string();
                response.total_credit = credits.to_string();
                Ok(response)
            })
            .await
    }
}

/// A CSV field, quoted when it holds a separator, a quote or a line break.
fn csv_field(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
}
