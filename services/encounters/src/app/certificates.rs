//! Certificates: sick leave (temporary work incapacity, with extensions chained to the first
//! certificate), medical certificates and the medical data of death certificates. Each is
//! numbered in its facility's series for its kind and year ("SL-2026" no. 17) from a counter
//! taken under a row lock in the issuing transaction: no gaps, no duplicates.

use chrono::{Datelike, NaiveDate};
use hmis_platform::RequestContext;
use hmis_platform::call::Shown;
use hmis_platform::idempotency::RequestKey;
use hmis_platform::wire::timestamp;
use hmis_proto::openhmis::encounters::v1 as pb;
use uuid::Uuid;

use super::{ICD10, READ, Ward, target_of};
use crate::domain::CertificateDetails as Details;
use crate::error::{Error, Result};
use crate::events;
use crate::store::{self, CertificateRow, Lock};

pub(crate) const CERTIFY: &str = "encounters.certify";
const SERVICE: &str = "CertificateService";

/// A certificate as the request gave it, parsed; ICD-10 codes still to be checked.
pub(crate) struct Draft {
    pub(crate) key: RequestKey,
    pub(crate) encounter_id: Uuid,
    /// Each code with the field that carried it.
    pub(crate) codes: Vec<(String, String)>,
    pub(crate) sick_leave: Option<SickLeaveDraft>,
    pub(crate) details: Details,
}

pub(crate) struct SickLeaveDraft {
    pub(crate) start: NaiveDate,
    pub(crate) end: NaiveDate,
    pub(crate) diagnosis_code: String,
    pub(crate) previous: Option<Uuid>,
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

impl Ward {
    pub(crate) async fn issue_certificate(
        &self,
        context: &RequestContext,
        message: &pb::IssueCertificateRequest,
        mut draft: Draft,
    ) -> Result<pb::IssueCertificateResponse> {
        let now = self.calls.now();
        let key = draft.key.clone();
        let method = Ward::method_of(SERVICE, "IssueCertificate");
        if let Some(replayed) = self.calls.replay(context, &method, &key, message).await? {
            return Ok(replayed);
        }
        // Every ICD-10 code of the certificate is checked on its own, so a refusal names the
        // field that carried it.
        for (field, code) in &draft.codes {
            let codes = std::slice::from_ref(code);
            let checked = (self
                .directory
                .check_codes(context, ICD10, field, codes, false))
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
        let facility_id = {
            let mut tx = self.read_tx(context).await?;
            let encounter = store::get_encounter(&mut tx, draft.encounter_id, Lock::None).await?;
            tx.commit().await?;
            encounter.facility_id
        };
        let zone = self.directory.time_zone(context, facility_id).await?;
        let year = zone
            .parse::<chrono_tz::Tz>()
            .map(|zone| now.with_timezone(&zone).year())
            .unwrap_or_else(|_| now.year());
        let series = format!("{}-{year}", draft.details.prefix());
        (self.calls)
            .write(context, &method, &key, message, async |tx| {
                let encounter =
                    Ward::encounter_for_change(tx, context, draft.encounter_id, CERTIFY).await?;
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
                super::audit_change(tx, context, encounter.patient_id, id, now).await?;
                Ok(pb::IssueCertificateResponse {
                    certificate: Some(certificate),
                })
            })
            .await
    }

    pub(crate) async fn get_certificate(
        &self,
        context: &RequestContext,
        id: Uuid,
    ) -> Result<pb::GetCertificateResponse> {
        let mut tx = self.read_tx(context).await?;
        let row = store::get_certificate(&mut tx, id, Lock::None).await?;
        let encounter = store::get_encounter(&mut tx, row.encounter_id, Lock::None).await?;
        let access = match context.authorize_patient(READ, &target_of(&encounter)) {
            Ok(access) => access,
            Err(denied) => {
                drop(tx);
                return Err(self.calls.refuse(context, &[row.patient_id], denied).await);
            }
        };
        self.commit_read(tx, context, Shown::patient(row.patient_id, &access))
            .await?;
        Ok(pb::GetCertificateResponse {
            certificate: Some(to_pb(&row)),
        })
    }

    pub(crate) async fn list_certificates(
        &self,
        context: &RequestContext,
        patient_id: Uuid,
    ) -> Result<pb::ListCertificatesResponse> {
        let rows = self
            .patient_read(context, patient_id, async |tx| {
                store::certificates_of(tx, patient_id).await
            })
            .await?;
        Ok(pb::ListCertificatesResponse {
            certificates: rows.iter().map(to_pb).collect(),
        })
    }
}
