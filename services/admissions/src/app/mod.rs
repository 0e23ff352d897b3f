//! The use cases of admissions, one function per RPC (`visits`, `admitting`, `movements`,
//! `reads`): look up what other modules know (the ward, the bed, the patient), authorize
//! against the ward, then do the whole change in one transaction under the request's
//! idempotency key (the platform's call kit), with its events and its audit record. Retries
//! are answered with the stored response, so a use case answers in the contract's response
//! messages (`convert.rs` turns rows into them); what it is asked comes parsed, in domain
//! values (`grpc/parse.rs` does the parsing and names every wrong field).

mod admitting;
mod corrections;
mod movements;
mod predischarge;
mod reads;
mod records;
mod settings;
mod visits;

pub(crate) use admitting::{Admitting, Birth};
pub(crate) use corrections::Correction;
pub(crate) use movements::{
    BedAssignment, Discharge, ReasonedChange, Release, Reservation, Transfer,
};
pub(crate) use predischarge::Announcement;
pub(crate) use reads::AdmissionPage;
pub(crate) use records::{Handover, RECORDS, Receipt};
pub(crate) use settings::SETTINGS;
pub(crate) use visits::{Arrival, Closing, VisitPage};

use crate::options::AdmissionsOptions;
use chrono::{DateTime, Datelike, Utc};
use hmis_platform::audit::{self, AuditEntry};
use hmis_platform::auth::Target;
use hmis_platform::call::{Calls, Shown};
use hmis_platform::idempotency::RequestKey;
use hmis_platform::outbox::Outbox;
use hmis_platform::paging::{PageSize, finish_page};
use hmis_platform::types::{Line, Text, Version};
use hmis_platform::wire::timestamp;
use hmis_platform::{RequestContext, TenantTx, Violations};
use hmis_proto::openhmis::admissions::v1 as pb;
use prost::Message;
use tonic::Status;
use uuid::Uuid;

use crate::convert::{admission_to_pb, discharge_type_to_pb, stay_to_pb, visit_to_pb};
use crate::directory::{Bed, Directory, Patient, Ward, WardKind};
use crate::domain::{
    AdmissionStatus, AdmissionType, ArrivalMode, BedState, DiagnosisCode, DischargeType,
    EmergencyOutcome, TriageLevel, admission_number, bed_accepts, movement_time, undo_allowed,
};
use crate::error::{Error, Result};
use crate::events;
use crate::follow::known_patients;
use crate::store::{
    self, AdmissionChange, AdmissionFilter, AdmissionRow, DischargeColumns, Lock, NewAdmission,
    NewVisit, StayRow,
};
use hmis_patients_api::Newborn;

pub(crate) const READ: &str = "admissions.read";
pub(crate) const ADMIT: &str = "admissions.admit";
pub(crate) const UNDO: &str = "admissions.undo";
pub(crate) const CORRECT: &str = "admissions.correct";
pub(crate) const INFODESK: &str = "admissions.infodesk";

const SERVICE: &str = "/openhmis.admissions.v1.AdmissionService/";

#[derive(Debug)]
pub(crate) struct Adt {
    pub(crate) calls: Calls<Error>,
    pub(crate) outbox: Outbox,
    pub(crate) directory: Directory,
    pub(crate) options: AdmissionsOptions,
    /// Ticks on every change that may change a ward board (see `board.rs`).
    pub(crate) changes: tokio::sync::watch::Sender<u64>,
}

/// The time a movement is recorded at ([`movement_time`]) when the stay it ends is known only
/// inside the write: a refusal names the request field that carried the time.
fn movement_time_of(
    field: &'static str,
    given: Option<DateTime<Utc>>,
    current_stay_start: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>> {
    movement_time(given, current_stay_start, now).map_err(|error| {
        let mut violations = Violations::default();
        violations.add(field, error.to_string());
        Error::from(violations)
    })
}

/// The permission to record a movement further back than the backdating window.
const BACKDATE: &str = "admissions.backdate";

impl Adt {
    /// A movement's time as [`movement_time_of`] checks it, then held to the backdating
    /// window (see [`Adt::backdating`]).
    async fn movement_time_in(
        &self,
        tx: &mut TenantTx,
        context: &RequestContext,
        field: &'static str,
        (given, current_stay_start): (Option<DateTime<Utc>>, Option<DateTime<Utc>>),
        now: DateTime<Utc>,
    ) -> Result<DateTime<Utc>> {
        let at = movement_time_of(field, given, current_stay_start, now)?;
        self.backdating(tx, context, field, at, now).await?;
        Ok(at)
    }

    /// A movement further back than the configured window is refused (naming `field`) unless
    /// the caller holds `admissions.backdate` and gave the reason in `x-backdating-reason`;
    /// then it is kept with its reason in `admissions.backdated_movements`.
    async fn backdating(
        &self,
        tx: &mut TenantTx,
        context: &RequestContext,
        field: &'static str,
        at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let window = chrono::Duration::from_std(self.options.backdating_window)
            .unwrap_or(chrono::Duration::MAX);
        if now - at <= window {
            return Ok(());
        }
        let principal = context.principal()?;
        let Some(reason) = context
            .backdating_reason()
            .filter(|_| principal.holds(BACKDATE))
        else {
            let mut violations = Violations::default();
            violations.add(
                field,
                format!(
                    "is more than {} days ago: that needs the {BACKDATE} permission and the \
                     reason in {}",
                    window.num_days(),
                    hmis_platform::context::BACKDATING_HEADER
                ),
            );
            return Err(Error::from(violations));
        };
        store::record_backdating(
            tx,
            context.request_id.as_str(),
            field,
            (at, reason),
            principal.user_id,
            now,
        )
        .await?;
        Ok(())
    }
}

/// A refusal to act on `patient`'s admission, audited once the transaction rolled back.
fn refused(patient: Uuid) -> impl Fn(Status) -> Error {
    move |status| Error::refused(status, vec![patient])
}

fn ward_target(row: &AdmissionRow) -> Target {
    Target::department(row.facility_id, row.department_id)
}

fn check_etag(row: &AdmissionRow, etag: Option<Version>) -> Result<()> {
    match etag {
        Some(etag) if Version::from_db(row.version) != etag => Err(Error::Stale),
        _ => Ok(()),
    }
}

/// Whether a change needs the admission open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Must {
    BeOpen,
    BeAny,
}

/// The admission `id`, locked for a change the caller makes with `permission` in its ward (a
/// refusal is audited once the transaction rolled back), open if the change needs it, and as
/// of the etag the caller read, when it sent one.
async fn lock_for_change(
    tx: &mut TenantTx,
    context: &RequestContext,
    id: Uuid,
    permission: &str,
    must: Must,
    etag: Option<Version>,
) -> Result<AdmissionRow> {
    let row = store::get_admission(tx, id, Lock::ForUpdate).await?;
    context
        .authorize(permission, &ward_target(&row))
        .map_err(refused(row.patient_id))?;
    if must == Must::BeOpen {
        require_open(&row)?;
    }
    check_etag(&row, etag)?;
    Ok(row)
}

fn require_open(row: &AdmissionRow) -> Result<()> {
    if row.status == AdmissionStatus::Admitted {
        Ok(())
    } else {
        Err(Error::precondition(format!(
            "admission {} is {}, not open",
            row.admission_number, row.status
        )))
    }
}

/// The open stay (not a reservation) of an admission.
fn open_stay(stays: &[StayRow]) -> Option<&StayRow> {
    stays
        .iter()
        .find(|stay| !stay.is_reservation() && stay.end_time.is_none() && !stay.cancelled)
}

fn open_reservation(stays: &[StayRow]) -> Option<&StayRow> {
    stays
        .iter()
        .find(|stay| stay.is_reservation() && stay.end_time.is_none() && !stay.cancelled)
}

/// Whether a bed may take this patient into this ward, as far as the register says.
fn check_bed(bed: &Bed, department_id: Uuid, patient: &Patient) -> Result<()> {
    if bed.department_id != department_id {
        return Err(Error::precondition(format!(
            "bed {} is not in the receiving ward",
            bed.code
        )));
    }
    if !bed.active {
        return Err(Error::precondition(format!(
            "bed {} is not in use",
            bed.code
        )));
    }
    if !bed.state.takes_patients() {
        return Err(Error::precondition(format!(
            "bed {} is {}",
            bed.code,
            match bed.state {
                BedState::Cleaning => "being cleaned",
                BedState::OutOfService => "out of service",
                _ => "occupied",
            }
        )));
    }
    if !bed_accepts(bed.sex, patient.sex) {
        return Err(Error::precondition(format!(
            "bed {} is for patients of the other sex",
            bed.code
        )));
    }
    Ok(())
}

fn check_admittable(patient: &Patient) -> Result<()> {
    if let Some(survivor) = patient.merged_into {
        return Err(Error::precondition(format!(
            "the patient record was merged into {survivor}; admit that record"
        )));
    }
    if patient.deceased {
        return Err(Error::precondition("the patient is recorded as deceased"));
    }
    Ok(())
}

/// Nothing is recorded for a patient before their birth (the birth date is a local day: a
/// time up to 14 hours before its UTC midnight may still fall on it somewhere).
fn check_after_birth(patient: &Patient, field: &'static str, at: DateTime<Utc>) -> Result<()> {
    let Some(birth) = patient.birth_date else {
        return Ok(());
    };
    let earliest = birth.and_time(chrono::NaiveTime::MIN).and_utc() - chrono::Duration::hours(14);
    if at < earliest {
        let mut violations = Violations::default();
        violations.add(
            field,
            format!("must not be before the patient's birth ({birth})"),
        );
        return Err(Error::from(violations));
    }
    Ok(())
}

fn check_ward(ward: &Ward, kind: AdmissionType) -> Result<()> {
    let takes = match ward.kind {
        WardKind::Inpatient => true,
        // Observation places are usually in the emergency unit.
        WardKind::Emergency => kind == AdmissionType::Observation,
        WardKind::Other => false,
    };
    if !ward.active {
        return Err(Error::precondition(format!("ward {} is closed", ward.name)));
    }
    if !takes {
        return Err(Error::precondition(format!(
            "department {} does not take {} admissions",
            ward.name,
            kind.as_db().replace('_', " ")
        )));
    }
    Ok(())
}

/// The year an admission belongs to: its date in the facility's time zone.
fn admission_year(time_zone: &str, at: DateTime<Utc>) -> i32 {
    time_zone
        .parse::<chrono_tz::Tz>()
        .map(|zone| at.with_timezone(&zone).year())
        .unwrap_or_else(|_| at.year())
}

/// The full gRPC method name of an rpc of the admission service.
fn method(rpc: &str) -> String {
    format!("{SERVICE}{rpc}")
}

impl Adt {
    /// An admission read without a lock, outside any write (to learn its patient and ward
    /// before consulting other modules).
    async fn peek(&self, context: &RequestContext, id: Uuid) -> Result<AdmissionRow> {
        let mut tx = self.calls.begin_read(context).await?;
        let row = store::get_admission(&mut tx, id, Lock::None).await?;
        tx.commit().await?;
        Ok(row)
    }

    /// A read's transaction, in the caller's tenant.
    async fn read_tx(&self, context: &RequestContext) -> Result<TenantTx> {
        self.calls.begin_read(context).await
    }

    /// Records what a read showed in the read's own transaction and commits it, so the
    /// record is durable before the answer leaves.
    async fn commit_read(
        &self,
        tx: TenantTx,
        context: &RequestContext,
        shown: Shown,
    ) -> Result<()> {
        self.calls.commit_read(tx, context, &shown).await
    }

    /// What admitting checks of a patient: from the registry's events when they arrived
    /// (`known_patients.rs`), else from the registry itself; a death this module recorded
    /// counts at once, before the registry's event about it arrives.
    pub(crate) async fn patient(&self, context: &RequestContext, id: Uuid) -> Result<Patient> {
        let mut tx = self.read_tx(context).await?;
        let known = known_patients::known(&mut tx, id).await?;
        let died_here = store::died_here(&mut tx, id).await?;
        tx.commit().await?;
        let mut patient = match known {
            Some(patient) => patient,
            None => self.directory.patient(context, id).await?,
        };
        patient.deceased |= died_here;
        Ok(patient)
    }

    pub(crate) async fn to_pb(tx: &mut TenantTx, row: &AdmissionRow) -> Result<pb::Admission> {
        let stays = store::stays_of(tx, row.id).await?;
        admission_to_pb(row, &stays)
    }
}

/// A movement of an open admission to a ward and bed, at a time: the shared heart of bed
/// assignment and transfer.
struct Move {
    department_id: Uuid,
    bed_id: Option<Uuid>,
    at: Option<DateTime<Utc>>,
    /// The request field that carried `at`, named when the time is refused.
    time_field: &'static str,
    reason: String,
}

impl Adt {
    /// Ends the open stay and begins the next at the same instant, takes a reservation of the
    /// same bed along, and publishes the bed changes and the transfer. The exclusion
    /// constraint refuses a bed someone else holds at that time.
    async fn move_patient(
        &self,
        tx: &mut TenantTx,
        context: &RequestContext,
        row: &AdmissionRow,
        to: Move,
        now: DateTime<Utc>,
    ) -> Result<pb::Admission> {
        let stays = store::stays_of(tx, row.id).await?;
        let current = open_stay(&stays)
            .cloned()
            .ok_or(Error::corrupt("open admission without an open stay"))?;
        if current.department_id == to.department_id && current.bed_id == to.bed_id {
            return Err(Error::precondition("the patient is already there"));
        }
        let at = self
            .movement_time_in(
                tx,
                context,
                to.time_field,
                (to.at, Some(current.start_time)),
                now,
            )
            .await?;
        let ended = store::set_stay_end(tx, current.id, Some(at)).await?;
        if let Some(reservation) = open_reservation(&stays)
            && reservation.bed_id == to.bed_id
        {
            store::set_stay_end(tx, reservation.id, Some(at)).await?;
        }
        let began = store::insert_stay(
            tx,
            &store::NewStay {
                admission_id: row.id,
                kind: "stay",
                department_id: to.department_id,
                bed_id: to.bed_id,
                start_time: at,
                end_time: None,
                reason: &to.reason,
            },
        )
        .await?;
        let moved = store::update_admission(
            tx,
            row.id,
            &AdmissionChange {
                department_id: Some(to.department_id),
                bed_id: Some(to.bed_id),
                ..Default::default()
            },
            now,
        )
        .await?;
        if let Some(bed) = current.bed_id {
            events::bed(self, tx, bed, &moved, pb::BedOccupancy::Cleaning, at).await?;
        }
        if let Some(bed) = to.bed_id {
            events::bed(self, tx, bed, &moved, pb::BedOccupancy::Occupied, at).await?;
        }
        let admission = Self::to_pb(tx, &moved).await?;
        events::publish(
            self,
            tx,
            events::PATIENT_TRANSFERRED,
            &moved,
            &pb::PatientTransferred {
                admission: Some(admission.clone()),
                from_stay: Some(stay_to_pb(&ended)),
                to_stay: Some(stay_to_pb(&began)),
            },
            now,
        )
        .await?;
        Ok(admission)
    }
}

impl Adt {
    /// Admits in the caller's transaction: number, admission, first stay, the emergency
    /// visit closed, events and the audit record.
    async fn admit(
        &self,
        tx: &mut TenantTx,
        context: &RequestContext,
        mut admission: NewAdmission,
        year: i32,
        now: DateTime<Utc>,
    ) -> Result<pb::Admission> {
        let visit = match admission.emergency_visit_id {
            Some(visit_id) => {
                let visit = store::get_visit(tx, visit_id, Lock::ForUpdate).await?;
                if visit.outcome.is_some() {
                    return Err(Error::precondition("the emergency visit is already closed"));
                }
                if visit.patient_id != admission.patient_id
                    || visit.facility_id != admission.facility_id
                {
                    return Err(Error::precondition(
                        "the emergency visit is another patient's or another facility's",
                    ));
                }
                Some(visit)
            }
            None => None,
        };
        let sequence = store::next_admission_number(tx, admission.facility_id, year).await?;
        admission.admission_number = admission_number(sequence, year);
        let row = store::insert_admission(tx, &admission, now).await?;
        store::insert_stay(
            tx,
            &store::NewStay {
                admission_id: row.id,
                kind: "stay",
                department_id: row.department_id,
                bed_id: row.bed_id,
                start_time: row.admit_time,
                end_time: None,
                reason: "",
            },
        )
        .await?;
        if let Some(bed_id) = row.bed_id {
            events::bed(
                self,
                tx,
                bed_id,
                &row,
                pb::BedOccupancy::Occupied,
                row.admit_time,
            )
            .await?;
        }
        if let Some(visit) = visit {
            let closed = store::close_visit(
                tx,
                visit.id,
                EmergencyOutcome::Admitted,
                row.admit_time.max(visit.arrival_time),
                Some(row.id),
                "",
                now,
            )
            .await?;
            events::visit_closed(self, tx, &closed, now).await?;
        }
        let admitted = Adt::to_pb(tx, &row).await?;
        events::publish(
            self,
            tx,
            events::PATIENT_ADMITTED,
            &row,
            &pb::PatientAdmitted {
                admission: Some(admitted.clone()),
            },
            now,
        )
        .await?;
        let entry = AuditEntry::ok(std::slice::from_ref(&row.patient_id));
        audit::record(tx, context, &entry, now).await?;
        Ok(admitted)
    }

    /// A bed assignment or a transfer: the whole move under the request's key, answered
    /// with the admission as it is after the move.
    #[allow(clippy::too_many_arguments)]
    async fn moving<Req, Res>(
        &self,
        context: &RequestContext,
        rpc: &'static str,
        key: &RequestKey,
        message: &Req,
        id: Uuid,
        etag: Option<Version>,
        to: impl FnOnce(&AdmissionRow) -> Move + Send,
        answer: fn(pb::Admission) -> Res,
    ) -> Result<Res>
    where
        Req: Message,
        Res: Message + Default,
    {
        let now = self.calls.now();
        self.calls
            .write(context, &method(rpc), key, message, async |tx| {
                let row = lock_for_change(tx, context, id, ADMIT, Must::BeOpen, etag).await?;
                let moved = self.move_patient(tx, context, &row, to(&row), now).await?;
                audit::record(tx, context, &AuditEntry::ok(&[row.patient_id]), now).await?;
                Ok(answer(moved))
            })
            .await
    }
}
