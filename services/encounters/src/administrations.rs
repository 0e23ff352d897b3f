//! The medication administration record: nurses record each dose as given, refused or held.
//! A scheduled dose must be one of the prescription's dose times and is recorded once (a
//! unique index); an as-needed dose is refused past its daily maximum, counted under the
//! patient's prescribing lock so two nurses cannot both give the last one.

use chrono::{DateTime, Duration, NaiveTime, Utc};
use chrono_tz::Tz;
use hmis_platform::audit::{self, AuditEntry};
use hmis_platform::call::Shown;
use hmis_platform::idempotency::RequestKey;
use hmis_platform::types::Text;
use hmis_platform::wire::{parse_timestamp, timestamp};
use hmis_platform::{RequestContext, Violations};
use hmis_proto::openhmis::encounters::v1 as pb;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::convert::past_or_now;
use crate::domain::schedule::{dose_times, standard_times};
use crate::error::{Error, Result};
use crate::grpc::{EncounterApi, READ, Ward, parse_id, refused, require_open, target_of};
use crate::store::{self, AdministrationRow, Lock};

const ADMINISTER: &str = "nursing.administer";

/// A scheduled dose is recorded within this many hours of its time (a round given late, a
/// record completed after the round), not days away.
const MAX_DRIFT_HOURS: i64 = 12;

fn status_label(status: i32) -> Option<&'static str> {
    match pb::AdministrationStatus::try_from(status) {
        Ok(pb::AdministrationStatus::Given) => Some("given"),
        Ok(pb::AdministrationStatus::Refused) => Some("refused"),
        Ok(pb::AdministrationStatus::Held) => Some("held"),
        _ => None,
    }
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

impl EncounterApi {
    #[tracing::instrument(skip_all)]
    pub(crate) async fn record_administration_call(
        &self,
        request: Request<pb::RecordAdministrationRequest>,
    ) -> Result<Response<pb::RecordAdministrationResponse>, Status> {
        let context = RequestContext::of(&request);
        let ward = &self.ward;
        context.authorize_any(ADMINISTER)?;
        let message = request.into_inner();
        let now = ward.calls.now();
        let given = message.administration.clone().unwrap_or_default();
        let mut violations = Violations::default();
        let key = violations.check("request_id", RequestKey::parse(&message.request_id));
        if message.administration.is_none() {
            violations.add("administration", "is required");
        }
        let prescription_id = parse_id(
            "administration.prescription_id",
            &given.prescription_id,
            &mut violations,
        );
        let status = status_label(given.status);
        if status.is_none() {
            violations.add("administration.status", "is required");
        }
        let reason = violations.check("administration.reason", Text::parse(&given.reason));
        if status.is_some_and(|status| status != "given")
            && reason
                .as_ref()
                .is_some_and(|reason| reason.as_str().is_empty())
        {
            violations.add("administration.reason", "say why the dose was not given");
        }
        let scheduled = violations
            .check(
                "administration.scheduled_time",
                parse_timestamp(given.scheduled_time.as_ref()),
            )
            .flatten();
        let administered = violations.check(
            "administration.administered_time",
            past_or_now(given.administered_time.as_ref(), now),
        );
        let (
            Some(key),
            Some(prescription_id),
            Some(status),
            Some(reason),
            Some(administered),
            true,
        ) = (
            key,
            prescription_id,
            status,
            reason,
            administered,
            violations.is_empty(),
        )
        else {
            return Err(Error::from(violations).into());
        };
        if let Some(replayed) = ward
            .calls
            .replay(
                &context,
                &Ward::method("RecordAdministration"),
                &key,
                &message,
            )
            .await?
        {
            return Ok(Response::new(replayed));
        }
        let (_patient_id, facility_id) = {
            let mut tx = ward.read_tx(&context).await?;
            let prescription =
                store::get_prescription(&mut tx, prescription_id, Lock::None).await?;
            let encounter =
                store::get_encounter(&mut tx, prescription.encounter_id, Lock::None).await?;
            tx.commit().await.map_err(Error::from)?;
            (prescription.patient_id, encounter.facility_id)
        };
        let zone: Tz = ward
            .directory
            .time_zone(&context, facility_id)
            .await?
            .parse()
            .unwrap_or(Tz::UTC);
        let response = ward
            .calls.write(&context, &Ward::method("RecordAdministration"), &key, &message, async |tx| {
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
                    audit::record(tx, &context, &AuditEntry::ok(&[encounter.patient_id]), now)
                        .await?;
                    Ok(pb::RecordAdministrationResponse {
                        administration: Some(to_pb(&row)),
                    })
                })
            .await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all)]
    pub(crate) async fn list_administrations_call(
        &self,
        request: Request<pb::ListAdministrationsRequest>,
    ) -> Result<Response<pb::ListAdministrationsResponse>, Status> {
        let context = RequestContext::of(&request);
        let ward = &self.ward;
        context.authorize_any(READ)?;
        let mut violations = Violations::default();
        let Some(encounter_id) = parse_id(
            "encounter_id",
            &request.get_ref().encounter_id,
            &mut violations,
        ) else {
            return Err(Error::from(violations).into());
        };
        let _now = ward.calls.now();
        let mut tx = ward.read_tx(&context).await?;
        let (encounter, access) = ward
            .readable_encounter(&mut tx, &context, encounter_id)
            .await?;
        let rows = store::administrations_of(&mut tx, encounter_id).await?;
        ward.commit_read(tx, &context, Shown::patient(encounter.patient_id, &access))
            .await?;
        Ok(Response::new(pb::ListAdministrationsResponse {
            administrations: rows.iter().map(to_pb).collect(),
        }))
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
