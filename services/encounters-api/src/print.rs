//! The medical act's printable documents, read through its contract on behalf of the caller
//! (the encounters module authorizes and audits each read) and laid out for printing: the
//! medical extract, certificates, an encounter's prescriptions and a ward's medication order.
//! Patient and facility headers are the printer's; these are the bodies.

use std::collections::HashMap;

use chrono_tz::Tz;
use hmis_core_api::CoreClient;
use hmis_platform::RequestContext;
use hmis_platform::channel::{
    CallError, ServiceChannel, answered_id, answered_optional_id, forwarded,
};
use hmis_print::{Column, Field, Printable, Printed};
use hmis_proto::openhmis::encounters::v1 as pb;
use pb::certificate_service_client::CertificateServiceClient;
use pb::encounter_service_client::EncounterServiceClient;
use uuid::Uuid;

type Result<T, E = CallError> = std::result::Result<T, E>;

/// A typed client of the medical act, for printing.
#[derive(Debug, Clone)]
pub struct EncountersPrinter {
    encounters: EncounterServiceClient<ServiceChannel>,
    certificates: CertificateServiceClient<ServiceChannel>,
    core: CoreClient,
}

/// Where an encounter belongs: what a document printed from it is filed under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncounterPlace {
    pub encounter_id: Uuid,
    pub patient_id: Uuid,
    pub facility_id: Uuid,
    pub department_id: Option<Uuid>,
    pub admission_id: Option<Uuid>,
    /// The encounter's period, as "YYYY-MM-DD" days (the end empty while it is open).
    pub first_day: String,
    pub last_day: String,
}

/// A timestamp as printed in `format` in the facility's `zone`; empty when absent.
fn formatted(value: Option<&prost_types::Timestamp>, format: &str, zone: Tz) -> String {
    hmis_platform::wire::parse_timestamp(value)
        .ok()
        .flatten()
        .map(|at| at.with_timezone(&zone).format(format).to_string())
        .unwrap_or_default()
}

/// A time as the facility reads it, with its zone's abbreviation ("2026-12-06 14:02 EET").
fn time(value: Option<&prost_types::Timestamp>, zone: Tz) -> String {
    formatted(value, "%Y-%m-%d %H:%M %Z", zone)
}

fn day(value: Option<&prost_types::Timestamp>, zone: Tz) -> String {
    formatted(value, "%Y-%m-%d", zone)
}

/// An enumeration's value as words: `DIAGNOSIS_ROLE_PRINCIPAL` → "principal".
fn words(name: &str, prefix: &str) -> String {
    name.strip_prefix(prefix)
        .unwrap_or(name)
        .replace('_', " ")
        .to_lowercase()
}

fn coded(code: &str, display: &str) -> String {
    match (code, display) {
        (code, "") => code.to_owned(),
        ("", display) => display.to_owned(),
        (code, display) => format!("{code} {display}"),
    }
}

fn period(
    start: Option<&prost_types::Timestamp>,
    end: Option<&prost_types::Timestamp>,
    zone: Tz,
) -> String {
    match time(end, zone) {
        end if end.is_empty() => format!("from {}", time(start, zone)),
        end => format!("{} to {end}", time(start, zone)),
    }
}

fn dose(prescription: &pb::Prescription) -> String {
    let route = pb::Route::try_from(prescription.route)
        .map(|route| words(route.as_str_name(), "ROUTE_"))
        .unwrap_or_default();
    let mut dose = format!(
        "{} {} {route}, {}×/day",
        prescription.dose, prescription.dose_unit, prescription.times_per_day
    );
    if prescription.as_needed {
        dose.push_str(" when needed");
    } else if !prescription.times_of_day.is_empty() {
        dose.push_str(&format!(" at {}", prescription.times_of_day.join(", ")));
    }
    dose
}

fn prescription_rows(prescriptions: &[pb::Prescription], zone: Tz) -> Vec<Vec<String>> {
    prescriptions
        .iter()
        .map(|prescription| {
            let status = pb::PrescriptionStatus::try_from(prescription.status)
                .map(|status| words(status.as_str_name(), "PRESCRIPTION_STATUS_"))
                .unwrap_or_default();
            let mut medicine = prescription.medicine_name.clone();
            if !prescription.instructions.is_empty() {
                medicine.push_str(&format!("\n{}", prescription.instructions));
            }
            vec![
                medicine,
                dose(prescription),
                period(
                    prescription.start_time.as_ref(),
                    prescription.stop_time.as_ref(),
                    zone,
                ),
                status,
            ]
        })
        .collect()
}

fn prescription_columns() -> Vec<Column> {
    vec![
        Column::new("Medicine", 3.0),
        Column::new("Dose", 3.0),
        Column::new("Period", 3.0),
        Column::new("Status", 1.3),
    ]
}

fn place(encounter: &pb::Encounter) -> Result<EncounterPlace> {
    Ok(EncounterPlace {
        encounter_id: answered_id(&encounter.id, "encounter id")?,
        patient_id: answered_id(&encounter.patient_id, "encounter's patient id")?,
        facility_id: answered_id(&encounter.facility_id, "encounter's facility id")?,
        department_id: answered_optional_id(&encounter.department_id, "department id")?,
        admission_id: answered_optional_id(&encounter.admission_id, "admission id")?,
        first_day: day(encounter.start_time.as_ref(), chrono_tz::UTC),
        last_day: day(encounter.end_time.as_ref(), chrono_tz::UTC),
    })
}

impl EncounterPlace {
    /// `printable`, filed under this encounter's patient, facility, ward and admission, as
    /// printed from `source_id`.
    pub fn printed(&self, printable: Printable, source_id: String) -> Printed {
        Printed {
            printable,
            patient_id: Some(self.patient_id),
            facility_id: Some(self.facility_id),
            department_id: self.department_id,
            admission_id: self.admission_id,
            encounter_id: Some(self.encounter_id),
            source_id,
        }
    }
}

/// The extract's body: the stay, then what was found, done and prescribed, then the notes.
fn extract(extract: &pb::MedicalExtract, zone: Tz) -> Printable {
    let mut printable = Printable::new("Medical extract (discharge summary)");
    let encounter = extract.encounter.clone().unwrap_or_default();
    let kind = pb::EncounterKind::try_from(encounter.kind)
        .map(|kind| words(kind.as_str_name(), "ENCOUNTER_KIND_"))
        .unwrap_or_default();
    let mut stay = vec![
        Field::new("Encounter", kind),
        Field::new(
            "Period",
            period(
                encounter.start_time.as_ref(),
                encounter.end_time.as_ref(),
                zone,
            ),
        ),
    ];
    if let Some(admission) = &encounter.admission {
        stay.push(Field::new(
            "Admission no.",
            admission.admission_number.clone(),
        ));
        stay.push(Field::new(
            "Admitting diagnosis",
            coded(
                &admission.admitting_diagnosis_code,
                &admission.admitting_diagnosis_text,
            ),
        ));
    }
    printable.fields(stay);
    printable.heading("Diagnoses").table(
        vec![
            Column::new("Role", 1.5),
            Column::new("Diagnosis", 5.0),
            Column::new("Certainty", 1.5),
        ],
        extract
            .diagnoses
            .iter()
            .map(|diagnosis| {
                vec![
                    pb::DiagnosisRole::try_from(diagnosis.role)
                        .map(|role| words(role.as_str_name(), "DIAGNOSIS_ROLE_"))
                        .unwrap_or_default(),
                    coded(&diagnosis.code, &diagnosis.display),
                    pb::DiagnosisCertainty::try_from(diagnosis.certainty)
                        .map(|c| words(c.as_str_name(), "DIAGNOSIS_CERTAINTY_"))
                        .unwrap_or_default(),
                ]
            })
            .collect(),
    );
    if !extract.allergies.is_empty() {
        printable.heading("Allergies and intolerances").table(
            vec![
                Column::new("Substance", 3.0),
                Column::new("Reaction", 3.0),
                Column::new("Severity", 1.5),
            ],
            extract
                .allergies
                .iter()
                .map(|allergy| {
                    vec![
                        coded(&allergy.substance_atc_code, &allergy.substance_text),
                        allergy.reaction.clone(),
                        pb::ReactionSeverity::try_from(allergy.severity)
                            .map(|s| words(s.as_str_name(), "REACTION_SEVERITY_"))
                            .unwrap_or_default(),
                    ]
                })
                .collect(),
        );
    }
    if !extract.procedures.is_empty() {
        printable.heading("Procedures").table(
            vec![Column::new("When", 2.0), Column::new("Procedure", 5.0)],
            extract
                .procedures
                .iter()
                .map(|procedure| {
                    vec![
                        time(procedure.performed_time.as_ref(), zone),
                        coded(&procedure.code, &procedure.display),
                    ]
                })
                .collect(),
        );
    }
    if !extract.results.is_empty() {
        printable.heading("Laboratory results").table(
            vec![
                Column::new("Test", 3.0),
                Column::new("Result", 2.0),
                Column::new("Reference", 2.0),
                Column::new("Released", 2.0),
            ],
            extract
                .results
                .iter()
                .map(|result| {
                    let mut value = format!("{} {}", result.value, result.unit);
                    if !result.flag.is_empty() {
                        value.push_str(&format!(" ({})", result.flag));
                    }
                    vec![
                        result.test_name.clone(),
                        value.trim().to_owned(),
                        result.reference_range.clone(),
                        time(result.release_time.as_ref(), zone),
                    ]
                })
                .collect(),
        );
    }
    for report in &extract.imaging_reports {
        printable
            .heading(format!("Imaging: {}", report.service_name))
            .paragraph(format!(
                "{}\nConclusion: {}",
                report.findings, report.conclusion
            ));
    }
    if !extract.prescriptions.is_empty() {
        printable.heading("Treatment").table(
            prescription_columns(),
            prescription_rows(&extract.prescriptions, zone),
        );
    }
    if !extract.referrals.is_empty() {
        printable.heading("Referrals").table(
            vec![Column::new("To", 2.0), Column::new("Reason", 5.0)],
            extract
                .referrals
                .iter()
                .map(|referral| {
                    let to = match referral.specialty.as_str() {
                        "" => referral.investigation_codes.join(", "),
                        specialty => specialty.to_owned(),
                    };
                    vec![to, referral.reason.clone()]
                })
                .collect(),
        );
    }
    if !extract.notes.is_empty() {
        printable.heading("Examinations and course");
        for note in &extract.notes {
            let kind = pb::NoteKind::try_from(note.kind)
                .map(|kind| words(kind.as_str_name(), "NOTE_KIND_"))
                .unwrap_or_default();
            printable.paragraph(format!(
                "{} — {kind}\n{}",
                time(note.record_time.as_ref(), zone),
                note.text
            ));
        }
    }
    if !extract.recommendations.is_empty() {
        printable.heading("Recommendations");
        for note in &extract.recommendations {
            printable.paragraph(note.text.clone());
        }
    }
    printable
}

fn certificate(certificate: &pb::Certificate, zone: Tz) -> Printable {
    let reference = format!("{} no. {}", certificate.series, certificate.number);
    let issued = time(certificate.issue_time.as_ref(), zone);
    match &certificate.details {
        Some(pb::certificate::Details::SickLeave(leave)) => {
            let mut printable =
                Printable::new("Certificate of temporary work incapacity").reference(reference);
            let mut fields = vec![
                Field::new(
                    "Incapacity",
                    format!(
                        "{} to {} ({} days)",
                        leave.period_start, leave.period_end, leave.days
                    ),
                ),
                Field::new(
                    "Diagnosis",
                    coded(&leave.diagnosis_code, &leave.diagnosis_display),
                ),
                Field::new("Employer", leave.employer.clone()),
                Field::new("Issued", issued),
            ];
            if !leave.previous_certificate_id.is_empty() {
                fields.push(Field::new(
                    "Extension",
                    format!("of an incapacity of {} days so far", leave.chain_days),
                ));
            }
            printable.fields(fields);
            printable
        }
        Some(pb::certificate::Details::Medical(medical)) => {
            let mut printable = Printable::new("Medical certificate").reference(reference);
            printable
                .fields(vec![
                    Field::new("Issued for", medical.purpose.clone()),
                    Field::new("Issued", issued),
                ])
                .heading("Findings")
                .paragraph(medical.findings.clone());
            printable
        }
        Some(pb::certificate::Details::Death(death)) => {
            let mut printable = Printable::new("Medical certificate of death").reference(reference);
            printable
                .fields(vec![
                    Field::new("Time of death", time(death.death_time.as_ref(), zone)),
                    Field::new("Place of death", death.place_of_death.clone()),
                    Field::new("Manner of death", death.manner.clone()),
                    Field::new("Autopsy", if death.autopsy { "yes" } else { "no" }),
                    Field::new("Issued", issued),
                ])
                .heading("Causes of death")
                .fields(vec![
                    Field::new("I (a) immediate cause", death.immediate_cause_code.clone()),
                    Field::new(
                        "I (b, c) antecedent causes",
                        death.antecedent_cause_codes.join(", "),
                    ),
                    Field::new("Underlying cause", death.underlying_cause_code.clone()),
                    Field::new(
                        "II other significant conditions",
                        death.contributing_cause_codes.join(", "),
                    ),
                ]);
            printable
        }
        None => Printable::new("Certificate").reference(reference),
    }
}

fn ward_order(
    order: &pb::WardMedicationOrder,
    names: &HashMap<String, String>,
    zone: Tz,
) -> Printable {
    let mut printable = Printable::new("Ward medication order")
        .reference(format!("{} day(s) from {}", order.days, order.start_date));
    printable
        .fields(vec![Field::new(
            "Period",
            period(order.period_start.as_ref(), order.period_end.as_ref(), zone),
        )])
        .heading("To the pharmacy")
        .table(
            vec![
                Column::new("Code", 1.5),
                Column::new("Medicine", 4.0),
                Column::new("Quantity", 1.5),
                Column::new("To send", 1.5),
            ],
            order
                .totals
                .iter()
                .map(|total| {
                    vec![
                        total.medicine_code.clone(),
                        total.medicine_name.clone(),
                        format!("{} {}", total.quantity, total.form_unit),
                        format!("{} {}", total.whole_units, total.form_unit),
                    ]
                })
                .collect(),
        )
        .heading("Per patient")
        .table(
            vec![
                Column::new("Patient", 2.5),
                Column::new("Medicine", 3.0),
                Column::new("Dose", 2.0),
                Column::new("Doses", 1.0),
                Column::new("Quantity", 1.5),
            ],
            order
                .medications
                .iter()
                .map(|medication| {
                    vec![
                        names
                            .get(&medication.patient_id)
                            .cloned()
                            .unwrap_or_else(|| medication.patient_id.clone()),
                        medication.medicine_name.clone(),
                        format!("{} {}", medication.dose, medication.dose_unit),
                        medication.doses.to_string(),
                        format!("{} {}", medication.quantity, medication.form_unit),
                    ]
                })
                .collect(),
        );
    printable
}

impl EncountersPrinter {
    /// `encounters` serves `openhmis.encounters.v1.EncounterService`, `certificates`
    /// `openhmis.encounters.v1.CertificateService`; `core` says the facilities' time zones,
    /// which times are printed in.
    pub fn new(encounters: ServiceChannel, certificates: ServiceChannel, core: CoreClient) -> Self {
        Self {
            encounters: EncounterServiceClient::new(encounters),
            certificates: CertificateServiceClient::new(certificates),
            core,
        }
    }

    /// The zone the facility's times are printed in (UTC when it names none).
    async fn zone(&self, context: &RequestContext, facility_id: Uuid) -> Result<Tz> {
        let facility = self.core.facility(context, facility_id).await?;
        Ok(facility.zone().unwrap_or(chrono_tz::UTC))
    }

    /// Where the encounter belongs.
    pub async fn encounter(&self, context: &RequestContext, id: Uuid) -> Result<EncounterPlace> {
        let encounter = self
            .encounters
            .clone()
            .get_encounter(forwarded(
                context,
                pb::GetEncounterRequest { id: id.to_string() },
            ))
            .await?
            .into_inner()
            .encounter
            .ok_or(CallError::Malformed("encounter"))?;
        place(&encounter)
    }

    /// The encounter's medical extract (discharge summary).
    pub async fn medical_extract(&self, context: &RequestContext, id: Uuid) -> Result<Printed> {
        let answer = self
            .encounters
            .clone()
            .get_medical_extract(forwarded(
                context,
                pb::GetMedicalExtractRequest {
                    encounter_id: id.to_string(),
                },
            ))
            .await?
            .into_inner()
            .extract
            .ok_or(CallError::Malformed("medical extract"))?;
        let encounter = answer
            .encounter
            .as_ref()
            .ok_or(CallError::Malformed("extract's encounter"))?;
        let place = place(encounter)?;
        let zone = self.zone(context, place.facility_id).await?;
        Ok(place.printed(extract(&answer, zone), id.to_string()))
    }

    /// A sick-leave, medical or death certificate.
    pub async fn certificate(&self, context: &RequestContext, id: Uuid) -> Result<Printed> {
        let answer = self
            .certificates
            .clone()
            .get_certificate(forwarded(
                context,
                pb::GetCertificateRequest { id: id.to_string() },
            ))
            .await?
            .into_inner()
            .certificate
            .ok_or(CallError::Malformed("certificate"))?;
        let encounter_id = answered_id(&answer.encounter_id, "certificate's encounter id")?;
        let place = self.encounter(context, encounter_id).await?;
        let zone = self.zone(context, place.facility_id).await?;
        Ok(place.printed(certificate(&answer, zone), id.to_string()))
    }

    /// The encounter's prescriptions, as the patient takes them home or the nurse reads them.
    pub async fn prescriptions(&self, context: &RequestContext, id: Uuid) -> Result<Printed> {
        let place = self.encounter(context, id).await?;
        let prescriptions = self
            .encounters
            .clone()
            .list_prescriptions(forwarded(
                context,
                pb::ListPrescriptionsRequest {
                    encounter_id: id.to_string(),
                    ..Default::default()
                },
            ))
            .await?
            .into_inner()
            .prescriptions;
        let zone = self.zone(context, place.facility_id).await?;
        let mut printable = Printable::new("Prescriptions");
        printable.table(
            prescription_columns(),
            prescription_rows(&prescriptions, zone),
        );
        Ok(place.printed(printable, id.to_string()))
    }

    /// The ward's medication order for `days` days from `start_date` ("YYYY-MM-DD"; empty
    /// for tomorrow), as the encounters module generates it.
    pub async fn ward_medication_order(
        &self,
        context: &RequestContext,
        department_id: Uuid,
        (start_date, days): (&str, i32),
    ) -> Result<WardOrder> {
        let order = self
            .encounters
            .clone()
            .get_ward_medication_order(forwarded(
                context,
                pb::GetWardMedicationOrderRequest {
                    department_id: department_id.to_string(),
                    start_date: start_date.to_owned(),
                    days,
                },
            ))
            .await?
            .into_inner()
            .order
            .ok_or(CallError::Malformed("ward medication order"))?;
        let ward = self.core.department(context, department_id).await?;
        let zone = self.zone(context, ward.facility_id).await?;
        Ok(WardOrder {
            department_id,
            order,
            zone,
        })
    }
}

/// A ward's medication order as read, to print once its patients' names are known.
#[derive(Debug, Clone)]
pub struct WardOrder {
    department_id: Uuid,
    order: pb::WardMedicationOrder,
    zone: Tz,
}

impl WardOrder {
    /// The patients it names.
    pub fn patient_ids(&self) -> Result<Vec<Uuid>> {
        let mut ids = Vec::new();
        for medication in &self.order.medications {
            let id = answered_id(&medication.patient_id, "ordered medication's patient id")?;
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        Ok(ids)
    }

    /// The order laid out, each patient named by `names` (id → name).
    pub fn printed(&self, names: &HashMap<Uuid, String>) -> Printed {
        let names = names
            .iter()
            .map(|(id, name)| (id.to_string(), name.clone()))
            .collect();
        Printed {
            source_id: format!(
                "{}/{}/{}",
                self.department_id, self.order.start_date, self.order.days
            ),
            printable: ward_order(&self.order, &names, self.zone),
            department_id: Some(self.department_id),
            ..Printed::default()
        }
    }
}
