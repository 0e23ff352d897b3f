//! What scheduling keeps of other modules' events: the referrals each department has to see
//! (encounters) and the registry's patients (death, merge).

use chrono::{DateTime, Utc};
use hmis_platform::TenantTx;
use sqlx::FromRow;
use uuid::Uuid;

use crate::domain::{ReferralKind, ReferralStatus};
use crate::error::Result;

#[derive(Debug, Clone, FromRow)]
pub struct ReferralRow {
    pub referral_id: Uuid,
    pub patient_id: Uuid,
    pub facility_id: Uuid,
    pub kind: ReferralKind,
    pub codes: Vec<String>,
    pub specialty: String,
    pub target_department_id: Option<Uuid>,
    pub referring_department_id: Option<Uuid>,
    pub referred_by: Uuid,
    pub urgency: String,
    pub created_at: DateTime<Utc>,
    pub status: ReferralStatus,
    pub appointment_id: Option<Uuid>,
}

const REFERRAL_COLUMNS: &str = "referral_id, patient_id, facility_id, kind, codes, specialty, \
     target_department_id, referring_department_id, referred_by, urgency, created_at, status, \
     appointment_id";

/// Keeps a referral the encounters published (a second delivery changes nothing).
pub async fn keep_referral(tx: &mut TenantTx, referral: &ReferralRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO scheduling.referrals (tenant_id, referral_id, patient_id, facility_id, kind, \
         codes, specialty, target_department_id, referring_department_id, referred_by, urgency, \
         created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
         ON CONFLICT DO NOTHING",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(referral.referral_id)
    .bind(referral.patient_id)
    .bind(referral.facility_id)
    .bind(referral.kind)
    .bind(&referral.codes)
    .bind(&referral.specialty)
    .bind(referral.target_department_id)
    .bind(referral.referring_department_id)
    .bind(referral.referred_by)
    .bind(&referral.urgency)
    .bind(referral.created_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn get_referral(tx: &mut TenantTx, id: Uuid) -> Result<Option<ReferralRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {REFERRAL_COLUMNS} FROM scheduling.referrals WHERE referral_id = $1 FOR UPDATE"
    )))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?)
}

/// Moves a referral to `status`, naming its appointment (none: keeps it).
pub async fn mark_referral(
    tx: &mut TenantTx,
    id: Uuid,
    status: ReferralStatus,
    appointment_id: Option<Uuid>,
) -> Result<()> {
    sqlx::query(
        "UPDATE scheduling.referrals SET status = $2, \
         appointment_id = coalesce($3, appointment_id) WHERE referral_id = $1",
    )
    .bind(id)
    .bind(status)
    .bind(appointment_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The referrals `department_id` has to see in `status`: those meant for it, and investigation
/// referrals meant for no department of its facility whose kind one of its clinics offers.
pub async fn referrals_to_see(
    tx: &mut TenantTx,
    (department_id, facility_id): (Uuid, Uuid),
    status: ReferralStatus,
) -> Result<Vec<ReferralRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {REFERRAL_COLUMNS} FROM scheduling.referrals r WHERE status = $3 AND \
         (target_department_id = $1 OR (target_department_id IS NULL AND facility_id = $2 \
          AND kind <> 'consultation' AND EXISTS (SELECT 1 FROM scheduling.clinics c \
          WHERE c.department_id = $1 AND c.kind = r.kind AND c.active))) \
         ORDER BY CASE urgency WHEN 'emergency' THEN 0 WHEN 'urgent' THEN 1 ELSE 2 END, \
         created_at LIMIT 500"
    )))
    .bind(department_id)
    .bind(facility_id)
    .bind(status)
    .fetch_all(&mut **tx)
    .await?)
}

/// Keeps what the registry said of a patient, unless a newer version is kept already.
pub async fn keep_patient(
    tx: &mut TenantTx,
    patient_id: Uuid,
    version: i64,
    (deceased, merged_into): (bool, Option<Uuid>),
) -> Result<()> {
    sqlx::query(
        "INSERT INTO scheduling.known_patients (tenant_id, patient_id, version, deceased, \
         merged_into) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (tenant_id, patient_id) DO UPDATE SET version = EXCLUDED.version, \
         deceased = EXCLUDED.deceased, merged_into = EXCLUDED.merged_into \
         WHERE scheduling.known_patients.version < EXCLUDED.version",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(patient_id)
    .bind(version)
    .bind(deceased)
    .bind(merged_into)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
