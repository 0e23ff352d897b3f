//! Prescribing: the medication safety check (interactions, maximum daily dose, allergies,
//! duplicate therapy), prescribing privileges for restricted classes, overrides of severe
//! warnings, discontinuing, listing and the printable sheet.
//!
//! A prescription is checked and written in one transaction holding the patient's
//! prescribing lock (`store::lock_patient`): two prescribers at once see each other's
//! prescriptions, so an interaction cannot slip between them.

use chrono::{DateTime, Utc};
use hmis_platform::audit::{self, AuditEntry};
use hmis_platform::call::Shown;
use hmis_platform::context::PatientAccess;
use hmis_platform::idempotency::RequestKey;
use hmis_platform::types::{Text, Version};
use hmis_platform::wire::parse_timestamp;
use hmis_platform::{RequestContext, TenantTx, Violations};
use hmis_proto::openhmis::encounters::v1 as pb;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::convert::{parse_route, prescription_to_pb, warning_to_pb};
use crate::domain::safety::{
    self, ActiveMedicine, Candidate, InteractionRule, KnownAllergy, Warning,
};
use crate::domain::{
    AllergyCategory, Amount, Dosing, ReactionKind, Restriction, Route, Severity, WarningSeverity,
    dose_in_strength_unit, parse_time_of_day,
};
use crate::error::{Error, Result};
use crate::events;
use crate::grpc::{
    EncounterApi, READ, Ward, parse_id, parse_optional_etag, patient_access, refused, require_open,
    target_of,
};
use crate::store::{self, EncounterRow, Lock, MedicineRow, PrescriptionRow};

pub(crate) const PRESCRIBE: &str = "encounters.prescribe";
pub(crate) const OVERRIDE: &str = "encounters.override";

/// A prescription as the request gave it, parsed.
#[derive(Debug, Clone)]
struct Order {
    encounter_id: Uuid,
    medicine_id: Uuid,
    dose: Amount,
    dose_unit: String,
    route: Route,
    times_per_day: u32,
    times_of_day: Vec<String>,
    as_needed: bool,
    as_needed_reason: String,
    start_time: Option<DateTime<Utc>>,
    stop_time: Option<DateTime<Utc>>,
    instructions: String,
}

fn parse_order(message: Option<&pb::Prescription>, violations: &mut Violations) -> Option<Order> {
    let Some(prescription) = message else {
        violations.add("prescription", "is required");
        return None;
    };
    let encounter_id = parse_id(
        "prescription.encounter_id",
        &prescription.encounter_id,
        violations,
    );
    let medicine_id = parse_id(
        "prescription.medicine_id",
        &prescription.medicine_id,
        violations,
    );
    let dose = violations.check("prescription.dose", Amount::parse(&prescription.dose));
    let dose_unit = prescription.dose_unit.trim().to_owned();
    if dose_unit.is_empty() {
        violations.add("prescription.dose_unit", "is required");
    }
    let route = violations.check("prescription.route", parse_route(prescription.route));
    let times_per_day = match u32::try_from(prescription.times_per_day) {
        Ok(times) if (1..=24).contains(&times) => Some(times),
        _ => {
            violations.add("prescription.times_per_day", "must be from 1 to 24");
            None
        }
    };
    let mut times_of_day = Vec::new();
    for (index, time) in prescription.times_of_day.iter().enumerate() {
        if let Some(time) = violations.check(
            &format!("prescription.times_of_day[{index}]"),
            parse_time_of_day(time),
        ) {
            times_of_day.push(time);
        }
    }
    if let Some(times) = times_per_day
        && !prescription.times_of_day.is_empty()
        && prescription.times_of_day.len() != times as usize
    {
        violations.add(
            "prescription.times_of_day",
            format!("must list {times} times, one per dose"),
        );
    }
    if prescription.as_needed && !prescription.times_of_day.is_empty() {
        violations.add(
            "prescription.times_of_day",
            "an as-needed medicine has no fixed times",
        );
    }
    let as_needed_reason = violations.check(
        "prescription.as_needed_reason",
        Text::parse(&prescription.as_needed_reason),
    );
    let start_time = violations
        .check(
            "prescription.start_time",
            parse_timestamp(prescription.start_time.as_ref()),
        )
        .flatten();
    let stop_time = violations
        .check(
            "prescription.stop_time",
            parse_timestamp(prescription.stop_time.as_ref()),
        )
        .flatten();
    if let (Some(start), Some(stop)) = (start_time, stop_time)
        && stop <= start
    {
        violations.add("prescription.stop_time", "must be after start_time");
    }
    let instructions = violations.check(
        "prescription.instructions",
        Text::parse(&prescription.instructions),
    );
    Some(Order {
        encounter_id: encounter_id?,
        medicine_id: medicine_id?,
        dose: dose?,
        dose_unit,
        route: route?,
        times_per_day: times_per_day?,
        times_of_day,
        as_needed: prescription.as_needed,
        as_needed_reason: as_needed_reason?.as_str().to_owned(),
        start_time,
        stop_time,
        instructions: instructions?.as_str().to_owned(),
    })
}

/// What the check of an order found, with what it read.
struct Evaluation {
    encounter: EncounterRow,
    medicine: MedicineRow,
    daily_amount: Amount,
    warnings: Vec<Warning>,
}

/// Reads what the check needs inside `tx` (which holds the patient's prescribing lock when
/// the order is to be written) and runs it. Refuses a restricted medicine to a prescriber
/// without the privilege.
async fn evaluate(
    tx: &mut TenantTx,
    context: &RequestContext,
    order: &Order,
    now: DateTime<Utc>,
) -> Result<Evaluation> {
    let encounter = store::get_encounter(tx, order.encounter_id, Lock::None).await?;
    let target = target_of(&encounter);
    context
        .authorize(PRESCRIBE, &target)
        .map_err(refused(encounter.patient_id))?;
    require_open(&encounter)?;
    let medicine = store::get_medicine(tx, order.medicine_id).await?;
    let restriction =
        Restriction::from_db(&medicine.restriction).ok_or(Error::CorruptRow("medicine"))?;
    if let Some(privilege) = safety::privilege_for(restriction)
        && !context.principal()?.is_allowed(privilege, &target)
    {
        return Err(Error::Refused {
            status: Status::permission_denied(format!(
                "{} is a restricted medicine ({}); prescribing it needs the privilege {privilege}",
                medicine.name,
                restriction.as_db().replace('_', " ")
            )),
            patients: vec![encounter.patient_id],
        });
    }
    let strength =
        Amount::from_db(&medicine.strength).map_err(|_| Error::CorruptRow("strength"))?;
    let dosing = Dosing {
        form_unit: &medicine.form_unit,
        strength,
        strength_unit: &medicine.strength_unit,
    };
    let per_dose = dose_in_strength_unit(order.dose, &order.dose_unit, &dosing)
        .map_err(|error| Error::invalid("prescription.dose_unit", error.to_string()))?;
    let daily_amount = per_dose
        .times_count(order.times_per_day)
        .ok_or_else(|| Error::invalid("prescription.dose", "the daily amount is too large"))?;
    store::lock_patient(tx, encounter.patient_id).await?;
    let active: Vec<ActiveMedicine> = store::current_medication(tx, encounter.patient_id, now)
        .await?
        .into_iter()
        .map(
            |(prescription_id, medicine_name, atc_code)| ActiveMedicine {
                prescription_id,
                medicine_name,
                atc_code,
            },
        )
        .collect();
    let allergies: Vec<KnownAllergy> = store::allergies_of(tx, encounter.patient_id)
        .await?
        .into_iter()
        .map(|row| {
            Ok(KnownAllergy {
                id: row.id,
                medication: row.category == AllergyCategory::Medication.as_db(),
                intolerance: row.kind == ReactionKind::Intolerance.as_db(),
                substance_atc_code: row.substance_atc_code,
                substance_text: row.substance_text,
                severity: Severity::from_db(&row.severity)
                    .ok_or(Error::CorruptRow("allergy severity"))?,
            })
        })
        .collect::<Result<_>>()?;
    let rules: Vec<InteractionRule> = store::rules_touching(tx, &medicine.atc_code)
        .await?
        .into_iter()
        .map(|row| {
            Ok(InteractionRule {
                severity: WarningSeverity::from_db(&row.severity)
                    .ok_or(Error::CorruptRow("rule severity"))?,
                atc_code_a: row.atc_code_a,
                atc_code_b: row.atc_code_b,
                description: row.description,
            })
        })
        .collect::<Result<_>>()?;
    let max_daily_dose = medicine
        .max_daily_dose
        .as_deref()
        .map(Amount::from_db)
        .transpose()
        .map_err(|_| Error::CorruptRow("max daily dose"))?;
    let warnings = safety::check(
        &Candidate {
            medicine_name: &medicine.name,
            atc_code: &medicine.atc_code,
            daily_amount,
            max_daily_dose,
            strength_unit: &medicine.strength_unit,
        },
        &active,
        &allergies,
        &rules,
    );
    Ok(Evaluation {
        encounter,
        medicine,
        daily_amount,
        warnings,
    })
}

impl EncounterApi {
    #[tracing::instrument(skip_all)]
    pub(crate) async fn check(
        &self,
        request: Request<pb::CheckPrescriptionRequest>,
    ) -> Result<Response<pb::CheckPrescriptionResponse>, Status> {
        let context = RequestContext::of(&request);
        let ward = &self.ward;
        context.authorize_any(PRESCRIBE)?;
        let mut violations = Violations::default();
        let order = parse_order(request.get_ref().prescription.as_ref(), &mut violations);
        let (Some(order), true) = (order, violations.is_empty()) else {
            return Err(Error::from(violations).into());
        };
        let now = ward.calls.now();
        let mut tx = ward.read_tx(&context).await?;
        let evaluation = match evaluate(&mut tx, &context, &order, now).await {
            Ok(evaluation) => evaluation,
            Err(Error::Refused { status, patients }) => {
                drop(tx);
                let patient = patients.first().copied().unwrap_or_default();
                return Err(ward.calls.refuse(&context, &[patient], status).await.into());
            }
            Err(error) => return Err(error.into()),
        };
        ward.commit_read(
            tx,
            &context,
            Shown::patient(evaluation.encounter.patient_id, &PatientAccess::InScope),
        )
        .await?;
        Ok(Response::new(pb::CheckPrescriptionResponse {
            blocked: evaluation.warnings.iter().any(Warning::is_severe),
            warnings: evaluation.warnings.iter().map(warning_to_pb).collect(),
        }))
    }

    #[tracing::instrument(skip_all)]
    pub(crate) async fn prescribe(
        &self,
        request: Request<pb::CreatePrescriptionRequest>,
    ) -> Result<Response<pb::CreatePrescriptionResponse>, Status> {
        let context = RequestContext::of(&request);
        let ward = &self.ward;
        context.authorize_any(PRESCRIBE)?;
        let message = request.into_inner();
        let now = ward.calls.now();
        let mut violations = Violations::default();
        let key = violations.check("request_id", RequestKey::parse(&message.request_id));
        let order = parse_order(message.prescription.as_ref(), &mut violations);
        let override_reason =
            violations.check("override_reason", Text::parse(&message.override_reason));
        let (Some(key), Some(order), Some(override_reason), true) =
            (key, order, override_reason, violations.is_empty())
        else {
            return Err(Error::from(violations).into());
        };
        if let Some(replayed) = ward
            .calls
            .replay(
                &context,
                &Ward::method("CreatePrescription"),
                &key,
                &message,
            )
            .await?
        {
            return Ok(Response::new(replayed));
        }
        let _patient_id = ward.patient_of(&context, order.encounter_id).await?;
        let response = ward
            .calls
            .write(
                &context,
                &Ward::method("CreatePrescription"),
                &key,
                &message,
                async |tx| {
                    let evaluation = evaluate(tx, &context, &order, now).await?;
                    let encounter = &evaluation.encounter;
                    let severe = evaluation.warnings.iter().any(Warning::is_severe);
                    let overridden = severe && !override_reason.as_str().is_empty();
                    if severe && !overridden {
                        return Err(Error::Blocked {
                            warnings: evaluation.warnings,
                            patient: encounter.patient_id,
                        });
                    }
                    if overridden {
                        // A nurse prescriber may prescribe, but not past a severe warning.
                        context
                            .authorize(OVERRIDE, &target_of(encounter))
                            .map_err(|_| Error::Refused {
                                status: Status::permission_denied(
                                    "overriding a severe prescribing warning needs the \
                                     permission encounters.override (a physician's)",
                                ),
                                patients: vec![encounter.patient_id],
                            })?;
                    }
                    let start_time = order.start_time.unwrap_or(now);
                    let row = PrescriptionRow {
                        id: Uuid::now_v7(),
                        encounter_id: encounter.id,
                        patient_id: encounter.patient_id,
                        medicine_id: evaluation.medicine.id,
                        medicine_code: evaluation.medicine.code.clone(),
                        medicine_name: evaluation.medicine.name.clone(),
                        atc_code: evaluation.medicine.atc_code.clone(),
                        dose: order.dose.to_string(),
                        dose_unit: order.dose_unit.clone(),
                        route: order.route.as_db().to_owned(),
                        times_per_day: i32::try_from(order.times_per_day).unwrap_or(1),
                        times_of_day: order.times_of_day.clone(),
                        as_needed: order.as_needed,
                        as_needed_reason: order.as_needed_reason.clone(),
                        daily_amount: evaluation.daily_amount.to_string(),
                        daily_unit: evaluation.medicine.strength_unit.clone(),
                        start_time,
                        stop_time: order.stop_time,
                        instructions: order.instructions.clone(),
                        status: "active".to_owned(),
                        prescriber_id: context.user_id(),
                        warnings: sqlx::types::Json(evaluation.warnings.clone()),
                        override_reason: if overridden {
                            override_reason.as_str().to_owned()
                        } else {
                            String::new()
                        },
                        overridden_by: overridden.then(|| context.user_id()),
                        discontinue_reason: String::new(),
                        discontinued_by: None,
                        discontinue_time: None,
                        version: 1,
                        created_at: now,
                    };
                    if order.stop_time.is_some_and(|stop| stop <= start_time) {
                        return Err(Error::invalid(
                            "prescription.stop_time",
                            "must be after the start",
                        ));
                    }
                    let stored = store::insert_prescription(tx, &row).await?;
                    let prescription = prescription_to_pb(&stored);
                    events::prescription(tx, events::PRESCRIPTION_CREATED, &prescription, now)
                        .await?;
                    let patients = [encounter.patient_id];
                    let resources = [stored.id.to_string()];
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
                    Ok(pb::CreatePrescriptionResponse {
                        warnings: prescription.warnings.clone(),
                        prescription: Some(prescription),
                    })
                },
            )
            .await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all)]
    pub(crate) async fn discontinue(
        &self,
        request: Request<pb::DiscontinuePrescriptionRequest>,
    ) -> Result<Response<pb::DiscontinuePrescriptionResponse>, Status> {
        let context = RequestContext::of(&request);
        let ward = &self.ward;
        context.authorize_any(PRESCRIBE)?;
        let message = request.into_inner();
        let now = ward.calls.now();
        let mut violations = Violations::default();
        let key = violations.check("request_id", RequestKey::parse(&message.request_id));
        let id = parse_id("id", &message.id, &mut violations);
        let reason = violations.check("reason", Text::parse_required(&message.reason));
        let etag = parse_optional_etag(&message.etag, &mut violations);
        let (Some(key), Some(id), Some(reason), true) = (key, id, reason, violations.is_empty())
        else {
            return Err(Error::from(violations).into());
        };
        if let Some(replayed) = ward
            .calls
            .replay(
                &context,
                &Ward::method("DiscontinuePrescription"),
                &key,
                &message,
            )
            .await?
        {
            return Ok(Response::new(replayed));
        }
        let _patient_id = {
            let mut tx = ward.read_tx(&context).await?;
            let row = store::get_prescription(&mut tx, id, Lock::None).await?;
            tx.commit().await.map_err(Error::from)?;
            row.patient_id
        };
        let response = ward
            .calls
            .write(
                &context,
                &Ward::method("DiscontinuePrescription"),
                &key,
                &message,
                async |tx| {
                    let row = store::get_prescription(tx, id, Lock::ForUpdate).await?;
                    let encounter = store::get_encounter(tx, row.encounter_id, Lock::None).await?;
                    context
                        .authorize(PRESCRIBE, &target_of(&encounter))
                        .map_err(refused(row.patient_id))?;
                    if row.status != "active" {
                        return Err(Error::precondition(
                            "the prescription is already discontinued",
                        ));
                    }
                    if let Some(etag) = etag
                        && Version::from_db(row.version) != etag
                    {
                        return Err(Error::Stale("prescription"));
                    }
                    let stopped = store::discontinue_prescription(
                        tx,
                        id,
                        context.user_id(),
                        reason.as_str(),
                        now,
                    )
                    .await?;
                    let prescription = prescription_to_pb(&stopped);
                    events::prescription(tx, events::PRESCRIPTION_DISCONTINUED, &prescription, now)
                        .await?;
                    let patients = [row.patient_id];
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
                    Ok(pb::DiscontinuePrescriptionResponse {
                        prescription: Some(prescription),
                    })
                },
            )
            .await?;
        Ok(Response::new(response))
    }

    /// The prescriptions asked for, with the caller's access to their patient (audited by
    /// the caller of this function).
    async fn readable_prescriptions(
        &self,
        tx: &mut TenantTx,
        context: &RequestContext,
        encounter_id: Option<Uuid>,
        patient_id: Option<Uuid>,
        active_only: bool,
    ) -> Result<(
        Uuid,
        PatientAccess,
        Vec<PrescriptionRow>,
        Option<EncounterRow>,
    )> {
        let ward = &self.ward;
        if let Some(encounter_id) = encounter_id {
            let (encounter, access) = ward.readable_encounter(tx, context, encounter_id).await?;
            let rows = store::prescriptions(tx, Some(encounter_id), None, active_only).await?;
            return Ok((encounter.patient_id, access, rows, Some(encounter)));
        }
        let patient_id = patient_id.ok_or(Error::CorruptRow("listing without a subject"))?;
        let access = patient_access(tx, context, patient_id, READ).await?;
        let rows = store::prescriptions(tx, None, Some(patient_id), active_only).await?;
        Ok((patient_id, access, rows, None))
    }

    #[tracing::instrument(skip_all)]
    pub(crate) async fn list(
        &self,
        request: Request<pb::ListPrescriptionsRequest>,
    ) -> Result<Response<pb::ListPrescriptionsResponse>, Status> {
        let context = RequestContext::of(&request);
        let ward = &self.ward;
        context.authorize_any(READ)?;
        let message = request.get_ref();
        let mut violations = Violations::default();
        let (encounter_id, patient_id) =
            match (message.encounter_id.trim(), message.patient_id.trim()) {
                ("", "") => {
                    violations.add("encounter_id", "name an encounter or a patient_id");
                    (None, None)
                }
                (encounter, "") => (parse_id("encounter_id", encounter, &mut violations), None),
                ("", patient) => (None, parse_id("patient_id", patient, &mut violations)),
                _ => {
                    violations.add("patient_id", "name an encounter or a patient, not both");
                    (None, None)
                }
            };
        if !violations.is_empty() {
            return Err(Error::from(violations).into());
        }
        let _now = ward.calls.now();
        let mut tx = ward.read_tx(&context).await?;
        let (patient, access, rows, _) = match self
            .readable_prescriptions(
                &mut tx,
                &context,
                encounter_id,
                patient_id,
                message.active_only,
            )
            .await
        {
            Ok(found) => found,
            Err(Error::Refused { status, patients }) => {
                drop(tx);
                let patient = patients.first().copied().unwrap_or_default();
                return Err(ward.calls.refuse(&context, &[patient], status).await.into());
            }
            Err(error) => return Err(error.into()),
        };
        ward.commit_read(tx, &context, Shown::patient(patient, &access))
            .await?;
        Ok(Response::new(pb::ListPrescriptionsResponse {
            prescriptions: rows.iter().map(prescription_to_pb).collect(),
        }))
    }

    #[tracing::instrument(skip_all)]
    pub(crate) async fn get_one(
        &self,
        request: Request<pb::GetPrescriptionRequest>,
    ) -> Result<Response<pb::GetPrescriptionResponse>, Status> {
        let context = RequestContext::of(&request);
        let ward = &self.ward;
        context.authorize_any(READ)?;
        let mut violations = Violations::default();
        let Some(id) = parse_id("id", &request.get_ref().id, &mut violations) else {
            return Err(Error::from(violations).into());
        };
        let _now = ward.calls.now();
        let mut tx = ward.read_tx(&context).await?;
        let row = store::get_prescription(&mut tx, id, Lock::None).await?;
        let (encounter, access) = ward
            .readable_encounter(&mut tx, &context, row.encounter_id)
            .await?;
        ward.commit_read(tx, &context, Shown::patient(encounter.patient_id, &access))
            .await?;
        Ok(Response::new(pb::GetPrescriptionResponse {
            prescription: Some(prescription_to_pb(&row)),
        }))
    }

    #[tracing::instrument(skip_all)]
    pub(crate) async fn print(
        &self,
        request: Request<pb::PrintPrescriptionsRequest>,
    ) -> Result<Response<pb::PrintPrescriptionsResponse>, Status> {
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
        let now = ward.calls.now();
        let mut tx = ward.read_tx(&context).await?;
        let (patient, access, rows, encounter) = self
            .readable_prescriptions(&mut tx, &context, Some(encounter_id), None, false)
            .await?;
        ward.commit_read(tx, &context, Shown::patient(patient, &access))
            .await?;
        let encounter = encounter.ok_or(Error::CorruptRow("encounter"))?;
        Ok(Response::new(pb::PrintPrescriptionsResponse {
            content_type: "text/plain; charset=utf-8".to_owned(),
            content: crate::extract::prescription_sheet(&encounter, &rows, now),
        }))
    }
}
