//! Requests of the billing service, parsed into what the use cases are asked: every wrong
//! field is named at once (`INVALID_ARGUMENT` with field violations), nothing is echoed back.

use std::collections::HashMap;

use hmis_platform::Violations;
use hmis_platform::idempotency::RequestKey;
use hmis_platform::money::Money;
use hmis_platform::types::{Code, Line, Name, Text, parse_date};
use hmis_proto::openhmis::billing::v1 as pb;
use uuid::Uuid;

use crate::app::{
    AccountRef, Adjustment, Closing, LEDGER_ROLES, NewContract, NewCoverage, NewPayment,
    NewPriceList, NewRefund, NewRemittance, NewShift, Reconciliation, Settlement,
};
use crate::convert::{
    parse_method, parse_payer_kind, parse_payment_kind, parse_tariff_kind, parse_tariff_unit,
};
use crate::domain::{ANY_ITEM, PaymentMethod, Percent, TariffKind, TariffUnit};
use crate::error::Result;
use crate::store::{ContractRow, CoverageRow, TariffRow};

/// Tariffs one SetTariffs call may write.
const MAX_TARIFFS: usize = 5000;
/// Service groups one contract lists.
const MAX_GROUPS: usize = 100;
/// The highest margin a supply rule may add.
const MAX_MARGIN_PERCENT: i64 = 1000;
/// The longest provider reference of a payment.
const MAX_CONFIRMATION: usize = 100;

/// One id, the whole request of a read by id.
pub(crate) fn id(field: &str, value: &str) -> Result<Uuid> {
    let mut violations = Violations::default();
    let id = violations.id(field, value);
    Ok(violations.finish(|| id)?)
}

fn money(field: &str, value: &str, violations: &mut Violations) -> Option<Money> {
    violations.check(field, Money::parse(value))
}

fn positive(field: &str, value: &str, violations: &mut Violations) -> Option<Money> {
    let amount = money(field, value, violations)?;
    if !amount.is_positive() {
        violations.add(field, "must be more than zero");
        return None;
    }
    Some(amount)
}

fn not_negative(field: &str, value: &str, violations: &mut Violations) -> Option<Money> {
    let amount = money(field, value, violations)?;
    if amount.is_negative() {
        violations.add(field, "must not be negative");
        return None;
    }
    Some(amount)
}

pub(crate) fn create_price_list(message: &pb::CreatePriceListRequest) -> Result<NewPriceList> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let name = violations.check("name", Name::parse(&message.name));
    let currency = if message.currency.len() == 3
        && message.currency.chars().all(|c| c.is_ascii_uppercase())
    {
        Some(message.currency.clone())
    } else {
        violations.add("currency", "must be an ISO 4217 code such as MDL");
        None
    };
    let valid_from = violations.check("valid_from", parse_date(&message.valid_from));
    let valid_until = violations.optional_date("valid_until", &message.valid_until);
    if let (Some(from), Some(Some(until))) = (valid_from, valid_until)
        && until < from
    {
        violations.add("valid_until", "must not be before valid_from");
    }
    Ok(violations.finish(|| {
        Some(NewPriceList {
            key: key?,
            name: name?.as_str().to_owned(),
            currency: currency?,
            valid_from: valid_from?,
            valid_until: valid_until?,
        })
    })?)
}

/// What a package may include at most.
const MAX_INCLUDED: usize = 200;

/// `service:<system>:<code>`, `accommodation:<care level>` or `supply:<item code>`, each
/// part a code.
fn included_item(item: &str) -> bool {
    let code = |part: &str| Code::parse(part).is_ok();
    match item.split(':').collect::<Vec<_>>().as_slice() {
        ["service", system, service] => code(system) && code(service),
        ["accommodation" | "supply", what] => code(what),
        _ => false,
    }
}

fn tariff(field: &str, tariff: &pb::Tariff, violations: &mut Violations) -> Option<TariffRow> {
    let before = violations.len();
    let kind = parse_tariff_kind(tariff.kind);
    if kind.is_none() {
        violations.add(format!("{field}.kind"), "must be set");
    }
    let code = if tariff.code == ANY_ITEM && kind == Some(TariffKind::Supply) {
        Some(ANY_ITEM.to_owned())
    } else {
        violations
            .check(&format!("{field}.code"), Code::parse(&tariff.code))
            .map(|code| code.as_str().to_owned())
    };
    let name = violations.check(&format!("{field}.name"), Name::parse(&tariff.name));
    let group = violations.check(
        &format!("{field}.service_group"),
        Code::parse(&tariff.service_group),
    );
    let unit = parse_tariff_unit(tariff.unit);
    let (mut code_system, mut price, mut margin) = (String::new(), None, None);
    match kind {
        Some(TariffKind::Service) => {
            match Code::parse(&tariff.code_system) {
                Ok(system) => code_system = system.as_str().to_owned(),
                Err(error) => violations.add(format!("{field}.code_system"), error.0),
            }
            price = not_negative(&format!("{field}.price"), &tariff.price, violations);
            if !matches!(unit, Some(TariffUnit::Each) | None) {
                violations.add(format!("{field}.unit"), "a service is priced EACH");
            }
        }
        Some(TariffKind::Accommodation) => {
            price = not_negative(&format!("{field}.price"), &tariff.price, violations);
            if !matches!(unit, Some(TariffUnit::Day | TariffUnit::Hour)) {
                violations.add(format!("{field}.unit"), "must be DAY or HOUR");
            }
        }
        Some(TariffKind::Package) => {
            price = not_negative(&format!("{field}.price"), &tariff.price, violations);
            if !matches!(unit, Some(TariffUnit::Each) | None) {
                violations.add(format!("{field}.unit"), "a package is priced EACH");
            }
            if tariff.includes.is_empty() || tariff.includes.len() > MAX_INCLUDED {
                violations.add(
                    format!("{field}.includes"),
                    format!("must list 1 to {MAX_INCLUDED}"),
                );
            }
            for (index, item) in tariff.includes.iter().take(MAX_INCLUDED).enumerate() {
                if !included_item(item) {
                    violations.add(
                        format!("{field}.includes[{index}]"),
                        "must be service:<system>:<code>, accommodation:<care level> or \
                         supply:<item code>",
                    );
                }
            }
        }
        Some(TariffKind::Supply) => {
            margin = violations
                .check(
                    &format!("{field}.margin_percent"),
                    Percent::parse(&tariff.margin_percent, MAX_MARGIN_PERCENT),
                )
                .and_then(|margin| i32::try_from(margin.basis_points()).ok());
        }
        None => {}
    }
    if kind != Some(TariffKind::Package) && !tariff.includes.is_empty() {
        violations.add(format!("{field}.includes"), "only a PACKAGE includes");
    }
    if violations.len() > before {
        return None;
    }
    let kind = kind?;
    Some(TariffRow {
        kind,
        code_system,
        code: code?,
        name: name?.as_str().to_owned(),
        price,
        unit: match kind {
            TariffKind::Accommodation => unit?,
            _ => TariffUnit::Each,
        },
        margin_bp: margin,
        service_group: group?.as_str().to_owned(),
        includes: tariff.includes.clone(),
    })
}

pub(crate) fn set_tariffs(
    message: &pb::SetTariffsRequest,
) -> Result<(hmis_platform::idempotency::RequestKey, Uuid, Vec<TariffRow>)> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let price_list_id = violations.id("price_list_id", &message.price_list_id);
    if message.tariffs.is_empty() || message.tariffs.len() > MAX_TARIFFS {
        violations.add("tariffs", format!("must list 1 to {MAX_TARIFFS}"));
    }
    let mut tariffs = Vec::with_capacity(message.tariffs.len().min(MAX_TARIFFS));
    let mut seen = std::collections::HashSet::new();
    for (index, given) in message.tariffs.iter().take(MAX_TARIFFS).enumerate() {
        let field = format!("tariffs[{index}]");
        if let Some(row) = tariff(&field, given, &mut violations) {
            if !seen.insert((row.kind, row.code_system.clone(), row.code.clone())) {
                violations.add(field, "is listed twice");
            }
            tariffs.push(row);
        }
    }
    Ok(violations.finish(|| Some((key?, price_list_id?, tariffs)))?)
}

pub(crate) fn set_ward_care_level(
    message: &pb::SetWardCareLevelRequest,
) -> Result<(hmis_platform::idempotency::RequestKey, Uuid, String)> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let department_id = violations.id("department_id", &message.department_id);
    let level = violations.check("care_level", Code::parse(&message.care_level));
    Ok(violations.finish(|| Some((key?, department_id?, level?.as_str().to_owned())))?)
}

pub(crate) fn create_contract(message: &pb::CreateInsuranceContractRequest) -> Result<NewContract> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let default_contract = pb::InsuranceContract::default();
    let contract = message.contract.as_ref().unwrap_or(&default_contract);
    if message.contract.is_none() {
        violations.add("contract", "is required");
    }
    let payer_code = violations.check("contract.payer_code", Code::parse(&contract.payer_code));
    let name = violations.check("contract.name", Name::parse(&contract.name));
    let kind = parse_payer_kind(contract.kind);
    if kind.is_none() {
        violations.add("contract.kind", "must be NATIONAL or SUPPLEMENTARY");
    }
    let default_percent = violations.check(
        "contract.default_percent",
        Percent::parse(&contract.default_percent, 100),
    );
    if contract.coverage.len() > MAX_GROUPS {
        violations.add(
            "contract.coverage",
            format!("must list at most {MAX_GROUPS}"),
        );
    }
    let mut coverage = HashMap::new();
    for (index, group) in contract.coverage.iter().take(MAX_GROUPS).enumerate() {
        let field = format!("contract.coverage[{index}]");
        let code = violations.check(
            &format!("{field}.service_group"),
            Code::parse(&group.service_group),
        );
        let percent = violations.check(
            &format!("{field}.percent"),
            Percent::parse(&group.percent, 100),
        );
        if let (Some(code), Some(percent)) = (code, percent)
            && coverage
                .insert(code.as_str().to_owned(), percent.basis_points())
                .is_some()
        {
            violations.add(field, "names its service group twice");
        }
    }
    let franchise = if contract.franchise.is_empty() {
        Some(Money::ZERO)
    } else {
        not_negative("contract.franchise", &contract.franchise, &mut violations)
    };
    let ceiling = if contract.ceiling.is_empty() {
        Some(None)
    } else {
        not_negative("contract.ceiling", &contract.ceiling, &mut violations).map(Some)
    };
    let drg_base_rate = if contract.drg_base_rate.is_empty() {
        Some(None)
    } else {
        positive(
            "contract.drg_base_rate",
            &contract.drg_base_rate,
            &mut violations,
        )
        .map(Some)
    };
    if kind == Some(crate::domain::PayerKind::Supplementary)
        && drg_base_rate.is_some_and(|rate| rate.is_some())
    {
        violations.add(
            "contract.drg_base_rate",
            "only the national insurer pays by DRG",
        );
    }
    Ok(violations.finish(|| {
        Some(NewContract {
            key: key?,
            row: ContractRow {
                id: Uuid::now_v7(),
                payer_code: payer_code?.as_str().to_owned(),
                name: name?.as_str().to_owned(),
                kind: kind?,
                default_bp: i32::try_from(default_percent?.basis_points()).ok()?,
                coverage_bp: sqlx::types::Json(coverage),
                franchise: franchise?,
                ceiling: ceiling?,
                drg_base_rate: drg_base_rate?,
            },
        })
    })?)
}

pub(crate) fn add_coverage(message: &pb::AddCoverageRequest) -> Result<NewCoverage> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let default_coverage = pb::Coverage::default();
    let coverage = message.coverage.as_ref().unwrap_or(&default_coverage);
    if message.coverage.is_none() {
        violations.add("coverage", "is required");
    }
    let patient_id = violations.id("coverage.patient_id", &coverage.patient_id);
    let contract_id = violations.id("coverage.contract_id", &coverage.contract_id);
    let policy = violations.check(
        "coverage.policy_number",
        Line::parse(&coverage.policy_number),
    );
    if policy.as_ref().is_some_and(Line::is_empty) {
        violations.add("coverage.policy_number", "is required");
    }
    let valid_from = violations.check("coverage.valid_from", parse_date(&coverage.valid_from));
    let valid_until = violations.optional_date("coverage.valid_until", &coverage.valid_until);
    if let (Some(from), Some(Some(until))) = (valid_from, valid_until)
        && until < from
    {
        violations.add("coverage.valid_until", "must not be before valid_from");
    }
    Ok(violations.finish(|| {
        Some(NewCoverage {
            key: key?,
            row: CoverageRow {
                id: Uuid::now_v7(),
                patient_id: patient_id?,
                contract_id: contract_id?,
                policy_number: policy?.as_str().to_owned(),
                valid_from: valid_from?,
                valid_until: valid_until?,
            },
        })
    })?)
}

pub(crate) fn get_account(message: &pb::GetAccountRequest) -> Result<AccountRef> {
    let mut violations = Violations::default();
    let account_id = violations.optional_id("account_id", &message.account_id);
    let admission_id = violations.optional_id("admission_id", &message.admission_id);
    let which = match (account_id, admission_id) {
        (Some(Some(id)), Some(None)) => Some(AccountRef::Id(id)),
        (Some(None), Some(Some(id))) => Some(AccountRef::Admission(id)),
        (Some(Some(_)), Some(Some(_))) => {
            violations.add(
                "admission_id",
                "name the account or the admission, not both",
            );
            None
        }
        (Some(None), Some(None)) => {
            violations.add("account_id", "name the account or the admission");
            None
        }
        _ => None,
    };
    Ok(violations.finish(|| which)?)
}

pub(crate) fn adjust_account(message: &pb::AdjustAccountRequest) -> Result<Adjustment> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let account_id = violations.id("account_id", &message.account_id);
    let amount = money("amount", &message.amount, &mut violations);
    if amount.is_some_and(Money::is_zero) {
        violations.add("amount", "must not be zero");
    }
    let reason = violations.check("reason", Text::parse_required(&message.reason));
    let contract_id = violations.optional_id("contract_id", &message.contract_id);
    Ok(violations.finish(|| {
        Some(Adjustment {
            key: key?,
            account_id: account_id?,
            amount: amount?,
            reason: reason?,
            contract_id: contract_id?,
        })
    })?)
}

pub(crate) fn apply_package(
    message: &pb::ApplyPackageRequest,
) -> Result<(RequestKey, Uuid, String)> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let account_id = violations.id("account_id", &message.account_id);
    let code = violations.check("code", Code::parse(&message.code));
    Ok(violations.finish(|| Some((key?, account_id?, code?.as_str().to_owned())))?)
}

pub(crate) fn settle_account(message: &pb::SettleAccountRequest) -> Result<Settlement> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let account_id = violations.id("account_id", &message.account_id);
    let last = match pb::InvoiceKind::try_from(message.kind) {
        Ok(pb::InvoiceKind::Interim) => Some(false),
        Ok(pb::InvoiceKind::Final) => Some(true),
        _ => {
            violations.add("kind", "must be INTERIM or FINAL");
            None
        }
    };
    Ok(violations.finish(|| {
        Some(Settlement {
            key: key?,
            account_id: account_id?,
            last: last?,
        })
    })?)
}

pub(crate) fn open_shift(message: &pb::OpenShiftRequest) -> Result<NewShift> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let desk = violations.check("desk", Name::parse(&message.desk));
    let opening_float = if message.opening_float.is_empty() {
        Some(Money::ZERO)
    } else {
        not_negative("opening_float", &message.opening_float, &mut violations)
    };
    Ok(violations.finish(|| {
        Some(NewShift {
            key: key?,
            desk: desk?.as_str().to_owned(),
            opening_float: opening_float?,
        })
    })?)
}

pub(crate) fn record_payment(message: &pb::RecordPaymentRequest) -> Result<NewPayment> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let shift_id = violations.id("shift_id", &message.shift_id);
    let account_id = violations.id("account_id", &message.account_id);
    let kind = parse_payment_kind(message.kind);
    if kind.is_none() {
        violations.add("kind", "must be PAYMENT or DEPOSIT");
    }
    let method = parse_method(message.method);
    if method.is_none() {
        violations.add("method", "must be set");
    }
    let amount = positive("amount", &message.amount, &mut violations);
    let confirmation = message.confirmation_id.trim();
    let confirmation_id = if confirmation.is_empty() {
        if method.is_some_and(|method| method != PaymentMethod::Cash) {
            violations.add(
                "confirmation_id",
                "is required for card, mobile and bank payments",
            );
        }
        None
    } else if confirmation.len() > MAX_CONFIRMATION || confirmation.chars().any(char::is_control) {
        violations.add(
            "confirmation_id",
            format!("must be at most {MAX_CONFIRMATION} printable characters"),
        );
        None
    } else {
        Some(confirmation.to_owned())
    };
    Ok(violations.finish(|| {
        Some(NewPayment {
            key: key?,
            shift_id: shift_id?,
            account_id: account_id?,
            kind: kind?,
            method: method?,
            amount: amount?,
            confirmation_id,
        })
    })?)
}

pub(crate) fn refund_payment(message: &pb::RefundPaymentRequest) -> Result<NewRefund> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let shift_id = violations.id("shift_id", &message.shift_id);
    let payment_id = violations.id("payment_id", &message.payment_id);
    let amount = positive("amount", &message.amount, &mut violations);
    let method = match message.method {
        0 => Some(None),
        value => match parse_method(value) {
            Some(method) => Some(Some(method)),
            None => {
                violations.add("method", "is not a payment method");
                None
            }
        },
    };
    let reason = violations.check("reason", Text::parse_required(&message.reason));
    Ok(violations.finish(|| {
        Some(NewRefund {
            key: key?,
            shift_id: shift_id?,
            payment_id: payment_id?,
            amount: amount?,
            method: method?,
            reason: reason?,
        })
    })?)
}

pub(crate) fn close_shift(message: &pb::CloseShiftRequest) -> Result<Closing> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let shift_id = violations.id("shift_id", &message.shift_id);
    let counted_cash = not_negative("counted_cash", &message.counted_cash, &mut violations);
    Ok(violations.finish(|| {
        Some(Closing {
            key: key?,
            shift_id: shift_id?,
            counted_cash: counted_cash?,
        })
    })?)
}

/// Grouper tables one import may carry, per file.
const MAX_GROUPER_FILE: usize = 4 * 1024 * 1024;

/// An import of grouper tables, parsed: its key, the files, and what each holds.
pub(crate) type GrouperImport = (
    hmis_platform::idempotency::RequestKey,
    crate::store::GrouperFiles,
    (usize, usize, usize, usize),
);

pub(crate) fn import_grouper_tables(
    message: &pb::ImportGrouperTablesRequest,
) -> Result<GrouperImport> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let version = violations.check("version", Line::parse(&message.version));
    if version.as_ref().is_some_and(Line::is_empty) {
        violations.add("version", "is required");
    }
    let files = [
        ("diagnoses_csv", &message.diagnoses_csv),
        ("procedures_csv", &message.procedures_csv),
        ("severity_csv", &message.severity_csv),
        ("drgs_csv", &message.drgs_csv),
    ];
    for (field, text) in files {
        if text.trim().is_empty() || text.len() > MAX_GROUPER_FILE {
            violations.add(
                field,
                "must be a CSV file of at most 4 MiB with its header line",
            );
        }
    }
    let mut counts = None;
    if violations.is_empty() {
        match crate::domain::drg::Tables::from_csv(
            &message.diagnoses_csv,
            &message.procedures_csv,
            &message.severity_csv,
            &message.drgs_csv,
        ) {
            Ok(tables) => counts = Some(tables.counts()),
            Err(reason) => {
                // The reason starts with the file it found wrong.
                let field = match reason.split(':').next() {
                    Some("diagnoses") => "diagnoses_csv",
                    Some("procedures") => "procedures_csv",
                    Some("severity") => "severity_csv",
                    _ => "drgs_csv",
                };
                violations.add(field, reason);
            }
        }
    }
    Ok(violations.finish(|| {
        Some((
            key?,
            (
                version?.as_str().to_owned(),
                message.diagnoses_csv.clone(),
                message.procedures_csv.clone(),
                message.severity_csv.clone(),
                message.drgs_csv.clone(),
            ),
            counts?,
        ))
    })?)
}

/// Reasons a rejection may give.
const MAX_REASONS: usize = 20;

pub(crate) fn update_claim(message: &pb::UpdateClaimRequest) -> Result<crate::app::ClaimChange> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let admission_id = violations.id("admission_id", &message.admission_id);
    let status = crate::convert::parse_claim_status(message.status);
    if status.is_none() {
        violations.add(
            "status",
            "must be PREPARED, SENT, ACCEPTED, REJECTED or PAID",
        );
    }
    let rejected = status == Some("rejected");
    if rejected
        && (message.rejection_reasons.is_empty() || message.rejection_reasons.len() > MAX_REASONS)
    {
        violations.add(
            "rejection_reasons",
            format!("a rejection gives 1 to {MAX_REASONS} reasons"),
        );
    }
    if !rejected && !message.rejection_reasons.is_empty() {
        violations.add("rejection_reasons", "only a rejection gives reasons");
    }
    let mut reasons = Vec::new();
    for (index, reason) in message
        .rejection_reasons
        .iter()
        .take(MAX_REASONS)
        .enumerate()
    {
        if let Some(reason) = violations.check(
            &format!("rejection_reasons[{index}]"),
            Text::parse_required(reason),
        ) {
            reasons.push(reason.as_str().to_owned());
        }
    }
    let etag = violations.optional_etag("etag", &message.etag);
    Ok(violations.finish(|| {
        Some(crate::app::ClaimChange {
            key: key?,
            admission_id: admission_id?,
            status: status?,
            reasons,
            etag,
        })
    })?)
}

/// The longest period a report covers.
const MAX_REPORT_DAYS: i64 = 366;

/// A report's facility and its period of days (`facility_id`, `from_date`, `to_date`).
fn facility_period(
    (facility_id, from_date, to_date): (&str, &str, &str),
) -> Result<(Uuid, chrono::NaiveDate, chrono::NaiveDate)> {
    let mut violations = Violations::default();
    let facility_id = violations.id("facility_id", facility_id);
    let period = violations.period(("from_date", from_date), ("to_date", to_date));
    if let Some((from, to)) = period
        && (to - from).num_days() >= MAX_REPORT_DAYS
    {
        violations.add(
            "to_date",
            format!("a period covers at most {MAX_REPORT_DAYS} days"),
        );
    }
    Ok(violations.finish(|| {
        let (from, to) = period?;
        Some((facility_id?, from, to))
    })?)
}

pub(crate) fn case_mix(
    message: &pb::GetCaseMixRequest,
) -> Result<(Uuid, chrono::NaiveDate, chrono::NaiveDate)> {
    facility_period((&message.facility_id, &message.from_date, &message.to_date))
}

pub(crate) fn revenue(
    message: &pb::GetRevenueRequest,
) -> Result<(
    Uuid,
    chrono::NaiveDate,
    chrono::NaiveDate,
    crate::store::RevenueBy,
)> {
    use crate::store::RevenueBy;
    let (facility_id, from, to) =
        facility_period((&message.facility_id, &message.from_date, &message.to_date))?;
    let by = match pb::RevenueGrouping::try_from(message.group_by) {
        Ok(pb::RevenueGrouping::Ward) => RevenueBy::Ward,
        Ok(pb::RevenueGrouping::Physician) => RevenueBy::Physician,
        Ok(pb::RevenueGrouping::ServiceGroup) => RevenueBy::ServiceGroup,
        Ok(pb::RevenueGrouping::Payer) => RevenueBy::Payer,
        _ => {
            let mut violations = Violations::default();
            violations.add(
                "group_by",
                "must be WARD, PHYSICIAN, SERVICE_GROUP or PAYER",
            );
            return Err(crate::error::Error::from(violations));
        }
    };
    Ok((facility_id, from, to, by))
}

/// Lines a remittance may pay.
const MAX_REMITTANCE_LINES: usize = 1_000;

pub(crate) fn record_remittance(message: &pb::RecordRemittanceRequest) -> Result<NewRemittance> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let contract_id = violations.id("contract_id", &message.contract_id);
    let reference = violations.check("reference", Name::parse(&message.reference));
    let received_on = match violations.optional_date("received_date", &message.received_date) {
        Some(None) => {
            violations.add("received_date", "is required");
            None
        }
        found => found.flatten(),
    };
    let amount = positive("amount", &message.amount, &mut violations);
    let mut lines = Vec::with_capacity(message.lines.len().min(MAX_REMITTANCE_LINES));
    if message.lines.len() > MAX_REMITTANCE_LINES {
        violations.add(
            "lines",
            format!("a remittance pays at most {MAX_REMITTANCE_LINES} claims"),
        );
    } else {
        for (index, line) in message.lines.iter().enumerate() {
            let admission_id =
                violations.id(&format!("lines[{index}].admission_id"), &line.admission_id);
            let paid = not_negative(
                &format!("lines[{index}].amount"),
                &line.amount,
                &mut violations,
            );
            if let Some(admission_id) = admission_id {
                if lines.iter().any(|(id, _)| *id == admission_id) {
                    violations.add(
                        format!("lines[{index}].admission_id"),
                        "names a claim an earlier line pays",
                    );
                } else if let Some(paid) = paid {
                    lines.push((admission_id, paid));
                }
            }
        }
    }
    Ok(violations.finish(|| {
        Some(NewRemittance {
            key: key?,
            contract_id: contract_id?,
            reference: reference?.as_str().to_owned(),
            received_on: received_on?,
            amount: amount?,
            lines,
        })
    })?)
}

pub(crate) fn reconciliation(
    message: &pb::GetInsurerReconciliationRequest,
) -> Result<Reconciliation> {
    let (facility_id, from, to) =
        facility_period((&message.facility_id, &message.from_date, &message.to_date))?;
    let mut violations = Violations::default();
    let contract_id = violations.id("contract_id", &message.contract_id);
    let monthly = match pb::ReconciliationPeriod::try_from(message.period) {
        Ok(pb::ReconciliationPeriod::Day) => Some(false),
        Ok(pb::ReconciliationPeriod::Month) => Some(true),
        _ => {
            violations.add("period", "must be DAY or MONTH");
            None
        }
    };
    Ok(violations.finish(|| {
        Some(Reconciliation {
            contract_id: contract_id?,
            facility_id,
            from,
            to,
            monthly: monthly?,
        })
    })?)
}

pub(crate) fn set_ledger_accounts(
    message: &pb::SetLedgerAccountsRequest,
) -> Result<(RequestKey, Vec<(&'static str, String)>)> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let mut accounts: Vec<(&'static str, String)> = Vec::new();
    if message.accounts.is_empty() {
        violations.add("accounts", "name at least one role");
    }
    for (index, account) in message
        .accounts
        .iter()
        .enumerate()
        .take(LEDGER_ROLES.len() + 1)
    {
        let role = LEDGER_ROLES
            .iter()
            .map(|(role, _)| *role)
            .find(|role| *role == account.role);
        let Some(role) = role else {
            violations.add(
                format!("accounts[{index}].role"),
                "must be revenue, patients, insurers, cash, card, bank_transfer or mobile",
            );
            continue;
        };
        let code = account.code.as_str();
        if code.is_empty()
            || code.len() > 20
            || !code
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'-'))
        {
            violations.add(
                format!("accounts[{index}].code"),
                "must be 1 to 20 letters, digits, '.' or '-'",
            );
            continue;
        }
        if accounts.iter().any(|(set, _)| *set == role) {
            violations.add(format!("accounts[{index}].role"), "is named twice");
            continue;
        }
        accounts.push((role, code.to_owned()));
    }
    if message.accounts.len() > LEDGER_ROLES.len() {
        violations.add("accounts", "names a role twice");
    }
    Ok(violations.finish(|| Some((key?, accounts)))?)
}

pub(crate) fn export_journal(
    message: &pb::ExportJournalRequest,
) -> Result<(Uuid, chrono::NaiveDate, chrono::NaiveDate)> {
    facility_period((&message.facility_id, &message.from_date, &message.to_date))
}

pub(crate) fn list_drg_cases(
    message: &pb::ListDrgCasesRequest,
) -> Result<(
    Uuid,
    chrono::NaiveDate,
    chrono::NaiveDate,
    Option<&'static str>,
)> {
    let (facility_id, from, to) =
        facility_period((&message.facility_id, &message.from_date, &message.to_date))?;
    let status = match pb::ClaimStatus::try_from(message.claim_status) {
        Ok(pb::ClaimStatus::Unspecified) => None,
        Ok(pb::ClaimStatus::Void) => Some("void"),
        Ok(pb::ClaimStatus::NotInsured) => Some("not_insured"),
        _ => match crate::convert::parse_claim_status(message.claim_status) {
            Some(status) => Some(status),
            None => {
                let mut violations = Violations::default();
                violations.add("claim_status", "is not a claim status");
                return Err(crate::error::Error::from(violations));
            }
        },
    };
    Ok((facility_id, from, to, status))
}
