//! See the module documentation of `crate::app`.

use hmis_platform::auth::Target;

use super::*;

/// What a ListAdmissions call asks for, parsed.
#[derive(Debug)]
pub(crate) struct AdmissionPage {
    pub(crate) filter: AdmissionFilter,
    pub(crate) status: Option<AdmissionStatus>,
    pub(crate) size: PageSize,
    pub(crate) after: Option<(DateTime<Utc>, Uuid)>,
}

impl Adt {
    pub(crate) async fn list_admissions(
        &self,
        context: &RequestContext,
        page: AdmissionPage,
    ) -> Result<pb::ListAdmissionsResponse> {
        let AdmissionPage {
            filter,
            status,
            size,
            after,
        } = page;
        let principal = context.principal()?;
        if let AdmissionFilter::Department(department_id) = filter {
            let ward = self.directory.ward(context, department_id).await?;
            context.authorize(READ, &Target::department(ward.facility_id, ward.id))?;
        }
        let mut tx = self.read_tx(context).await?;
        // One patient's admissions are a read of that patient: refused (on record) unless the
        // caller serves a ward the patient has been in, or breaks the glass; the same rule as
        // reading the patient's record.
        let mut broken_glass = None;
        if let AdmissionFilter::Patient(patient_id) = filter {
            let wards = store::wards_of_patient(&mut tx, patient_id).await?;
            let targets: Vec<Target> = (wards.iter())
                .map(|(facility, ward)| Target::department(*facility, *ward))
                .collect();
            if let Some(first) = targets.first()
                && !targets
                    .iter()
                    .any(|target| principal.is_allowed(READ, target))
            {
                match context.authorize_patient(READ, first) {
                    Ok(access) => broken_glass = access.reason().map(str::to_owned),
                    Err(denied) => {
                        drop(tx);
                        return Err(self.calls.refuse(context, &[patient_id], denied).await);
                    }
                }
            }
        }
        let rows =
            store::list_admissions(&mut tx, filter, status, after, size.fetch_limit()).await?;
        let (rows, next_page_token) = finish_page(rows, size, |row| (row.admit_time, row.id));
        // A history that spans wards the caller does not serve shows only the caller's wards;
        // the glass, once broken, shows it whole.
        let shown: Vec<&AdmissionRow> = rows
            .iter()
            .filter(|row| broken_glass.is_some() || principal.is_allowed(READ, &ward_target(row)))
            .collect();
        let admission_ids: Vec<Uuid> = shown.iter().map(|row| row.id).collect();
        let stays = store::stays_of_many(&mut tx, &admission_ids).await?;
        let admissions = shown
            .iter()
            .map(|row| admission_to_pb(row, stays.get(&row.id).map(Vec::as_slice).unwrap_or(&[])))
            .collect::<Result<Vec<_>>>()?;
        let ids: Vec<Uuid> = shown.iter().map(|row| row.patient_id).collect();
        let shown = Shown {
            break_glass_reason: broken_glass,
            ..Shown::patients(ids)
        };
        self.commit_read(tx, context, shown).await?;
        Ok(pb::ListAdmissionsResponse {
            admissions,
            next_page_token,
        })
    }
}

impl Adt {
    pub(crate) async fn get_admission(
        &self,
        context: &RequestContext,
        id: Uuid,
    ) -> Result<pb::GetAdmissionResponse> {
        let (mut tx, row, access) = self.readable_admission(context, id).await?;
        let admission = Adt::to_pb(&mut tx, &row).await?;
        self.commit_read(tx, context, Shown::patient(row.patient_id, &access))
            .await?;
        Ok(pb::GetAdmissionResponse {
            admission: Some(admission),
        })
    }
}

impl Adt {
    /// The admission `id` in a read's transaction, if the caller may read its patient (a
    /// refusal is audited): the rule of every read of one admission.
    pub(crate) async fn readable_admission(
        &self,
        context: &RequestContext,
        id: Uuid,
    ) -> Result<(
        TenantTx,
        AdmissionRow,
        hmis_platform::context::PatientAccess,
    )> {
        let mut tx = self.read_tx(context).await?;
        let row = store::get_admission(&mut tx, id, Lock::None).await?;
        match context.authorize_patient(READ, &ward_target(&row)) {
            Ok(access) => Ok((tx, row, access)),
            Err(denied) => {
                drop(tx);
                Err(self.calls.refuse(context, &[row.patient_id], denied).await)
            }
        }
    }

    pub(crate) async fn locate_patient(
        &self,
        context: &RequestContext,
        patient_id: Uuid,
    ) -> Result<pb::LocatePatientResponse> {
        if let Err(denied) = context.authorize_any(INFODESK) {
            return Err(self.calls.refuse(context, &[patient_id], denied).await);
        }
        let mut tx = self.read_tx(context).await?;
        let open = store::open_admission_of(&mut tx, patient_id).await?;
        let mut answer = pb::LocatePatientResponse::default();
        if let Some(row) = &open {
            // A facility-wide desk holds a grant that covers every ward of it.
            if let Err(denied) = context.authorize(INFODESK, &ward_target(row)) {
                drop(tx);
                return Err(self.calls.refuse(context, &[patient_id], denied).await);
            }
            let ward = self.directory.ward(context, row.department_id).await?;
            let room_code = match row.bed_id {
                Some(bed_id) => {
                    let bed = self.directory.bed(context, bed_id).await?;
                    self.directory.room_code(context, bed.room_id).await?
                }
                None => String::new(),
            };
            answer = pb::LocatePatientResponse {
                in_hospital: true,
                facility_id: row.facility_id.to_string(),
                department_id: row.department_id.to_string(),
                department_name: ward.name,
                room_code,
            };
        } else if let Some(visit) = store::open_visit_of(&mut tx, patient_id).await? {
            // Not admitted (yet): the emergency unit the patient is waiting or being seen in.
            let unit = Target::department(visit.facility_id, visit.department_id);
            if let Err(denied) = context.authorize(INFODESK, &unit) {
                drop(tx);
                return Err(self.calls.refuse(context, &[patient_id], denied).await);
            }
            let unit_name = self
                .directory
                .ward(context, visit.department_id)
                .await?
                .name;
            answer = pb::LocatePatientResponse {
                in_hospital: true,
                facility_id: visit.facility_id.to_string(),
                department_id: visit.department_id.to_string(),
                department_name: unit_name,
                room_code: String::new(),
            };
        }
        self.commit_read(tx, context, Shown::patients(vec![patient_id]))
            .await?;
        Ok(answer)
    }
}
