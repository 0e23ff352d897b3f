//! Certificates: sick leave (temporary work incapacity, with extensions chained to the first
//! certificate), medical certificates and the medical data of death certificates. Each is
//! numbered in its facility's series for its kind and year ("SL-2026" no. 17) from a counter
//! taken under a row lock in the issuing transaction: no gaps, no duplicates.

use std::sync::Arc;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use hmis_platform::audit::{self, AuditEntry};
use hmis_platform::call::Shown;
use hmis_platform::idempotency::RequestKey;
use hmis_platform::types::{Line, Text, parse_date};
use hmis_platform::wire::timestamp;
use hmis_platform::{RequestContext, Violations};
use hmis_proto::openhmis::encounters::v1 as pb;
use pb::certificate_service_server::CertificateService;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::convert::past_or_now;
use crate::domain::CertificateDetails as Details;
use crate::error::{Error, Result};
use crate::events;
use crate::grpc::{ICD10, READ, Ward, parse_id, parse_optional_id, patient_access, target_of};
use crate::store::{self, CertificateRow, Lock};

const CERTIFY: &str = "encounters.certify";
const SERVICE: &str = "CertificateService";

/// How a death came about, as certificates record it.
const MANNERS: &[&str] = &[
    "natural",
    "accident",
    "suicide",
    "homicide",
    "pending_investigation",
    "undetermined",
];

#[derive(Debug, Clone)]
pub struct CertificateApi {
    pub(crate) ward: Arc<Ward>,
}

fn to_pb(row: &CertificateRow) -> pb::Certificate {
    let optional = |id: Option<Uuid>| id.map(|id| id.to_string()).unwrap_or_default();
    let date = |day: Option<NaiveDate>| day.map(|day| day.to_string()).unwrap_or_default();
    let (kind, details) = match &row.details.0 {
        Details::SickLeave {
            diagnosis_display,
            employer,
            days,
            chain_days,
        } => (
            pb::CertificateKind::SickLeave,
            pb::certificate::Details::SickLeave(pb::SickLeave {
                period_start: date(row.period_start),
                period_end: date(row.period_end),
                diagnosis_code: row.diagnosis_code.clone().unwrap_or_default(),
                diagnosis_display: diagnosis_display.clone(),
                previous_certificate_id: optional(row.previous_certificate_id),
                first_certificate_id: optional(row.first_certificate_id),
                days: *days,
                chain_days: *chain_days,
                employer: employer.clone(),
            }),
        ),
        Details::Medical { purpose, findings } => (
            pb::CertificateKind::Medical,
            pb::certificate::Details::Medical(pb::MedicalCertificate {
                purpose: purpose.clone(),
                findings: findings.clone(),
            }),
        ),
        Details::Death {
            death_time,
            place_of_death,
            immediate_cause_code,
            antecedent_cause_codes,
            underlying_cause_code,
            contributing_cause_codes,
            manner,
            autopsy,
        } => (
            pb::CertificateKind::Death,
            pb::certificate::Details::Death(pb::DeathCertificate {
                death_time: timestamp(*death_time),
                place_of_death: place_of_death.clone(),
                immediate_cause_code: immediate_cause_code.clone(),
                antecedent_cause_codes: antecedent_cause_codes.clone(),
                underlying_cause_code: underlying_cause_code.clone(),
                contributing_cause_codes: contributing_cause_codes.clone(),
                manner: manner.clone(),
                autopsy: *autopsy,
            }),
        ),
    };
    pb::Certificate {
        id: row.id.to_string(),
        kind: kind.into(),
        patient_id: row.patient_id.to_string(),
        encounter_id: row.encounter_id.to_string(),
        facility_id: row.facility_id.to_string(),
        series: row.series.clone(),
        number: row.number,
        issued_by: row.issued_by.to_string(),
        issue_time: timestamp(row.issue_time),
        details: Some(details),
    }
}

/// A certificate as the request gave it, parsed; ICD-10 codes still to be checked.
struct Draft {
    encounter_id: Uuid,
    codes: Vec<(String, String)>,
    sick_leave: Option<SickLeaveDraft>,
    details: Details,
}

struct SickLeaveDraft {
    start: NaiveDate,
    end: NaiveDate,
    diagnosis_code: String,
    previous: Option<Uuid>,
}

fn parse_draft(
    certificate: Option<&pb::Certificate>,
    now: DateTime<Utc>,
    violations: &mut Violations,
) -> Option<Draft> {
    let Some(certificate) = certificate else {
        violations.add("certificate", "is required");
        return None;
    };
    let encounter_id = parse_id(
        "certificate.encounter_id",
        &certificate.encounter_id,
        violations,
    );
    let mut codes = Vec::new();
    let (sick_leave, details) = match &certificate.details {
        Some(pb::certificate::Details::SickLeave(leave)) => {
            let start = violations.check(
                "certificate.sick_leave.period_start",
                parse_date(&leave.period_start),
            );
            let end = violations.check(
                "certificate.sick_leave.period_end",
                parse_date(&leave.period_end),
            );
            if let (Some(start), Some(end)) = (start, end)
                && end < start
            {
                violations.add(
                    "certificate.sick_leave.period_end",
                    "must not be before period_start",
                );
            }
            let previous = parse_optional_id(
                "certificate.sick_leave.previous_certificate_id",
                &leave.previous_certificate_id,
                violations,
            );
            let employer = violations.check(
                "certificate.sick_leave.employer",
                Line::parse(&leave.employer),
            );
            if leave.diagnosis_code.trim().is_empty() {
                violations.add("certificate.sick_leave.diagnosis_code", "is required");
            }
            codes.push((
                "certificate.sick_leave.diagnosis_code".to_owned(),
                leave.diagnosis_code.clone(),
            ));
            let (Some(start), Some(end), Some(previous), Some(employer)) =
                (start, end, previous, employer)
            else {
                return None;
            };
            let days = i32::try_from((end - start).num_days() + 1).unwrap_or(i32::MAX);
            (
                Some(SickLeaveDraft {
                    start,
                    end,
                    diagnosis_code: leave.diagnosis_code.clone(),
                    previous,
                }),
                Details::SickLeave {
                    diagnosis_display: String::new(),
                    employer: employer.as_str().to_owned(),
                    days,
                    chain_days: days,
                },
            )
        }
        Some(pb::certificate::Details::Medical(medical)) => {
            let purpose =
                violations.check("certificate.medical.purpose", Line::parse(&medical.purpose));
            if purpose.as_ref().is_some_and(Line::is_empty) {
                violations.add("certificate.medical.purpose", "is required");
            }
            let findings = violations.check(
                "certificate.medical.findings",
                Text::parse_required(&medical.findings),
            );
            (
                None,
                Details::Medical {
                    purpose: purpose?.as_str().to_owned(),
                    findings: findings?.as_str().to_owned(),
                },
            )
        }
        Some(pb::certificate::Details::Death(death)) => {
            if death.death_time.is_none() {
                violations.add("certificate.death.death_time", "is required");
            }
            let death_time = violations.check(
                "certificate.death.death_time",
                past_or_now(death.death_time.as_ref(), now),
            );
            let place = violations.check(
                "certificate.death.place_of_death",
                Line::parse(&death.place_of_death),
            );
            let manner = death.manner.trim().to_lowercase().replace(' ', "_");
            if !MANNERS.contains(&manner.as_str()) {
                violations.add(
                    "certificate.death.manner",
                    format!("must be one of {}", MANNERS.join(", ")),
                );
            }
            for (field, code) in [
                (
                    "certificate.death.immediate_cause_code",
                    &death.immediate_cause_code,
                ),
                (
                    "certificate.death.underlying_cause_code",
                    &death.underlying_cause_code,
                ),
            ] {
                if code.trim().is_empty() {
                    violations.add(field, "is required");
                }
                codes.push((field.to_owned(), code.clone()));
            }
            for (index, code) in death.antecedent_cause_codes.iter().enumerate() {
                codes.push((
                    format!("certificate.death.antecedent_cause_codes[{index}]"),
                    code.clone(),
                ));
            }
            for (index, code) in death.contributing_cause_codes.iter().enumerate() {
                codes.push((
                    format!("certificate.death.contributing_cause_codes[{index}]"),
                    code.clone(),
                ));
            }
            (
                None,
                Details::Death {
                    death_time: death_time?,
                    place_of_death: place?.as_str().to_owned(),
                    immediate_cause_code: death.immediate_cause_code.trim().to_uppercase(),
                    antecedent_cause_codes: death
                        .antecedent_cause_codes
                        .iter()
                        .map(|code| code.trim().to_uppercase())
                        .collect(),
                    underlying_cause_code: death.underlying_cause_code.trim().to_uppercase(),
                    contributing_cause_codes: death
                        .contributing_cause_codes
                        .iter()
                        .map(|code| code.trim().to_uppercase())
                        .collect(),
                    manner,
                    autopsy: death.autopsy,
                },
            )
        }
        None => {
            violations.add(
                "certificate.details",
                "give sick_leave, medical or death details",
            );
            return None;
        }
    };
    Some(Draft {
        encounter_id: encounter_id?,
        codes,
        sick_leave,
        details,
    })
}

#[tonic::async_trait]
impl CertificateService for CertificateApi {
    #[tracing::instrument(skip_all)]
    async fn issue_certificate(
        &self,
        request: Request<pb::IssueCertificateRequest>,
    ) -> Result<Response<pb::IssueCertificateResponse>, Status> {
        let context = RequestContext::of(&request);
        let ward = &self.ward;
        context.authorize_any(CERTIFY)?;
        let message = request.into_inner();
        let now = ward.calls.now();
        let mut violations = Violations::default();
        let key = violations.check("request_id", RequestKey::parse(&message.request_id));
        let draft = parse_draft(message.certificate.as_ref(), now, &mut violations);
        let (Some(key), Some(mut draft), true) = (key, draft, violations.is_empty()) else {
            return Err(Error::from(violations).into());
        };
        let method = Ward::method_of(SERVICE, "IssueCertificate");
        if let Some(replayed) = ward.calls.replay(&context, &method, &key, &message).await? {
            return Ok(Response::new(replayed));
        }
        // Every ICD-10 code of the certificate is checked on its own, so a refusal names the
        // field that carried it.
        for (field, code) in &draft.codes {
            let checked = ward
                .directory
                .check_codes(&context, ICD10, field, std::slice::from_ref(code), false)
                .await?;
            if let (
                Details::SickLeave {
                    diagnosis_display, ..
                },
                Some(checked),
            ) = (&mut draft.details, checked.first())
            {
                diagnosis_display.clone_from(&checked.display);
                if let Some(leave) = &mut draft.sick_leave {
                    leave.diagnosis_code.clone_from(&checked.code);
                }
            }
        }
        let (_patient_id, facility_id) = {
            let mut tx = ward.read_tx(&context).await?;
            let encounter = store::get_encounter(&mut tx, draft.encounter_id, Lock::None).await?;
            tx.commit().await.map_err(Error::from)?;
            (encounter.patient_id, encounter.facility_id)
        };
        let zone = ward.directory.time_zone(&context, facility_id).await?;
        let year = zone
            .parse::<chrono_tz::Tz>()
            .map(|zone| now.with_timezone(&zone).year())
            .unwrap_or_else(|_| now.year());
        let series = format!("{}-{year}", draft.details.prefix());
        let response = ward
            .calls
            .write(&context, &method, &key, &message, async |tx| {
                let encounter = crate::grpc::Ward::encounter_for_change(
                    tx,
                    &context,
                    draft.encounter_id,
                    CERTIFY,
                )
                .await?;
                let id = Uuid::now_v7();
                let mut details = draft.details;
                let (mut first, mut previous) = (None, None);
                if let Some(leave) = &draft.sick_leave {
                    first = Some(id);
                    if let Some(previous_id) = leave.previous {
                        let earlier =
                            store::get_certificate(tx, previous_id, Lock::ForUpdate).await?;
                        if earlier.kind != "sick_leave"
                            || earlier.patient_id != encounter.patient_id
                        {
                            return Err(Error::invalid(
                                "certificate.sick_leave.previous_certificate_id",
                                "is not a sick-leave certificate of this patient",
                            ));
                        }
                        let follows = earlier
                            .period_end
                            .and_then(|end| end.succ_opt())
                            .is_some_and(|next| next == leave.start);
                        if !follows {
                            return Err(Error::invalid(
                                "certificate.sick_leave.period_start",
                                "an extension starts the day after the certificate it extends ends",
                            ));
                        }
                        if let (
                            Details::SickLeave {
                                chain_days, days, ..
                            },
                            Details::SickLeave {
                                chain_days: earlier_chain,
                                ..
                            },
                        ) = (&mut details, &earlier.details.0)
                        {
                            *chain_days = earlier_chain + *days;
                        }
                        first = earlier.first_certificate_id;
                        previous = Some(previous_id);
                    }
                }
                let number =
                    store::next_certificate_number(tx, encounter.facility_id, &series).await?;
                let row = CertificateRow {
                    id,
                    kind: details.kind().to_owned(),
                    patient_id: encounter.patient_id,
                    encounter_id: encounter.id,
                    facility_id: encounter.facility_id,
                    series,
                    number,
                    issued_by: context.user_id(),
                    issue_time: now,
                    period_start: draft.sick_leave.as_ref().map(|leave| leave.start),
                    period_end: draft.sick_leave.as_ref().map(|leave| leave.end),
                    diagnosis_code: draft
                        .sick_leave
                        .as_ref()
                        .map(|leave| leave.diagnosis_code.clone()),
                    first_certificate_id: first,
                    previous_certificate_id: previous,
                    details: sqlx::types::Json(details),
                };
                store::insert_certificate(tx, &row).await?;
                let certificate = to_pb(&row);
                events::certificate_issued(tx, &certificate, now).await?;
                let patients = [encounter.patient_id];
                let resources = [id.to_string()];
                audit::record(
                    tx,
                    &context,
                    &AuditEntry {
                        resource_ids: &resources,
                        ..AuditEntry::ok(&patients)
                    },
                    now,
                )
                .await?;
                Ok(pb::IssueCertificateResponse {
                    certificate: Some(certificate),
                })
            })
            .await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all)]
    async fn get_certificate(
        &self,
        request: Request<pb::GetCertificateRequest>,
    ) -> Result<Response<pb::GetCertificateResponse>, Status> {
        let context = RequestContext::of(&request);
        let ward = &self.ward;
        context.authorize_any(READ)?;
        let mut violations = Violations::default();
        let Some(id) = parse_id("id", &request.get_ref().id, &mut violations) else {
            return Err(Error::from(violations).into());
        };
        let _now = ward.calls.now();
        let mut tx = ward.read_tx(&context).await?;
        let row = store::get_certificate(&mut tx, id, Lock::None).await?;
        let encounter = store::get_encounter(&mut tx, row.encounter_id, Lock::None).await?;
        let access = match context.authorize_patient(READ, &target_of(&encounter)) {
            Ok(access) => access,
            Err(denied) => {
                drop(tx);
                return Err(ward
                    .calls
                    .refuse(&context, &[row.patient_id], denied)
                    .await
                    .into());
            }
        };
        ward.commit_read(tx, &context, Shown::patient(row.patient_id, &access))
            .await?;
        Ok(Response::new(pb::GetCertificateResponse {
            certificate: Some(to_pb(&row)),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn list_certificates(
        &self,
        request: Request<pb::ListCertificatesRequest>,
    ) -> Result<Response<pb::ListCertificatesResponse>, Status> {
        let context = RequestContext::of(&request);
        let ward = &self.ward;
        context.authorize_any(READ)?;
        let mut violations = Violations::default();
        let Some(patient_id) =
            parse_id("patient_id", &request.get_ref().patient_id, &mut violations)
        else {
            return Err(Error::from(violations).into());
        };
        let _now = ward.calls.now();
        let mut tx = ward.read_tx(&context).await?;
        let access = match patient_access(&mut tx, &context, patient_id, READ).await {
            Ok(access) => access,
            Err(Error::Refused { status, .. }) => {
                drop(tx);
                return Err(ward
                    .calls
                    .refuse(&context, &[patient_id], status)
                    .await
                    .into());
            }
            Err(error) => return Err(error.into()),
        };
        let rows = store::certificates_of(&mut tx, patient_id).await?;
        ward.commit_read(tx, &context, Shown::patient(patient_id, &access))
            .await?;
        Ok(Response::new(pb::ListCertificatesResponse {
            certificates: rows.iter().map(to_pb).collect(),
        }))
    }
}
