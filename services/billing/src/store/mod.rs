//! The only SQL of the billing module, to the `billing` schema only. Every function takes the
//! caller's tenant transaction, so row-level security keeps it to that tenant. Money crosses
//! as text (`$n::numeric` in, `::text` out) into [`Money`]; periods of validity are
//! `daterange` `[from, until]` so the exclusion constraints can compare them.

mod cases;
mod cash;
mod invoices;
mod ledger;
mod reports;
mod verify;

pub use cases::*;
pub use cash::*;
pub use invoices::*;
pub use ledger::*;
pub use reports::*;
pub use verify::*;

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use hmis_platform::TenantTx;
use hmis_platform::money::Money;
use sqlx::FromRow;
use uuid::Uuid;

use crate::domain::{
    AccountStatus, ChargeSource, PayerKind, Percent, SoFar, TariffKind, TariffUnit, Terms,
};
use crate::error::{Error, Result};

#[derive(Debug, Clone, FromRow)]
pub struct PriceListRow {
    pub id: Uuid,
    pub name: String,
    pub currency: String,
    pub valid_from: NaiveDate,
    pub valid_until: Option<NaiveDate>,
}

const PRICE_LIST_COLUMNS: &str = "id, name, currency, lower(valid) AS valid_from, \
     (upper(valid) - 1) AS valid_until";

pub async fn insert_price_list(
    tx: &mut TenantTx,
    row: &PriceListRow,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO billing.price_lists (tenant_id, id, name, currency, valid, created_at) \
         VALUES ($1, $2, $3, $4, daterange($5, $6, '[]'), $7)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(row.id)
    .bind(&row.name)
    .bind(&row.currency)
    .bind(row.valid_from)
    .bind(row.valid_until)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn price_lists(tx: &mut TenantTx) -> Result<Vec<PriceListRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {PRICE_LIST_COLUMNS} FROM billing.price_lists ORDER BY lower(valid)"
    )))
    .fetch_all(&mut **tx)
    .await?)
}

pub async fn get_price_list(tx: &mut TenantTx, id: Uuid) -> Result<PriceListRow> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {PRICE_LIST_COLUMNS} FROM billing.price_lists WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(Error::NotFound("price list"))
}

/// The tenant's currency: that of its latest price list.
pub async fn currency(tx: &mut TenantTx) -> Result<Option<String>> {
    Ok(sqlx::query_scalar(
        "SELECT currency FROM billing.price_lists ORDER BY lower(valid) DESC LIMIT 1",
    )
    .fetch_optional(&mut **tx)
    .await?)
}

#[derive(Debug, Clone, FromRow)]
pub struct TariffRow {
    pub kind: TariffKind,
    pub code_system: String,
    pub code: String,
    pub name: String,
    pub price: Option<Money>,
    pub unit: TariffUnit,
    pub margin_bp: Option<i32>,
    pub service_group: String,
    /// A package's contents.
    pub includes: Vec<String>,
}

const TARIFF_COLUMNS: &str = "t.kind, t.code_system, t.code, t.name, t.price::text AS price, \
     t.unit, t.margin_bp, t.service_group, t.includes";

/// Adds or replaces tariffs of a price list; how many were written.
pub async fn upsert_tariffs(
    tx: &mut TenantTx,
    price_list_id: Uuid,
    tariffs: &[TariffRow],
) -> Result<u64> {
    let mut written = 0;
    for tariff in tariffs {
        written += sqlx::query(
            "INSERT INTO billing.tariffs (tenant_id, price_list_id, kind, code_system, code, name, \
                 price, unit, margin_bp, service_group, includes) \
             VALUES ($1, $2, $3, $4, $5, $6, $7::numeric, $8, $9, $10, $11) \
             ON CONFLICT (tenant_id, price_list_id, kind, code_system, code) DO UPDATE SET \
                 name = EXCLUDED.name, price = EXCLUDED.price, unit = EXCLUDED.unit, \
                 margin_bp = EXCLUDED.margin_bp, service_group = EXCLUDED.service_group, \
                 includes = EXCLUDED.includes",
        )
        .bind(tx.tenant_id().as_uuid())
        .bind(price_list_id)
        .bind(tariff.kind)
        .bind(&tariff.code_system)
        .bind(&tariff.code)
        .bind(&tariff.name)
        .bind(tariff.price)
        .bind(tariff.unit)
        .bind(tariff.margin_bp)
        .bind(&tariff.service_group)
        .bind(&tariff.includes)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    }
    Ok(written)
}

pub async fn tariffs(tx: &mut TenantTx, price_list_id: Uuid) -> Result<Vec<TariffRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {TARIFF_COLUMNS} FROM billing.tariffs t WHERE t.price_list_id = $1 \
         ORDER BY t.kind, t.code_system, t.code"
    )))
    .bind(price_list_id)
    .fetch_all(&mut **tx)
    .await?)
}

/// The tariff of the price list valid on `day` for (kind, code system, code); for supplies,
/// the item's own rule or else the default rule ("*").
pub async fn tariff_on(
    tx: &mut TenantTx,
    kind: TariffKind,
    code_system: &str,
    code: &str,
    day: NaiveDate,
) -> Result<Option<TariffRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {TARIFF_COLUMNS} FROM billing.tariffs t \
         JOIN billing.price_lists p ON p.tenant_id = t.tenant_id AND p.id = t.price_list_id \
         WHERE p.valid @> $1::date AND t.kind = $2 AND t.code_system = $3 \
           AND (t.code = $4 OR ($2 = 'supply' AND t.code = '*')) \
         ORDER BY t.code = '*' LIMIT 1"
    )))
    .bind(day)
    .bind(kind)
    .bind(code_system)
    .bind(code)
    .fetch_optional(&mut **tx)
    .await?)
}

pub async fn set_care_level(tx: &mut TenantTx, department_id: Uuid, level: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO billing.ward_care_levels (tenant_id, department_id, care_level) \
         VALUES ($1, $2, $3) ON CONFLICT (tenant_id, department_id) \
         DO UPDATE SET care_level = EXCLUDED.care_level",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(department_id)
    .bind(level)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The care level of each of `departments` that has one.
pub async fn care_levels(tx: &mut TenantTx, departments: &[Uuid]) -> Result<HashMap<Uuid, String>> {
    let rows: Vec<(Uuid, String)> = sqlx::query_as(
        "SELECT department_id, care_level FROM billing.ward_care_levels \
         WHERE department_id = ANY($1)",
    )
    .bind(departments)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.into_iter().collect())
}

#[derive(Debug, Clone, FromRow)]
pub struct ContractRow {
    pub id: Uuid,
    pub payer_code: String,
    pub name: String,
    pub kind: PayerKind,
    pub default_bp: i32,
    pub coverage_bp: sqlx::types::Json<HashMap<String, i64>>,
    pub franchise: Money,
    pub ceiling: Option<Money>,
    pub drg_base_rate: Option<Money>,
}

impl ContractRow {
    pub fn terms(&self) -> Terms {
        Terms {
            contract_id: self.id,
            default_percent: Percent::from_basis_points(i64::from(self.default_bp)),
            coverage: (self.coverage_bp.0.iter())
                .map(|(group, bp)| (group.clone(), Percent::from_basis_points(*bp)))
                .collect(),
            franchise: self.franchise,
            ceiling: self.ceiling,
        }
    }
}

const CONTRACT_COLUMNS: &str = "id, payer_code, name, kind, default_bp, coverage_bp, \
     franchise::text AS franchise, ceiling::text AS ceiling, drg_base_rate::text AS drg_base_rate";

pub async fn insert_contract(
    tx: &mut TenantTx,
    row: &ContractRow,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO billing.contracts (tenant_id, id, payer_code, name, kind, default_bp, \
             coverage_bp, franchise, ceiling, drg_base_rate, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8::numeric, $9::numeric, $10::numeric, $11)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(row.id)
    .bind(&row.payer_code)
    .bind(&row.name)
    .bind(row.kind)
    .bind(row.default_bp)
    .bind(&row.coverage_bp)
    .bind(row.franchise)
    .bind(row.ceiling)
    .bind(row.drg_base_rate)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn contracts(tx: &mut TenantTx) -> Result<Vec<ContractRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {CONTRACT_COLUMNS} FROM billing.contracts ORDER BY kind, payer_code"
    )))
    .fetch_all(&mut **tx)
    .await?)
}

pub async fn get_contract(tx: &mut TenantTx, id: Uuid) -> Result<ContractRow> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {CONTRACT_COLUMNS} FROM billing.contracts WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(Error::NotFound("insurance contract"))
}

#[derive(Debug, Clone, FromRow)]
pub struct CoverageRow {
    pub id: Uuid,
    pub patient_id: Uuid,
    pub contract_id: Uuid,
    pub policy_number: String,
    pub valid_from: NaiveDate,
    pub valid_until: Option<NaiveDate>,
}

pub async fn insert_coverage(tx: &mut TenantTx, row: &CoverageRow, kind: PayerKind) -> Result<()> {
    sqlx::query(
        "INSERT INTO billing.coverages (tenant_id, id, patient_id, contract_id, contract_kind, \
             policy_number, valid) \
         VALUES ($1, $2, $3, $4, $5, $6, daterange($7, $8, '[]'))",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(row.id)
    .bind(row.patient_id)
    .bind(row.contract_id)
    .bind(kind)
    .bind(&row.policy_number)
    .bind(row.valid_from)
    .bind(row.valid_until)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The patient's policies valid on `day`, with their contracts.
pub async fn coverages_on(
    tx: &mut TenantTx,
    patient_id: Uuid,
    day: NaiveDate,
) -> Result<Vec<(CoverageRow, ContractRow)>> {
    let coverages: Vec<CoverageRow> = sqlx::query_as(
        "SELECT id, patient_id, contract_id, policy_number, lower(valid) AS valid_from, \
             (upper(valid) - 1) AS valid_until \
         FROM billing.coverages WHERE patient_id = $1 AND valid @> $2::date \
         ORDER BY contract_kind",
    )
    .bind(patient_id)
    .bind(day)
    .fetch_all(&mut **tx)
    .await?;
    let mut found = Vec::with_capacity(coverages.len());
    for coverage in coverages {
        let contract = get_contract(tx, coverage.contract_id).await?;
        found.push((coverage, contract));
    }
    Ok(found)
}

#[derive(Debug, Clone, FromRow)]
pub struct AccountRow {
    pub id: Uuid,
    pub patient_id: Uuid,
    pub admission_id: Option<Uuid>,
    pub status: AccountStatus,
    pub facility_id: Option<Uuid>,
    pub physician_id: Option<Uuid>,
    pub admit_time: Option<DateTime<Utc>>,
    pub discharge_time: Option<DateTime<Utc>>,
    pub total: Money,
    pub patient_total: Money,
    pub paid: Money,
    pub opened_at: DateTime<Utc>,
}

const ACCOUNT_COLUMNS: &str = "id, patient_id, admission_id, status, facility_id, physician_id, \
     admit_time, discharge_time, total::text AS total, patient_total::text AS patient_total, \
     paid::text AS paid, opened_at";

/// What an admission's events say about it.
#[derive(Debug, Clone)]
pub struct AdmissionFacts {
    pub admission_id: Uuid,
    pub patient_id: Uuid,
    pub version: i64,
    pub facility_id: Uuid,
    pub physician_id: Option<Uuid>,
    pub admit_time: DateTime<Utc>,
    pub discharge_time: Option<DateTime<Utc>>,
    pub cancelled: bool,
}

/// The account of an admission, made on first sight (by its events or a charge that names
/// it), locked for the caller's transaction.
pub async fn admission_account(
    tx: &mut TenantTx,
    admission_id: Uuid,
    patient_id: Uuid,
    now: DateTime<Utc>,
) -> Result<AccountRow> {
    sqlx::query(
        "INSERT INTO billing.accounts (tenant_id, id, patient_id, admission_id, status, opened_at) \
         VALUES ($1, $2, $3, $4, 'open', $5) \
         ON CONFLICT (tenant_id, admission_id) DO NOTHING",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(Uuid::now_v7())
    .bind(patient_id)
    .bind(admission_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ACCOUNT_COLUMNS} FROM billing.accounts WHERE admission_id = $1 FOR UPDATE"
    )))
    .bind(admission_id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(Error::NotFound("account"))
}

/// Opens an admission's account or keeps the admission's facts on it (unless a newer version
/// is already there), in one statement. A settled account stays settled while the admission
/// is discharged.
pub async fn follow_admission(
    tx: &mut TenantTx,
    facts: &AdmissionFacts,
    now: DateTime<Utc>,
) -> Result<()> {
    let status = if facts.cancelled {
        AccountStatus::Cancelled
    } else {
        AccountStatus::Open
    };
    sqlx::query(
        "INSERT INTO billing.accounts (tenant_id, id, patient_id, admission_id, status, \
             opened_at, source_version, facility_id, physician_id, admit_time, discharge_time) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         ON CONFLICT (tenant_id, admission_id) DO UPDATE SET \
             source_version = EXCLUDED.source_version, facility_id = EXCLUDED.facility_id, \
             physician_id = EXCLUDED.physician_id, admit_time = EXCLUDED.admit_time, \
             discharge_time = EXCLUDED.discharge_time, \
             status = CASE WHEN accounts.status = 'settled' AND EXCLUDED.status = 'open' \
                                AND EXCLUDED.discharge_time IS NOT NULL \
                           THEN 'settled' ELSE EXCLUDED.status END \
         WHERE accounts.source_version < EXCLUDED.source_version",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(Uuid::now_v7())
    .bind(facts.patient_id)
    .bind(facts.admission_id)
    .bind(status)
    .bind(now)
    .bind(facts.version)
    .bind(facts.facility_id)
    .bind(facts.physician_id)
    .bind(facts.admit_time)
    .bind(facts.discharge_time)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The patient's open outpatient account, opened if there is none, locked.
pub async fn outpatient_account(
    tx: &mut TenantTx,
    patient_id: Uuid,
    now: DateTime<Utc>,
) -> Result<AccountRow> {
    sqlx::query(
        "INSERT INTO billing.accounts (tenant_id, id, patient_id, status, opened_at) \
         VALUES ($1, $2, $3, 'open', $4) \
         ON CONFLICT (tenant_id, patient_id) WHERE admission_id IS NULL AND status = 'open' \
         DO NOTHING",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(Uuid::now_v7())
    .bind(patient_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ACCOUNT_COLUMNS} FROM billing.accounts \
         WHERE patient_id = $1 AND admission_id IS NULL AND status = 'open' FOR UPDATE"
    )))
    .bind(patient_id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(Error::NotFound("account"))
}

/// The account of the admission the patient was in at `at`, if billing knows of one, locked.
pub async fn inpatient_account_at(
    tx: &mut TenantTx,
    patient_id: Uuid,
    at: DateTime<Utc>,
) -> Result<Option<AccountRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ACCOUNT_COLUMNS} FROM billing.accounts \
         WHERE patient_id = $1 AND admission_id IS NOT NULL AND status IN ('open', 'settled') \
           AND admit_time <= $2 AND (discharge_time IS NULL OR discharge_time >= $2) \
         ORDER BY admit_time DESC LIMIT 1 FOR UPDATE"
    )))
    .bind(patient_id)
    .bind(at)
    .fetch_optional(&mut **tx)
    .await?)
}

pub async fn get_account(tx: &mut TenantTx, id: Uuid) -> Result<AccountRow> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ACCOUNT_COLUMNS} FROM billing.accounts WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(Error::NotFound("account"))
}

pub async fn lock_account(tx: &mut TenantTx, id: Uuid) -> Result<AccountRow> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ACCOUNT_COLUMNS} FROM billing.accounts WHERE id = $1 FOR UPDATE"
    )))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(Error::NotFound("account"))
}

pub async fn account_of_admission(tx: &mut TenantTx, admission_id: Uuid) -> Result<AccountRow> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ACCOUNT_COLUMNS} FROM billing.accounts WHERE admission_id = $1"
    )))
    .bind(admission_id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(Error::NotFound("account"))
}

pub async fn accounts_of(tx: &mut TenantTx, patient_id: Uuid) -> Result<Vec<AccountRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ACCOUNT_COLUMNS} FROM billing.accounts WHERE patient_id = $1 \
         ORDER BY opened_at DESC LIMIT 500"
    )))
    .bind(patient_id)
    .fetch_all(&mut **tx)
    .await?)
}

#[derive(Debug, Clone, FromRow)]
pub struct ChargeRow {
    pub id: Uuid,
    pub account_id: Uuid,
    pub source: ChargeSource,
    pub source_key: String,
    pub code_system: String,
    pub code: String,
    pub description: String,
    pub quantity: String,
    pub unit_price: Money,
    pub amount: Money,
    pub national_contract_id: Option<Uuid>,
    pub national_amount: Money,
    pub supplementary_contract_id: Option<Uuid>,
    pub supplementary_amount: Money,
    pub patient_amount: Money,
    pub franchise_applied: Money,
    pub service_group: String,
    pub service_time: DateTime<Utc>,
    pub department_id: Option<Uuid>,
    pub physician_id: Option<Uuid>,
    pub reverses_id: Option<Uuid>,
    pub unpriced: bool,
    pub reason: String,
    pub approved_by: Option<Uuid>,
}

pub(crate) const CHARGE_COLUMNS: &str = "id, account_id, source, source_key, code_system, code, \
     description, trim_scale(quantity)::text AS quantity, unit_price::text AS unit_price, \
     amount::text AS amount, national_contract_id, national_amount::text AS national_amount, \
     supplementary_contract_id, supplementary_amount::text AS supplementary_amount, \
     patient_amount::text AS patient_amount, franchise_applied::text AS franchise_applied, \
     service_group, service_time, department_id, physician_id, reverses_id, unpriced, reason, \
     approved_by";

/// Writes a charge and adds it to its account's totals, unless its source was charged
/// already (`false`). The account is locked by the caller.
pub async fn insert_charge(tx: &mut TenantTx, row: &ChargeRow, now: DateTime<Utc>) -> Result<bool> {
    let inserted = sqlx::query(
        "INSERT INTO billing.charges (tenant_id, id, account_id, source, source_key, code_system, \
             code, description, quantity, unit_price, amount, national_contract_id, \
             national_amount, supplementary_contract_id, supplementary_amount, patient_amount, \
             franchise_applied, service_group, service_time, department_id, physician_id, \
             reverses_id, unpriced, reason, approved_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::numeric, $10::numeric, $11::numeric, $12, \
             $13::numeric, $14, $15::numeric, $16::numeric, $17::numeric, $18, $19, $20, $21, \
             $22, $23, $24, $25, $26) \
         ON CONFLICT (tenant_id, source_key) DO NOTHING",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(row.id)
    .bind(row.account_id)
    .bind(row.source)
    .bind(&row.source_key)
    .bind(&row.code_system)
    .bind(&row.code)
    .bind(&row.description)
    .bind(&row.quantity)
    .bind(row.unit_price)
    .bind(row.amount)
    .bind(row.national_contract_id)
    .bind(row.national_amount)
    .bind(row.supplementary_contract_id)
    .bind(row.supplementary_amount)
    .bind(row.patient_amount)
    .bind(row.franchise_applied)
    .bind(&row.service_group)
    .bind(row.service_time)
    .bind(row.department_id)
    .bind(row.physician_id)
    .bind(row.reverses_id)
    .bind(row.unpriced)
    .bind(&row.reason)
    .bind(row.approved_by)
    .bind(now)
    .execute(&mut **tx)
    .await?
    .rows_affected()
        > 0;
    if inserted {
        sqlx::query(
            "UPDATE billing.accounts SET total = total + $2::numeric, \
                 patient_total = patient_total + $3::numeric WHERE id = $1",
        )
        .bind(row.account_id)
        .bind(row.amount)
        .bind(row.patient_amount)
        .execute(&mut **tx)
        .await?;
    }
    Ok(inserted)
}

pub async fn charges_of(tx: &mut TenantTx, account_id: Uuid) -> Result<Vec<ChargeRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {CHARGE_COLUMNS} FROM billing.charges WHERE account_id = $1 \
         ORDER BY service_time, created_at, id"
    )))
    .bind(account_id)
    .fetch_all(&mut **tx)
    .await?)
}

pub async fn charge_by_source(tx: &mut TenantTx, source_key: &str) -> Result<Option<ChargeRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {CHARGE_COLUMNS} FROM billing.charges WHERE source_key = $1"
    )))
    .bind(source_key)
    .fetch_optional(&mut **tx)
    .await?)
}

/// The charges of an account (of `source`, or all) that are neither reversals nor reversed.
pub async fn standing_charges(
    tx: &mut TenantTx,
    account_id: Uuid,
    source: Option<ChargeSource>,
) -> Result<Vec<ChargeRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {CHARGE_COLUMNS} FROM billing.charges c WHERE account_id = $1 \
           AND reverses_id IS NULL AND ($2::text IS NULL OR source = $2) \
           AND NOT EXISTS (SELECT 1 FROM billing.charges r \
                           WHERE r.tenant_id = c.tenant_id AND r.reverses_id = c.id) \
         ORDER BY service_time, id"
    )))
    .bind(account_id)
    .bind(source)
    .fetch_all(&mut **tx)
    .await?)
}

/// What `contract` has taken on in the account so far, and the franchise borne against it.
pub async fn so_far(tx: &mut TenantTx, account_id: Uuid, contract_id: Uuid) -> Result<SoFar> {
    let (paid, franchise): (Money, Money) = sqlx::query_as(
        "SELECT coalesce(sum(CASE WHEN national_contract_id = $2 THEN national_amount ELSE 0 END) \
                  + sum(CASE WHEN supplementary_contract_id = $2 THEN supplementary_amount \
                             ELSE 0 END), 0)::numeric(14,2)::text, \
                coalesce(sum(CASE WHEN national_contract_id = $2 THEN franchise_applied \
                                  ELSE 0 END), 0)::numeric(14,2)::text \
         FROM billing.charges WHERE account_id = $1",
    )
    .bind(account_id)
    .bind(contract_id)
    .fetch_one(&mut **tx)
    .await?;
    Ok(SoFar { paid, franchise })
}

/// What the patient owes, account by account, where it is more than nothing.
pub async fn owing(tx: &mut TenantTx, patient_id: Uuid) -> Result<Vec<(Uuid, Money)>> {
    Ok(sqlx::query_as(
        "SELECT id, (patient_total - paid)::text FROM billing.accounts \
         WHERE patient_id = $1 AND patient_total > paid ORDER BY opened_at",
    )
    .bind(patient_id)
    .fetch_all(&mut **tx)
    .await?)
}
