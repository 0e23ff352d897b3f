//! The use cases of encounters, one function per RPC: the encounter itself (`encounters`),
//! what is recorded in it (`records`), prescribing with its safety check (`prescribing`), the
//! ward's medication round (`ward_order`, `administrations`) with the nurses' verification
//! of its prescriptions (`verification`), the nursing record (`nursing`), the medical extract
//! (`extract`), certificates (`certificates`) and the formulary (`formulary`). A use case
//! checks codes with the terminology, authorizes against the encounter's ward, then does the
//! change in one transaction under the request's idempotency key, with its events and its
//! audit record. What it is asked comes parsed (`grpc/parse.rs` names every wrong field).

mod administrations;
mod certificates;
mod encounters;
mod extract;
mod formulary;
mod nursing;
mod prescribing;
mod records;
mod verification;
mod ward_order;

pub(crate) use administrations::Given;
pub(crate) use certificates::{CERTIFY, Draft, SickLeaveDraft};
pub(crate) use encounters::{Closing, EncounterPage, Opening};
pub(crate) use formulary::{NewInteractionRule, NewMedicine};
pub(crate) use nursing::{Charted, NursingWrite, RECORD};
pub(crate) use prescribing::{Discontinuation, Order, PRESCRIBE, PrescriptionPage};
pub(crate) use records::{NewAllergy, NewDiagnosis, NewNote, NewProcedure, NewReferral};
pub(crate) use verification::{Exchange, QueryPage, VERIFY, Verification};
pub(crate) use ward_order::WardRound;

use hmis_platform::auth::Target;
use hmis_platform::call::{Calls, Shown};
use hmis_platform::context::PatientAccess;
use hmis_platform::{RequestContext, TenantTx};
use tonic::Status;
use uuid::Uuid;

use crate::directory::Directory;
use crate::domain::EncounterStatus;
use crate::error::{Error, Result};
use crate::store::{self, EncounterRow, Lock};

pub(crate) const READ: &str = "encounters.read";
pub(crate) const WRITE: &str = "encounters.write";
/// Nurses give the doses.
pub(crate) const ADMINISTER: &str = "nursing.administer";
pub(crate) const FORMULARY_MANAGE: &str = "encounters.formulary.manage";

const SERVICE: &str = "/openhmis.encounters.v1.EncounterService/";

/// The diagnosis classification, the procedure classification, the laboratory tests and the
/// medicines, as the terminology names them.
pub(crate) const ICD10: &str = "icd10";
pub(crate) const PROCEDURES: &str = "achi";
pub(crate) const LABORATORY: &str = "loinc";
pub(crate) const MEDICINES: &str = "atc";

/// The module's state: the call kit over its schema and what it reads of other modules.
#[derive(Debug)]
pub(crate) struct Ward {
    pub(crate) calls: Calls<Error>,
    pub(crate) directory: Directory,
}

pub(crate) fn target_of(row: &EncounterRow) -> Target {
    Target::department(row.facility_id, row.department_id)
}

/// A refusal to act on `patient`'s record, audited once the transaction rolled back.
pub(crate) fn refused(patient: Uuid) -> impl Fn(Status) -> Error {
    move |status| Error::refused(status, vec![patient])
}

/// Records may be completed after discharge (coding, the summary), never on a cancelled
/// admission's encounter.
pub(crate) fn require_not_cancelled(row: &EncounterRow) -> Result<()> {
    if row.status == EncounterStatus::Cancelled.as_db() {
        return Err(Error::precondition(
            "the encounter's admission was cancelled; nothing may be recorded in it",
        ));
    }
    Ok(())
}

/// Orders and referrals go to patients under care now.
pub(crate) fn require_open(row: &EncounterRow) -> Result<()> {
    if row.status != EncounterStatus::Open.as_db() {
        return Err(Error::precondition(format!(
            "the encounter is {}; orders need an open encounter",
            row.status
        )));
    }
    Ok(())
}

/// The discharge announced for the encounter's stay (pre-discharge), as admissions last told
/// of it: when it was announced and when the patient is to leave.
pub(crate) fn announced_discharge(
    row: &EncounterRow,
) -> Result<Option<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>)>> {
    let Some(snapshot) = &row.admission else {
        return Ok(None);
    };
    let admission = <hmis_proto::openhmis::admissions::v1::Admission as prost::Message>::decode(
        snapshot.as_slice(),
    )
    .map_err(|_| Error::corrupt("the encounter's admission"))?;
    let Some(planned) = admission.planned_discharge else {
        return Ok(None);
    };
    let time = |value: Option<&prost_types::Timestamp>| {
        hmis_platform::wire::parse_timestamp(value)
            .ok()
            .flatten()
            .ok_or(Error::corrupt("the encounter's planned discharge"))
    };
    Ok(Some((
        time(planned.announce_time.as_ref())?,
        time(planned.planned_time.as_ref())?,
    )))
}

/// No new order once the discharge is announced (for an order performed from `at`): the
/// physician withdraws the announcement first.
pub(crate) fn require_no_announced_discharge(
    row: &EncounterRow,
    at: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<()> {
    if let Some((announced, planned)) = announced_discharge(row)?
        && at.is_none_or(|at| at >= announced)
    {
        return Err(Error::precondition(format!(
            "the discharge is announced (planned for {}); new orders need it withdrawn first",
            planned.format("%Y-%m-%d %H:%M UTC")
        )));
    }
    Ok(())
}

/// Orders and referrals go to patients under care now whose discharge is not announced.
pub(crate) fn require_orderable(row: &EncounterRow) -> Result<()> {
    require_open(row)?;
    require_no_announced_discharge(row, None)
}

/// The audit record of a change of `patient`'s record that made or touched `resource`.
pub(crate) async fn audit_change(
    tx: &mut TenantTx,
    context: &RequestContext,
    patient: Uuid,
    resource: Uuid,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    let patients = [patient];
    let resources = [resource.to_string()];
    hmis_platform::audit::record(
        tx,
        context,
        &hmis_platform::audit::AuditEntry {
            resource_ids: &resources,
            ..hmis_platform::audit::AuditEntry::ok(&patients)
        },
        now,
    )
    .await?;
    Ok(())
}

/// May the caller reach the patient's own records (allergies, encounter list) with
/// `permission`? Yes when it may in a ward the patient was cared for (or tenant-wide);
/// otherwise only by break-glass. A refusal is audited after the transaction rolled back.
pub(crate) async fn patient_access(
    tx: &mut TenantTx,
    context: &RequestContext,
    patient_id: Uuid,
    permission: &str,
) -> Result<PatientAccess> {
    let places = store::patient_places(tx, patient_id).await?;
    let principal = context.principal()?;
    let targets: Vec<Target> = places
        .iter()
        .map(|(facility, department)| Target::department(*facility, *department))
        .collect();
    if targets
        .iter()
        .any(|target| principal.is_allowed(permission, target))
        || principal.is_allowed(permission, &Target::TENANT)
    {
        return Ok(PatientAccess::InScope);
    }
    let target = targets.first().copied().unwrap_or(Target::TENANT);
    context
        .authorize_patient(permission, &target)
        .map_err(refused(patient_id))
}

impl Ward {
    pub(crate) fn method(rpc: &str) -> String {
        format!("{SERVICE}{rpc}")
    }

    /// The full method name of an rpc of another service of this module.
    pub(crate) fn method_of(service: &str, rpc: &str) -> String {
        format!("/openhmis.encounters.v1.{service}/{rpc}")
    }

    /// A read's transaction, in the caller's tenant.
    pub(crate) async fn read_tx(&self, context: &RequestContext) -> Result<TenantTx> {
        self.calls.begin_read(context).await
    }

    /// Records what a read showed in the read's own transaction and commits it, so the
    /// record is durable before the answer leaves.
    pub(crate) async fn commit_read(
        &self,
        tx: TenantTx,
        context: &RequestContext,
        shown: Shown,
    ) -> Result<()> {
        self.calls.commit_read(tx, context, &shown).await
    }

    /// An encounter read for a read call: found, and the caller may see its patient (in scope
    /// or by break-glass); a refusal is audited.
    pub(crate) async fn readable_encounter(
        &self,
        tx: &mut TenantTx,
        context: &RequestContext,
        id: Uuid,
    ) -> Result<(EncounterRow, PatientAccess)> {
        let row = store::get_encounter(tx, id, Lock::None).await?;
        match context.authorize_patient(READ, &target_of(&row)) {
            Ok(access) => Ok((row, access)),
            Err(denied) => Err(self.calls.refuse(context, &[row.patient_id], denied).await),
        }
    }

    /// The encounter `id`, for a change the caller makes with `permission` in its ward.
    pub(crate) async fn encounter_for_change(
        tx: &mut TenantTx,
        context: &RequestContext,
        id: Uuid,
        permission: &str,
    ) -> Result<EncounterRow> {
        let row = store::get_encounter(tx, id, Lock::None).await?;
        context
            .authorize(permission, &target_of(&row))
            .map_err(refused(row.patient_id))?;
        require_not_cancelled(&row)?;
        Ok(row)
    }

    /// Which patient an encounter is of, before the write (for the audit of a refusal).
    pub(crate) async fn patient_of(&self, context: &RequestContext, id: Uuid) -> Result<Uuid> {
        let mut tx = self.read_tx(context).await?;
        let row = store::get_encounter(&mut tx, id, Lock::None).await?;
        tx.commit().await?;
        Ok(row.patient_id)
    }
}

impl Ward {
    /// A read of one patient's own records (allergies, encounters, doses): the caller must
    /// reach the patient (a ward it was cared in, or break-glass; a refusal is on record);
    /// what `work` read is on record with the read, committed before the answer leaves.
    pub(crate) async fn patient_read<T>(
        &self,
        context: &RequestContext,
        patient_id: Uuid,
        work: impl AsyncFnOnce(&mut TenantTx) -> Result<T>,
    ) -> Result<T> {
        (self.calls)
            .read(context, async |tx| {
                let access = patient_access(tx, context, patient_id, READ).await?;
                let value = work(tx).await?;
                Ok((value, Shown::patient(patient_id, &access)))
            })
            .await
    }
}
