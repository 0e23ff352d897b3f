//! The tonic adapter of admissions: parse the request, look up what other modules know (the
//! ward, the bed, the patient), authorize against the ward, then do the whole change in one
//! transaction under the request's idempotency key, with its events and its audit record.

use std::sync::Arc;

use chrono::{DateTime, Datelike, Utc};
use hmis_platform::audit::{self, AuditEntry};
use hmis_platform::auth::Target;
use hmis_platform::call::{Calls, Shown};
use hmis_platform::config::AdmissionsOptions;
use hmis_platform::idempotency::RequestKey;
use hmis_platform::outbox::Outbox;
use hmis_platform::paging::{PageSize, decode_token, finish_page};
use hmis_platform::types::{Line, Text, Version, parse_uuid};
use hmis_platform::wire::{parse_timestamp, timestamp};
use hmis_platform::{RequestContext, TenantTx, Violations};
use hmis_proto::openhmis::admissions::v1 as pb;
use hmis_proto::openhmis::patients::v1 as patients_pb;
use pb::admission_service_server::AdmissionService;
use prost::Message;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::convert::{
    admission_to_pb, discharge_type_to_pb, parse_admission_type, parse_arrival_mode,
    parse_closing_outcome, parse_discharge_type, parse_referral, parse_status_filter, stay_to_pb,
    visit_to_pb,
};
use crate::directory::{Bed, Directory, NewbornRecord, Patient, Ward, WardKind};
use crate::domain::{
    AdmissionStatus, AdmissionType, BedState, DiagnosisCode, EmergencyOutcome, TriageLevel,
    admission_number, bed_accepts, movement_time, undo_allowed,
};
use crate::error::{Error, Result};
use crate::events;
use crate::known_patients;
use crate::store::{
    self, AdmissionChange, AdmissionFilter, AdmissionRow, DischargeColumns, Lock, NewAdmission,
    NewVisit, StayRow,
};

const READ: &str = "admissions.read";
const ADMIT: &str = "admissions.admit";
const UNDO: &str = "admissions.undo";
const INFODESK: &str = "admissions.infodesk";

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

#[derive(Debug, Clone)]
pub struct AdmissionApi {
    pub(crate) adt: Arc<Adt>,
}

fn parse_id(field: &str, value: &str, violations: &mut Violations) -> Option<Uuid> {
    violations.check(field, parse_uuid(value))
}

fn parse_optional_id(field: &str, value: &str, violations: &mut Violations) -> Option<Uuid> {
    if value.trim().is_empty() {
        None
    } else {
        parse_id(field, value, violations)
    }
}

/// An etag a change may send to guard against a stale screen; empty means "don't check".
fn parse_optional_etag(value: &str, violations: &mut Violations) -> Option<Version> {
    if value.trim().is_empty() {
        None
    } else {
        violations.check("etag", Version::parse_etag(value))
    }
}

fn parse_time(
    field: &str,
    value: Option<&prost_types::Timestamp>,
    violations: &mut Violations,
) -> Option<DateTime<Utc>> {
    violations.check(field, parse_timestamp(value)).flatten()
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

/// A refusal to act on `patient`'s admission, audited once the transaction rolled back.
fn refused(patient: Uuid) -> impl Fn(Status) -> Error {
    move |status| Error::Refused {
        status,
        patients: vec![patient],
    }
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
    if row.status == AdmissionStatus::Admitted.as_db() {
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
            ward.name, kind
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
        let mut tx = self
            .calls
            .database()
            .begin(context.tenant_id()?, &context.request_id)
            .await?;
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
    /// (`known_patients.rs`), else from the registry itself.
    pub(crate) async fn patient(&self, context: &RequestContext, id: Uuid) -> Result<Patient> {
        let mut tx = self.read_tx(context).await?;
        let known = known_patients::known(&mut tx, id).await?;
        tx.commit().await?;
        match known {
            Some(patient) => Ok(patient),
            None => self.directory.patient(context, id).await,
        }
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
        row: &AdmissionRow,
        to: Move,
        now: DateTime<Utc>,
    ) -> Result<pb::Admission> {
        let stays = store::stays_of(tx, row.id).await?;
        let current = open_stay(&stays)
            .cloned()
            .ok_or(Error::CorruptRow("open admission without an open stay"))?;
        if current.department_id == to.department_id && current.bed_id == to.bed_id {
            return Err(Error::precondition("the patient is already there"));
        }
        let at = movement_time_of(to.time_field, to.at, Some(current.start_time), now)?;
        let ended = store::set_stay_end(tx, current.id, Some(at)).await?;
        if let Some(reservation) = open_reservation(&stays)
            && reservation.bed_id == to.bed_id
        {
            store::set_stay_end(tx, reservation.id, Some(at)).await?;
        }
        let began = store::insert_stay(
            tx,
            row.id,
            "stay",
            to.department_id,
            to.bed_id,
            at,
            &to.reason,
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

#[tonic::async_trait]
impl AdmissionService for AdmissionApi {
    #[tracing::instrument(skip_all)]
    async fn register_emergency_visit(
        &self,
        request: Request<pb::RegisterEmergencyVisitRequest>,
    ) -> Result<Response<pb::RegisterEmergencyVisitResponse>, Status> {
        let context = RequestContext::of(&request);
        let adt = &self.adt;
        context.authorize_any(ADMIT)?;
        let message = request.into_inner();
        let now = adt.calls.now();
        let mut violations = Violations::default();
        let key = violations.check("request_id", RequestKey::parse(&message.request_id));
        let visit = message.visit.clone().unwrap_or_default();
        if message.visit.is_none() {
            violations.add("visit", "is required");
        }
        let patient_id = parse_id("visit.patient_id", &visit.patient_id, &mut violations);
        let department_id = parse_id("visit.department_id", &visit.department_id, &mut violations);
        let arrival = parse_time(
            "visit.arrival_time",
            visit.arrival_time.as_ref(),
            &mut violations,
        );
        let arrival = violations
            .check("visit.arrival_time", movement_time(arrival, None, now))
            .unwrap_or(now);
        let mode = violations.check("visit.arrival_mode", parse_arrival_mode(visit.arrival_mode));
        let triage = violations.check("visit.triage_level", TriageLevel::new(visit.triage_level));
        let complaint =
            violations.check("visit.chief_complaint", Text::parse(&visit.chief_complaint));
        let referral = parse_referral(visit.referral.as_ref(), &mut violations);
        let (
            Some(key),
            Some(patient_id),
            Some(department_id),
            Some(mode),
            Some(triage),
            Some(complaint),
            true,
        ) = (
            key,
            patient_id,
            department_id,
            mode,
            triage,
            complaint,
            violations.is_empty(),
        )
        else {
            return Err(Error::from(violations).into());
        };
        if let Some(replayed) = adt
            .calls
            .replay(&context, &method("RegisterEmergencyVisit"), &key, &message)
            .await?
        {
            return Ok(Response::new(replayed));
        }
        let ward = adt.directory.ward(&context, department_id).await?;
        if ward.kind != WardKind::Emergency || !ward.active {
            return Err(Error::precondition(format!(
                "department {} is not an emergency unit in service",
                ward.name
            ))
            .into());
        }
        let patient = adt.patient(&context, patient_id).await?;
        check_admittable(&patient)?;
        if let Err(denied) =
            context.authorize(ADMIT, &Target::department(ward.facility_id, ward.id))
        {
            return Err(adt
                .calls
                .refuse(&context, &[patient_id], denied)
                .await
                .into());
        }
        let response = adt
            .calls
            .write(
                &context,
                &method("RegisterEmergencyVisit"),
                &key,
                &message,
                async |tx| {
                    let row = store::insert_visit(
                        tx,
                        &NewVisit {
                            id: Uuid::now_v7(),
                            patient_id,
                            facility_id: ward.facility_id,
                            department_id,
                            arrival_time: arrival,
                            arrival_mode: mode.as_db(),
                            referral: &referral,
                            triage_level: triage.get(),
                            chief_complaint: complaint.as_str(),
                        },
                        now,
                    )
                    .await?;
                    audit::record(tx, &context, &AuditEntry::ok(&[patient_id]), now).await?;
                    Ok(pb::RegisterEmergencyVisitResponse {
                        visit: Some(visit_to_pb(&row)),
                    })
                },
            )
            .await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all)]
    async fn get_emergency_visit(
        &self,
        request: Request<pb::GetEmergencyVisitRequest>,
    ) -> Result<Response<pb::GetEmergencyVisitResponse>, Status> {
        let context = RequestContext::of(&request);
        let adt = &self.adt;
        context.authorize_any(READ)?;
        let mut violations = Violations::default();
        let Some(id) = parse_id("id", &request.get_ref().id, &mut violations) else {
            return Err(Error::from(violations).into());
        };
        let mut tx = adt.read_tx(&context).await?;
        let row = store::get_visit(&mut tx, id, Lock::None).await?;
        let access = match context.authorize_patient(
            READ,
            &Target::department(row.facility_id, row.department_id),
        ) {
            Ok(access) => access,
            Err(denied) => {
                drop(tx);
                return Err(adt
                    .calls
                    .refuse(&context, &[row.patient_id], denied)
                    .await
                    .into());
            }
        };
        adt.commit_read(tx, &context, Shown::patient(row.patient_id, &access))
            .await?;
        Ok(Response::new(pb::GetEmergencyVisitResponse {
            visit: Some(visit_to_pb(&row)),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn list_emergency_visits(
        &self,
        request: Request<pb::ListEmergencyVisitsRequest>,
    ) -> Result<Response<pb::ListEmergencyVisitsResponse>, Status> {
        let context = RequestContext::of(&request);
        let adt = &self.adt;
        context.authorize_any(READ)?;
        let message = request.get_ref();
        let mut violations = Violations::default();
        let department_id = parse_id("department_id", &message.department_id, &mut violations);
        let size = violations.check("page_size", PageSize::parse(message.page_size));
        let after = violations
            .check(
                "page_token",
                decode_token::<(DateTime<Utc>, Uuid)>(&message.page_token),
            )
            .flatten();
        let (Some(department_id), Some(size), true) = (department_id, size, violations.is_empty())
        else {
            return Err(Error::from(violations).into());
        };
        let ward = adt.directory.ward(&context, department_id).await?;
        context.authorize(READ, &Target::department(ward.facility_id, ward.id))?;
        let mut tx = adt.read_tx(&context).await?;
        let rows = store::list_visits(
            &mut tx,
            department_id,
            message.open_only,
            after,
            size.fetch_limit(),
        )
        .await?;
        let (rows, next_page_token) = finish_page(rows, size, |row| (row.arrival_time, row.id));
        let ids: Vec<Uuid> = rows.iter().map(|row| row.patient_id).collect();
        adt.commit_read(tx, &context, Shown::patients(ids)).await?;
        Ok(Response::new(pb::ListEmergencyVisitsResponse {
            visits: rows.iter().map(visit_to_pb).collect(),
            next_page_token,
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn close_emergency_visit(
        &self,
        request: Request<pb::CloseEmergencyVisitRequest>,
    ) -> Result<Response<pb::CloseEmergencyVisitResponse>, Status> {
        let context = RequestContext::of(&request);
        let adt = self.adt.clone();
        context.authorize_any(ADMIT)?;
        let message = request.into_inner();
        let now = adt.calls.now();
        let mut violations = Violations::default();
        let key = violations.check("request_id", RequestKey::parse(&message.request_id));
        let id = parse_id("visit_id", &message.visit_id, &mut violations);
        let outcome = violations.check("outcome", parse_closing_outcome(message.outcome));
        let close_time = parse_time("close_time", message.close_time.as_ref(), &mut violations);
        let note = violations.check("note", Text::parse(&message.note));
        let (Some(key), Some(id), Some(outcome), Some(note), true) =
            (key, id, outcome, note, violations.is_empty())
        else {
            return Err(Error::from(violations).into());
        };
        let response = adt
            .calls
            .write(
                &context,
                &method("CloseEmergencyVisit"),
                &key,
                &message,
                async |tx| {
                    let row = store::get_visit(tx, id, Lock::ForUpdate).await?;
                    context
                        .authorize(
                            ADMIT,
                            &Target::department(row.facility_id, row.department_id),
                        )
                        .map_err(refused(row.patient_id))?;
                    if row.outcome.is_some() {
                        return Err(Error::precondition("the emergency visit is already closed"));
                    }
                    let at =
                        movement_time_of("close_time", close_time, Some(row.arrival_time), now)?;
                    let closed =
                        store::close_visit(tx, id, outcome.as_db(), at, None, note.as_str(), now)
                            .await?;
                    events::visit_closed(&adt, tx, &closed, now).await?;
                    audit::record(tx, &context, &AuditEntry::ok(&[row.patient_id]), now).await?;
                    Ok(pb::CloseEmergencyVisitResponse {
                        visit: Some(visit_to_pb(&closed)),
                    })
                },
            )
            .await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all)]
    async fn admit_patient(
        &self,
        request: Request<pb::AdmitPatientRequest>,
    ) -> Result<Response<pb::AdmitPatientResponse>, Status> {
        let context = RequestContext::of(&request);
        let adt = self.adt.clone();
        context.authorize_any(ADMIT)?;
        let message = request.into_inner();
        let now = adt.calls.now();
        let mut violations = Violations::default();
        let key = violations.check("request_id", RequestKey::parse(&message.request_id));
        let given = message.admission.clone().unwrap_or_default();
        if message.admission.is_none() {
            violations.add("admission", "is required");
        }
        let patient_id = parse_id("admission.patient_id", &given.patient_id, &mut violations);
        let department_id = parse_id(
            "admission.department_id",
            &given.department_id,
            &mut violations,
        );
        let bed_id = parse_optional_id("admission.bed_id", &given.bed_id, &mut violations);
        let kind = violations.check("admission.type", parse_admission_type(given.r#type));
        let admit_time = parse_time(
            "admission.admit_time",
            given.admit_time.as_ref(),
            &mut violations,
        );
        let admit_time = violations
            .check("admission.admit_time", movement_time(admit_time, None, now))
            .unwrap_or(now);
        let physician = parse_optional_id(
            "admission.admitting_physician_id",
            &given.admitting_physician_id,
            &mut violations,
        );
        let diagnosis = violations.check(
            "admission.admitting_diagnosis_code",
            DiagnosisCode::parse(&given.admitting_diagnosis_code),
        );
        let diagnosis_text = violations.check(
            "admission.admitting_diagnosis_text",
            Text::parse(&given.admitting_diagnosis_text),
        );
        let visit_id = parse_optional_id(
            "admission.emergency_visit_id",
            &given.emergency_visit_id,
            &mut violations,
        );
        if given.consent_document_ids.len() > 20 {
            violations.add("admission.consent_document_ids", "at most 20");
        }
        let consents: Vec<Uuid> = given
            .consent_document_ids
            .iter()
            .enumerate()
            .filter_map(|(index, id)| {
                parse_id(
                    &format!("admission.consent_document_ids[{index}]"),
                    id,
                    &mut violations,
                )
            })
            .collect();
        let (
            Some(key),
            Some(patient_id),
            Some(department_id),
            Some(kind),
            Some(diagnosis),
            Some(diagnosis_text),
            true,
        ) = (
            key,
            patient_id,
            department_id,
            kind,
            diagnosis,
            diagnosis_text,
            violations.is_empty(),
        )
        else {
            return Err(Error::from(violations).into());
        };
        if let Some(replayed) = adt
            .calls
            .replay(&context, &method("AdmitPatient"), &key, &message)
            .await?
        {
            return Ok(Response::new(replayed));
        }
        let ward = adt.directory.ward(&context, department_id).await?;
        check_ward(&ward, kind)?;
        let patient = adt.patient(&context, patient_id).await?;
        check_admittable(&patient)?;
        if let Some(bed_id) = bed_id {
            check_bed(
                &adt.directory.bed(&context, bed_id).await?,
                department_id,
                &patient,
            )?;
        }
        if let Err(denied) =
            context.authorize(ADMIT, &Target::department(ward.facility_id, ward.id))
        {
            return Err(adt
                .calls
                .refuse(&context, &[patient_id], denied)
                .await
                .into());
        }
        let year = admission_year(
            &adt.directory.time_zone(&context, ward.facility_id).await?,
            admit_time,
        );
        let response = adt
            .calls
            .write(
                &context,
                &method("AdmitPatient"),
                &key,
                &message,
                async |tx| {
                    let admission = NewAdmission {
                        id: Uuid::now_v7(),
                        patient_id,
                        facility_id: ward.facility_id,
                        admission_number: String::new(),
                        kind: kind.as_db(),
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
                    let admitted = adt.admit(tx, &context, admission, year, now).await?;
                    Ok(pb::AdmitPatientResponse {
                        admission: Some(admitted),
                    })
                },
            )
            .await?;
        tracing::info!(admission_id = %response.admission.as_ref().map(|a| a.id.as_str()).unwrap_or_default(), "patient admitted");
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all)]
    async fn admit_newborn(
        &self,
        request: Request<pb::AdmitNewbornRequest>,
    ) -> Result<Response<pb::AdmitNewbornResponse>, Status> {
        let context = RequestContext::of(&request);
        let adt = self.adt.clone();
        context.authorize_any(ADMIT)?;
        let message = request.into_inner();
        let now = adt.calls.now();
        let mut violations = Violations::default();
        let key = violations.check("request_id", RequestKey::parse(&message.request_id));
        let mother_id = parse_id(
            "mother_admission_id",
            &message.mother_admission_id,
            &mut violations,
        );
        let bed_id = parse_optional_id("bed_id", &message.bed_id, &mut violations);
        let newborn = message.newborn.clone().unwrap_or_default();
        if message.newborn.is_none() {
            violations.add("newborn", "is required");
        }
        let sex = match patients_pb::Sex::try_from(newborn.sex) {
            Ok(patients_pb::Sex::Unspecified) => {
                violations.add(
                    "newborn.sex",
                    "is required (UNKNOWN when it cannot be told yet)",
                );
                None
            }
            Ok(sex) => Some(sex),
            Err(_) => {
                violations.add(
                    "newborn.sex",
                    format!("{} is not a known value", newborn.sex),
                );
                None
            }
        };
        let family = violations.check("newborn.family_name", Line::parse(&newborn.family_name));
        let given = violations.check("newborn.given_names", Line::parse(&newborn.given_names));
        let born = parse_time(
            "newborn.birth_time",
            newborn.birth_time.as_ref(),
            &mut violations,
        );
        let born = violations
            .check("newborn.birth_time", movement_time(born, None, now))
            .unwrap_or(now);
        let (Some(key), Some(mother_id), Some(sex), Some(family), Some(given), true) =
            (key, mother_id, sex, family, given, violations.is_empty())
        else {
            return Err(Error::from(violations).into());
        };
        if let Some(replayed) = adt
            .calls
            .replay(&context, &method("AdmitNewborn"), &key, &message)
            .await?
        {
            return Ok(Response::new(replayed));
        }
        let mother = adt.peek(&context, mother_id).await?;
        require_open(&mother)?;
        if let Err(denied) = context.authorize(ADMIT, &ward_target(&mother)) {
            return Err(adt
                .calls
                .refuse(&context, &[mother.patient_id], denied)
                .await
                .into());
        }
        let mother_family_name = adt
            .directory
            .family_name(&context, mother.patient_id)
            .await?;
        let record = NewbornRecord {
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
            birth_time: born,
        };
        // The registry's own idempotency makes a retried birth find the record it made.
        let baby_id = adt
            .directory
            .register_newborn(&context, format!("{}/newborn", key.as_str()), &record)
            .await?;
        let baby = adt.patient(&context, baby_id).await?;
        if let Some(bed_id) = bed_id {
            check_bed(
                &adt.directory.bed(&context, bed_id).await?,
                mother.department_id,
                &baby,
            )?;
        }
        let year = admission_year(
            &adt.directory
                .time_zone(&context, mother.facility_id)
                .await?,
            born,
        );
        let response = adt
            .calls
            .write(
                &context,
                &method("AdmitNewborn"),
                &key,
                &message,
                async |tx| {
                    let mother = store::get_admission(tx, mother_id, Lock::ForUpdate).await?;
                    require_open(&mother)?;
                    let admission = NewAdmission {
                        id: Uuid::now_v7(),
                        patient_id: baby_id,
                        facility_id: mother.facility_id,
                        admission_number: String::new(),
                        // A birth in hospital is not planned as an admission of its own.
                        kind: AdmissionType::Emergency.as_db(),
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
                    let admitted = adt.admit(tx, &context, admission, year, now).await?;
                    Ok(pb::AdmitNewbornResponse {
                        admission: Some(admitted),
                    })
                },
            )
            .await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all)]
    async fn get_admission(
        &self,
        request: Request<pb::GetAdmissionRequest>,
    ) -> Result<Response<pb::GetAdmissionResponse>, Status> {
        let context = RequestContext::of(&request);
        let adt = &self.adt;
        context.authorize_any(READ)?;
        let mut violations = Violations::default();
        let Some(id) = parse_id("id", &request.get_ref().id, &mut violations) else {
            return Err(Error::from(violations).into());
        };
        let mut tx = adt.read_tx(&context).await?;
        let row = store::get_admission(&mut tx, id, Lock::None).await?;
        let access = match context.authorize_patient(READ, &ward_target(&row)) {
            Ok(access) => access,
            Err(denied) => {
                drop(tx);
                return Err(adt
                    .calls
                    .refuse(&context, &[row.patient_id], denied)
                    .await
                    .into());
            }
        };
        let admission = Adt::to_pb(&mut tx, &row).await?;
        adt.commit_read(tx, &context, Shown::patient(row.patient_id, &access))
            .await?;
        Ok(Response::new(pb::GetAdmissionResponse {
            admission: Some(admission),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn list_admissions(
        &self,
        request: Request<pb::ListAdmissionsRequest>,
    ) -> Result<Response<pb::ListAdmissionsResponse>, Status> {
        let context = RequestContext::of(&request);
        let adt = &self.adt;
        let principal = context.authorize_any(READ)?;
        let message = request.get_ref();
        let mut violations = Violations::default();
        let filter = match (
            message.department_id.is_empty(),
            message.patient_id.is_empty(),
        ) {
            (false, true) => parse_id("department_id", &message.department_id, &mut violations)
                .map(AdmissionFilter::Department),
            (true, false) => parse_id("patient_id", &message.patient_id, &mut violations)
                .map(AdmissionFilter::Patient),
            _ => {
                violations.add(
                    "department_id",
                    "give exactly one of department_id or patient_id",
                );
                None
            }
        };
        let status = violations
            .check("status", parse_status_filter(message.status))
            .flatten();
        let size = violations.check("page_size", PageSize::parse(message.page_size));
        let after = violations
            .check(
                "page_token",
                decode_token::<(DateTime<Utc>, Uuid)>(&message.page_token),
            )
            .flatten();
        let (Some(filter), Some(size), true) = (filter, size, violations.is_empty()) else {
            return Err(Error::from(violations).into());
        };
        if let AdmissionFilter::Department(department_id) = filter {
            let ward = adt.directory.ward(&context, department_id).await?;
            context.authorize(READ, &Target::department(ward.facility_id, ward.id))?;
        }
        let mut tx = adt.read_tx(&context).await?;
        let rows = store::list_admissions(
            &mut tx,
            filter,
            status.map(|s| s.as_db()),
            after,
            size.fetch_limit(),
        )
        .await?;
        let (rows, next_page_token) = finish_page(rows, size, |row| (row.admit_time, row.id));
        // A patient's history may span wards the caller does not serve: those stay out.
        let shown: Vec<&AdmissionRow> = rows
            .iter()
            .filter(|row| principal.is_allowed(READ, &ward_target(row)))
            .collect();
        let admission_ids: Vec<Uuid> = shown.iter().map(|row| row.id).collect();
        let stays = store::stays_of_many(&mut tx, &admission_ids).await?;
        let admissions = shown
            .iter()
            .map(|row| admission_to_pb(row, stays.get(&row.id).map(Vec::as_slice).unwrap_or(&[])))
            .collect::<Result<Vec<_>>>()?;
        let ids: Vec<Uuid> = shown.iter().map(|row| row.patient_id).collect();
        adt.commit_read(tx, &context, Shown::patients(ids)).await?;
        Ok(Response::new(pb::ListAdmissionsResponse {
            admissions,
            next_page_token,
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn assign_bed(
        &self,
        request: Request<pb::AssignBedRequest>,
    ) -> Result<Response<pb::AssignBedResponse>, Status> {
        let context = RequestContext::of(&request);
        let adt = self.adt.clone();
        context.authorize_any(ADMIT)?;
        let message = request.into_inner();
        let mut violations = Violations::default();
        let key = violations.check("request_id", RequestKey::parse(&message.request_id));
        let id = parse_id("admission_id", &message.admission_id, &mut violations);
        let bed_id = parse_id("bed_id", &message.bed_id, &mut violations);
        let etag = parse_optional_etag(&message.etag, &mut violations);
        let at = parse_time("assign_time", message.assign_time.as_ref(), &mut violations);
        let (Some(key), Some(id), Some(bed_id), true) = (key, id, bed_id, violations.is_empty())
        else {
            return Err(Error::from(violations).into());
        };
        if let Some(replayed) = adt
            .calls
            .replay(&context, &method("AssignBed"), &key, &message)
            .await?
        {
            return Ok(Response::new(replayed));
        }
        let seen = adt.peek(&context, id).await?;
        let patient = adt.patient(&context, seen.patient_id).await?;
        let bed = adt.directory.bed(&context, bed_id).await?;
        check_bed(&bed, seen.department_id, &patient)?;
        let response = adt
            .clone()
            .moving(
                &context,
                "AssignBed",
                &key,
                &message,
                id,
                etag,
                move |row| Move {
                    department_id: row.department_id,
                    bed_id: Some(bed_id),
                    at,
                    time_field: "assign_time",
                    reason: String::new(),
                },
                |admission| pb::AssignBedResponse {
                    admission: Some(admission),
                },
            )
            .await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all)]
    async fn transfer_patient(
        &self,
        request: Request<pb::TransferPatientRequest>,
    ) -> Result<Response<pb::TransferPatientResponse>, Status> {
        let context = RequestContext::of(&request);
        let adt = self.adt.clone();
        context.authorize_any(ADMIT)?;
        let message = request.into_inner();
        let mut violations = Violations::default();
        let key = violations.check("request_id", RequestKey::parse(&message.request_id));
        let id = parse_id("admission_id", &message.admission_id, &mut violations);
        let department_id = parse_id("department_id", &message.department_id, &mut violations);
        let bed_id = parse_optional_id("bed_id", &message.bed_id, &mut violations);
        let etag = parse_optional_etag(&message.etag, &mut violations);
        let at = parse_time(
            "transfer_time",
            message.transfer_time.as_ref(),
            &mut violations,
        );
        let reason = violations.check("reason", Text::parse(&message.reason));
        let (Some(key), Some(id), Some(department_id), Some(reason), true) =
            (key, id, department_id, reason, violations.is_empty())
        else {
            return Err(Error::from(violations).into());
        };
        if let Some(replayed) = adt
            .calls
            .replay(&context, &method("TransferPatient"), &key, &message)
            .await?
        {
            return Ok(Response::new(replayed));
        }
        let seen = adt.peek(&context, id).await?;
        let ward = adt.directory.ward(&context, department_id).await?;
        let kind =
            AdmissionType::from_db(&seen.r#type).ok_or(Error::CorruptRow("admission type"))?;
        check_ward(&ward, kind)?;
        if ward.facility_id != seen.facility_id {
            return Err(Error::precondition(
                "the receiving ward is in another facility: discharge as transferred and admit there",
            )
            .into());
        }
        if let Some(bed_id) = bed_id {
            let patient = adt.patient(&context, seen.patient_id).await?;
            check_bed(
                &adt.directory.bed(&context, bed_id).await?,
                department_id,
                &patient,
            )?;
        }
        let response = adt
            .clone()
            .moving(
                &context,
                "TransferPatient",
                &key,
                &message,
                id,
                etag,
                move |_| Move {
                    department_id,
                    bed_id,
                    at,
                    time_field: "transfer_time",
                    reason: reason.as_str().to_owned(),
                },
                |admission| pb::TransferPatientResponse {
                    admission: Some(admission),
                },
            )
            .await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all)]
    async fn reserve_bed(
        &self,
        request: Request<pb::ReserveBedRequest>,
    ) -> Result<Response<pb::ReserveBedResponse>, Status> {
        let context = RequestContext::of(&request);
        let adt = self.adt.clone();
        context.authorize_any(ADMIT)?;
        let message = request.into_inner();
        let now = adt.calls.now();
        let mut violations = Violations::default();
        let key = violations.check("request_id", RequestKey::parse(&message.request_id));
        let id = parse_id("admission_id", &message.admission_id, &mut violations);
        let bed_id = parse_id("bed_id", &message.bed_id, &mut violations);
        let etag = parse_optional_etag(&message.etag, &mut violations);
        let (Some(key), Some(id), Some(bed_id), true) = (key, id, bed_id, violations.is_empty())
        else {
            return Err(Error::from(violations).into());
        };
        if let Some(replayed) = adt
            .calls
            .replay(&context, &method("ReserveBed"), &key, &message)
            .await?
        {
            return Ok(Response::new(replayed));
        }
        let seen = adt.peek(&context, id).await?;
        let patient = adt.patient(&context, seen.patient_id).await?;
        let bed = adt.directory.bed(&context, bed_id).await?;
        // A bed may be held in any ward (the one the patient will move to), so only the
        // bed's own state and sex are checked here.
        check_bed(&bed, bed.department_id, &patient)?;
        let response = adt
            .calls
            .write(
                &context,
                &method("ReserveBed"),
                &key,
                &message,
                async |tx| {
                    lock_for_change(tx, &context, id, ADMIT, Must::BeOpen, etag).await?;
                    let stays = store::stays_of(tx, id).await?;
                    if open_reservation(&stays).is_some() {
                        return Err(Error::precondition(
                            "the admission already holds a bed; release it first",
                        ));
                    }
                    if open_stay(&stays).and_then(|stay| stay.bed_id) == Some(bed_id) {
                        return Err(Error::precondition("the patient is already in that bed"));
                    }
                    store::insert_stay(
                        tx,
                        id,
                        "reservation",
                        bed.department_id,
                        Some(bed_id),
                        now,
                        "",
                    )
                    .await?;
                    let row =
                        store::update_admission(tx, id, &AdmissionChange::default(), now).await?;
                    events::bed(&adt, tx, bed_id, &row, pb::BedOccupancy::Reserved, now).await?;
                    audit::record(tx, &context, &AuditEntry::ok(&[row.patient_id]), now).await?;
                    Ok(pb::ReserveBedResponse {
                        admission: Some(Adt::to_pb(tx, &row).await?),
                    })
                },
            )
            .await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all)]
    async fn release_bed_reservation(
        &self,
        request: Request<pb::ReleaseBedReservationRequest>,
    ) -> Result<Response<pb::ReleaseBedReservationResponse>, Status> {
        let context = RequestContext::of(&request);
        let adt = self.adt.clone();
        context.authorize_any(ADMIT)?;
        let message = request.into_inner();
        let now = adt.calls.now();
        let mut violations = Violations::default();
        let key = violations.check("request_id", RequestKey::parse(&message.request_id));
        let id = parse_id("admission_id", &message.admission_id, &mut violations);
        let etag = parse_optional_etag(&message.etag, &mut violations);
        let (Some(key), Some(id), true) = (key, id, violations.is_empty()) else {
            return Err(Error::from(violations).into());
        };
        let response = adt
            .calls
            .write(
                &context,
                &method("ReleaseBedReservation"),
                &key,
                &message,
                async |tx| {
                    lock_for_change(tx, &context, id, ADMIT, Must::BeAny, etag).await?;
                    let stays = store::stays_of(tx, id).await?;
                    let Some(reservation) = open_reservation(&stays) else {
                        return Err(Error::precondition("the admission holds no bed"));
                    };
                    store::set_stay_end(tx, reservation.id, Some(now.max(reservation.start_time)))
                        .await?;
                    let row =
                        store::update_admission(tx, id, &AdmissionChange::default(), now).await?;
                    if let Some(bed_id) = reservation.bed_id {
                        events::bed(&adt, tx, bed_id, &row, pb::BedOccupancy::Free, now).await?;
                    }
                    audit::record(tx, &context, &AuditEntry::ok(&[row.patient_id]), now).await?;
                    Ok(pb::ReleaseBedReservationResponse {
                        admission: Some(Adt::to_pb(tx, &row).await?),
                    })
                },
            )
            .await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all)]
    async fn discharge_patient(
        &self,
        request: Request<pb::DischargePatientRequest>,
    ) -> Result<Response<pb::DischargePatientResponse>, Status> {
        let context = RequestContext::of(&request);
        let adt = self.adt.clone();
        context.authorize_any(ADMIT)?;
        let message = request.into_inner();
        let now = adt.calls.now();
        let mut violations = Violations::default();
        let key = violations.check("request_id", RequestKey::parse(&message.request_id));
        let id = parse_id("admission_id", &message.admission_id, &mut violations);
        let kind = violations.check("type", parse_discharge_type(message.r#type));
        let at = parse_time(
            "discharge_time",
            message.discharge_time.as_ref(),
            &mut violations,
        );
        let destination = violations.check("destination", Line::parse(&message.destination));
        let etag = parse_optional_etag(&message.etag, &mut violations);
        let (Some(key), Some(id), Some(kind), Some(destination), true) =
            (key, id, kind, destination, violations.is_empty())
        else {
            return Err(Error::from(violations).into());
        };
        let response = adt
            .calls
            .write(
                &context,
                &method("DischargePatient"),
                &key,
                &message,
                async |tx| {
                    lock_for_change(tx, &context, id, ADMIT, Must::BeOpen, etag).await?;
                    let stays = store::stays_of(tx, id).await?;
                    let current = open_stay(&stays)
                        .cloned()
                        .ok_or(Error::CorruptRow("open admission without an open stay"))?;
                    let at = movement_time_of("discharge_time", at, Some(current.start_time), now)?;
                    store::set_stay_end(tx, current.id, Some(at)).await?;
                    if let Some(reservation) = open_reservation(&stays) {
                        store::set_stay_end(
                            tx,
                            reservation.id,
                            Some(at.max(reservation.start_time)),
                        )
                        .await?;
                    }
                    let row = store::update_admission(
                        tx,
                        id,
                        &AdmissionChange {
                            status: Some(AdmissionStatus::Discharged.as_db()),
                            bed_id: Some(None),
                            discharge: Some(Some(DischargeColumns {
                                kind: kind.as_db(),
                                time: at,
                                destination: destination.as_str().to_owned(),
                                by: context.user_id(),
                                recorded_at: now,
                            })),
                            ..Default::default()
                        },
                        now,
                    )
                    .await?;
                    if let Some(bed_id) = current.bed_id {
                        events::bed(&adt, tx, bed_id, &row, pb::BedOccupancy::Cleaning, at).await?;
                    }
                    if let Some(bed_id) = open_reservation(&stays).and_then(|stay| stay.bed_id) {
                        events::bed(&adt, tx, bed_id, &row, pb::BedOccupancy::Free, at).await?;
                    }
                    let admission = Adt::to_pb(tx, &row).await?;
                    events::publish(
                        &adt,
                        tx,
                        events::PATIENT_DISCHARGED,
                        &row,
                        &pb::PatientDischarged {
                            admission: Some(admission.clone()),
                        },
                        now,
                    )
                    .await?;
                    audit::record(tx, &context, &AuditEntry::ok(&[row.patient_id]), now).await?;
                    Ok(pb::DischargePatientResponse {
                        admission: Some(admission),
                    })
                },
            )
            .await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all)]
    async fn undo_discharge(
        &self,
        request: Request<pb::UndoDischargeRequest>,
    ) -> Result<Response<pb::UndoDischargeResponse>, Status> {
        let context = RequestContext::of(&request);
        let adt = self.adt.clone();
        context.authorize_any(UNDO)?;
        let message = request.into_inner();
        let now = adt.calls.now();
        let mut violations = Violations::default();
        let key = violations.check("request_id", RequestKey::parse(&message.request_id));
        let id = parse_id("admission_id", &message.admission_id, &mut violations);
        let reason = violations.check("reason", Text::parse_required(&message.reason));
        let etag = parse_optional_etag(&message.etag, &mut violations);
        let (Some(key), Some(id), Some(reason), true) = (key, id, reason, violations.is_empty())
        else {
            return Err(Error::from(violations).into());
        };
        let window = chrono::Duration::from_std(adt.options.undo_discharge_window)
            .unwrap_or(chrono::Duration::MAX);
        let response = adt
            .calls.write(&context, &method("UndoDischarge"), &key, &message, async |tx| {
                    let row = lock_for_change(tx, &context, id, UNDO, Must::BeAny, etag).await?;
                    let (Some(recorded), Some(kind), Some(time)) = (row.discharge_recorded_at, row.discharge_type.clone(), row.discharge_time) else {
                        return Err(Error::precondition(format!("admission {} is not discharged", row.admission_number)));
                    };
                    if !undo_allowed(recorded, now, window) {
                        return Err(Error::precondition(format!(
                            "the discharge was recorded more than {} hours ago; it can no longer be undone",
                            window.num_hours()
                        )));
                    }
                    let stays = store::stays_of(tx, id).await?;
                    let last = stays
                        .iter()
                        .filter(|stay| !stay.is_reservation() && !stay.cancelled)
                        .max_by_key(|stay| (stay.start_time, stay.id))
                        .cloned()
                        .ok_or(Error::CorruptRow("discharged admission without stays"))?;
                    let undone = pb::Discharge {
                        r#type: discharge_type_to_pb(&kind).into(),
                        discharge_time: timestamp(time),
                        destination: row.discharge_destination.clone(),
                        discharged_by: row.discharged_by.map(|id| id.to_string()).unwrap_or_default(),
                    };
                    store::set_stay_end(tx, last.id, None).await.map_err(|error| match error {
                        Error::BedTaken => Error::precondition(
                            "the patient's bed was taken since the discharge; undo is not possible until it is free",
                        ),
                        other => other,
                    })?;
                    let row = store::update_admission(
                        tx,
                        id,
                        &AdmissionChange {
                            status: Some(AdmissionStatus::Admitted.as_db()),
                            department_id: Some(last.department_id),
                            bed_id: Some(last.bed_id),
                            discharge: Some(None),
                            ..Default::default()
                        },
                        now,
                    )
                    .await?;
                    if let Some(bed_id) = last.bed_id {
                        events::bed(&adt, tx, bed_id, &row, pb::BedOccupancy::Occupied, now).await?;
                    }
                    let admission = Adt::to_pb(tx, &row).await?;
                    events::publish(&adt, tx, events::DISCHARGE_UNDONE, &row, &pb::DischargeUndone {
                        admission: Some(admission.clone()),
                        reason: reason.as_str().to_owned(),
                        undone: Some(undone),
                    }, now).await?;
                    audit::record(tx, &context, &AuditEntry::ok(&[row.patient_id]), now).await?;
                    Ok(pb::UndoDischargeResponse { admission: Some(admission) })
                })
            .await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all)]
    async fn cancel_admission(
        &self,
        request: Request<pb::CancelAdmissionRequest>,
    ) -> Result<Response<pb::CancelAdmissionResponse>, Status> {
        let context = RequestContext::of(&request);
        let adt = self.adt.clone();
        context.authorize_any(UNDO)?;
        let message = request.into_inner();
        let now = adt.calls.now();
        let mut violations = Violations::default();
        let key = violations.check("request_id", RequestKey::parse(&message.request_id));
        let id = parse_id("admission_id", &message.admission_id, &mut violations);
        let reason = violations.check("reason", Text::parse_required(&message.reason));
        let etag = parse_optional_etag(&message.etag, &mut violations);
        let (Some(key), Some(id), Some(reason), true) = (key, id, reason, violations.is_empty())
        else {
            return Err(Error::from(violations).into());
        };
        let response = adt
            .calls.write(&context, &method("CancelAdmission"), &key, &message, async |tx| {
                    lock_for_change(tx, &context, id, UNDO, Must::BeOpen, etag).await?;
                    let stays = store::stays_of(tx, id).await?;
                    let moved = stays.iter().filter(|stay| !stay.is_reservation()).count() > 1;
                    if moved {
                        return Err(Error::precondition(
                            "the patient was already moved in the ward; discharge instead of cancelling",
                        ));
                    }
                    store::cancel_stays(tx, id, now).await?;
                    let row = store::update_admission(
                        tx,
                        id,
                        &AdmissionChange {
                            status: Some(AdmissionStatus::Cancelled.as_db()),
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
                        if let Some(bed_id) = stay.bed_id.filter(|_| stay.end_time.is_none()) {
                            events::bed(&adt, tx, bed_id, &row, pb::BedOccupancy::Free, now).await?;
                        }
                    }
                    let admission = Adt::to_pb(tx, &row).await?;
                    events::publish(&adt, tx, events::ADMISSION_CANCELLED, &row, &pb::AdmissionCancelled {
                        admission: Some(admission.clone()),
                        reason: reason.as_str().to_owned(),
                    }, now).await?;
                    audit::record(tx, &context, &AuditEntry::ok(&[row.patient_id]), now).await?;
                    Ok(pb::CancelAdmissionResponse { admission: Some(admission) })
                })
            .await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all)]
    async fn locate_patient(
        &self,
        request: Request<pb::LocatePatientRequest>,
    ) -> Result<Response<pb::LocatePatientResponse>, Status> {
        let context = RequestContext::of(&request);
        let adt = &self.adt;
        let mut violations = Violations::default();
        let Some(patient_id) =
            parse_id("patient_id", &request.get_ref().patient_id, &mut violations)
        else {
            return Err(Error::from(violations).into());
        };
        if let Err(denied) = context.authorize_any(INFODESK) {
            return Err(adt
                .calls
                .refuse(&context, &[patient_id], denied)
                .await
                .into());
        }
        let mut tx = adt.read_tx(&context).await?;
        let open = store::open_admission_of(&mut tx, patient_id).await?;
        let mut answer = pb::LocatePatientResponse::default();
        if let Some(row) = &open {
            // A facility-wide desk holds a grant that covers every ward of it.
            if let Err(denied) = context.authorize(INFODESK, &ward_target(row)) {
                drop(tx);
                return Err(adt
                    .calls
                    .refuse(&context, &[patient_id], denied)
                    .await
                    .into());
            }
            let ward = adt.directory.ward(&context, row.department_id).await?;
            let room_code = match row.bed_id {
                Some(bed_id) => {
                    let bed = adt.directory.bed(&context, bed_id).await?;
                    adt.directory.room_code(&context, bed.room_id).await?
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
        }
        adt.commit_read(tx, &context, Shown::patients(vec![patient_id]))
            .await?;
        Ok(Response::new(answer))
    }

    #[tracing::instrument(skip_all)]
    async fn get_ward_board(
        &self,
        request: Request<pb::GetWardBoardRequest>,
    ) -> Result<Response<pb::GetWardBoardResponse>, Status> {
        let context = RequestContext::of(&request);
        let department_id = self
            .adt
            .authorize_board(&context, &request.get_ref().department_id)
            .await?;
        let board = self.adt.ward_board(&context, department_id, None).await?;
        Ok(Response::new(pb::GetWardBoardResponse { board }))
    }

    type WatchWardBoardStream = ReceiverStream<Result<pb::WatchWardBoardResponse, Status>>;

    #[tracing::instrument(skip_all)]
    async fn watch_ward_board(
        &self,
        request: Request<pb::WatchWardBoardRequest>,
    ) -> Result<Response<Self::WatchWardBoardStream>, Status> {
        let context = RequestContext::of(&request);
        let department_id = self
            .adt
            .authorize_board(&context, &request.get_ref().department_id)
            .await?;
        Ok(Response::new(
            self.adt.clone().watch_board(context, department_id),
        ))
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
            row.id,
            "stay",
            row.department_id,
            row.bed_id,
            row.admit_time,
            "",
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
                EmergencyOutcome::Admitted.as_db(),
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
                let moved = self.move_patient(tx, &row, to(&row), now).await?;
                audit::record(tx, context, &AuditEntry::ok(&[row.patient_id]), now).await?;
                Ok(answer(moved))
            })
            .await
    }
}
