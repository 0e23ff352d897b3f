//! The certificate service's adapter: sick leave, medical and death certificates.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use hmis_platform::types::{Line, Text, parse_date};
use hmis_platform::{RequestContext, Violations};
use hmis_proto::openhmis::encounters::v1 as pb;
use pb::certificate_service_server::CertificateService;
use tonic::{Request, Response};

use super::Answer;
use crate::app::{CERTIFY, Draft, READ, SickLeaveDraft, Ward};
use crate::convert::past_or_now;
use crate::domain::CertificateDetails as Details;
use crate::error::Result;

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

#[tonic::async_trait]
impl CertificateService for CertificateApi {
    #[tracing::instrument(skip_all)]
    async fn issue_certificate(
        &self,
        request: Request<pb::IssueCertificateRequest>,
    ) -> Answer<pb::IssueCertificateResponse> {
        let context = RequestContext::of(&request);
        context.authorize_any(CERTIFY)?;
        let message = request.into_inner();
        let command = draft(&message, self.ward.calls.now())?;
        Ok(Response::new(
            self.ward
                .issue_certificate(&context, &message, command)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn get_certificate(
        &self,
        request: Request<pb::GetCertificateRequest>,
    ) -> Answer<pb::GetCertificateResponse> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.into_inner();
        let command = super::parse::id("id", &message.id)?;
        Ok(Response::new(
            self.ward.get_certificate(&context, command).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn list_certificates(
        &self,
        request: Request<pb::ListCertificatesRequest>,
    ) -> Answer<pb::ListCertificatesResponse> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.into_inner();
        let command = super::parse::id("patient_id", &message.patient_id)?;
        Ok(Response::new(
            self.ward.list_certificates(&context, command).await?,
        ))
    }
}

/// A certificate's parts as parsed: its encounter, its codes with their fields, the sick
/// leave's period and its details.
type Parsed = (
    uuid::Uuid,
    Vec<(String, String)>,
    Option<SickLeaveDraft>,
    Details,
);

fn draft(message: &pb::IssueCertificateRequest, now: DateTime<Utc>) -> Result<Draft> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let parsed = details(message.certificate.as_ref(), now, &mut violations);
    Ok(violations.finish(|| {
        let (encounter_id, codes, sick_leave, details) = parsed?;
        Some(Draft {
            key: key?,
            encounter_id,
            codes,
            sick_leave,
            details,
        })
    })?)
}

fn details(
    certificate: Option<&pb::Certificate>,
    now: DateTime<Utc>,
    violations: &mut Violations,
) -> Option<Parsed> {
    let Some(certificate) = certificate else {
        violations.add("certificate", "is required");
        return None;
    };
    let encounter_id = violations.id("certificate.encounter_id", &certificate.encounter_id);
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
            let previous = violations.optional_id(
                "certificate.sick_leave.previous_certificate_id",
                &leave.previous_certificate_id,
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
    Some((encounter_id?, codes, sick_leave, details))
}
