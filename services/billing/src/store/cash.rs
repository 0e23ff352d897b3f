//! The cash desk's SQL: shifts, gap-free receipt numbers, payments and refunds.

use chrono::{DateTime, Utc};
use hmis_platform::TenantTx;
use hmis_platform::money::Money;
use sqlx::FromRow;
use uuid::Uuid;

use crate::domain::{PaymentKind, PaymentMethod};
use crate::error::{Error, Result};

#[derive(Debug, Clone, FromRow)]
pub struct ShiftRow {
    pub id: Uuid,
    pub cashier_id: Uuid,
    pub desk: String,
    pub opening_float: Money,
    pub opened_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub counted_cash: Option<Money>,
}

const SHIFT_COLUMNS: &str = "id, cashier_id, desk, opening_float::text AS opening_float, \
     opened_at, closed_at, counted_cash::text AS counted_cash";

pub async fn insert_shift(tx: &mut TenantTx, row: &ShiftRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO billing.shifts (tenant_id, id, cashier_id, desk, opening_float, opened_at) \
         VALUES ($1, $2, $3, $4, $5::numeric, $6)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(row.id)
    .bind(row.cashier_id)
    .bind(&row.desk)
    .bind(row.opening_float)
    .bind(row.opened_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn get_shift(tx: &mut TenantTx, id: Uuid) -> Result<ShiftRow> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {SHIFT_COLUMNS} FROM billing.shifts WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(Error::NotFound("shift"))
}

/// The cashier's open shift, if any.
pub async fn open_shift_of(tx: &mut TenantTx, cashier_id: Uuid) -> Result<Option<ShiftRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {SHIFT_COLUMNS} FROM billing.shifts WHERE cashier_id = $1 AND closed_at IS NULL"
    )))
    .bind(cashier_id)
    .fetch_optional(&mut **tx)
    .await?)
}

/// The shift, held against closing while the caller's transaction takes money in it
/// (`FOR SHARE`), or locked to close it (`exclusive`).
pub async fn hold_shift(tx: &mut TenantTx, id: Uuid, exclusive: bool) -> Result<ShiftRow> {
    let lock = if exclusive { "FOR UPDATE" } else { "FOR SHARE" };
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {SHIFT_COLUMNS} FROM billing.shifts WHERE id = $1 {lock}"
    )))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(Error::NotFound("shift"))
}

/// A gap-free numbering of the tenant's per year.
#[derive(Debug, Clone, Copy)]
pub enum Series {
    /// Payments' and refunds' receipts, "R2026-000001".
    Receipts,
    /// Invoices, "F2026-000001".
    Invoices,
}

/// The next number of the tenant's `series` for `year`, taken under the series' row lock so
/// numbers are gap-free: a rolled-back payment or invoice gives its number back.
pub async fn next_number(tx: &mut TenantTx, series: Series, year: i32) -> Result<String> {
    let (table, prefix) = match series {
        Series::Receipts => ("billing.receipt_series", 'R'),
        Series::Invoices => ("billing.invoice_series", 'F'),
    };
    let number: i32 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "INSERT INTO {table} AS s (tenant_id, year, last) VALUES ($1, $2, 1) \
         ON CONFLICT (tenant_id, year) DO UPDATE SET last = s.last + 1 \
         RETURNING last"
    )))
    .bind(tx.tenant_id().as_uuid())
    .bind(year)
    .fetch_one(&mut **tx)
    .await?;
    Ok(format!("{prefix}{year}-{number:06}"))
}

#[derive(Debug, Clone, FromRow)]
pub struct PaymentRow {
    pub id: Uuid,
    pub account_id: Uuid,
    pub shift_id: Uuid,
    pub kind: PaymentKind,
    pub method: PaymentMethod,
    pub amount: Money,
    pub refunded: Money,
    pub receipt_number: String,
    pub confirmation_id: Option<String>,
    pub cashier_id: Uuid,
    pub paid_at: DateTime<Utc>,
}

const PAYMENT_COLUMNS: &str = "id, account_id, shift_id, kind, method, amount::text AS amount, \
     refunded::text AS refunded, receipt_number, confirmation_id, cashier_id, paid_at";

pub async fn payment_by_confirmation(
    tx: &mut TenantTx,
    confirmation_id: &str,
) -> Result<Option<PaymentRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {PAYMENT_COLUMNS} FROM billing.payments WHERE confirmation_id = $1"
    )))
    .bind(confirmation_id)
    .fetch_optional(&mut **tx)
    .await?)
}

/// Writes a payment and credits its (locked) account.
pub async fn insert_payment(tx: &mut TenantTx, row: &PaymentRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO billing.payments (tenant_id, id, account_id, shift_id, kind, method, amount, \
             receipt_number, confirmation_id, cashier_id, paid_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7::numeric, $8, $9, $10, $11)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(row.id)
    .bind(row.account_id)
    .bind(row.shift_id)
    .bind(row.kind)
    .bind(row.method)
    .bind(row.amount)
    .bind(&row.receipt_number)
    .bind(&row.confirmation_id)
    .bind(row.cashier_id)
    .bind(row.paid_at)
    .execute(&mut **tx)
    .await?;
    credit(tx, row.account_id, row.amount).await
}

async fn credit(tx: &mut TenantTx, account_id: Uuid, amount: Money) -> Result<()> {
    sqlx::query("UPDATE billing.accounts SET paid = paid + $2::numeric WHERE id = $1")
        .bind(account_id)
        .bind(amount)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub async fn get_payment(tx: &mut TenantTx, id: Uuid) -> Result<PaymentRow> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {PAYMENT_COLUMNS} FROM billing.payments WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(Error::NotFound("payment"))
}

pub async fn payments_of(tx: &mut TenantTx, account_id: Uuid) -> Result<Vec<PaymentRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {PAYMENT_COLUMNS} FROM billing.payments WHERE account_id = $1 ORDER BY paid_at, id"
    )))
    .bind(account_id)
    .fetch_all(&mut **tx)
    .await?)
}

#[derive(Debug, Clone, FromRow)]
pub struct RefundRow {
    pub id: Uuid,
    pub payment_id: Uuid,
    pub shift_id: Uuid,
    pub method: PaymentMethod,
    pub amount: Money,
    pub reason: String,
    pub receipt_number: String,
    pub cashier_id: Uuid,
    pub refunded_at: DateTime<Utc>,
}

const REFUND_COLUMNS: &str = "r.id, r.payment_id, r.shift_id, r.method, r.amount::text AS amount, \
     r.reason, r.receipt_number, r.cashier_id, r.refunded_at";

/// Takes `refund.amount` off what is left of its payment — the payment's row refuses going
/// past what was paid (payments_refund_within_amount), and its row lock queues concurrent
/// refunds — then writes the refund and debits the account.
pub async fn insert_refund(tx: &mut TenantTx, refund: &RefundRow, account_id: Uuid) -> Result<()> {
    sqlx::query("UPDATE billing.payments SET refunded = refunded + $2::numeric WHERE id = $1")
        .bind(refund.payment_id)
        .bind(refund.amount)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT INTO billing.refunds (tenant_id, id, payment_id, shift_id, method, amount, reason, \
             receipt_number, cashier_id, refunded_at) \
         VALUES ($1, $2, $3, $4, $5, $6::numeric, $7, $8, $9, $10)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(refund.id)
    .bind(refund.payment_id)
    .bind(refund.shift_id)
    .bind(refund.method)
    .bind(refund.amount)
    .bind(&refund.reason)
    .bind(&refund.receipt_number)
    .bind(refund.cashier_id)
    .bind(refund.refunded_at)
    .execute(&mut **tx)
    .await?;
    credit(tx, account_id, -refund.amount).await
}

pub async fn refunds_of(tx: &mut TenantTx, account_id: Uuid) -> Result<Vec<RefundRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {REFUND_COLUMNS} FROM billing.refunds r \
         JOIN billing.payments p ON p.tenant_id = r.tenant_id AND p.id = r.payment_id \
         WHERE p.account_id = $1 ORDER BY r.refunded_at, r.id"
    )))
    .bind(account_id)
    .fetch_all(&mut **tx)
    .await?)
}

/// One method's money in a shift.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct MethodTotalRow {
    pub method: PaymentMethod,
    pub payments: Money,
    pub deposits: Money,
    pub refunds: Money,
}

/// The shift's money by method, added up from its payments and refunds.
pub async fn shift_totals(
    tx: &mut TenantTx,
    shift_id: Uuid,
) -> Result<(Vec<MethodTotalRow>, i64, i64)> {
    let totals = sqlx::query_as(
        "SELECT method, \
             sum(CASE WHEN kind = 'payment' THEN amount ELSE 0 END)::text AS payments, \
             sum(CASE WHEN kind = 'deposit' THEN amount ELSE 0 END)::text AS deposits, \
             sum(refund)::text AS refunds \
         FROM (SELECT method, kind, amount, 0::numeric AS refund FROM billing.payments \
               WHERE shift_id = $1 \
               UNION ALL \
               SELECT method, 'refund', 0, amount FROM billing.refunds WHERE shift_id = $1) m \
         GROUP BY method ORDER BY method",
    )
    .bind(shift_id)
    .fetch_all(&mut **tx)
    .await?;
    let (payments, refunds): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM billing.payments WHERE shift_id = $1), \
                (SELECT count(*) FROM billing.refunds WHERE shift_id = $1)",
    )
    .bind(shift_id)
    .fetch_one(&mut **tx)
    .await?;
    Ok((totals, payments, refunds))
}

/// Closes a (locked) shift with the cash counted and keeps its report as closed.
pub async fn close_shift(
    tx: &mut TenantTx,
    shift_id: Uuid,
    counted_cash: Money,
    totals: &[MethodTotalRow],
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "UPDATE billing.shifts SET closed_at = $2, counted_cash = $3::numeric WHERE id = $1",
    )
    .bind(shift_id)
    .bind(now)
    .bind(counted_cash)
    .execute(&mut **tx)
    .await?;
    for total in totals {
        sqlx::query(
            "INSERT INTO billing.shift_totals (tenant_id, shift_id, method, payments, deposits, \
                 refunds) VALUES ($1, $2, $3, $4::numeric, $5::numeric, $6::numeric)",
        )
        .bind(tx.tenant_id().as_uuid())
        .bind(shift_id)
        .bind(total.method)
        .bind(total.payments)
        .bind(total.deposits)
        .bind(total.refunds)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// The report a closed shift was closed with.
pub async fn kept_totals(tx: &mut TenantTx, shift_id: Uuid) -> Result<Vec<MethodTotalRow>> {
    Ok(sqlx::query_as(
        "SELECT method, payments::text AS payments, deposits::text AS deposits, \
             refunds::text AS refunds \
         FROM billing.shift_totals WHERE shift_id = $1 ORDER BY method",
    )
    .bind(shift_id)
    .fetch_all(&mut **tx)
    .await?)
}
