//! See the module documentation of `crate::app`. Corrections at the admission desk: what the
//! desk entered (type, admitting ward, physician, admitting diagnosis) is corrected, or the
//! admission cancelled, until the ward's first clinical act; each is kept for the record.

use hmis_platform::auth::Target;

use super::*;
use crate::convert::{admission_type_to_pb, correction_to_pb};
use crate::store::{CorrectedField, CorrectionRow};

/// What a CorrectAdmission call asks for, parsed: `None` leaves a field as it is.
#[derive(Debug)]
pub(crate) struct Correction {
    pub(crate) key: RequestKey,
    pub(crate) id: Uuid,
    pub(crate) reason: Text,
    pub(crate) etag: Option<Version>,
    pub(crate) kind: Option<AdmissionType>,
    pub(crate) department_id: Option<Uuid>,
    pub(crate) physician: Option<Uuid>,
    pub(crate) diagnosis: Option<DiagnosisCode>,
    pub(crate) diagnosis_text: Option<Text>,
}

/// What the desk may no longer change once the ward recorded care.
fn before_first_clinical_act(row: &AdmissionRow, what: &str) -> Result<()> {
    match row.first_clinical_act_at {
        None => Ok(()),
        Some(at) => Err(Error::precondition(format!(
            "the ward recorded care for this admission on {} (a medicine given or a procedure); \
             it can no longer be {what}",
            at.format("%Y-%m-%d %H:%M UTC")
        ))),
    }
}

fn id_text(id: Option<Uuid>) -> String {
    id.map(|id| id.to_string()).unwrap_or_default()
}

fn type_text(kind: AdmissionType) -> String {
    admission_type_to_pb(kind).as_str_name().to_owned()
}

/// The fields a correction changes, each once, in the contract's words.
#[derive(Debug, Default)]
struct Changes(Vec<CorrectedField>);

impl Changes {
    fn add(&mut self, field: &str, before: String, after: String) {
        if before != after {
            self.0.push(CorrectedField {
                field: field.to_owned(),
                before,
                after,
            });
        }
    }
}

impl Adt {
    pub(crate) async fn correct_admission(
        &self,
        context: &RequestContext,
        message: &pb::CorrectAdmissionRequest,
        correction: Correction,
    ) -> Result<pb::CorrectAdmissionResponse> {
        if let Some(replayed) = self
            .calls
            .replay(
                context,
                &method("CorrectAdmission"),
                &correction.key,
                message,
            )
            .await?
        {
            return Ok(replayed);
        }
        let seen = self.peek(context, correction.id).await?;
        // The ward the admission will have been admitted to, checked for the type it will have.
        let ward = match (correction.department_id, correction.kind) {
            (None, None) => None,
            (department, kind) => {
                let department = department.unwrap_or(seen.admitting_department_id);
                let ward = self.directory.ward(context, department).await?;
                check_ward(&ward, kind.unwrap_or(seen.r#type))?;
                Some(ward)
            }
        };
        if let (Some(ward), Some(_)) = (&ward, correction.department_id) {
            if ward.facility_id != seen.facility_id {
                let mut violations = Violations::default();
                violations.add(
                    "department_id",
                    "must be a ward of the admission's facility (its number is in that \
                     facility's register); discharge as transferred and admit there",
                );
                return Err(Error::from(violations));
            }
            context
                .authorize(CORRECT, &Target::department(ward.facility_id, ward.id))
                .map_err(refused(seen.patient_id))?;
        }
        let diagnosis = match (&correction.diagnosis, &correction.diagnosis_text) {
            (Some(code), text) => {
                let display = (self.directory)
                    .diagnosis(context, "admitting_diagnosis_code", code.as_str())
                    .await?;
                let text = text.as_ref().map(|text| text.as_str().to_owned());
                Some((code.as_str().to_owned(), text.unwrap_or(display)))
            }
            (None, Some(text)) => Some((String::new(), text.as_str().to_owned())),
            (None, None) => None,
        };
        let now = self.calls.now();
        let Correction {
            key,
            id,
            reason,
            etag,
            kind,
            department_id,
            physician,
            ..
        } = correction;
        let response = self
            .calls
            .write(
                context,
                &method("CorrectAdmission"),
                &key,
                message,
                async |tx| {
                    let row = lock_for_change(tx, context, id, CORRECT, Must::BeOpen, etag).await?;
                    before_first_clinical_act(&row, "corrected")?;
                    if ward.is_some()
                        && (row.admitting_department_id != seen.admitting_department_id
                            || row.r#type != seen.r#type)
                    {
                        // The ward was checked against what was read before the lock.
                        return Err(Error::Stale);
                    }
                    let mut changes = Changes::default();
                    let mut change = AdmissionChange::default();
                    if let Some(kind) = kind {
                        changes.add("type", type_text(row.r#type), type_text(kind));
                        change.kind = Some(kind);
                    }
                    if let Some(physician) = physician {
                        changes.add(
                            "admitting_physician_id",
                            id_text(row.admitting_physician_id),
                            physician.to_string(),
                        );
                        change.admitting_physician_id = Some(Some(physician));
                    }
                    if let Some((code, text)) = diagnosis.clone() {
                        let code = if code.is_empty() {
                            row.admitting_diagnosis_code.clone()
                        } else {
                            code
                        };
                        changes.add(
                            "admitting_diagnosis_code",
                            row.admitting_diagnosis_code.clone(),
                            code.clone(),
                        );
                        changes.add(
                            "admitting_diagnosis_text",
                            row.admitting_diagnosis_text.clone(),
                            text.clone(),
                        );
                        change.admitting_diagnosis = Some((code, text));
                    }
                    let mut freed_bed = None;
                    if let Some(to) = department_id.filter(|to| *to != row.admitting_department_id)
                    {
                        freed_bed = self.correct_ward(tx, &row, to, &mut change, now).await?;
                        changes.add(
                            "department_id",
                            row.admitting_department_id.to_string(),
                            to.to_string(),
                        );
                        if freed_bed.is_some() {
                            changes.add("bed_id", id_text(freed_bed), String::new());
                        }
                    }
                    if changes.0.is_empty() {
                        return Err(Error::precondition(
                            "nothing to correct: the admission already says so",
                        ));
                    }
                    let corrected = store::update_admission(tx, id, &change, now).await?;
                    if let Some(bed) = freed_bed {
                        events::bed(self, tx, bed, &corrected, pb::BedOccupancy::Free, now).await?;
                    }
                    let kept = self
                        .keep_correction(tx, context, &corrected, changes, &reason, now)
                        .await?;
                    let admission = Adt::to_pb(tx, &corrected).await?;
                    let correction = correction_to_pb(&kept);
                    events::publish(
                        self,
                        tx,
                        events::ADMISSION_CORRECTED,
                        &corrected,
                        &pb::AdmissionCorrected {
                            admission: Some(admission.clone()),
                            correction: Some(correction.clone()),
                        },
                        now,
                    )
                    .await?;
                    audit::record(tx, context, &AuditEntry::ok(&[row.patient_id]), now).await?;
                    Ok(pb::CorrectAdmissionResponse {
                        admission: Some(admission),
                        correction: Some(correction),
                    })
                },
            )
            .await?;
        Ok(response)
    }

    /// The periods spent in the wrong admitting ward, up to the first transfer, become one
    /// period in ward `to` without a bed. Returns the bed let go when the patient is still
    /// in that first ward.
    async fn correct_ward(
        &self,
        tx: &mut TenantTx,
        row: &AdmissionRow,
        to: Uuid,
        change: &mut AdmissionChange,
        now: DateTime<Utc>,
    ) -> Result<Option<Uuid>> {
        let stays = store::stays_of(tx, row.id).await?;
        let first: Vec<&StayRow> = stays
            .iter()
            .filter(|stay| !stay.is_reservation() && !stay.cancelled)
            .take_while(|stay| stay.department_id == row.admitting_department_id)
            .collect();
        let (Some(start), Some(last)) = (first.first(), first.last()) else {
            return Err(Error::corrupt(
                "admission without a stay in its admitting ward",
            ));
        };
        let ids: Vec<Uuid> = first.iter().map(|stay| stay.id).collect();
        store::replace_stays(tx, &ids, now).await?;
        // One stay in the right ward takes their period, without a bed.
        store::insert_stay(
            tx,
            &store::NewStay {
                admission_id: row.id,
                kind: "stay",
                department_id: to,
                bed_id: None,
                start_time: start.start_time,
                end_time: last.end_time,
                reason: "",
            },
        )
        .await?;
        change.admitting_department_id = Some(to);
        if last.end_time.is_some() {
            return Ok(None);
        }
        change.department_id = Some(to);
        change.bed_id = Some(None);
        Ok(last.bed_id)
    }

    async fn keep_correction(
        &self,
        tx: &mut TenantTx,
        context: &RequestContext,
        row: &AdmissionRow,
        changes: Changes,
        reason: &Text,
        now: DateTime<Utc>,
    ) -> Result<CorrectionRow> {
        let kept = CorrectionRow {
            id: Uuid::now_v7(),
            admission_id: row.id,
            changes: sqlx::types::Json(changes.0),
            reason: reason.as_str().to_owned(),
            corrected_by: context.principal()?.user_id,
            corrected_at: now,
        };
        store::insert_correction(tx, &kept).await?;
        Ok(kept)
    }

    pub(crate) async fn cancel_admission(
        &self,
        context: &RequestContext,
        message: &pb::CancelAdmissionRequest,
        change: ReasonedChange,
    ) -> Result<pb::CancelAdmissionResponse> {
        let ReasonedChange {
            key,
            id,
            reason,
            etag,
        } = change;
        let now = self.calls.now();
        let response = self
            .calls.write(context, &method("CancelAdmission"), &key, message, async |tx| {
                    let row = lock_for_change(tx, context, id, CORRECT, Must::BeOpen, etag).await?;
                    before_first_clinical_act(&row, "cancelled; discharge instead")?;
                    let stays = store::stays_of(tx, id).await?;
                    store::cancel_stays(tx, id, now).await?;
                    let row = store::update_admission(
                        tx,
                        id,
                        &AdmissionChange {
                            status: Some(AdmissionStatus::Cancelled),
                            bed_id: Some(None),
                            ..Default::default()
                        },
                        now,
                    )
                    .await?;
                    // The emergency visit it came from is open again, to be admitted right.
                    if let Some(visit_id) = row.emergency_visit_id {
                        let visit = store::reopen_visit(tx, visit_id, now).await?;
                        tracing::info!(visit_id = %visit.id, "emergency visit reopened by a cancelled admission");
                    }
                    for stay in &stays {
                        if let Some(bed_id) = stay.bed_id.filter(|_| stay.end_time.is_none() && !stay.cancelled) {
                            events::bed(self, tx, bed_id, &row, pb::BedOccupancy::Free, now).await?;
                        }
                    }
                    let mut changes = Changes::default();
                    changes.add(
                        "status",
                        pb::AdmissionStatus::Admitted.as_str_name().to_owned(),
                        pb::AdmissionStatus::Cancelled.as_str_name().to_owned(),
                    );
                    self.keep_correction(tx, context, &row, changes, &reason, now).await?;
                    let admission = Adt::to_pb(tx, &row).await?;
                    events::publish(self, tx, events::ADMISSION_CANCELLED, &row, &pb::AdmissionCancelled {
                        admission: Some(admission.clone()),
                        reason: reason.as_str().to_owned(),
                    }, now).await?;
                    audit::record(tx, context, &AuditEntry::ok(&[row.patient_id]), now).await?;
                    Ok(pb::CancelAdmissionResponse { admission: Some(admission) })
                })
            .await?;
        Ok(response)
    }

    /// An admission's corrections: a read of its patient, under GetAdmission's rule.
    pub(crate) async fn list_admission_corrections(
        &self,
        context: &RequestContext,
        id: Uuid,
    ) -> Result<pb::ListAdmissionCorrectionsResponse> {
        let (mut tx, row, access) = self.readable_admission(context, id).await?;
        let corrections = store::corrections_of(&mut tx, id).await?;
        self.commit_read(tx, context, Shown::patient(row.patient_id, &access))
            .await?;
        Ok(pb::ListAdmissionCorrectionsResponse {
            corrections: corrections.iter().map(correction_to_pb).collect(),
        })
    }
}
