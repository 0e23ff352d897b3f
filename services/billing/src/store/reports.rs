//! Billing's reports: revenue of a period by a dimension, and what is owed.

use chrono::{DateTime, Utc};
use hmis_platform::TenantTx;
use hmis_platform::money::Money;
use sqlx::FromRow;
use uuid::Uuid;

use crate::error::Result;

/// The dimension revenue is broken down by (a column of the charges, or the payers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevenueBy {
    Ward,
    Physician,
    ServiceGroup,
    Payer,
}

#[derive(Debug, Clone, FromRow)]
pub struct RevenueRow {
    pub key: String,
    pub charges: i64,
    pub amount: Money,
    pub insurers: Money,
    pub patients: Money,
}

/// Revenue of the charges given in [from, to), by `by`, largest first.
pub async fn revenue(
    tx: &mut TenantTx,
    by: RevenueBy,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
) -> Result<Vec<RevenueRow>> {
    let sql = match by {
        RevenueBy::Payer => {
            "WITH period AS (SELECT * FROM billing.charges \
                             WHERE service_time >= $1 AND service_time < $2), \
             shares AS ( \
                 SELECT national_contract_id AS payer, national_amount AS amount FROM period \
                 WHERE national_contract_id IS NOT NULL \
                 UNION ALL \
                 SELECT supplementary_contract_id, supplementary_amount FROM period \
                 WHERE supplementary_contract_id IS NOT NULL \
                 UNION ALL \
                 SELECT NULL, patient_amount FROM period) \
             SELECT coalesce(c.payer_code, 'patient') AS key, count(*) AS charges, \
                    sum(s.amount)::numeric(14,2)::text AS amount, '0' AS insurers, \
                    '0' AS patients \
             FROM shares s LEFT JOIN billing.contracts c ON c.id = s.payer \
             GROUP BY 1 ORDER BY sum(s.amount) DESC, 1"
        }
        RevenueBy::Ward | RevenueBy::Physician | RevenueBy::ServiceGroup => {
            let column = match by {
                RevenueBy::Ward => "department_id::text",
                RevenueBy::Physician => "physician_id::text",
                _ => "service_group",
            };
            return Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT coalesce({column}, '') AS key, count(*) AS charges, \
                        sum(amount)::numeric(14,2)::text AS amount, \
                        sum(national_amount + supplementary_amount)::numeric(14,2)::text \
                            AS insurers, \
                        sum(patient_amount)::numeric(14,2)::text AS patients \
                 FROM billing.charges WHERE service_time >= $1 AND service_time < $2 \
                 GROUP BY 1 ORDER BY sum(amount) DESC, 1"
            )))
            .bind(from)
            .bind(to)
            .fetch_all(&mut **tx)
            .await?);
        }
    };
    Ok(sqlx::query_as(sql)
        .bind(from)
        .bind(to)
        .fetch_all(&mut **tx)
        .await?)
}

/// What patients owe: (accounts owing, the sum).
pub async fn patients_owe(tx: &mut TenantTx) -> Result<(i64, Money)> {
    Ok(sqlx::query_as(
        "SELECT count(*), coalesce(sum(patient_total - paid), 0)::numeric(14,2)::text \
         FROM billing.accounts WHERE patient_total > paid",
    )
    .fetch_one(&mut **tx)
    .await?)
}

#[derive(Debug, Clone, FromRow)]
pub struct InsurerRow {
    pub contract_id: Uuid,
    pub payer_code: String,
    pub shares: Money,
    pub claims_open: Money,
    pub open_claims: i64,
}

/// Each insurer's shares of the charges so far and its DRG claims not yet paid.
pub async fn insurers_owe(tx: &mut TenantTx) -> Result<Vec<InsurerRow>> {
    Ok(sqlx::query_as(
        "SELECT c.id AS contract_id, c.payer_code, \
             (coalesce((SELECT sum(national_amount) FROM billing.charges \
                        WHERE national_contract_id = c.id), 0) \
              + coalesce((SELECT sum(supplementary_amount) FROM billing.charges \
                          WHERE supplementary_contract_id = c.id), 0))::numeric(14,2)::text \
                 AS shares, \
             (SELECT coalesce(sum(claim_amount), 0) FROM billing.cases \
              WHERE claim_contract_id = c.id \
                AND claim_status IN ('prepared', 'sent', 'accepted'))::numeric(14,2)::text \
                 AS claims_open, \
             (SELECT count(*) FROM billing.cases WHERE claim_contract_id = c.id \
                AND claim_status IN ('prepared', 'sent', 'accepted')) AS open_claims \
         FROM billing.contracts c ORDER BY c.kind, c.payer_code",
    )
    .fetch_all(&mut **tx)
    .await?)
}
