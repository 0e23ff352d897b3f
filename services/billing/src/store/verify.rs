//! What `openhmis billing verify` asks of every tenant's money, as the worker role: the
//! totals kept on accounts, closed shifts and invoices, recomputed from the rows they add up.

use sqlx::{FromRow, PgPool};
use uuid::Uuid;

use crate::error::Result;

/// An account whose kept totals are not what its charges and payments add up to.
#[derive(Debug, Clone, FromRow)]
pub struct AccountDiscrepancy {
    pub tenant_id: Uuid,
    pub account_id: Uuid,
    /// "total", "patient_total" or "paid".
    pub what: String,
    pub kept: String,
    pub recomputed: String,
}

/// A closed shift whose kept report is not what its payments and refunds add up to.
#[derive(Debug, Clone, FromRow)]
pub struct ShiftDiscrepancy {
    pub tenant_id: Uuid,
    pub shift_id: Uuid,
    pub method: String,
    pub kept: String,
    pub recomputed: String,
}

/// An invoice whose kept totals are not what the charges it bills add up to.
#[derive(Debug, Clone, FromRow)]
pub struct InvoiceDiscrepancy {
    pub tenant_id: Uuid,
    pub invoice_id: Uuid,
    pub number: String,
    /// "charges", "total" or "patient_total".
    pub what: String,
    pub kept: String,
    pub recomputed: String,
}

pub async fn invoice_discrepancies(worker: &PgPool) -> Result<(i64, Vec<InvoiceDiscrepancy>)> {
    let checked: i64 = sqlx::query_scalar("SELECT count(*) FROM billing.invoices")
        .fetch_one(worker)
        .await?;
    let found = sqlx::query_as(
        "WITH billed AS ( \
             SELECT i.tenant_id, i.invoice_id, count(*) AS charges, sum(c.amount) AS total, \
                    sum(c.patient_amount) AS patient_total \
             FROM billing.invoice_charges i \
             JOIN billing.charges c ON c.tenant_id = i.tenant_id AND c.id = i.charge_id \
             GROUP BY i.tenant_id, i.invoice_id), \
         recomputed AS ( \
             SELECT v.tenant_id, v.id, v.number, v.charge_count::numeric AS charges, v.total, \
                    v.patient_total, coalesce(b.charges, 0)::numeric AS b_charges, \
                    coalesce(b.total, 0) AS b_total, \
                    coalesce(b.patient_total, 0) AS b_patient_total \
             FROM billing.invoices v \
             LEFT JOIN billed b ON b.tenant_id = v.tenant_id AND b.invoice_id = v.id) \
         SELECT tenant_id, id AS invoice_id, number, what, kept::text, recomputed::text FROM ( \
             SELECT tenant_id, id, number, 'charges' AS what, charges AS kept, \
                    b_charges AS recomputed FROM recomputed \
             UNION ALL SELECT tenant_id, id, number, 'total', total, b_total FROM recomputed \
             UNION ALL SELECT tenant_id, id, number, 'patient_total', patient_total, \
                    b_patient_total FROM recomputed) d \
         WHERE kept <> recomputed ORDER BY 1, 3, 4",
    )
    .fetch_all(worker)
    .await?;
    Ok((checked, found))
}

pub async fn account_discrepancies(worker: &PgPool) -> Result<(i64, Vec<AccountDiscrepancy>)> {
    let checked: i64 = sqlx::query_scalar("SELECT count(*) FROM billing.accounts")
        .fetch_one(worker)
        .await?;
    let found = sqlx::query_as(
        "WITH charged AS ( \
             SELECT tenant_id, account_id, sum(amount) AS total, \
                    sum(patient_amount) AS patient_total \
             FROM billing.charges GROUP BY tenant_id, account_id), \
         paid AS ( \
             SELECT p.tenant_id, p.account_id, \
                    sum(p.amount) - coalesce(sum(r.refunds), 0) AS paid \
             FROM billing.payments p \
             LEFT JOIN (SELECT tenant_id, payment_id, sum(amount) AS refunds \
                        FROM billing.refunds GROUP BY tenant_id, payment_id) r \
                    ON r.tenant_id = p.tenant_id AND r.payment_id = p.id \
             GROUP BY p.tenant_id, p.account_id), \
         recomputed AS ( \
             SELECT a.tenant_id, a.id, a.total, a.patient_total, a.paid, \
                    coalesce(c.total, 0) AS c_total, \
                    coalesce(c.patient_total, 0) AS c_patient_total, \
                    coalesce(p.paid, 0) AS c_paid \
             FROM billing.accounts a \
             LEFT JOIN charged c ON c.tenant_id = a.tenant_id AND c.account_id = a.id \
             LEFT JOIN paid p ON p.tenant_id = a.tenant_id AND p.account_id = a.id) \
         SELECT tenant_id, id AS account_id, what, kept::text, recomputed::text FROM ( \
             SELECT tenant_id, id, 'total' AS what, total AS kept, c_total AS recomputed \
             FROM recomputed \
             UNION ALL SELECT tenant_id, id, 'patient_total', patient_total, c_patient_total \
             FROM recomputed \
             UNION ALL SELECT tenant_id, id, 'paid', paid, c_paid FROM recomputed) d \
         WHERE kept <> recomputed ORDER BY 1, 2, 3",
    )
    .fetch_all(worker)
    .await?;
    Ok((checked, found))
}

pub async fn shift_discrepancies(worker: &PgPool) -> Result<(i64, Vec<ShiftDiscrepancy>)> {
    let checked: i64 =
        sqlx::query_scalar("SELECT count(*) FROM billing.shifts WHERE closed_at IS NOT NULL")
            .fetch_one(worker)
            .await?;
    let found = sqlx::query_as(
        "WITH moved AS ( \
             SELECT p.tenant_id, p.shift_id, p.method, \
                    CASE WHEN p.kind = 'payment' THEN p.amount ELSE 0 END AS payments, \
                    CASE WHEN p.kind = 'deposit' THEN p.amount ELSE 0 END AS deposits, \
                    0::numeric AS refunds \
             FROM billing.payments p \
             UNION ALL \
             SELECT tenant_id, shift_id, method, 0, 0, amount FROM billing.refunds), \
         recomputed AS ( \
             SELECT m.tenant_id, m.shift_id, m.method, \
                    sum(payments)::numeric(14,2) || '/' || sum(deposits)::numeric(14,2) || '/' \
                    || sum(refunds)::numeric(14,2) AS money \
             FROM moved m JOIN billing.shifts s \
                  ON s.tenant_id = m.tenant_id AND s.id = m.shift_id AND s.closed_at IS NOT NULL \
             GROUP BY m.tenant_id, m.shift_id, m.method), \
         kept AS ( \
             SELECT tenant_id, shift_id, method, \
                    payments || '/' || deposits || '/' || refunds AS money \
             FROM billing.shift_totals) \
         SELECT coalesce(k.tenant_id, r.tenant_id) AS tenant_id, \
                coalesce(k.shift_id, r.shift_id) AS shift_id, \
                coalesce(k.method, r.method) AS method, \
                coalesce(k.money, 'none') AS kept, coalesce(r.money, 'none') AS recomputed \
         FROM kept k FULL JOIN recomputed r \
              ON r.tenant_id = k.tenant_id AND r.shift_id = k.shift_id AND r.method = k.method \
         WHERE k.money IS DISTINCT FROM r.money ORDER BY 1, 2, 3",
    )
    .fetch_all(worker)
    .await?;
    Ok((checked, found))
}
