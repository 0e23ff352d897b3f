//! Invoices: the charges of an account not billed yet, an invoice and the charges it bills
//! (each on one invoice at most: `invoice_charges_once`), numbers from a gap-free series.

use chrono::{DateTime, Utc};
use hmis_platform::TenantTx;
use hmis_platform::money::Money;
use sqlx::FromRow;
use uuid::Uuid;

use super::{CHARGE_COLUMNS, ChargeRow};
use crate::domain::InvoiceKind;
use crate::error::Result;

#[derive(Debug, Clone, FromRow)]
pub struct InvoiceRow {
    pub id: Uuid,
    pub account_id: Uuid,
    pub number: String,
    pub kind: InvoiceKind,
    pub charge_count: i32,
    pub total: Money,
    pub insurers_total: Money,
    pub patient_total: Money,
    pub paid: Money,
    pub patient_due: Money,
    pub warnings: Vec<String>,
    pub issued_by: Uuid,
    pub issued_at: DateTime<Utc>,
}

const INVOICE_COLUMNS: &str = "id, account_id, number, kind, charge_count, total::text AS total, \
     insurers_total::text AS insurers_total, patient_total::text AS patient_total, \
     paid::text AS paid, patient_due::text AS patient_due, warnings, issued_by, issued_at";

/// The account's charges on no invoice yet, in service order.
pub async fn uninvoiced_charges(tx: &mut TenantTx, account_id: Uuid) -> Result<Vec<ChargeRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {CHARGE_COLUMNS} FROM billing.charges c WHERE account_id = $1 \
           AND NOT EXISTS (SELECT 1 FROM billing.invoice_charges i \
                           WHERE i.tenant_id = c.tenant_id AND i.charge_id = c.id) \
         ORDER BY service_time, created_at, id"
    )))
    .bind(account_id)
    .fetch_all(&mut **tx)
    .await?)
}

/// Writes an invoice and the charges it bills.
pub async fn insert_invoice(
    tx: &mut TenantTx,
    invoice: &InvoiceRow,
    charge_ids: &[Uuid],
) -> Result<()> {
    sqlx::query(
        "INSERT INTO billing.invoices (tenant_id, id, account_id, number, kind, charge_count, \
             total, insurers_total, patient_total, paid, patient_due, warnings, issued_by, \
             issued_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7::numeric, $8::numeric, $9::numeric, $10::numeric, \
             $11::numeric, $12, $13, $14)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(invoice.id)
    .bind(invoice.account_id)
    .bind(&invoice.number)
    .bind(invoice.kind)
    .bind(invoice.charge_count)
    .bind(invoice.total)
    .bind(invoice.insurers_total)
    .bind(invoice.patient_total)
    .bind(invoice.paid)
    .bind(invoice.patient_due)
    .bind(&invoice.warnings)
    .bind(invoice.issued_by)
    .bind(invoice.issued_at)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO billing.invoice_charges (tenant_id, charge_id, invoice_id) \
         SELECT $1, charge_id, $2 FROM unnest($3::uuid[]) AS charge_id",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(invoice.id)
    .bind(charge_ids)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The account's invoices, oldest first.
pub async fn invoices_of(tx: &mut TenantTx, account_id: Uuid) -> Result<Vec<InvoiceRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {INVOICE_COLUMNS} FROM billing.invoices WHERE account_id = $1 \
         ORDER BY issued_at, number"
    )))
    .bind(account_id)
    .fetch_all(&mut **tx)
    .await?)
}

/// (charge, invoice) of the account's invoiced charges.
pub async fn invoiced_charges_of(tx: &mut TenantTx, account_id: Uuid) -> Result<Vec<(Uuid, Uuid)>> {
    Ok(sqlx::query_as(
        "SELECT i.charge_id, i.invoice_id FROM billing.invoice_charges i \
         JOIN billing.invoices v ON v.tenant_id = i.tenant_id AND v.id = i.invoice_id \
         WHERE v.account_id = $1",
    )
    .bind(account_id)
    .fetch_all(&mut **tx)
    .await?)
}

/// Marks the account settled (its final invoice was issued).
pub async fn settle(tx: &mut TenantTx, account_id: Uuid) -> Result<()> {
    sqlx::query("UPDATE billing.accounts SET status = 'settled' WHERE id = $1")
        .bind(account_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The package applied to an account: (code, name, includes).
pub async fn package_of(
    tx: &mut TenantTx,
    account_id: Uuid,
) -> Result<Option<(String, String, Vec<String>)>> {
    Ok(sqlx::query_as(
        "SELECT code, name, includes FROM billing.account_packages WHERE account_id = $1",
    )
    .bind(account_id)
    .fetch_optional(&mut **tx)
    .await?)
}

/// Applies a package to an account; `false` when it has one already.
pub async fn apply_package(
    tx: &mut TenantTx,
    account_id: Uuid,
    (code, name, includes): (&str, &str, &[String]),
    applied_by: Uuid,
    now: DateTime<Utc>,
) -> Result<bool> {
    Ok(sqlx::query(
        "INSERT INTO billing.account_packages (tenant_id, account_id, code, name, includes, \
             applied_by, applied_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (tenant_id, account_id) DO NOTHING",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(account_id)
    .bind(code)
    .bind(name)
    .bind(includes)
    .bind(applied_by)
    .bind(now)
    .execute(&mut **tx)
    .await?
    .rows_affected()
        > 0)
}
