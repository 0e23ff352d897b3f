//! Prescribing: the medication safety check (interactions, maximum daily dose, allergies,
//! duplicate therapy), prescribing privileges for restricted classes, overrides of severe
//! warnings, discontinuing, listing and the printable sheet.
//!
//! A prescription is checked and written in one transaction holding the patient's
//! prescribing lock (`store::lock_patient`): two prescribers at once see each other's
//! prescriptions, so an interaction cannot slip between them.

use chrono::{DateTime, Utc};
use hmis_platform::call::Shown;
use hmis_platform::context::PatientAccess;
use hmis_platform::idempotency::RequestKey;
use hmis_platform::types::{Text, Version};
use hmis_platform::{RequestContext, TenantTx};
use hmis_proto::openhmis::encounters::v1 as pb;
use tonic::Status;
use uuid::Uuid;

use super::{READ, Ward, patient_access, refused, require_orderable, target_of};
use crate::convert::{prescription_to_pb, warning_to_pb};
use crate::domain::safety::{
    self, ActiveMedicine, Candidate, InteractionRule, KnownAllergy, Warning,
};
use crate::domain::{
    AllergyCategory, Amount, Dosing, ReactionKind, Restriction, Route, Severity, WarningSeverity,
    dose_in_strength_unit,
};
use crate::error::{Error, Result};
use crate::events;
use crate::store::{self, EncounterRow, Lock, MedicineRow, PrescriptionRow};

pub(crate) const PRESCRIBE: &str = "encounters.prescribe";
pub(crate) const OVERRIDE: &str = "encounters.override";

/// A prescription as the request gave it, parsed.
#[derive(Debug, Clone)]
pub(crate) struct Order {
    pub(crate) encounter_id: Uuid,
    pub(crate) medicine_id: Uuid,
    pub(crate) dose: Amount,
    pub(crate) dose_unit: String,
    pub(crate) route: Route,
    pub(crate) times_per_day: u32,
    pub(crate) times_of_day: Vec<String>,
    pub(crate) as_needed: bool,
    pub(crate) as_needed_reason: String,
    pub(crate) start_time: Option<DateTime<Utc>>,
    pub(crate) stop_time: Option<DateTime<Utc>>,
    pub(crate) instructions: String,
    /// The discharge's list (take-home medication).
    pub(crate) take_home: bool,
}

/// A prescription stopped, with why, against the version read when one is given.
pub(crate) struct Discontinuation {
    pub(crate) key: RequestKey,
    pub(crate) id: Uuid,
    pub(crate) reason: Text,
    pub(crate) etag: Option<Version>,
}

/// Whose prescriptions to list: an encounter's or a patient's.
pub(crate) enum PrescriptionPage {
    Encounter(Uuid),
    Patient(Uuid),
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
    if order.take_home {
        // The list she leaves with is written while the discharge is announced, too.
        super::require_open(&encounter)?;
        if encounter.admission_id.is_none() {
            return Err(Error::invalid(
                "prescription.take_home",
                "take-home medication is a stay's; an outpatient's prescriptions are taken home",
            ));
        }
    } else {
        require_orderable(&encounter)?;
    }
    let medicine = store::get_medicine(tx, order.medicine_id).await?;
    let restriction =
        Restriction::from_db(&medicine.restriction).ok_or(Error::corrupt("medicine"))?;
    if let Some(privilege) = safety::privilege_for(restriction)
        && !context.principal()?.is_allowed(privilege, &target)
    {
        return Err(Error::refused(
            Status::permission_denied(format!(
                "{} is a restricted medicine ({}); prescribing it needs the privilege {privilege}",
                medicine.name,
                restriction.as_db().replace('_', " ")
            )),
            vec![encounter.patient_id],
        ));
    }
    let strength = Amount::from_db(&medicine.strength).map_err(|_| Error::corrupt("strength"))?;
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
                    .ok_or(Error::corrupt("allergy severity"))?,
            })
        })
        .collect::<Result<_>>()?;
    let rules: Vec<InteractionRule> = store::rules_touching(tx, &medicine.atc_code)
        .await?
        .into_iter()
        .map(|row| {
            Ok(InteractionRule {
                severity: WarningSeverity::from_db(&row.severity)
                    .ok_or(Error::corrupt("rule severity"))?,
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
        .map_err(|_| Error::corrupt("max daily dose"))?;
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

/// The prescriptions asked for, with the caller's access to their patient (audited by the
/// caller of this function).
async fn readable_prescriptions(
    ward: &Ward,
    tx: &mut TenantTx,
    context: &RequestContext,
    subject: &PrescriptionPage,
    active_only: bool,
) -> Result<(
    Uuid,
    PatientAccess,
    Vec<PrescriptionRow>,
    Option<EncounterRow>,
)> {
    match *subject {
        PrescriptionPage::Encounter(encounter_id) => {
            let (encounter, access) = ward.readable_encounter(tx, context, encounter_id).await?;
            let rows = store::prescriptions(tx, Some(encounter_id), None, active_only).await?;
            Ok((encounter.patient_id, access, rows, Some(encounter)))
        }
        PrescriptionPage::Patient(patient_id) => {
            let access = patient_access(tx, context, patient_id, READ).await?;
            let rows = store::prescriptions(tx, None, Some(patient_id), active_only).await?;
            Ok((patient_id, access, rows, None))
        }
    }
}

/// What the pharmacy may dispense against a prescription in all, in the medicine's form unit:
/// one dose in form units (a dose in the strength unit divided by the strength, rounded up to
/// four places) × doses per day × the days of the course, whole days rounded up: to its stop
/// time, or while it has none, the days it has run and the next. `None` when the dose is in a
/// unit the medicine does not count in.
fn dispensable_quantity(
    row: &store::PrescriptionRow,
    medicine: &store::MedicineRow,
    now: DateTime<Utc>,
) -> Option<hmis_platform::amount::Amount> {
    use hmis_platform::amount::Amount;
    let per_dose = i128::from(dose_in_form_units(row, medicine)?.scaled());
    // Whole days, rounded up, at least one: the course to its stop time; while it has none,
    // the days it has run (today counts) and the next.
    let whole_days = |seconds: i64| (seconds.max(1) + 86_399) / 86_400;
    let days = i128::from(match row.stop_time {
        Some(stop) => whole_days((stop - row.start_time).num_seconds()),
        None => whole_days((now - row.start_time).num_seconds()) + 1,
    });
    let total = per_dose * i128::from(row.times_per_day.max(1)) * days;
    Amount::from_scaled_positive(i64::try_from(total).ok()?)
}

/// One dose of a prescription in the medicine's form unit: as prescribed when it is in form
/// units, else the dose in the strength unit divided by the strength, rounded up to four
/// places. `None` when the dose is in a unit the medicine does not count in.
pub(crate) fn dose_in_form_units(
    row: &store::PrescriptionRow,
    medicine: &store::MedicineRow,
) -> Option<hmis_platform::amount::Amount> {
    use hmis_platform::amount::Amount;
    const SCALE: i128 = 10_000;
    let dose = i128::from(Amount::from_db(&row.dose).ok()?.scaled());
    let per_dose = if row.dose_unit == medicine.form_unit {
        dose
    } else if row.dose_unit == medicine.strength_unit {
        let strength = i128::from(Amount::from_db(&medicine.strength).ok()?.scaled());
        (dose * SCALE + strength - 1) / strength
    } else {
        return None;
    };
    Amount::from_scaled_positive(i64::try_from(per_dose).ok()?)
}

impl Ward {
    /// What the safety check says of an order, nothing written; the read is on record.
    pub(crate) async fn check_prescription(
        &self,
        context: &RequestContext,
        order: Order,
    ) -> Result<pb::CheckPrescriptionResponse> {
        let now = self.calls.now();
        let evaluation = (self.calls)
            .read(context, async |tx| {
                let evaluation = evaluate(tx, context, &order, now).await?;
                let patient_id = evaluation.encounter.patient_id;
                Ok((
                    evaluation,
                    Shown::patient(patient_id, &PatientAccess::InScope),
                ))
            })
            .await?;
        Ok(pb::CheckPrescriptionResponse {
            blocked: evaluation.warnings.iter().any(Warning::is_severe),
            warnings: evaluation.warnings.iter().map(warning_to_pb).collect(),
        })
    }

    /// Writes the order when the check finds nothing severe, or when a physician overrides
    /// what it found with a reason.
    pub(crate) async fn create_prescription(
        &self,
        context: &RequestContext,
        message: &pb::CreatePrescriptionRequest,
        (key, order, override_reason): (RequestKey, Order, Text),
    ) -> Result<pb::CreatePrescriptionResponse> {
        let now = self.calls.now();
        let method = Ward::method("CreatePrescription");
        if let Some(replayed) = self.calls.replay(context, &method, &key, message).await? {
            return Ok(replayed);
        }
        self.patient_of(context, order.encounter_id).await?;
        (self.calls)
            .write(context, &method, &key, message, async |tx| {
                let evaluation = evaluate(tx, context, &order, now).await?;
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
                        .map_err(|_| {
                            Error::refused(
                                Status::permission_denied(
                                    "overriding a severe prescribing warning needs the \
                                 permission encounters.override (a physician's)",
                                ),
                                vec![encounter.patient_id],
                            )
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
                    verification: if order.take_home {
                        super::verification::NOT_REQUIRED.to_owned()
                    } else {
                        super::verification::initial_verification(encounter).to_owned()
                    },
                    verified_by: None,
                    verified_at: None,
                    take_home: order.take_home,
                };
                if order.stop_time.is_some_and(|stop| stop <= start_time) {
                    return Err(Error::invalid(
                        "prescription.stop_time",
                        "must be after the start",
                    ));
                }
                let stored = store::insert_prescription(tx, &row).await?;
                let prescription = prescription_to_pb(&stored);
                events::prescription(tx, events::PRESCRIPTION_CREATED, &prescription, now).await?;
                super::audit_change(tx, context, encounter.patient_id, stored.id, now).await?;
                Ok(pb::CreatePrescriptionResponse {
                    warnings: prescription.warnings.clone(),
                    prescription: Some(prescription),
                })
            })
            .await
    }

    pub(crate) async fn discontinue_prescription(
        &self,
        context: &RequestContext,
        message: &pb::DiscontinuePrescriptionRequest,
        discontinuation: Discontinuation,
    ) -> Result<pb::DiscontinuePrescriptionResponse> {
        let now = self.calls.now();
        let method = Ward::method("DiscontinuePrescription");
        let Discontinuation {
            key,
            id,
            reason,
            etag,
        } = discontinuation;
        if let Some(replayed) = self.calls.replay(context, &method, &key, message).await? {
            return Ok(replayed);
        }
        {
            let mut tx = self.read_tx(context).await?;
            store::get_prescription(&mut tx, id, Lock::None).await?;
            tx.commit().await?;
        }
        (self.calls)
            .write(context, &method, &key, message, async |tx| {
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
                // A nurse's open question is answered by the change it led to.
                store::answer_open_queries(
                    tx,
                    id,
                    &format!("discontinued: {}", reason.as_str()),
                    context.user_id(),
                    now,
                )
                .await?;
                let prescription = prescription_to_pb(&stopped);
                events::prescription(tx, events::PRESCRIPTION_DISCONTINUED, &prescription, now)
                    .await?;
                super::audit_change(tx, context, row.patient_id, id, now).await?;
                Ok(pb::DiscontinuePrescriptionResponse {
                    prescription: Some(prescription),
                })
            })
            .await
    }

    pub(crate) async fn list_prescriptions(
        &self,
        context: &RequestContext,
        subject: PrescriptionPage,
        active_only: bool,
    ) -> Result<pb::ListPrescriptionsResponse> {
        let rows = (self.calls)
            .read(context, async |tx| {
                let (patient, access, rows, _) =
                    readable_prescriptions(self, tx, context, &subject, active_only).await?;
                Ok((rows, Shown::patient(patient, &access)))
            })
            .await?;
        Ok(pb::ListPrescriptionsResponse {
            prescriptions: rows.iter().map(prescription_to_pb).collect(),
        })
    }

    pub(crate) async fn get_prescription(
        &self,
        context: &RequestContext,
        id: Uuid,
    ) -> Result<pb::GetPrescriptionResponse> {
        let now = self.calls.now();
        let mut tx = self.read_tx(context).await?;
        let row = store::get_prescription(&mut tx, id, Lock::None).await?;
        let (encounter, access) =
            (self.readable_encounter(&mut tx, context, row.encounter_id)).await?;
        let medicine = store::get_medicine(&mut tx, row.medicine_id).await?;
        self.commit_read(tx, context, Shown::patient(encounter.patient_id, &access))
            .await?;
        let dispensable = dispensable_quantity(&row, &medicine, now);
        Ok(pb::GetPrescriptionResponse {
            prescription: Some(pb::Prescription {
                dispensable_quantity: dispensable
                    .map(|amount| amount.to_string())
                    .unwrap_or_default(),
                form_unit: medicine.form_unit.clone(),
                ..prescription_to_pb(&row)
            }),
        })
    }

    /// The encounter's prescriptions as a printable sheet.
    pub(crate) async fn print_prescriptions(
        &self,
        context: &RequestContext,
        encounter_id: Uuid,
    ) -> Result<pb::PrintPrescriptionsResponse> {
        let now = self.calls.now();
        let mut tx = self.read_tx(context).await?;
        let subject = PrescriptionPage::Encounter(encounter_id);
        let (patient, access, rows, encounter) =
            readable_prescriptions(self, &mut tx, context, &subject, false).await?;
        self.commit_read(tx, context, Shown::patient(patient, &access))
            .await?;
        let encounter = encounter.ok_or(Error::corrupt("encounter"))?;
        Ok(pb::PrintPrescriptionsResponse {
            content_type: "text/plain; charset=utf-8".to_owned(),
            content: super::extract::prescription_sheet(&encounter, &rows, now),
        })
    }
}
