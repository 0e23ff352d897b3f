//! Money between the hospital and its insurers and accountants: remittances (an insurer's
//! payment, the DRG claims it pays), the insurer's reconciliation by day or month, the
//! tenant's chart of accounts and the journal of a period.

use chrono::{DateTime, NaiveDate, Utc};
use hmis_platform::TenantTx;
use hmis_platform::money::Money;
use sqlx::FromRow;
use uuid::Uuid;

use crate::error::Result;

#[derive(Debug, Clone, FromRow)]
pub struct RemittanceRow {
    pub id: Uuid,
    pub contract_id: Uuid,
    pub reference: String,
    pub received_on: NaiveDate,
    pub amount: Money,
    pub allocated: Money,
    pub recorded_by: Uuid,
    pub recorded_at: DateTime<Utc>,
}

pub async fn insert_remittance(
    tx: &mut TenantTx,
    row: &RemittanceRow,
    lines: &[(Uuid, Money)],
) -> Result<()> {
    sqlx::query(
        "INSERT INTO billing.remittances (tenant_id, id, contract_id, reference, received_on, \
             amount, allocated, recorded_by, recorded_at) \
         VALUES ($1, $2, $3, $4, $5, $6::numeric, $7::numeric, $8, $9)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(row.id)
    .bind(row.contract_id)
    .bind(&row.reference)
    .bind(row.received_on)
    .bind(row.amount)
    .bind(row.allocated)
    .bind(row.recorded_by)
    .bind(row.recorded_at)
    .execute(&mut **tx)
    .await?;
    let admissions: Vec<Uuid> = lines.iter().map(|(id, _)| *id).collect();
    let amounts: Vec<String> = lines.iter().map(|(_, amount)| amount.to_string()).collect();
    sqlx::query(
        "INSERT INTO billing.remittance_lines (tenant_id, admission_id, remittance_id, amount) \
         SELECT $1, admission_id, $2, amount::numeric \
         FROM unnest($3::uuid[], $4::text[]) AS line (admission_id, amount)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(row.id)
    .bind(&admissions)
    .bind(&amounts)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// (admission, claim contract, claim status, patient) of the cases named, locked.
pub async fn claims_to_pay(
    tx: &mut TenantTx,
    admissions: &[Uuid],
) -> Result<Vec<(Uuid, Option<Uuid>, String, Uuid)>> {
    Ok(sqlx::query_as(
        "SELECT admission_id, claim_contract_id, claim_status, patient_id FROM billing.cases \
         WHERE admission_id = ANY($1) ORDER BY admission_id FOR UPDATE",
    )
    .bind(admissions)
    .fetch_all(&mut **tx)
    .await?)
}

/// Marks the claims paid.
pub async fn pay_claims(tx: &mut TenantTx, admissions: &[Uuid]) -> Result<()> {
    sqlx::query(
        "UPDATE billing.cases SET claim_status = 'paid', version = version + 1 \
         WHERE admission_id = ANY($1)",
    )
    .bind(admissions)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A period's fee-for-service part of a reconciliation: (period, charges, insurer's share).
pub async fn reconciled_charges(
    tx: &mut TenantTx,
    contract_id: Uuid,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    (zone, unit, format): (&str, &str, &str),
) -> Result<Vec<(String, i64, Money)>> {
    Ok(sqlx::query_as(
        "SELECT to_char(date_trunc($5, service_time AT TIME ZONE $4), $6) AS period, \
                count(*), \
                sum(CASE WHEN national_contract_id = $1 THEN national_amount ELSE 0 END \
                    + CASE WHEN supplementary_contract_id = $1 THEN supplementary_amount \
                           ELSE 0 END)::numeric(14,2)::text \
         FROM billing.charges \
         WHERE service_time >= $2 AND service_time < $3 \
           AND (national_contract_id = $1 OR supplementary_contract_id = $1) \
         GROUP BY 1",
    )
    .bind(contract_id)
    .bind(from)
    .bind(to)
    .bind(zone)
    .bind(unit)
    .bind(format)
    .fetch_all(&mut **tx)
    .await?)
}

#[derive(Debug, Clone, FromRow)]
pub struct ReconciledClaims {
    pub period: String,
    pub claims: i64,
    pub claimed: Money,
    pub sent: i64,
    pub accepted: i64,
    pub rejected: i64,
    pub paid: i64,
    pub paid_claimed: Money,
    pub paid_paid: Money,
}

/// A period's DRG claims, by the day of discharge.
pub async fn reconciled_claims(
    tx: &mut TenantTx,
    contract_id: Uuid,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    (zone, unit, format): (&str, &str, &str),
) -> Result<Vec<ReconciledClaims>> {
    Ok(sqlx::query_as(
        "SELECT to_char(date_trunc($5, c.discharge_time AT TIME ZONE $4), $6) AS period, \
                count(*) AS claims, \
                coalesce(sum(c.claim_amount), 0)::numeric(14,2)::text AS claimed, \
                count(*) FILTER (WHERE c.claim_status = 'sent') AS sent, \
                count(*) FILTER (WHERE c.claim_status = 'accepted') AS accepted, \
                count(*) FILTER (WHERE c.claim_status = 'rejected') AS rejected, \
                count(*) FILTER (WHERE c.claim_status = 'paid') AS paid, \
                coalesce(sum(c.claim_amount) FILTER (WHERE c.claim_status = 'paid'), 0) \
                    ::numeric(14,2)::text AS paid_claimed, \
                coalesce(sum(l.amount), 0)::numeric(14,2)::text AS paid_paid \
         FROM billing.cases c \
         LEFT JOIN billing.remittance_lines l \
                ON l.tenant_id = c.tenant_id AND l.admission_id = c.admission_id \
         WHERE c.claim_contract_id = $1 AND c.discharge_time >= $2 AND c.discharge_time < $3 \
           AND c.claim_status NOT IN ('void', 'not_insured') \
         GROUP BY 1",
    )
    .bind(contract_id)
    .bind(from)
    .bind(to)
    .bind(zone)
    .bind(unit)
    .bind(format)
    .fetch_all(&mut **tx)
    .await?)
}

/// A period's remittances, by the day received: (period, received, on account).
pub async fn reconciled_remittances(
    tx: &mut TenantTx,
    contract_id: Uuid,
    (from, to): (NaiveDate, NaiveDate),
    (unit, format): (&str, &str),
) -> Result<Vec<(String, Money, Money)>> {
    Ok(sqlx::query_as(
        "SELECT to_char(date_trunc($4, received_on::timestamp), $5) AS period, \
                sum(amount)::numeric(14,2)::text, \
                sum(amount - allocated)::numeric(14,2)::text \
         FROM billing.remittances \
         WHERE contract_id = $1 AND received_on BETWEEN $2 AND $3 GROUP BY 1",
    )
    .bind(contract_id)
    .bind(from)
    .bind(to)
    .bind(unit)
    .bind(format)
    .fetch_all(&mut **tx)
    .await?)
}

/// What the insurer owes on claims sent or accepted.
pub async fn claims_outstanding(tx: &mut TenantTx, contract_id: Uuid) -> Result<Money> {
    Ok(sqlx::query_scalar(
        "SELECT coalesce(sum(claim_amount), 0)::numeric(14,2)::text FROM billing.cases \
         WHERE claim_contract_id = $1 AND claim_status IN ('sent', 'accepted')",
    )
    .bind(contract_id)
    .fetch_one(&mut **tx)
    .await?)
}

/// The tenant's ledger accounts set so far: (role, code).
pub async fn ledger_accounts(tx: &mut TenantTx) -> Result<Vec<(String, String)>> {
    Ok(
        sqlx::query_as("SELECT role, code FROM billing.ledger_accounts ORDER BY role")
            .fetch_all(&mut **tx)
            .await?,
    )
}

pub async fn set_ledger_account(tx: &mut TenantTx, role: &str, code: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO billing.ledger_accounts (tenant_id, role, code) VALUES ($1, $2, $3) \
         ON CONFLICT (tenant_id, role) DO UPDATE SET code = EXCLUDED.code",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(role)
    .bind(code)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// One movement of the journal before it meets the chart: on `day`, in `journal`, the
/// account of `role` (with `detail`: a service group, a payer code) moves by `amount`
/// (debit positive, credit negative).
#[derive(Debug, Clone, FromRow)]
pub struct Movement {
    pub day: NaiveDate,
    pub journal: String,
    pub role: String,
    pub detail: String,
    pub amount: Money,
}

/// The movements of the days [from, to] cut in `zone` (`bounds` are their instants).
pub async fn movements(
    tx: &mut TenantTx,
    (start, end): (DateTime<Utc>, DateTime<Utc>),
    (from, to): (NaiveDate, NaiveDate),
    zone: &str,
) -> Result<Vec<Movement>> {
    Ok(sqlx::query_as(
        "WITH c AS ( \
             SELECT (service_time AT TIME ZONE $3)::date AS day, tenant_id, amount, \
                    patient_amount, national_contract_id, national_amount, \
                    supplementary_contract_id, supplementary_amount, service_group \
             FROM billing.charges WHERE service_time >= $1 AND service_time < $2), \
         p AS ( \
             SELECT (paid_at AT TIME ZONE $3)::date AS day, method, amount \
             FROM billing.payments WHERE paid_at >= $1 AND paid_at < $2), \
         r AS ( \
             SELECT (refunded_at AT TIME ZONE $3)::date AS day, method, amount \
             FROM billing.refunds WHERE refunded_at >= $1 AND refunded_at < $2), \
         m AS ( \
             SELECT received_on AS day, contract_id, amount FROM billing.remittances \
             WHERE received_on BETWEEN $4 AND $5) \
         SELECT day, journal, role, detail, amount::numeric(14,2)::text AS amount FROM ( \
             SELECT day, 'charges' AS journal, 'patients' AS role, '' AS detail, \
                    sum(patient_amount) AS amount FROM c GROUP BY day \
             UNION ALL \
             SELECT c.day, 'charges', 'insurers', k.payer_code, sum(c.national_amount) \
             FROM c JOIN billing.contracts k \
                  ON k.tenant_id = c.tenant_id AND k.id = c.national_contract_id \
             GROUP BY c.day, k.payer_code \
             UNION ALL \
             SELECT c.day, 'charges', 'insurers', k.payer_code, sum(c.supplementary_amount) \
             FROM c JOIN billing.contracts k \
                  ON k.tenant_id = c.tenant_id AND k.id = c.supplementary_contract_id \
             GROUP BY c.day, k.payer_code \
             UNION ALL \
             SELECT day, 'charges', 'revenue', service_group, -sum(amount) \
             FROM c GROUP BY day, service_group \
             UNION ALL \
             SELECT day, 'payments', method, '', sum(amount) FROM p GROUP BY day, method \
             UNION ALL \
             SELECT day, 'payments', 'patients', '', -sum(amount) FROM p GROUP BY day \
             UNION ALL \
             SELECT day, 'refunds', 'patients', '', sum(amount) FROM r GROUP BY day \
             UNION ALL \
             SELECT day, 'refunds', method, '', -sum(amount) FROM r GROUP BY day, method \
             UNION ALL \
             SELECT day, 'remittances', 'bank_transfer', '', sum(amount) FROM m GROUP BY day \
             UNION ALL \
             SELECT m.day, 'remittances', 'insurers', k.payer_code, -sum(m.amount) \
             FROM m JOIN billing.contracts k ON k.id = m.contract_id \
             GROUP BY m.day, k.payer_code) j \
         ORDER BY day, journal, role, detail",
    )
    .bind(start)
    .bind(end)
    .bind(zone)
    .bind(from)
    .bind(to)
    .fetch_all(&mut **tx)
    .await?)
}
