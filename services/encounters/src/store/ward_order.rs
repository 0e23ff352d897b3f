//! The store of the ward's medication order.

use super::*;

#[derive(Debug, Clone, FromRow)]
pub struct WardPrescriptionRow {
    pub id: Uuid,
    pub encounter_id: Uuid,
    pub patient_id: Uuid,
    pub medicine_id: Uuid,
    pub medicine_code: String,
    pub medicine_name: String,
    pub dose: String,
    pub dose_unit: String,
    pub route: String,
    pub times_per_day: i32,
    pub times_of_day: Vec<String>,
    pub as_needed: bool,
    pub start_time: DateTime<Utc>,
    pub stop_time: Option<DateTime<Utc>>,
    pub form_unit: String,
    pub strength: String,
}

/// The active prescriptions of the open encounters in a ward that run at some time in
/// [`from`, `to`).
pub async fn ward_prescriptions(
    tx: &mut TenantTx,
    department_id: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<WardPrescriptionRow>> {
    Ok(sqlx::query_as(
        "SELECT p.id, p.encounter_id, p.patient_id, p.medicine_id, p.medicine_code, \
                p.medicine_name, p.dose::text AS dose, p.dose_unit, p.route, p.times_per_day, \
                p.times_of_day, p.as_needed, p.start_time, p.stop_time, m.form_unit, \
                m.strength::text AS strength \
         FROM encounters.prescriptions p \
         JOIN encounters.encounters e ON e.tenant_id = p.tenant_id AND e.id = p.encounter_id \
         JOIN encounters.medicines m ON m.tenant_id = p.tenant_id AND m.id = p.medicine_id \
         WHERE p.tenant_id = $1 AND e.department_id = $2 AND e.status = 'open' \
           AND p.status = 'active' AND p.verification IN ('verified', 'not_required') \
           AND NOT p.take_home \
           AND p.start_time < $4 \
           AND (p.stop_time IS NULL OR p.stop_time > $3) \
         ORDER BY e.patient_id, p.created_at, p.id",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(department_id)
    .bind(from)
    .bind(to)
    .fetch_all(&mut **tx)
    .await?)
}
