//! See the module documentation of `crate::app`.

use super::*;

/// What an AdmitPatient call asks for, parsed.
#[derive(Debug)]
pub(crate) struct Admitting {
    pub(crate) key: RequestKey,
    pub(crate) patient_id: Uuid,
    pub(crate) department_id: Uuid,
    pub(crate) bed_id: Option<Uuid>,
    pub(crate) kind: AdmissionType,
    pub(crate) admit_time: DateTime<Utc>,
    pub(crate) physician: Option<Uuid>,
    pub(crate) diagnosis: DiagnosisCode,
    pub(crate) diagnosis_text: Text,
    pub(crate) visit_id: Option<Uuid>,
    pub(crate) consents: Vec<Uuid>,
}

/// What an AdmitNewborn call asks for, parsed.
#[derive(Debug)]
pub(crate) struct Birth {
    pub(crate) key: RequestKey,
    pub(crate) mother_id: Uuid,
    pub(crate) bed_id: Option<Uuid>,
    pub(crate) sex: hmis_patients_api::Sex,
    pub(crate) family: Line,
    pub(crate) given: Line,
    pub(crate) born: DateTime<Utc>,
}

impl Adt {
    pub(crate) async fn admit_patient(
        &self,
        context: &RequestContext,
        message: &pb::AdmitPatientRequest,
        admitting: Admitting,
    ) -> Result<pb::AdmitPatientResponse> {
        let Admitting {
            key,
            patient_id,
            department_id,
            bed_id,
            kind,
            admit_time,
            physician,
            diagnosis,
            diagnosis_text,
            visit_id,
            consents,
        } = admitting;
        let now = self.calls.now();
        if let Some(replayed) = self
            .calls
            .replay(context, &method("AdmitPatient"), &key, message)
            .await?
        {
            return Ok(replayed);
        }
        let ward = self.directory.ward(context, department_id).await?;
        check_ward(&ward, kind)?;
        let patient = self.patient(context, patient_id).await?;
        check_admittable(&patient)?;
        check_after_birth(&patient, "admission.admit_time", admit_time)?;
        if let Some(bed_id) = bed_id {
            check_bed(
                &self.directory.bed(context, bed_id).await?,
                department_id,
                &patient,
            )?;
        }
        if let Err(denied) =
            context.authorize(ADMIT, &Target::department(ward.facility_id, ward.id))
        {
            return Err(self.calls.refuse(context, &[patient_id], denied).await);
        }
        let year = admission_year(
            &self.directory.time_zone(context, ward.facility_id).await?,
            admit_time,
        );
        let response = self
            .calls
            .write(
                context,
                &method("AdmitPatient"),
                &key,
                message,
                async |tx| {
                    self.backdating(tx, context, "admission.admit_time", admit_time, now)
                        .await?;
                    let admission = NewAdmission {
                        id: Uuid::now_v7(),
                        patient_id,
                        facility_id: ward.facility_id,
                        admission_number: String::new(),
                        kind,
                        admit_time,
                        department_id,
                        bed_id,
                        admitting_physician_id: physician,
                        admitting_diagnosis_code: diagnosis.as_str().to_owned(),
                        admitting_diagnosis_text: diagnosis_text.as_str().to_owned(),
                        emergency_visit_id: visit_id,
                        consent_document_ids: consents,
                        mother_admission_id: None,
                    };
                    let admitted = self.admit(tx, context, admission, year, now).await?;
                    Ok(pb::AdmitPatientResponse {
                        admission: Some(admitted),
                        unpaid_debt: patient.unpaid_debt,
                    })
                },
            )
            .await?;
        tracing::info!(admission_id = %response.admission.as_ref().map(|a| a.id.as_str()).unwrap_or_default(), "patient admitted");
        Ok(response)
    }

    pub(crate) async fn admit_newborn(
        &self,
        context: &RequestContext,
        message: &pb::AdmitNewbornRequest,
        birth: Birth,
    ) -> Result<pb::AdmitNewbornResponse> {
        let Birth {
            key,
            mother_id,
            bed_id,
            sex,
            family,
            given,
            born,
        } = birth;
        let now = self.calls.now();
        if let Some(replayed) = self
            .calls
            .replay(context, &method("AdmitNewborn"), &key, message)
            .await?
        {
            return Ok(replayed);
        }
        let mother = self.peek(context, mother_id).await?;
        require_open(&mother)?;
        if let Err(denied) = context.authorize(ADMIT, &ward_target(&mother)) {
            return Err(self
                .calls
                .refuse(context, &[mother.patient_id], denied)
                .await);
        }
        let mother_family_name = self
            .directory
            .family_name(context, mother.patient_id)
            .await?;
        let record = Newborn {
            family_name: if family.is_empty() {
                mother_family_name
            } else {
                family.as_str().to_owned()
            },
            given_names: if given.is_empty() {
                "Newborn".to_owned()
            } else {
                given.as_str().to_owned()
            },
            sex,
            birth_date: born.date_naive(),
        };
        // The registry's own idempotency makes a retried birth find the record it made.
        let baby_id = self
            .directory
            .register_newborn(context, format!("{}/newborn", key.as_str()), &record)
            .await?;
        let baby = self.patient(context, baby_id).await?;
        if let Some(bed_id) = bed_id {
            check_bed(
                &self.directory.bed(context, bed_id).await?,
                mother.department_id,
                &baby,
            )?;
        }
        let year = admission_year(
            &self
                .directory
                .time_zone(context, mother.facility_id)
                .await?,
            born,
        );
        let response = self
            .calls
            .write(
                context,
                &method("AdmitNewborn"),
                &key,
                message,
                async |tx| {
                    let mother = store::get_admission(tx, mother_id, Lock::ForUpdate).await?;
                    require_open(&mother)?;
                    let admission = NewAdmission {
                        id: Uuid::now_v7(),
                        patient_id: baby_id,
                        facility_id: mother.facility_id,
                        admission_number: String::new(),
                        // A birth in hospital is not planned as an admission of its own.
                        kind: AdmissionType::Emergency,
                        admit_time: born.max(mother.admit_time),
                        department_id: mother.department_id,
                        bed_id,
                        admitting_physician_id: None,
                        admitting_diagnosis_code: String::new(),
                        admitting_diagnosis_text: String::new(),
                        emergency_visit_id: None,
                        consent_document_ids: Vec::new(),
                        mother_admission_id: Some(mother_id),
                    };
                    let admitted = self.admit(tx, context, admission, year, now).await?;
                    Ok(pb::AdmitNewbornResponse {
                        admission: Some(admitted),
                    })
                },
            )
            .await?;
        Ok(response)
    }
}
