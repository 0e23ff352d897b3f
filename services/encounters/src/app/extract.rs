//! The medical extract (discharge summary) of an encounter, assembled from what was recorded
//! in it — diagnoses, procedures, prescriptions, referrals, notes — and the admission it
//! followed, plus its printable text; and the printable prescription sheet.

use std::fmt::Write;

use chrono::{DateTime, Utc};
use hmis_platform::RequestContext;
use hmis_platform::call::Shown;
use hmis_proto::openhmis::admissions::v1 as admissions_pb;
use hmis_proto::openhmis::encounters::v1 as pb;
use prost::Message;
use uuid::Uuid;

use super::Ward;
use crate::convert::{
    allergy_to_pb, diagnosis_to_pb, encounter_to_pb, imaging_report_to_pb,
    investigation_result_to_pb, note_to_pb, prescription_to_pb, procedure_to_pb, referral_to_pb,
    trim_decimal,
};
use crate::domain::NoteKind;
use crate::error::Result;
use crate::store::{self, EncounterRow, PrescriptionRow};

fn day(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn label(value: &str) -> String {
    value.replace('_', " ")
}

fn discharge_type(value: i32) -> &'static str {
    match admissions_pb::DischargeType::try_from(value) {
        Ok(admissions_pb::DischargeType::Recovered) => "recovered",
        Ok(admissions_pb::DischargeType::Improved) => "improved",
        Ok(admissions_pb::DischargeType::Unchanged) => "unchanged",
        Ok(admissions_pb::DischargeType::Worsened) => "worsened",
        Ok(admissions_pb::DischargeType::Deceased) => "deceased",
        Ok(admissions_pb::DischargeType::Transferred) => "transferred",
        Ok(admissions_pb::DischargeType::LeftAgainstAdvice) => "left against medical advice",
        _ => "not recorded",
    }
}

fn timestamp_text(value: Option<&prost_types::Timestamp>) -> String {
    hmis_platform::wire::parse_timestamp(value)
        .ok()
        .flatten()
        .map(day)
        .unwrap_or_default()
}

/// One line of a prescription as a nurse reads it: "Amoxicillin 500 mg caps — 1 capsule oral
/// 3×/day (08:00, 14:00, 20:00), from ... to ...".
fn prescription_line(row: &PrescriptionRow) -> String {
    let mut line = format!(
        "{} — {} {} {} {}×/day",
        row.medicine_name,
        trim_decimal(&row.dose),
        row.dose_unit,
        label(&row.route),
        row.times_per_day
    );
    if row.as_needed {
        line.push_str(" when needed");
        if !row.as_needed_reason.is_empty() {
            let _ = write!(line, " ({})", row.as_needed_reason);
        }
    } else if !row.times_of_day.is_empty() {
        let _ = write!(line, " at {}", row.times_of_day.join(", "));
    }
    let _ = write!(
        line,
        "; {} {} a day; from {}",
        trim_decimal(&row.daily_amount),
        row.daily_unit,
        day(row.start_time)
    );
    if let Some(stop) = row.stop_time {
        let _ = write!(line, " to {}", day(stop));
    }
    if !row.instructions.is_empty() {
        let _ = write!(line, ". {}", row.instructions);
    }
    if row.status != "active" {
        let _ = write!(
            line,
            " [discontinued: {}]",
            if row.discontinue_reason.is_empty() {
                "no reason given"
            } else {
                &row.discontinue_reason
            }
        );
    }
    line
}

/// The printable prescription sheet of an encounter.
pub(crate) fn prescription_sheet(
    encounter: &EncounterRow,
    rows: &[PrescriptionRow],
    printed_at: DateTime<Utc>,
) -> String {
    let mut text = String::new();
    let _ = writeln!(text, "PRESCRIPTION SHEET");
    let _ = writeln!(text, "Patient: {}", encounter.patient_id);
    let _ = writeln!(text, "Encounter: {} ({})", encounter.id, encounter.kind);
    let _ = writeln!(text, "Printed: {}", day(printed_at));
    let _ = writeln!(text);
    if rows.is_empty() {
        let _ = writeln!(text, "No prescriptions.");
    }
    for (index, row) in rows.iter().enumerate() {
        let _ = writeln!(text, "{}. {}", index + 1, prescription_line(row));
        let _ = writeln!(text, "   prescribed by {}", row.prescriber_id);
        if !row.override_reason.is_empty() {
            let _ = writeln!(
                text,
                "   warnings overridden by {}: {}",
                row.overridden_by
                    .map(|id| id.to_string())
                    .unwrap_or_default(),
                row.override_reason
            );
        }
    }
    text
}

/// The extract's printable text.
fn render(extract: &pb::MedicalExtract, prescriptions: &[PrescriptionRow]) -> String {
    let mut text = String::new();
    let encounter = extract.encounter.clone().unwrap_or_default();
    let _ = writeln!(text, "MEDICAL EXTRACT");
    let _ = writeln!(text, "Patient: {}", encounter.patient_id);
    if let Some(admission) = &encounter.admission {
        let _ = writeln!(text, "Admission no. {}", admission.admission_number);
        let _ = writeln!(
            text,
            "Admitted: {}",
            timestamp_text(admission.admit_time.as_ref())
        );
        if let Some(discharge) = &admission.discharge {
            let _ = writeln!(
                text,
                "Discharged: {} — {}{}",
                timestamp_text(discharge.discharge_time.as_ref()),
                discharge_type(discharge.r#type),
                if discharge.destination.is_empty() {
                    String::new()
                } else {
                    format!(", to {}", discharge.destination)
                }
            );
        }
    } else {
        let _ = writeln!(
            text,
            "Outpatient encounter from {}",
            timestamp_text(encounter.start_time.as_ref())
        );
    }
    let _ = writeln!(text, "\nDIAGNOSES");
    for diagnosis in &extract.diagnoses {
        let role = pb::DiagnosisRole::try_from(diagnosis.role)
            .map(|role| {
                role.as_str_name()
                    .trim_start_matches("DIAGNOSIS_ROLE_")
                    .to_lowercase()
            })
            .unwrap_or_default();
        let _ = writeln!(
            text,
            "- {role}: {} {}{}",
            diagnosis.code,
            diagnosis.display,
            if diagnosis.note.is_empty() {
                String::new()
            } else {
                format!(" ({})", diagnosis.note)
            }
        );
    }
    if !extract.allergies.is_empty() {
        let _ = writeln!(text, "\nALLERGIES AND INTOLERANCES");
        for allergy in &extract.allergies {
            let substance = if allergy.substance_text.is_empty() {
                &allergy.substance_atc_code
            } else {
                &allergy.substance_text
            };
            let _ = writeln!(text, "- {substance}: {}", allergy.reaction);
        }
    }
    let _ = writeln!(text, "\nPROCEDURES");
    for procedure in &extract.procedures {
        let _ = writeln!(
            text,
            "- {} {} {} ({})",
            timestamp_text(procedure.performed_time.as_ref()),
            procedure.code,
            procedure.display,
            procedure.note
        );
    }
    let _ = writeln!(text, "\nTREATMENT");
    for row in prescriptions.iter().filter(|row| !row.take_home) {
        let _ = writeln!(text, "- {}", prescription_line(row));
    }
    if prescriptions.iter().any(|row| row.take_home) {
        let _ = writeln!(text, "\nTAKE-HOME MEDICATION");
        for row in prescriptions.iter().filter(|row| row.take_home) {
            let _ = writeln!(text, "- {}", prescription_line(row));
        }
    }
    for (title, notes) in [
        ("COURSE AND EXAMINATIONS", &extract.notes),
        ("RECOMMENDATIONS", &extract.recommendations),
    ] {
        let _ = writeln!(text, "\n{title}");
        for note in notes {
            let _ = writeln!(
                text,
                "[{}] {}",
                timestamp_text(note.record_time.as_ref()),
                note.text
            );
        }
    }
    if !extract.results.is_empty() {
        let _ = writeln!(text, "\nLABORATORY RESULTS");
        for result in &extract.results {
            let range = if result.reference_range.is_empty() {
                String::new()
            } else {
                format!(" (reference {})", result.reference_range)
            };
            let flag = match result.flag.as_str() {
                "" | "normal" => String::new(),
                flag => format!(" {}", label(flag).to_uppercase()),
            };
            let corrected = if result.corrected { " [corrected]" } else { "" };
            let _ = writeln!(
                text,
                "- {} {}: {} {}{range}{flag}{corrected}",
                timestamp_text(result.observe_time.as_ref()),
                result.test_name,
                result.value,
                result.unit,
            );
        }
    }
    if !extract.imaging_reports.is_empty() {
        let _ = writeln!(text, "\nIMAGING REPORTS");
        for report in &extract.imaging_reports {
            let amended = if report.amended { " [amended]" } else { "" };
            let _ = writeln!(
                text,
                "- {} {}: {}{amended}\n  Findings: {}",
                timestamp_text(report.sign_time.as_ref()),
                report.service_name,
                report.conclusion,
                report.findings,
            );
        }
    }
    if !extract.referrals.is_empty() {
        let _ = writeln!(text, "\nREFERRALS");
        for referral in &extract.referrals {
            let _ = writeln!(
                text,
                "- {} {}: {}",
                referral.investigation_codes.join(", "),
                referral.specialty,
                referral.reason
            );
        }
    }
    text
}

impl Ward {
    /// What leaves the hospital with the patient: the encounter's diagnoses, procedures,
    /// prescriptions, referrals, notes and recommendations, and the patient's allergies, as
    /// a message and as printable text.
    pub(crate) async fn medical_extract(
        &self,
        context: &RequestContext,
        encounter_id: Uuid,
    ) -> Result<pb::GetMedicalExtractResponse> {
        let mut tx = self.read_tx(context).await?;
        let (encounter, access) = self
            .readable_encounter(&mut tx, context, encounter_id)
            .await?;
        let diagnoses = store::diagnoses_of(&mut tx, encounter_id).await?;
        let procedures = store::procedures_of(&mut tx, encounter_id).await?;
        let prescriptions = store::prescriptions(&mut tx, Some(encounter_id), None, false).await?;
        let referrals = store::referrals_of(&mut tx, encounter_id).await?;
        let notes = store::notes_of(&mut tx, encounter_id).await?;
        let allergies = store::allergies_of(&mut tx, encounter.patient_id).await?;
        let results = store::investigation_results_of(&mut tx, encounter_id).await?;
        let imaging = store::imaging_reports_of(&mut tx, encounter_id).await?;
        self.commit_read(tx, context, Shown::patient(encounter.patient_id, &access))
            .await?;
        let (recommendations, notes): (Vec<_>, Vec<_>) = notes
            .iter()
            .partition(|note| note.kind == NoteKind::Recommendation.as_db());
        let mut extract = pb::MedicalExtract {
            encounter: Some(encounter_to_pb(&encounter)?),
            diagnoses: diagnoses.iter().map(diagnosis_to_pb).collect(),
            procedures: procedures.iter().map(procedure_to_pb).collect(),
            prescriptions: prescriptions.iter().map(prescription_to_pb).collect(),
            referrals: referrals.iter().map(referral_to_pb).collect(),
            notes: notes.into_iter().map(note_to_pb).collect(),
            recommendations: recommendations.into_iter().map(note_to_pb).collect(),
            allergies: allergies.iter().map(allergy_to_pb).collect(),
            text: String::new(),
            results: results.iter().map(investigation_result_to_pb).collect(),
            imaging_reports: imaging.iter().map(imaging_report_to_pb).collect(),
        };
        extract.text = render(&extract, &prescriptions);
        // The extract is what leaves the hospital with the patient; its size is bounded by
        // what one stay records, but say so if a message would not fit the default limit.
        if extract.encoded_len() > 4 * 1024 * 1024 {
            tracing::warn!(encounter_id = %encounter_id, "medical extract over 4 MiB");
        }
        Ok(pb::GetMedicalExtractResponse {
            extract: Some(extract),
        })
    }
}
