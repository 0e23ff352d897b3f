//! The ward's medication order: every dose the active prescriptions of a ward's inpatients
//! schedule over the coming days, and what they take of each medicine, for the nurses'
//! rounds and the requisition to the pharmacy.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate, NaiveTime};
use chrono_tz::Tz;
use hmis_platform::RequestContext;
use hmis_platform::amount::Amount;
use hmis_platform::audit::{self, AuditEntry};
use hmis_platform::auth::Target;
use hmis_platform::wire::timestamp;
use hmis_proto::openhmis::encounters::v1 as pb;
use uuid::Uuid;

use super::{READ, Ward};
use crate::convert::{route_to_pb, trim_decimal};
use crate::domain::schedule::{dose_times, form_units_per_dose, standard_times};
use crate::error::{Error, Result};
use crate::store;

/// A ward's medication round: its inpatients' doses from the start day (the ward's today
/// when none is given), over `days` days.
pub(crate) struct WardRound {
    pub(crate) department_id: Uuid,
    pub(crate) start_date: Option<NaiveDate>,
    pub(crate) days: i32,
}

impl Ward {
    pub(crate) async fn ward_medication_order(
        &self,
        context: &RequestContext,
        round: WardRound,
    ) -> Result<pb::GetWardMedicationOrderResponse> {
        let WardRound {
            department_id,
            start_date,
            days,
        } = round;
        let clinic = self.directory.clinic(context, department_id).await?;
        context
            .authorize(READ, &Target::department(clinic.facility_id, department_id))
            .map_err(Error::from)?;
        let zone: Tz = self
            .directory
            .time_zone(context, clinic.facility_id)
            .await?
            .parse()
            .unwrap_or(Tz::UTC);
        let now = self.calls.now();
        let first_day =
            start_date.unwrap_or_else(|| now.with_timezone(&zone).date_naive() + Duration::days(1));
        let (period_start, period_end) = hmis_platform::days::days(
            &zone,
            first_day,
            first_day + Duration::days(i64::from(days) - 1),
        );

        let mut tx = self.read_tx(context).await?;
        let rows =
            store::ward_prescriptions(&mut tx, department_id, period_start, period_end).await?;
        let mut patients: Vec<uuid::Uuid> = rows.iter().map(|row| row.patient_id).collect();
        patients.dedup();
        audit::record(&mut tx, context, &AuditEntry::ok(&patients), now)
            .await
            .map_err(Error::from)?;
        tx.commit().await.map_err(Error::from)?;

        let mut medications = Vec::with_capacity(rows.len());
        let mut totals: BTreeMap<uuid::Uuid, (pb::OrderTotal, i64)> = BTreeMap::new();
        for row in &rows {
            let dose = Amount::from_db(&row.dose).map_err(|_| Error::corrupt("dose"))?;
            let strength =
                Amount::from_db(&row.strength).map_err(|_| Error::corrupt("strength"))?;
            let times_per_day = u32::try_from(row.times_per_day).unwrap_or(1);
            let from = row.start_time.max(period_start);
            let to = row
                .stop_time
                .map_or(period_end, |stop| stop.min(period_end));
            let (instants, doses) = if row.as_needed {
                // At most times_per_day a day, for each day (or part of one) it runs.
                let days_running = ((to - from).num_seconds().max(0) + 86_399) / 86_400;
                (Vec::new(), days_running * i64::from(times_per_day))
            } else {
                let times: Vec<NaiveTime> = if row.times_of_day.is_empty() {
                    standard_times(times_per_day)
                } else {
                    row.times_of_day
                        .iter()
                        .filter_map(|time| NaiveTime::parse_from_str(time, "%H:%M").ok())
                        .collect()
                };
                let instants = dose_times(&times, zone, from, to);
                let count = i64::try_from(instants.len()).unwrap_or(i64::MAX);
                (instants, count)
            };
            let per_dose = form_units_per_dose(dose, &row.dose_unit, &row.form_unit, strength);
            let scaled = per_dose.scaled().saturating_mul(doses);
            let quantity = Amount::from_scaled_positive(scaled)
                .map(|amount| amount.to_string())
                .unwrap_or_else(|| "0".to_owned());
            medications.push(pb::OrderedMedication {
                patient_id: row.patient_id.to_string(),
                encounter_id: row.encounter_id.to_string(),
                prescription_id: row.id.to_string(),
                medicine_id: row.medicine_id.to_string(),
                medicine_code: row.medicine_code.clone(),
                medicine_name: row.medicine_name.clone(),
                dose: trim_decimal(&row.dose),
                dose_unit: row.dose_unit.clone(),
                route: route_to_pb(&row.route),
                as_needed: row.as_needed,
                dose_times: instants.into_iter().filter_map(timestamp).collect(),
                doses: i32::try_from(doses).unwrap_or(i32::MAX),
                quantity,
                form_unit: row.form_unit.clone(),
            });
            let entry = totals.entry(row.medicine_id).or_insert_with(|| {
                (
                    pb::OrderTotal {
                        medicine_id: row.medicine_id.to_string(),
                        medicine_code: row.medicine_code.clone(),
                        medicine_name: row.medicine_name.clone(),
                        form_unit: row.form_unit.clone(),
                        ..Default::default()
                    },
                    0,
                )
            });
            entry.1 = entry.1.saturating_add(scaled);
        }
        let totals = totals
            .into_values()
            .filter(|(_, scaled)| *scaled > 0)
            .map(|(mut total, scaled)| {
                total.quantity = Amount::from_scaled_positive(scaled)
                    .map(|amount| amount.to_string())
                    .unwrap_or_default();
                total.whole_units = (scaled + 9_999) / 10_000;
                total
            })
            .collect();
        Ok(pb::GetWardMedicationOrderResponse {
            order: Some(pb::WardMedicationOrder {
                department_id: department_id.to_string(),
                start_date: first_day.to_string(),
                days,
                period_start: timestamp(period_start),
                period_end: timestamp(period_end),
                medications,
                totals,
            }),
        })
    }
}
