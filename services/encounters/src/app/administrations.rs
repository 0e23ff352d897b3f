//! The medication administration record: nurses record each dose as given, refused or held.
//! A scheduled dose must be one of the prescription's dose times and is recorded once (a
//! unique index); an as-needed dose is refused past its daily maximum, counted under the
//! patient's prescribing lock so two nurses cannot both give the last one.

use chrono::{DateTime, Duration, NaiveTime, Utc};
use chrono_tz::Tz;
use hmis_platform::RequestContext;
use hmis_platform::audit::{self, AuditEntry};
use hmis_platform::call::Shown;
use hmis_platform::idempotency::RequestKey;
use hmis_platform::types::Text;
use hmis_platform::wire::timestamp;
use hmis_proto::openhmis::encounters::v1 as pb;
use uuid::Uuid;

use super::{ADMINISTER, Ward, refused, require_open, target_of};
use crate::domain::schedule::{dose_times, standard_times};
use crate::error::{Error, Result};
use crate::store::{self, AdministrationRow, Lock};

/// A scheduled dose is recorded within this many hours of its time (a round given late, a
/// record completed after the round), not days away.
const MAX_DRIFT_HOURS: i64 = 12;

/// A dose as the nurse recorded it.
pub(crate) struct Given {
    pub(crate) key: RequestKey,
    pub(crate) prescription_id: Uuid,
    /// `given`, `refused` or `held`.
    pub(crate) status: &'static str,
    pub(crate) reason: Text,
    /// The dose of the round it answers; none for an as-needed medicine.
    pub(crate) scheduled: Option<DateTime<Utc>>,
    pub(crate) administered: DateTime<Utc>,
}

fn status_to_pb(label: &str) -> i32 {
    match label {
        "given" => pb::AdministrationStatus::Given as i32,
        "refused" => pb::AdministrationStatus::Refused as i32,
        "held" => pb::AdministrationStatus::Held as i32,
        _ => 0,
    }
}

fn to_pb(row: &AdministrationRow) -> pb::Administration {
    pb::Administration {
        id: row.id.to_string(),
        prescription_id: row.prescription_id.to_string(),
        encounter_id: row.encounter_id.to_string(),
        patient_id: row.patient_id.to_string(),
        scheduled_time: row.scheduled_time.and_then(timestamp),
        status: status_to_pb(&row.status),
        reason: row.reason.clone(),
        administered_time: timestamp(row.administered_at),
        recorded_by: row.recorded_by.to_string(),
    }
}

impl Ward {
    pub(crate) async fn record_administration(
        &self,
        context: &RequestContext,
        message: &pb::RecordAdministrationRequest,
        dose: Given,
    ) -> Result<pb::RecordAdministrationResponse> {
        let now = self.calls.now();
        let method = Ward::method("RecordAdministration");
        let Given {
            key,
            prescription_id,
            status,
            reason,
            scheduled,
            administered,
        } = dose;
        if let Some(replayed) = self.calls.replay(context, &method, &key, message).await? {
            return Ok(replayed);
        }
        let facility_id = {
            let mut tx = self.read_tx(context).await?;
            let prescription =
                store::get_prescription(&mut tx, prescription_id, Lock::None).await?;
            let encounter =
                store::get_encounter(&mut tx, prescription.encounter_id, Lock::None).await?;
            tx.commit().await?;
            encounter.facility_id
        };
        let zone: Tz = (self.directory.time_zone(context, facility_id))
            .await?
            .parse()
            .unwrap_or(Tz::UTC);
        (self.calls)
            .write(context, &method, &key, message, async |tx| {
                let prescription =
                    store::get_prescription(tx, prescription_id, Lock::ForUpdate).await?;
                let encounter =
                    store::get_encounter(tx, prescription.encounter_id, Lock::None).await?;
                context
                    .authorize(ADMINISTER, &target_of(&encounter))
                    .map_err(refused(encounter.patient_id))?;
                require_open(&encounter)?;
                if prescription.status != "active" {
                    return Err(Error::precondition("the prescription was discontinued"));
                }
                if prescription.take_home {
                    return Err(Error::precondition(
                        "take-home medication is not given on the ward",
                    ));
                }
                super::verification::require_verified(&prescription)?;
                match (prescription.as_needed, scheduled) {
                    (true, Some(_)) => {
                        return Err(Error::invalid(
                            "administration.scheduled_time",
                            "an as-needed medicine has no scheduled doses",
                        ));
                    }
                    (true, None) => {
                        store::lock_patient(tx, encounter.patient_id).await?;
                        let given = store::as_needed_given_since(
                            tx,
                            prescription_id,
                            administered - Duration::hours(24),
                        )
                        .await?;
                        if status == "given"
                            && given >= i64::from(prescription.times_per_day)
                        {
                            return Err(Error::precondition(format!(
                                "already given {given} times in the last 24 hours, the most prescribed"
                            )));
                        }
                    }
                    (false, None) => {
                        return Err(Error::invalid(
                            "administration.scheduled_time",
                            "name the scheduled dose (a dose time of the ward order)",
                        ));
                    }
                    (false, Some(at)) => {
                        if (administered - at).num_hours().abs() > MAX_DRIFT_HOURS {
                            return Err(Error::invalid(
                                "administration.scheduled_time",
                                format!(
                                    "is more than {MAX_DRIFT_HOURS} hours from the time given"
                                ),
                            ));
                        }
                        if !is_dose_time(&prescription, zone, at) {
                            return Err(Error::invalid(
                                "administration.scheduled_time",
                                "is not a dose time of this prescription",
                            ));
                        }
                    }
                }
                let row = AdministrationRow {
                    id: Uuid::now_v7(),
                    prescription_id,
                    encounter_id: encounter.id,
                    patient_id: encounter.patient_id,
                    scheduled_time: scheduled,
                    status: status.to_owned(),
                    reason: reason.as_str().to_owned(),
                    administered_at: administered,
                    recorded_by: context.user_id(),
                };
                store::insert_administration(tx, &row, now).await?;
                if row.status == "given" {
                    // What was given comes out of the ward's stock (inventory books it).
                    let medicine = store::get_medicine(tx, prescription.medicine_id).await?;
                    let quantity = super::prescribing::dose_in_form_units(&prescription, &medicine);
                    crate::events::dose_given(
                        tx,
                        &pb::DoseGiven {
                            administration: Some(to_pb(&row)),
                            department_id: encounter.department_id.to_string(),
                            facility_id: encounter.facility_id.to_string(),
                            medicine_code: prescription.medicine_code.clone(),
                            quantity: quantity.map(|q| q.to_string()).unwrap_or_default(),
                            form_unit: medicine.form_unit.clone(),
                            admission_id: encounter
                                .admission_id
                                .map(|id| id.to_string())
                                .unwrap_or_default(),
                        },
                        now,
                    )
                    .await?;
                }
                audit::record(tx, context, &AuditEntry::ok(&[encounter.patient_id]), now)
                    .await?;
                Ok(pb::RecordAdministrationResponse {
                    administration: Some(to_pb(&row)),
                })
            })
            .await
    }

    pub(crate) async fn list_administrations(
        &self,
        context: &RequestContext,
        encounter_id: Uuid,
    ) -> Result<pb::ListAdministrationsResponse> {
        let mut tx = self.read_tx(context).await?;
        let (encounter, access) = (self.readable_encounter(&mut tx, context, encounter_id)).await?;
        let rows = store::administrations_of(&mut tx, encounter_id).await?;
        self.commit_read(tx, context, Shown::patient(encounter.patient_id, &access))
            .await?;
        Ok(pb::ListAdministrationsResponse {
            administrations: rows.iter().map(to_pb).collect(),
        })
    }
}

/// Whether `at` is one of the prescription's scheduled doses.
fn is_dose_time(prescription: &store::PrescriptionRow, zone: Tz, at: DateTime<Utc>) -> bool {
    let times: Vec<NaiveTime> = if prescription.times_of_day.is_empty() {
        standard_times(u32::try_from(prescription.times_per_day).unwrap_or(1))
    } else {
        prescription
            .times_of_day
            .iter()
            .filter_map(|time| NaiveTime::parse_from_str(time, "%H:%M").ok())
            .collect()
    };
    let from = (at - Duration::minutes(1)).max(prescription.start_time);
    let to = prescription
        .stop_time
        .map_or(at + Duration::minutes(1), |stop| {
            stop.min(at + Duration::minutes(1))
        });
    dose_times(&times, zone, from, to).contains(&at)
}
