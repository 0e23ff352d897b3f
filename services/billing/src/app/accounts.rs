//! Patient accounts: the bill (charges, shares, payments, balance), the list of a patient's
//! accounts, and adjustments by hand with their reason and approver.

use std::collections::HashMap;

use hmis_platform::call::Shown;
use hmis_platform::idempotency::RequestKey;
use hmis_platform::money::Money;
use hmis_platform::types::Text;
use hmis_proto::openhmis::billing::v1 as pb;

use super::*;
use crate::convert::{account_to_pb, charge_to_pb, insurer_shares, invoice_to_pb};
use crate::domain::{AccountStatus, ChargeSource, InvoiceKind, Split, TariffKind};
use crate::error::Error;
use crate::store::{self, AccountRow, ChargeRow, InvoiceRow};

/// What an AdjustAccount call asks for, parsed.
#[derive(Debug)]
pub(crate) struct Adjustment {
    pub(crate) key: RequestKey,
    pub(crate) account_id: Uuid,
    pub(crate) amount: Money,
    pub(crate) reason: Text,
    pub(crate) contract_id: Option<Uuid>,
}

/// What a SettleAccount call asks for, parsed: an interim invoice, or the final one.
#[derive(Debug)]
pub(crate) struct Settlement {
    pub(crate) key: RequestKey,
    pub(crate) account_id: Uuid,
    pub(crate) last: bool,
}

/// Which account a GetAccount call names.
#[derive(Debug, Clone, Copy)]
pub(crate) enum AccountRef {
    Id(Uuid),
    Admission(Uuid),
}

impl Billing {
    pub(crate) async fn get_account(
        &self,
        context: &RequestContext,
        which: AccountRef,
    ) -> Result<pb::GetAccountResponse> {
        self.calls
            .read(context, async |tx| {
                let account = match which {
                    AccountRef::Id(id) => store::get_account(tx, id).await?,
                    AccountRef::Admission(id) => store::account_of_admission(tx, id).await?,
                };
                let whole = whole_account(tx, &account).await?;
                Ok((
                    pb::GetAccountResponse {
                        account: Some(whole),
                    },
                    Shown::patients(vec![account.patient_id]),
                ))
            })
            .await
    }

    pub(crate) async fn list_accounts(
        &self,
        context: &RequestContext,
        patient_id: Uuid,
    ) -> Result<pb::ListAccountsResponse> {
        self.calls
            .read(context, async |tx| {
                let currency = store::currency(tx).await?.unwrap_or_default();
                let accounts = store::accounts_of(tx, patient_id).await?;
                Ok((
                    pb::ListAccountsResponse {
                        accounts: (accounts.iter())
                            .map(|account| account_to_pb(account, &currency))
                            .collect(),
                    },
                    Shown::patients(vec![patient_id]),
                ))
            })
            .await
    }

    pub(crate) async fn adjust_account(
        &self,
        context: &RequestContext,
        message: &pb::AdjustAccountRequest,
        adjustment: Adjustment,
    ) -> Result<pb::AdjustAccountResponse> {
        let now = self.calls.now();
        let method = method("AdjustAccount");
        self.calls
            .write(context, &method, &adjustment.key, message, async |tx| {
                let account = named_account(tx, adjustment.account_id).await?;
                let split = match adjustment.contract_id {
                    None => Split::patient_only(adjustment.amount),
                    Some(contract_id) => {
                        let contract = match store::get_contract(tx, contract_id).await {
                            Err(Error::NotFound(_)) => {
                                return Err(Error::invalid("contract_id", "was not found"));
                            }
                            found => found?,
                        };
                        let share = Some((contract.id, adjustment.amount));
                        if contract.kind == crate::domain::PayerKind::National {
                            Split {
                                national: share,
                                supplementary: None,
                                patient: Money::ZERO,
                                franchise: Money::ZERO,
                            }
                        } else {
                            Split {
                                national: None,
                                supplementary: share,
                                patient: Money::ZERO,
                                franchise: Money::ZERO,
                            }
                        }
                    }
                };
                let row = ChargeRow {
                    id: Uuid::now_v7(),
                    account_id: account.id,
                    source: ChargeSource::Adjustment,
                    source_key: format!("adjustment:{}", adjustment.key.as_str()),
                    code_system: String::new(),
                    code: String::new(),
                    description: "Adjustment".to_owned(),
                    quantity: "1".to_owned(),
                    unit_price: adjustment.amount,
                    amount: adjustment.amount,
                    national_contract_id: split.national.map(|(id, _)| id),
                    national_amount: split.national.map_or(Money::ZERO, |(_, share)| share),
                    supplementary_contract_id: split.supplementary.map(|(id, _)| id),
                    supplementary_amount: (split.supplementary)
                        .map_or(Money::ZERO, |(_, share)| share),
                    patient_amount: split.patient,
                    franchise_applied: Money::ZERO,
                    service_group: String::new(),
                    service_time: now,
                    department_id: None,
                    physician_id: None,
                    reverses_id: None,
                    unpriced: false,
                    reason: adjustment.reason.as_str().to_owned(),
                    approved_by: Some(context.user_id()),
                };
                store::insert_charge(tx, &row, now).await?;
                record(tx, context, &[account.patient_id], now).await?;
                let payers = payer_codes(tx).await?;
                Ok(pb::AdjustAccountResponse {
                    charge: Some(charge_to_pb(&row, &payers)),
                })
            })
            .await
    }
}

impl Billing {
    pub(crate) async fn settle_account(
        &self,
        context: &RequestContext,
        message: &pb::SettleAccountRequest,
        settlement: Settlement,
    ) -> Result<pb::SettleAccountResponse> {
        let now = self.calls.now();
        let method = method("SettleAccount");
        self.calls
            .write(context, &method, &settlement.key, message, async |tx| {
                let account = named_account(tx, settlement.account_id).await?;
                let invoices = store::invoices_of(tx, account.id).await?;
                let kind = settled_as(&account, &invoices, settlement.last)?;
                let charges = store::uninvoiced_charges(tx, account.id).await?;
                if charges.is_empty() && kind != InvoiceKind::Final {
                    return Err(Error::Precondition(
                        "every charge of the account is on an invoice already".to_owned(),
                    ));
                }
                // The account is locked: its kept `paid` is every payment less refunds.
                let paid = account.paid;
                let total: Money = charges.iter().map(|charge| charge.amount).sum();
                let patient_total: Money = charges.iter().map(|charge| charge.patient_amount).sum();
                let billed_before: Money =
                    invoices.iter().map(|invoice| invoice.patient_total).sum();
                let year = chrono::Datelike::year(&now);
                let invoice = InvoiceRow {
                    id: Uuid::now_v7(),
                    account_id: account.id,
                    number: store::next_number(tx, store::Series::Invoices, year).await?,
                    kind,
                    charge_count: i32::try_from(charges.len()).unwrap_or(i32::MAX),
                    total,
                    insurers_total: total - patient_total,
                    patient_total,
                    paid,
                    patient_due: billed_before + patient_total - paid,
                    warnings: unpriced_warning(&charges).into_iter().collect(),
                    issued_by: context.user_id(),
                    issued_at: now,
                };
                let ids: Vec<Uuid> = charges.iter().map(|charge| charge.id).collect();
                store::insert_invoice(tx, &invoice, &ids).await?;
                if kind != InvoiceKind::Interim {
                    store::settle(tx, account.id).await?;
                }
                record(tx, context, &[account.patient_id], now).await?;
                let payers = payer_codes(tx).await?;
                Ok(pb::SettleAccountResponse {
                    invoice: Some(invoice_to_pb(&invoice, &charges, &payers)),
                })
            })
            .await
    }
}

impl Billing {
    pub(crate) async fn apply_package(
        &self,
        context: &RequestContext,
        message: &pb::ApplyPackageRequest,
        (key, account_id, code): (RequestKey, Uuid, String),
    ) -> Result<pb::ApplyPackageResponse> {
        let now = self.calls.now();
        let method = method("ApplyPackage");
        self.calls
            .write(context, &method, &key, message, async |tx| {
                let account = named_account(tx, account_id).await?;
                if matches!(
                    account.status,
                    AccountStatus::Cancelled | AccountStatus::Settled
                ) {
                    return Err(Error::Precondition(format!(
                        "the account is {}",
                        account.status.as_db()
                    )));
                }
                let package =
                    store::tariff_on(tx, TariffKind::Package, "", &code, now.date_naive())
                        .await?
                        .ok_or_else(|| {
                            Error::invalid("code", "is no package of the price list valid today")
                        })?;
                let applied = (&*package.code, &*package.name, &*package.includes);
                if !store::apply_package(tx, account.id, applied, context.user_id(), now).await? {
                    return Err(Error::Precondition(
                        "the account has a package already".to_owned(),
                    ));
                }
                let (charge, reversals) =
                    super::capture::charge_package(tx, &account, &package, now).await?;
                record(tx, context, &[account.patient_id], now).await?;
                let payers = payer_codes(tx).await?;
                Ok(pb::ApplyPackageResponse {
                    charge: Some(charge_to_pb(&charge, &payers)),
                    reversals: (reversals.iter())
                        .map(|reversal| charge_to_pb(reversal, &payers))
                        .collect(),
                })
            })
            .await
    }
}

/// The kind of invoice a settlement issues, or why none may be.
fn settled_as(account: &AccountRow, invoices: &[InvoiceRow], last: bool) -> Result<InvoiceKind> {
    if account.status == AccountStatus::Cancelled {
        return Err(Error::Precondition(
            "the account is cancelled: its charges are reversed".to_owned(),
        ));
    }
    let has_final = invoices
        .iter()
        .any(|invoice| invoice.kind == InvoiceKind::Final);
    if !last {
        if account.status == AccountStatus::Settled {
            return Err(Error::Precondition(
                "the account is settled: what landed since goes on a supplementary invoice \
                 (kind FINAL)"
                    .to_owned(),
            ));
        }
        return Ok(InvoiceKind::Interim);
    }
    if account.admission_id.is_some() && account.discharge_time.is_none() {
        return Err(Error::Precondition(
            "the admission is not discharged: an interim invoice bills it so far".to_owned(),
        ));
    }
    Ok(if has_final {
        InvoiceKind::Supplementary
    } else {
        InvoiceKind::Final
    })
}

/// "N charges have no tariff ...", when some do.
fn unpriced_warning(charges: &[ChargeRow]) -> Option<String> {
    let unpriced = charges
        .iter()
        .filter(|charge| charge.unpriced && charge.reverses_id.is_none())
        .count();
    if unpriced == 0 {
        return None;
    }
    let (charges_have, are) = if unpriced == 1 {
        ("charge has", "is")
    } else {
        ("charges have", "are")
    };
    Some(format!(
        "{unpriced} {charges_have} no tariff and {are} charged at 0"
    ))
}

/// Contract ids to payer codes, for the shares of a bill.
pub(crate) async fn payer_codes(
    tx: &mut TenantTx,
) -> Result<std::collections::HashMap<Uuid, String>> {
    Ok((store::contracts(tx).await?.into_iter())
        .map(|contract| (contract.id, contract.payer_code))
        .collect())
}

/// The account with its charges, payments and refunds, its totals and its warnings.
async fn whole_account(tx: &mut TenantTx, account: &AccountRow) -> Result<pb::Account> {
    let currency = store::currency(tx).await?.unwrap_or_default();
    let payers = payer_codes(tx).await?;
    let charges = store::charges_of(tx, account.id).await?;
    let payments = store::payments_of(tx, account.id).await?;
    let refunds = store::refunds_of(tx, account.id).await?;
    let mut whole = account_to_pb(account, &currency);
    // The totals shown are the rows shown added up: the account's kept totals may be a commit
    // behind (or ahead of) the rows a later statement of this read sees.
    let total: Money = charges.iter().map(|charge| charge.amount).sum();
    let patient_total: Money = charges.iter().map(|charge| charge.patient_amount).sum();
    let paid: Money = payments.iter().map(|payment| payment.amount).sum::<Money>()
        - refunds.iter().map(|refund| refund.amount).sum::<Money>();
    whole.total = total.to_string();
    whole.patient_total = patient_total.to_string();
    whole.paid = paid.to_string();
    whole.balance = (patient_total - paid).to_string();
    whole.insurer_shares = insurer_shares(&charges, &payers);
    whole.warnings.extend(unpriced_warning(&charges));
    if let Some((code, _, _)) = store::package_of(tx, account.id).await? {
        whole.package_code = code;
    }
    let invoices = store::invoices_of(tx, account.id).await?;
    let invoiced: HashMap<Uuid, Uuid> = (store::invoiced_charges_of(tx, account.id).await?)
        .into_iter()
        .collect();
    let late = charges
        .iter()
        .filter(|charge| !invoiced.contains_key(&charge.id))
        .count();
    if account.status == AccountStatus::Settled && late > 0 {
        whole.warnings.push(format!(
            "{late} {} after the final invoice: a supplementary invoice bills {}",
            if late == 1 {
                "charge landed"
            } else {
                "charges landed"
            },
            if late == 1 { "it" } else { "them" },
        ));
    }
    whole.invoices = (invoices.iter())
        .map(|invoice| {
            let billed =
                (charges.iter()).filter(|charge| invoiced.get(&charge.id) == Some(&invoice.id));
            invoice_to_pb(invoice, billed, &payers)
        })
        .collect();
    whole.charges = charges
        .iter()
        .map(|charge| {
            let mut shown = charge_to_pb(charge, &payers);
            if let Some(invoice) = invoiced.get(&charge.id) {
                shown.invoice_id = invoice.to_string();
            }
            shown
        })
        .collect();
    whole.payments = payments.iter().map(crate::convert::payment_to_pb).collect();
    whole.refunds = refunds.iter().map(crate::convert::refund_to_pb).collect();
    Ok(whole)
}
