//! The encounter itself: opened for an admission (it may exist already, from the admission's
//! events) or for a patient seen in a clinic, read, listed, closed.

use chrono::{DateTime, Utc};
use hmis_platform::RequestContext;
use hmis_platform::audit::{self, AuditEntry};
use hmis_platform::auth::Target;
use hmis_platform::call::Shown;
use hmis_platform::idempotency::RequestKey;
use hmis_platform::paging::{PageSize, finish_page};
use hmis_platform::types::Version;
use hmis_proto::openhmis::encounters::v1 as pb;
use prost::Message;
use uuid::Uuid;

use super::{WRITE, Ward, refused, require_open, target_of};
use crate::convert::{admission_state, encounter_to_pb};
use crate::domain::EncounterKind;
use crate::error::{Error, Result};
use crate::store::{self, Lock};

/// What an encounter is opened for.
pub(crate) enum Opening {
    /// A hospitalization: the admission, as admissions answers it.
    Admission { key: RequestKey, admission_id: Uuid },
    /// A patient seen in a clinic.
    Clinic {
        key: RequestKey,
        patient_id: Uuid,
        department_id: Uuid,
    },
}

/// An outpatient encounter closed, against the version read when one is given.
pub(crate) struct Closing {
    pub(crate) key: RequestKey,
    pub(crate) id: Uuid,
    pub(crate) etag: Option<Version>,
}

/// A page of a patient's encounters, newest first.
pub(crate) struct EncounterPage {
    pub(crate) patient_id: Uuid,
    pub(crate) size: PageSize,
    pub(crate) after: Option<(DateTime<Utc>, Uuid)>,
}

impl Ward {
    pub(crate) async fn open_encounter(
        &self,
        context: &RequestContext,
        message: &pb::OpenEncounterRequest,
        opening: Opening,
    ) -> Result<pb::OpenEncounterResponse> {
        let now = self.calls.now();
        let method = Ward::method("OpenEncounter");
        let key = match &opening {
            Opening::Admission { key, .. } | Opening::Clinic { key, .. } => key,
        };
        if let Some(replayed) = self.calls.replay(context, &method, key, message).await? {
            return Ok(replayed);
        }
        match &opening {
            Opening::Admission { admission_id, .. } => {
                // The admission as admissions answers it now (the caller must be allowed to
                // read it there); its encounter may exist already, from the admission's events.
                let admission = self.directory.admission(context, *admission_id).await?;
                let snapshot = admission.encode_to_vec();
                Uuid::parse_str(&admission.patient_id)
                    .map_err(|_| Error::corrupt("admission patient"))?;
                (self.calls)
                    .write(context, &method, key, message, async |tx| {
                        let state = admission_state(&admission, &snapshot)
                            .map_err(|_| Error::corrupt("admission"))?;
                        let row = store::follow_admission(tx, &state, now).await?;
                        context
                            .authorize(WRITE, &target_of(&row))
                            .map_err(refused(row.patient_id))?;
                        audit::record(tx, context, &AuditEntry::ok(&[row.patient_id]), now).await?;
                        Ok(pb::OpenEncounterResponse {
                            encounter: Some(encounter_to_pb(&row)?),
                        })
                    })
                    .await
            }
            Opening::Clinic {
                patient_id,
                department_id,
                ..
            } => {
                let (patient_id, department_id) = (*patient_id, *department_id);
                let clinic = self.directory.clinic(context, department_id).await?;
                if !clinic.active {
                    return Err(Error::precondition("the clinic is closed"));
                }
                self.directory.check_patient(context, patient_id).await?;
                let target = Target::department(clinic.facility_id, department_id);
                (self.calls)
                    .write(context, &method, key, message, async |tx| {
                        context
                            .authorize(WRITE, &target)
                            .map_err(refused(patient_id))?;
                        let row = store::insert_outpatient(
                            tx,
                            patient_id,
                            clinic.facility_id,
                            department_id,
                            now,
                        )
                        .await?;
                        audit::record(tx, context, &AuditEntry::ok(&[patient_id]), now).await?;
                        Ok(pb::OpenEncounterResponse {
                            encounter: Some(encounter_to_pb(&row)?),
                        })
                    })
                    .await
            }
        }
    }

    pub(crate) async fn get_encounter(
        &self,
        context: &RequestContext,
        id: Uuid,
    ) -> Result<pb::GetEncounterResponse> {
        let mut tx = self.read_tx(context).await?;
        let (row, access) = self.readable_encounter(&mut tx, context, id).await?;
        self.commit_read(tx, context, Shown::patient(row.patient_id, &access))
            .await?;
        Ok(pb::GetEncounterResponse {
            encounter: Some(encounter_to_pb(&row)?),
        })
    }

    pub(crate) async fn list_encounters(
        &self,
        context: &RequestContext,
        page: EncounterPage,
    ) -> Result<pb::ListEncountersResponse> {
        let EncounterPage {
            patient_id,
            size,
            after,
        } = page;
        let rows = self
            .patient_read(context, patient_id, async |tx| {
                store::encounters_of_patient(tx, patient_id, after, size.fetch_limit()).await
            })
            .await?;
        let (rows, next_page_token) = finish_page(rows, size, |row| (row.start_time, row.id));
        Ok(pb::ListEncountersResponse {
            encounters: rows
                .iter()
                .map(encounter_to_pb)
                .collect::<Result<Vec<_>>>()?,
            next_page_token,
        })
    }

    /// Closes an outpatient encounter (an inpatient one closes with its discharge).
    pub(crate) async fn close_encounter(
        &self,
        context: &RequestContext,
        message: &pb::CloseEncounterRequest,
        closing: Closing,
    ) -> Result<pb::CloseEncounterResponse> {
        let now = self.calls.now();
        let method = Ward::method("CloseEncounter");
        let Closing { key, id, etag } = closing;
        if let Some(replayed) = self.calls.replay(context, &method, &key, message).await? {
            return Ok(replayed);
        }
        self.patient_of(context, id).await?;
        (self.calls)
            .write(context, &method, &key, message, async |tx| {
                let row = store::get_encounter(tx, id, Lock::ForUpdate).await?;
                context
                    .authorize(WRITE, &target_of(&row))
                    .map_err(refused(row.patient_id))?;
                if row.kind != EncounterKind::Outpatient.as_db() {
                    return Err(Error::precondition(
                        "an inpatient encounter closes with its discharge",
                    ));
                }
                require_open(&row)?;
                if etag.is_some_and(|etag| Version::from_db(row.version) != etag) {
                    return Err(Error::Stale("encounter"));
                }
                let closed = store::close_outpatient(tx, id, now).await?;
                audit::record(tx, context, &AuditEntry::ok(&[row.patient_id]), now).await?;
                Ok(pb::CloseEncounterResponse {
                    encounter: Some(encounter_to_pb(&closed)?),
                })
            })
            .await
    }
}
