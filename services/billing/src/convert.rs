//! Billing's rows and labels to and from the contract's messages.

use std::collections::HashMap;

use chrono::NaiveDate;
use hmis_platform::money::Money;
use hmis_platform::wire::timestamp;
use hmis_proto::openhmis::billing::v1 as pb;
use uuid::Uuid;

use crate::domain::{
    AccountStatus, ChargeSource, InvoiceKind, PayerKind, PaymentKind, PaymentMethod, Percent,
    TariffKind, TariffUnit,
};
use crate::store::{
    AccountRow, ChargeRow, ContractRow, CoverageRow, InvoiceRow, MethodTotalRow, PaymentRow,
    PriceListRow, RefundRow, ShiftRow, TariffRow,
};

fn date(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

fn optional_date(day: Option<NaiveDate>) -> String {
    day.map(date).unwrap_or_default()
}

fn optional_id(id: Option<Uuid>) -> String {
    id.map(|id| id.to_string()).unwrap_or_default()
}

pub(crate) fn price_list_to_pb(row: &PriceListRow) -> pb::PriceList {
    pb::PriceList {
        id: row.id.to_string(),
        name: row.name.clone(),
        currency: row.currency.clone(),
        valid_from: date(row.valid_from),
        valid_until: optional_date(row.valid_until),
    }
}

pub(crate) fn tariff_kind_to_pb(kind: TariffKind) -> pb::TariffKind {
    match kind {
        TariffKind::Service => pb::TariffKind::Service,
        TariffKind::Accommodation => pb::TariffKind::Accommodation,
        TariffKind::Supply => pb::TariffKind::Supply,
        TariffKind::Package => pb::TariffKind::Package,
    }
}

pub(crate) fn parse_tariff_kind(value: i32) -> Option<TariffKind> {
    match pb::TariffKind::try_from(value).ok()? {
        pb::TariffKind::Service => Some(TariffKind::Service),
        pb::TariffKind::Accommodation => Some(TariffKind::Accommodation),
        pb::TariffKind::Supply => Some(TariffKind::Supply),
        pb::TariffKind::Package => Some(TariffKind::Package),
        pb::TariffKind::Unspecified => None,
    }
}

pub(crate) fn parse_tariff_unit(value: i32) -> Option<TariffUnit> {
    match pb::TariffUnit::try_from(value).ok()? {
        pb::TariffUnit::Each => Some(TariffUnit::Each),
        pb::TariffUnit::Day => Some(TariffUnit::Day),
        pb::TariffUnit::Hour => Some(TariffUnit::Hour),
        pb::TariffUnit::Unspecified => None,
    }
}

fn tariff_unit_to_pb(unit: TariffUnit) -> pb::TariffUnit {
    match unit {
        TariffUnit::Each => pb::TariffUnit::Each,
        TariffUnit::Day => pb::TariffUnit::Day,
        TariffUnit::Hour => pb::TariffUnit::Hour,
    }
}

pub(crate) fn tariff_to_pb(row: &TariffRow) -> pb::Tariff {
    pb::Tariff {
        kind: tariff_kind_to_pb(row.kind).into(),
        code_system: row.code_system.clone(),
        code: row.code.clone(),
        name: row.name.clone(),
        price: row.price.map(|price| price.to_string()).unwrap_or_default(),
        unit: tariff_unit_to_pb(row.unit).into(),
        margin_percent: (row.margin_bp)
            .map(|bp| Percent::from_basis_points(i64::from(bp)).to_string())
            .unwrap_or_default(),
        service_group: row.service_group.clone(),
        includes: row.includes.clone(),
    }
}

pub(crate) fn parse_payer_kind(value: i32) -> Option<PayerKind> {
    match pb::PayerKind::try_from(value).ok()? {
        pb::PayerKind::National => Some(PayerKind::National),
        pb::PayerKind::Supplementary => Some(PayerKind::Supplementary),
        pb::PayerKind::Unspecified => None,
    }
}

pub(crate) fn contract_to_pb(row: &ContractRow) -> pb::InsuranceContract {
    let mut coverage: Vec<pb::GroupCoverage> = (row.coverage_bp.0.iter())
        .map(|(group, bp)| pb::GroupCoverage {
            service_group: group.clone(),
            percent: Percent::from_basis_points(*bp).to_string(),
        })
        .collect();
    coverage.sort_by(|a, b| a.service_group.cmp(&b.service_group));
    pb::InsuranceContract {
        id: row.id.to_string(),
        payer_code: row.payer_code.clone(),
        name: row.name.clone(),
        kind: match row.kind {
            PayerKind::National => pb::PayerKind::National,
            PayerKind::Supplementary => pb::PayerKind::Supplementary,
        }
        .into(),
        default_percent: Percent::from_basis_points(i64::from(row.default_bp)).to_string(),
        coverage,
        franchise: row.franchise.to_string(),
        ceiling: row.ceiling.map(|c| c.to_string()).unwrap_or_default(),
        drg_base_rate: (row.drg_base_rate)
            .map(|rate| rate.to_string())
            .unwrap_or_default(),
    }
}

pub(crate) fn coverage_to_pb(row: &CoverageRow) -> pb::Coverage {
    pb::Coverage {
        id: row.id.to_string(),
        patient_id: row.patient_id.to_string(),
        contract_id: row.contract_id.to_string(),
        policy_number: row.policy_number.clone(),
        valid_from: date(row.valid_from),
        valid_until: optional_date(row.valid_until),
    }
}

fn source_to_pb(source: ChargeSource) -> pb::ChargeSource {
    match source {
        ChargeSource::Accommodation => pb::ChargeSource::Accommodation,
        ChargeSource::Procedure => pb::ChargeSource::Procedure,
        ChargeSource::Operation => pb::ChargeSource::Operation,
        ChargeSource::Supply => pb::ChargeSource::Supply,
        ChargeSource::EmergencyVisit => pb::ChargeSource::EmergencyVisit,
        ChargeSource::Adjustment => pb::ChargeSource::Adjustment,
        ChargeSource::Package => pb::ChargeSource::Package,
        ChargeSource::Investigation => pb::ChargeSource::Investigation,
        ChargeSource::OutpatientVisit => pb::ChargeSource::OutpatientVisit,
        ChargeSource::Registration => pb::ChargeSource::Registration,
        ChargeSource::Meal => pb::ChargeSource::Meal,
    }
}

pub(crate) fn charge_to_pb(row: &ChargeRow, payers: &HashMap<Uuid, String>) -> pb::Charge {
    let mut shares = Vec::with_capacity(3);
    for (contract, amount) in [
        (row.national_contract_id, row.national_amount),
        (row.supplementary_contract_id, row.supplementary_amount),
    ] {
        if let Some(contract) = contract {
            shares.push(pb::Share {
                contract_id: contract.to_string(),
                payer_code: payers.get(&contract).cloned().unwrap_or_default(),
                amount: amount.to_string(),
            });
        }
    }
    shares.push(pb::Share {
        contract_id: String::new(),
        payer_code: String::new(),
        amount: row.patient_amount.to_string(),
    });
    pb::Charge {
        id: row.id.to_string(),
        source: source_to_pb(row.source).into(),
        code_system: row.code_system.clone(),
        code: row.code.clone(),
        description: row.description.clone(),
        quantity: row.quantity.clone(),
        unit_price: row.unit_price.to_string(),
        amount: row.amount.to_string(),
        shares,
        service_time: timestamp(row.service_time),
        department_id: optional_id(row.department_id),
        physician_id: optional_id(row.physician_id),
        reverses_charge_id: optional_id(row.reverses_id),
        unpriced: row.unpriced,
        service_group: row.service_group.clone(),
        reason: row.reason.clone(),
        approved_by: optional_id(row.approved_by),
        invoice_id: String::new(),
    }
}

pub(crate) fn account_to_pb(row: &AccountRow, currency: &str) -> pb::Account {
    pb::Account {
        id: row.id.to_string(),
        patient_id: row.patient_id.to_string(),
        admission_id: optional_id(row.admission_id),
        status: match row.status {
            AccountStatus::Open => pb::AccountStatus::Open,
            AccountStatus::Cancelled => pb::AccountStatus::Cancelled,
            AccountStatus::Settled => pb::AccountStatus::Settled,
        }
        .into(),
        currency: currency.to_owned(),
        total: row.total.to_string(),
        patient_total: row.patient_total.to_string(),
        paid: row.paid.to_string(),
        balance: (row.patient_total - row.paid).to_string(),
        open_time: timestamp(row.opened_at),
        discharge_time: row.discharge_time.and_then(timestamp),
        facility_id: optional_id(row.facility_id),
        admit_time: row.admit_time.and_then(timestamp),
        admitting_physician_id: optional_id(row.physician_id),
        ..Default::default()
    }
}

/// What the insurers owe of `charges`, by payer in the order they first appear.
pub(crate) fn insurer_shares<'a>(
    charges: impl IntoIterator<Item = &'a ChargeRow>,
    payers: &HashMap<Uuid, String>,
) -> Vec<pb::Share> {
    let mut insurers: Vec<(Uuid, Money)> = Vec::new();
    for charge in charges {
        for (contract, share) in [
            (charge.national_contract_id, charge.national_amount),
            (
                charge.supplementary_contract_id,
                charge.supplementary_amount,
            ),
        ] {
            let Some(contract) = contract else { continue };
            match insurers.iter_mut().find(|(id, _)| *id == contract) {
                Some((_, total)) => *total = *total + share,
                None => insurers.push((contract, share)),
            }
        }
    }
    (insurers.into_iter())
        .map(|(contract, amount)| pb::Share {
            contract_id: contract.to_string(),
            payer_code: payers.get(&contract).cloned().unwrap_or_default(),
            amount: amount.to_string(),
        })
        .collect()
}

/// An invoice with the charges it bills.
pub(crate) fn invoice_to_pb<'a>(
    row: &InvoiceRow,
    charges: impl IntoIterator<Item = &'a ChargeRow> + Clone,
    payers: &HashMap<Uuid, String>,
) -> pb::Invoice {
    pb::Invoice {
        id: row.id.to_string(),
        account_id: row.account_id.to_string(),
        number: row.number.clone(),
        kind: match row.kind {
            InvoiceKind::Interim => pb::InvoiceKind::Interim,
            InvoiceKind::Final => pb::InvoiceKind::Final,
            InvoiceKind::Supplementary => pb::InvoiceKind::Supplementary,
        }
        .into(),
        charge_ids: (charges.clone().into_iter())
            .map(|charge| charge.id.to_string())
            .collect(),
        total: row.total.to_string(),
        insurer_shares: insurer_shares(charges, payers),
        patient_total: row.patient_total.to_string(),
        paid: row.paid.to_string(),
        patient_due: row.patient_due.to_string(),
        warnings: row.warnings.clone(),
        issued_by: row.issued_by.to_string(),
        issue_time: timestamp(row.issued_at),
    }
}

pub(crate) fn parse_method(value: i32) -> Option<PaymentMethod> {
    match pb::PaymentMethod::try_from(value).ok()? {
        pb::PaymentMethod::Cash => Some(PaymentMethod::Cash),
        pb::PaymentMethod::Card => Some(PaymentMethod::Card),
        pb::PaymentMethod::BankTransfer => Some(PaymentMethod::BankTransfer),
        pb::PaymentMethod::Mobile => Some(PaymentMethod::Mobile),
        pb::PaymentMethod::Unspecified => None,
    }
}

fn method_to_pb(method: PaymentMethod) -> pb::PaymentMethod {
    match method {
        PaymentMethod::Cash => pb::PaymentMethod::Cash,
        PaymentMethod::Card => pb::PaymentMethod::Card,
        PaymentMethod::BankTransfer => pb::PaymentMethod::BankTransfer,
        PaymentMethod::Mobile => pb::PaymentMethod::Mobile,
    }
}

pub(crate) fn parse_payment_kind(value: i32) -> Option<PaymentKind> {
    match pb::PaymentKind::try_from(value).ok()? {
        pb::PaymentKind::Payment => Some(PaymentKind::Payment),
        pb::PaymentKind::Deposit => Some(PaymentKind::Deposit),
        pb::PaymentKind::Unspecified => None,
    }
}

pub(crate) fn payment_to_pb(row: &PaymentRow) -> pb::Payment {
    pb::Payment {
        id: row.id.to_string(),
        account_id: row.account_id.to_string(),
        shift_id: row.shift_id.to_string(),
        kind: match row.kind {
            PaymentKind::Payment => pb::PaymentKind::Payment,
            PaymentKind::Deposit => pb::PaymentKind::Deposit,
        }
        .into(),
        method: method_to_pb(row.method).into(),
        amount: row.amount.to_string(),
        refunded: row.refunded.to_string(),
        receipt_number: row.receipt_number.clone(),
        confirmation_id: row.confirmation_id.clone().unwrap_or_default(),
        cashier_id: row.cashier_id.to_string(),
        payment_time: timestamp(row.paid_at),
    }
}

pub(crate) fn refund_to_pb(row: &RefundRow) -> pb::Refund {
    pb::Refund {
        id: row.id.to_string(),
        payment_id: row.payment_id.to_string(),
        shift_id: row.shift_id.to_string(),
        method: method_to_pb(row.method).into(),
        amount: row.amount.to_string(),
        reason: row.reason.clone(),
        receipt_number: row.receipt_number.clone(),
        cashier_id: row.cashier_id.to_string(),
        refund_time: timestamp(row.refunded_at),
    }
}

pub(crate) fn shift_to_pb(row: &ShiftRow) -> pb::Shift {
    pb::Shift {
        id: row.id.to_string(),
        cashier_id: row.cashier_id.to_string(),
        desk: row.desk.clone(),
        opening_float: row.opening_float.to_string(),
        open_time: timestamp(row.opened_at),
        close_time: row.closed_at.and_then(timestamp),
        counted_cash: row.counted_cash.map(|c| c.to_string()).unwrap_or_default(),
    }
}

/// The closing report: each method's money, the cash expected in the drawer and the
/// difference from what was counted.
pub(crate) fn shift_report(
    shift: &ShiftRow,
    totals: &[MethodTotalRow],
    payments: i64,
    refunds: i64,
) -> pb::ShiftReport {
    let net_cash: Money = (totals.iter())
        .filter(|total| total.method == PaymentMethod::Cash)
        .map(|total| total.payments + total.deposits - total.refunds)
        .sum();
    let expected_cash = shift.opening_float + net_cash;
    pb::ShiftReport {
        shift: Some(shift_to_pb(shift)),
        totals: (totals.iter())
            .map(|total| pb::MethodTotal {
                method: method_to_pb(total.method).into(),
                payments: total.payments.to_string(),
                deposits: total.deposits.to_string(),
                refunds: total.refunds.to_string(),
                net: (total.payments + total.deposits - total.refunds).to_string(),
            })
            .collect(),
        expected_cash: expected_cash.to_string(),
        difference: (shift.counted_cash)
            .map(|counted| (counted - expected_cash).to_string())
            .unwrap_or_default(),
        payment_count: i32::try_from(payments).unwrap_or(i32::MAX),
        refund_count: i32::try_from(refunds).unwrap_or(i32::MAX),
    }
}

/// The stored claim status as the contract names it.
fn claim_status_to_pb(status: &str) -> pb::ClaimStatus {
    match status {
        "prepared" => pb::ClaimStatus::Prepared,
        "sent" => pb::ClaimStatus::Sent,
        "accepted" => pb::ClaimStatus::Accepted,
        "rejected" => pb::ClaimStatus::Rejected,
        "paid" => pb::ClaimStatus::Paid,
        "void" => pb::ClaimStatus::Void,
        "not_insured" => pb::ClaimStatus::NotInsured,
        _ => pb::ClaimStatus::Unspecified,
    }
}

/// The status a claim may be moved to by UpdateClaim, as stored.
pub(crate) fn parse_claim_status(value: i32) -> Option<&'static str> {
    match pb::ClaimStatus::try_from(value).ok()? {
        pb::ClaimStatus::Prepared => Some("prepared"),
        pb::ClaimStatus::Sent => Some("sent"),
        pb::ClaimStatus::Accepted => Some("accepted"),
        pb::ClaimStatus::Rejected => Some("rejected"),
        pb::ClaimStatus::Paid => Some("paid"),
        _ => None,
    }
}

pub(crate) fn case_to_pb(row: &crate::store::CaseRow) -> pb::DrgCase {
    pb::DrgCase {
        admission_id: row.admission_id.to_string(),
        account_id: row.account_id.to_string(),
        patient_id: row.patient_id.to_string(),
        department_id: row.department_id.to_string(),
        discharge_time: timestamp(row.discharge_time),
        principal_diagnosis: row.principal.clone(),
        secondary_diagnoses: row.secondaries.clone(),
        procedures: row.procedures.clone(),
        age: row.age.unwrap_or_default(),
        sex: row.sex.clone(),
        expired: row.expired,
        length_of_stay: row.length_of_stay,
        drg: row.drg.clone(),
        mdc: row.mdc.clone(),
        title: row.title.clone(),
        relative_weight: row.relative_weight.clone(),
        geometric_mean_los: row.gmlos.clone(),
        case_weight: row.case_weight.clone(),
        severity: row.severity.clone(),
        surgical: row.surgical,
        claim_status: claim_status_to_pb(&row.claim_status).into(),
        claim_contract_id: optional_id(row.claim_contract_id),
        claim_amount: row.claim_amount.map(|a| a.to_string()).unwrap_or_default(),
        rejection_reasons: row.rejection_reasons.clone(),
        grouper_version: row.grouper_version.clone(),
        etag: hmis_platform::types::Version::from_db(row.version).etag(),
    }
}

/// The starter tariffs as a SetTariffs request of `price_list_id`.
pub(crate) fn starter_tariffs(request_id: String, price_list_id: String) -> pb::SetTariffsRequest {
    let kind = |text: &str| match text {
        "service" => pb::TariffKind::Service,
        "accommodation" => pb::TariffKind::Accommodation,
        "supply" => pb::TariffKind::Supply,
        _ => pb::TariffKind::Unspecified,
    };
    let unit = |text: &str| match text {
        "each" => pb::TariffUnit::Each,
        "day" => pb::TariffUnit::Day,
        "hour" => pb::TariffUnit::Hour,
        _ => pb::TariffUnit::Unspecified,
    };
    pb::SetTariffsRequest {
        request_id,
        price_list_id,
        tariffs: (crate::starter::tariffs().into_iter())
            .map(|line| pb::Tariff {
                kind: kind(&line.kind).into(),
                code_system: line.code_system,
                code: line.code,
                name: line.name,
                price: line.price,
                unit: unit(&line.unit).into(),
                margin_percent: line.margin_percent,
                service_group: line.service_group,
                includes: Vec::new(),
            })
            .collect(),
    }
}

/// The starter grouper tables as an ImportGrouperTables request.
pub(crate) fn starter_grouper(request_id: String) -> pb::ImportGrouperTablesRequest {
    let (version, diagnoses, procedures, severity, drgs) = crate::starter::grouper_files();
    pb::ImportGrouperTablesRequest {
        request_id,
        version: version.to_owned(),
        diagnoses_csv: diagnoses.to_owned(),
        procedures_csv: procedures.to_owned(),
        severity_csv: severity.to_owned(),
        drgs_csv: drgs.to_owned(),
    }
}
