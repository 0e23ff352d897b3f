//! The tonic adapter of the registry. Every call touches a patient's data, so every call
//! leaves exactly one audit record naming the patients it showed or changed (a refusal
//! included).

use std::sync::Arc;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use hmis_platform::audit::{self, AuditEntry};
use hmis_platform::auth::{Reach, Target};
use hmis_platform::call::Calls;
use hmis_platform::context::{PatientAccess, RequestId};
use hmis_platform::idempotency::RequestKey;
use hmis_platform::outbox::Outbox;
use hmis_platform::paging::{PageSize, decode_token, encode_token, finish_page};
use hmis_platform::types::{Name, Text, Version};
use hmis_platform::wire::{mask_paths, timestamp};
use hmis_platform::{RequestContext, TenantId, TenantTx, Violations};
use hmis_proto::openhmis::patients::v1 as pb;
use pb::patient_service_server::PatientService;
use prost::Message;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::convert::{
    UPDATABLE_FIELDS, apply_mask, changed_fields, parse_identifier_type, parse_record,
    patient_to_pb, restricted, snapshot,
};
use crate::domain::patient::{Identifier, IdentifierType, parse_birth_date};
use crate::error::Error;
use crate::store::{self, Lock, PatientRow, SearchFilters, SearchKey, VersionRow};

/// Event types of the registry's outbox (the full names of their messages).
pub use hmis_proto::events::patients::{PATIENT_CHANGED, PATIENTS_MERGED, PATIENTS_UNMERGED};

const READ: &str = "patients.read";
const WRITE: &str = "patients.write";
const MERGE: &str = "patients.merge";
const CONFIDENTIAL: &str = "patients.confidential";

const SERVICE: &str = "/openhmis.patients.v1.PatientService/";

#[derive(Debug)]
pub(crate) struct Registry {
    pub(crate) calls: Calls<Error>,
    pub(crate) outbox: Outbox,
}

#[derive(Debug, Clone)]
pub struct PatientApi {
    pub(crate) registry: Arc<Registry>,
}

/// May the caller reach a patient with `permission`? A placed patient belongs to its ward
/// (ward-scoped staff reach it; others by break-glass); one in no ward belongs to the registry,
/// which tenant- and facility-wide staff reach.
fn patient_access(
    context: &RequestContext,
    permission: &str,
    placement: Option<(Uuid, Uuid)>,
) -> Result<PatientAccess, Status> {
    match placement {
        Some((facility, department)) => {
            context.authorize_patient(permission, &Target::department(facility, department))
        }
        None => match context.principal()?.reach(permission) {
            Reach::Tenant => Ok(PatientAccess::InScope),
            Reach::Limited { facilities, .. } if !facilities.is_empty() => {
                Ok(PatientAccess::InScope)
            }
            Reach::Limited { .. } => context.authorize_patient(permission, &Target::TENANT),
        },
    }
}

/// Whether the caller sees confidential records in full.
fn sees_confidential(context: &RequestContext) -> bool {
    context
        .principal()
        .is_ok_and(|principal| principal.holds(CONFIDENTIAL))
}

/// The record as this caller may see it.
fn visible(context: &RequestContext, patient: pb::Patient) -> pb::Patient {
    if patient.confidential && !sees_confidential(context) {
        restricted(&patient)
    } else {
        patient
    }
}

fn parse_id(field: &str, value: &str, violations: &mut Violations) -> Option<Uuid> {
    violations.check(
        field,
        Uuid::parse_str(value.trim()).map_err(|_| "must be a UUID"),
    )
}

impl Registry {
    fn today(&self) -> NaiveDate {
        self.calls.now().date_naive()
    }

    /// Runs an audited write under the request's idempotency key; a document another record
    /// holds is answered with that record's MRN, looked up after the write rolled back.
    async fn write<Req, Res>(
        &self,
        context: &RequestContext,
        rpc: &str,
        key: &RequestKey,
        request: &Req,
        work: impl AsyncFnOnce(&mut TenantTx) -> Result<Res, Error>,
    ) -> Result<Res, Error>
    where
        Req: Message,
        Res: Message + Default,
    {
        let method = format!("{SERVICE}{rpc}");
        match self.calls.write(context, &method, key, request, work).await {
            Err(taken @ Error::IdentifierTaken { .. }) => {
                Err(self.identifier_holder(context.tenant_id()?, taken).await)
            }
            other => other,
        }
    }

    /// Finds whose the identifier is, to tell the desk (after the failed transaction ended).
    async fn identifier_holder(&self, tenant_id: TenantId, taken: Error) -> Error {
        let Error::IdentifierTaken {
            kind,
            country,
            value,
            mrn,
            ..
        } = &taken
        else {
            return taken;
        };
        if !mrn.is_empty() {
            return taken;
        }
        let (kind, country, value) = (*kind, country.clone(), value.clone());
        let identifier = Identifier {
            kind: IdentifierType::from_db(kind).unwrap_or(IdentifierType::NationalId),
            country: country.clone(),
            value: value.clone(),
        };
        let holder = async {
            let mut tx = self
                .calls
                .database()
                .begin(tenant_id, &RequestId::generate())
                .await?;
            let holder = store::holder_of(&mut tx, &identifier).await?;
            tx.commit().await?;
            Ok::<_, Error>(holder)
        }
        .await;
        match holder {
            Ok(Some(holder)) => Error::IdentifierTaken {
                kind,
                country,
                value,
                mrn: holder.mrn,
                unpaid_debt: holder.unpaid_debt,
            },
            Ok(None) => Error::Context(Status::aborted(
                "a concurrent registration changed the identifier; retry",
            )),
            Err(error) => error,
        }
    }

    /// Matches as messages, each as the caller may see it.
    fn matches_to_pb(
        &self,
        context: &RequestContext,
        found: &[store::Match],
    ) -> Result<Vec<pb::PatientMatch>, Error> {
        let today = self.today();
        found
            .iter()
            .map(|found| {
                let patient = patient_to_pb(&found.patient, &found.identifiers.rows(), today)?;
                Ok(pb::PatientMatch {
                    patient: Some(visible(context, patient)),
                    score: found.score,
                })
            })
            .collect()
    }

    /// Records a new version of a record and publishes it.
    async fn record_version(
        &self,
        tx: &mut TenantTx,
        context: &RequestContext,
        patient: &pb::Patient,
        row: &PatientRow,
        (kind, changed): (pb::ChangeKind, Vec<String>),
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        store::insert_version(
            tx,
            row.id,
            &VersionRow {
                version: row.version,
                kind: change_kind_to_db(kind).to_owned(),
                changed_fields: changed.clone(),
                changed_by: context.user_id(),
                changed_at: now,
                snapshot: snapshot(patient),
            },
        )
        .await?;
        self.outbox
            .publish(
                tx,
                PATIENT_CHANGED,
                &row.id.to_string(),
                &pb::PatientChanged {
                    patient: Some(patient.clone()),
                    kind: kind.into(),
                    changed_fields: changed,
                },
                now,
            )
            .await?;
        Ok(())
    }
}

impl Registry {
    /// An audited read of what belongs to one record (its versions, its visits): the caller
    /// must reach the record (its ward, or break-glass) and may see it (confidential); one
    /// audit record names the patient with the outcome, committed before the answer leaves.
    async fn read_of_record<T>(
        &self,
        context: &RequestContext,
        id: Uuid,
        read: impl AsyncFnOnce(&mut TenantTx) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let now = self.calls.now();
        let mut tx = self.calls.begin_read(context).await?;
        let answer = async {
            let (row, _) = store::get_patient(&mut tx, id, Lock::None).await?;
            let placement = store::placement_of(&mut tx, id).await?;
            let access = patient_access(context, READ, placement)?;
            if row.confidential && !sees_confidential(context) {
                return Err(Error::Context(Status::permission_denied(format!(
                    "the record is confidential: missing permission {CONFIDENTIAL}"
                ))));
            }
            let value = read(&mut tx).await?;
            Ok::<_, Error>((access, value))
        }
        .await;
        let outcome = match &answer {
            Ok(_) => tonic::Code::Ok,
            Err(Error::NotFound(_)) => tonic::Code::NotFound,
            Err(Error::Context(status)) => status.code(),
            Err(_) => tonic::Code::Internal,
        };
        let reason = answer
            .as_ref()
            .ok()
            .and_then(|(access, _)| access.reason().map(str::to_owned));
        let ids = [id];
        let entry = AuditEntry {
            outcome,
            break_glass_reason: reason.as_deref(),
            ..AuditEntry::ok(&ids)
        };
        audit::record(&mut tx, context, &entry, now).await?;
        tx.commit().await?;
        answer.map(|(_, value)| value)
    }
}

/// The two records of a merge, as they were before it changed them.
type Pair = [(PatientRow, Vec<store::IdentifierRow>); 2];

impl Registry {
    /// Locks a survivor and a duplicate, always in id order (crossed merges of one pair then
    /// wait instead of deadlocking), and refuses a caller who may not see either of them.
    async fn lock_pair(
        &self,
        tx: &mut TenantTx,
        context: &RequestContext,
        survivor_id: Uuid,
        merged_id: Uuid,
    ) -> Result<Pair, Error> {
        let first = store::get_patient(tx, survivor_id.min(merged_id), Lock::ForUpdate).await?;
        let second = store::get_patient(tx, survivor_id.max(merged_id), Lock::ForUpdate).await?;
        let pair = if first.0.id == survivor_id {
            [first, second]
        } else {
            [second, first]
        };
        if pair.iter().any(|(row, _)| row.confidential) && !sees_confidential(context) {
            return Err(Error::Refused {
                status: Status::permission_denied(format!(
                    "a record is confidential: missing permission {CONFIDENTIAL}"
                )),
                patients: vec![survivor_id, merged_id],
            });
        }
        Ok(pair)
    }

    /// After a merge or an unmerge moved identifiers: the duplicate points at `merged_into`
    /// (or at nobody), and both records get a version naming what changed.
    async fn reversion_pair(
        &self,
        tx: &mut TenantTx,
        context: &RequestContext,
        before: &Pair,
        merged_into: Option<Uuid>,
        kind: pb::ChangeKind,
        now: DateTime<Utc>,
    ) -> Result<[pb::Patient; 2], Error> {
        let today = now.date_naive();
        let mut after: [pb::Patient; 2] = Default::default();
        for (index, (old_row, old_identifiers)) in before.iter().enumerate() {
            let duplicate = index == 1;
            let into = if duplicate { merged_into } else { None };
            let row = store::touch_patient(tx, old_row.id, into, now).await?;
            let identifiers = store::identifiers_of(tx, old_row.id).await?;
            let new = patient_to_pb(&row, &identifiers, today)?;
            let mut changed =
                changed_fields(&patient_to_pb(old_row, old_identifiers, today)?, &new);
            if duplicate {
                changed.push("merged_into_id".to_owned());
            }
            self.record_version(tx, context, &new, &row, (kind, changed), now)
                .await?;
            after[index] = new;
        }
        Ok(after)
    }
}

fn visit_to_pb(row: &store::VisitRow) -> pb::Visit {
    let status = match row.status.as_str() {
        "in_progress" => pb::VisitStatus::InProgress,
        "finished" => pb::VisitStatus::Finished,
        "cancelled" => pb::VisitStatus::Cancelled,
        _ => pb::VisitStatus::Unspecified,
    };
    pb::Visit {
        admission_id: row.admission_id.to_string(),
        admission_number: row.admission_number.clone(),
        facility_id: row.facility_id.to_string(),
        department_id: row.department_id.to_string(),
        admission_type: row.admission_type.clone(),
        status: status.into(),
        start_time: timestamp(row.start_time),
        end_time: row.end_time.and_then(timestamp),
        patient_id: row.patient_id.to_string(),
    }
}

fn change_kind_to_db(kind: pb::ChangeKind) -> &'static str {
    match kind {
        pb::ChangeKind::Registered => "registered",
        pb::ChangeKind::Merged => "merged",
        pb::ChangeKind::Unmerged => "unmerged",
        pb::ChangeKind::Updated | pb::ChangeKind::Unspecified => "updated",
    }
}

fn change_kind_from_db(kind: &str) -> pb::ChangeKind {
    match kind {
        "registered" => pb::ChangeKind::Registered,
        "updated" => pb::ChangeKind::Updated,
        "merged" => pb::ChangeKind::Merged,
        "unmerged" => pb::ChangeKind::Unmerged,
        _ => pb::ChangeKind::Unspecified,
    }
}

#[tonic::async_trait]
impl PatientService for PatientApi {
    #[tracing::instrument(skip_all)]
    async fn register_patient(
        &self,
        request: Request<pb::RegisterPatientRequest>,
    ) -> Result<Response<pb::RegisterPatientResponse>, Status> {
        let context = RequestContext::of(&request);
        let registry = &self.registry;
        let tenant_id = context.authorize_any(WRITE)?.tenant_id;
        let message = request.into_inner();
        let now = registry.calls.now();
        let mut violations = Violations::default();
        let key = violations.check("request_id", RequestKey::parse(&message.request_id));
        let record = parse_record(message.patient.as_ref(), now, &mut violations);
        let (Some(key), Some(record)) = (key, record) else {
            return Err(Error::from(violations).into());
        };
        let confirmed = message.confirm_new_patient;
        let result = registry
            .write(&context, "RegisterPatient", &key, &message, async |tx| {
                store::lock_name_and_birth_date(tx, &record).await?;
                // A document already on file answers who holds it, before any guess
                // by name (the unique constraint still settles races on it).
                for identifier in &record.identifiers {
                    if let Some(holder) = store::holder_of(tx, identifier).await? {
                        return Err(Error::IdentifierTaken {
                            kind: identifier.kind.as_db(),
                            country: identifier.country.clone(),
                            value: identifier.value.clone(),
                            mrn: holder.mrn,
                            unpaid_debt: holder.unpaid_debt,
                        });
                    }
                }
                if !confirmed {
                    let candidates = store::duplicate_candidates(tx, &record).await?;
                    if !candidates.is_empty() {
                        let shown = registry.matches_to_pb(&context, &candidates)?;
                        return Err(Error::ProbableDuplicates(shown));
                    }
                }
                let (row, identifiers) = store::insert_patient(tx, &record, now).await?;
                let registered = patient_to_pb(&row, &identifiers, now.date_naive())?;
                let changed = changed_fields(&pb::Patient::default(), &registered);
                registry
                    .record_version(
                        tx,
                        &context,
                        &registered,
                        &row,
                        (pb::ChangeKind::Registered, changed),
                        now,
                    )
                    .await?;
                audit::record(tx, &context, &AuditEntry::ok(&[row.id]), now).await?;
                Ok(pb::RegisterPatientResponse {
                    patient: Some(registered),
                    duplicate_candidates: Vec::new(),
                })
            })
            .await;
        match result {
            Ok(response) => {
                tracing::info!(
                    patient_id = response
                        .patient
                        .as_ref()
                        .map(|p| p.id.as_str())
                        .unwrap_or_default(),
                    "patient registered"
                );
                Ok(Response::new(response))
            }
            Err(Error::ProbableDuplicates(candidates)) => {
                // The candidates leave the server: that is an access to their records.
                let shown: Vec<Uuid> = candidates
                    .iter()
                    .filter_map(|found| found.patient.as_ref())
                    .filter_map(|patient| patient.id.parse().ok())
                    .collect();
                audit::record_refusal(
                    registry.calls.database(),
                    tenant_id,
                    &context,
                    &AuditEntry::ok(&shown),
                    now,
                )
                .await
                .map_err(Error::from)?;
                Ok(Response::new(pb::RegisterPatientResponse {
                    patient: None,
                    duplicate_candidates: candidates,
                }))
            }
            Err(error) => Err(error.into()),
        }
    }

    #[tracing::instrument(skip_all)]
    async fn get_patient(
        &self,
        request: Request<pb::GetPatientRequest>,
    ) -> Result<Response<pb::GetPatientResponse>, Status> {
        let context = RequestContext::of(&request);
        let registry = &self.registry;
        let tenant_id = context.tenant_id()?;
        let mut violations = Violations::default();
        let Some(id) = parse_id("id", &request.get_ref().id, &mut violations) else {
            return Err(Error::from(violations).into());
        };
        let now = registry.calls.now();
        if let Err(denied) = context.authorize_any(READ) {
            return Err(audit::refuse(
                registry.calls.database(),
                tenant_id,
                &context,
                &[id],
                denied,
                now,
            )
            .await);
        }
        let mut tx = registry
            .calls
            .database()
            .begin(tenant_id, &context.request_id)
            .await
            .map_err(Error::from)?;
        let (answer, access) = match store::get_patient(&mut tx, id, Lock::None).await {
            Ok((row, identifiers)) => {
                let placement = store::placement_of(&mut tx, id).await?;
                match patient_access(&context, READ, placement) {
                    Ok(access) => (
                        patient_to_pb(&row, &identifiers, now.date_naive())
                            .map(|patient| visible(&context, patient)),
                        Some(access),
                    ),
                    Err(denied) => (Err(Error::Context(denied)), None),
                }
            }
            Err(error) => (Err(error), None),
        };
        let outcome = match &answer {
            Ok(_) => tonic::Code::Ok,
            Err(Error::NotFound(_)) => tonic::Code::NotFound,
            Err(Error::Context(status)) => status.code(),
            Err(_) => tonic::Code::Internal,
        };
        let ids = [id];
        let entry = AuditEntry {
            outcome,
            break_glass_reason: access.as_ref().and_then(PatientAccess::reason),
            ..AuditEntry::ok(&ids)
        };
        audit::record(&mut tx, &context, &entry, now)
            .await
            .map_err(Error::from)?;
        // The record is durable before the data leaves.
        tx.commit().await.map_err(Error::from)?;
        Ok(Response::new(pb::GetPatientResponse {
            patient: Some(answer?),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn search_patients(
        &self,
        request: Request<pb::SearchPatientsRequest>,
    ) -> Result<Response<pb::SearchPatientsResponse>, Status> {
        let context = RequestContext::of(&request);
        let registry = &self.registry;
        let principal = context.authorize_any(READ)?;
        let tenant_id = principal.tenant_id;
        let message = request.get_ref();
        let now = registry.calls.now();
        let mut violations = Violations::default();
        let key = parse_search_key(message, &mut violations);
        let filters = parse_search_filters(message, now, &mut violations, &context);
        let size = violations.check("page_size", PageSize::parse(message.page_size));
        let offset = violations
            .check("page_token", decode_token::<i64>(&message.page_token))
            .flatten()
            .unwrap_or(0);
        let (Some(key), Some(filters), Some(size), true) =
            (key, filters, size, violations.is_empty())
        else {
            return Err(Error::from(violations).into());
        };
        let mut tx = registry
            .calls
            .database()
            .begin(tenant_id, &context.request_id)
            .await
            .map_err(Error::from)?;
        let (ids, matches, more) = match &key {
            SearchKey::Name(name) => {
                let found =
                    store::search_by_name(&mut tx, name, &filters, offset, size.fetch_limit())
                        .await?;
                let more = found.len() > size.get();
                let found: Vec<_> = found.into_iter().take(size.get()).collect();
                let matches = registry.matches_to_pb(&context, &found)?;
                let ids: Vec<Uuid> = found.iter().map(|found| found.patient.id).collect();
                (ids, matches, more)
            }
            // The exact keys read the record and its identifiers in one statement.
            exact => {
                let found = store::find_exact(&mut tx, exact)
                    .await?
                    .filter(|found| offset == 0 && exact_match_shown(&context, &filters, found));
                let mut ids = Vec::new();
                let mut matches = Vec::new();
                if let Some(found) = found {
                    let patient =
                        patient_to_pb(&found.patient, &found.identifiers.rows(), now.date_naive())?;
                    ids.push(found.patient.id);
                    matches.push(pb::PatientMatch {
                        patient: Some(visible(&context, patient)),
                        score: 1.0,
                    });
                }
                (ids, matches, false)
            }
        };
        // One record for the search, naming every patient it showed.
        audit::record(&mut tx, &context, &AuditEntry::ok(&ids), now)
            .await
            .map_err(Error::from)?;
        tx.commit().await.map_err(Error::from)?;
        let next_page_token = if more {
            encode_token(&(offset + i64::try_from(size.get()).unwrap_or(0)))
        } else {
            String::new()
        };
        Ok(Response::new(pb::SearchPatientsResponse {
            matches,
            next_page_token,
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn update_patient(
        &self,
        request: Request<pb::UpdatePatientRequest>,
    ) -> Result<Response<pb::UpdatePatientResponse>, Status> {
        let context = RequestContext::of(&request);
        let registry = &self.registry;
        context.authorize_any(WRITE)?;
        let message = request.into_inner();
        let now = registry.calls.now();
        let mut violations = Violations::default();
        let key = violations.check("request_id", RequestKey::parse(&message.request_id));
        let given = message.patient.clone().unwrap_or_default();
        if message.patient.is_none() {
            violations.add("patient", "is required");
        }
        let id = parse_id("patient.id", &given.id, &mut violations);
        let version = violations.check("patient.etag", Version::parse_etag(&given.etag));
        let paths = mask_paths(
            message.update_mask.as_ref(),
            UPDATABLE_FIELDS,
            &mut violations,
        );
        let (Some(key), Some(id), Some(version), true) = (key, id, version, violations.is_empty())
        else {
            return Err(Error::from(violations).into());
        };
        let result = registry
            .write(&context, "UpdatePatient", &key, &message, async |tx| {
                let (row, identifiers) = store::get_patient(tx, id, Lock::ForUpdate).await?;
                let placement = store::placement_of(tx, id).await?;
                let refused = |status| Error::Refused {
                    status,
                    patients: vec![id],
                };
                let access = patient_access(&context, WRITE, placement).map_err(refused)?;
                if row.confidential && !sees_confidential(&context) {
                    return Err(refused(Status::permission_denied(format!(
                        "the record is confidential: missing permission {CONFIDENTIAL}"
                    ))));
                }
                if let Some(survivor) = row.merged_into {
                    return Err(Error::MergedAway(survivor));
                }
                if Version::from_db(row.version) != version {
                    return Err(Error::Stale);
                }
                let today = now.date_naive();
                let current = patient_to_pb(&row, &identifiers, today)?;
                let next = apply_mask(&current, &given, &paths);
                let mut violations = Violations::default();
                let Some(record) = parse_record(Some(&next), now, &mut violations) else {
                    return Err(Error::from(violations));
                };
                let (row, identifiers) = store::update_patient(tx, id, &record, now).await?;
                let updated = patient_to_pb(&row, &identifiers, today)?;
                let changed = changed_fields(&current, &updated);
                if changed.is_empty() {
                    return Err(Error::Unchanged(Box::new(current)));
                }
                registry
                    .record_version(
                        tx,
                        &context,
                        &updated,
                        &row,
                        (pb::ChangeKind::Updated, changed),
                        now,
                    )
                    .await?;
                let ids = [id];
                let entry = AuditEntry {
                    break_glass_reason: access.reason(),
                    ..AuditEntry::ok(&ids)
                };
                audit::record(tx, &context, &entry, now).await?;
                Ok(pb::UpdatePatientResponse {
                    patient: Some(updated),
                })
            })
            .await;
        match result {
            Ok(response) => Ok(Response::new(response)),
            // Nothing to write; the caller still read the record, and that is recorded.
            Err(Error::Unchanged(current)) => {
                audit::record_refusal(
                    registry.calls.database(),
                    context.tenant_id()?,
                    &context,
                    &AuditEntry::ok(&[id]),
                    now,
                )
                .await
                .map_err(Error::from)?;
                Ok(Response::new(pb::UpdatePatientResponse {
                    patient: Some(*current),
                }))
            }
            Err(error) => Err(error.into()),
        }
    }

    #[tracing::instrument(skip_all)]
    async fn list_patient_versions(
        &self,
        request: Request<pb::ListPatientVersionsRequest>,
    ) -> Result<Response<pb::ListPatientVersionsResponse>, Status> {
        let context = RequestContext::of(&request);
        let registry = &self.registry;
        context.authorize_any(READ)?;
        let message = request.get_ref();
        let mut violations = Violations::default();
        let id = parse_id("patient_id", &message.patient_id, &mut violations);
        let size = violations.check("page_size", PageSize::parse(message.page_size));
        let before = violations
            .check("page_token", decode_token::<i64>(&message.page_token))
            .flatten();
        let (Some(id), Some(size), true) = (id, size, violations.is_empty()) else {
            return Err(Error::from(violations).into());
        };
        let rows = registry
            .read_of_record(&context, id, async |tx| {
                store::list_versions(tx, id, before, size.fetch_limit()).await
            })
            .await?;
        let more = rows.len() > size.get();
        let versions = rows
            .iter()
            .take(size.get())
            .map(|row| {
                let patient = pb::Patient::decode(row.snapshot.as_slice())
                    .map_err(|_| Error::CorruptRow("version snapshot"))?;
                Ok(pb::PatientVersion {
                    version: row.version,
                    kind: change_kind_from_db(&row.kind).into(),
                    changed_fields: row.changed_fields.clone(),
                    changed_by: row.changed_by.to_string(),
                    change_time: timestamp(row.changed_at),
                    patient: Some(patient),
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        let next_page_token = match versions.last() {
            Some(last) if more => encode_token(&last.version),
            _ => String::new(),
        };
        Ok(Response::new(pb::ListPatientVersionsResponse {
            versions,
            next_page_token,
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn list_patient_visits(
        &self,
        request: Request<pb::ListPatientVisitsRequest>,
    ) -> Result<Response<pb::ListPatientVisitsResponse>, Status> {
        let context = RequestContext::of(&request);
        let registry = &self.registry;
        context.authorize_any(READ)?;
        let message = request.get_ref();
        let mut violations = Violations::default();
        let id = parse_id("patient_id", &message.patient_id, &mut violations);
        let size = violations.check("page_size", PageSize::parse(message.page_size));
        let after = violations
            .check(
                "page_token",
                decode_token::<(DateTime<Utc>, Uuid)>(&message.page_token),
            )
            .flatten();
        let (Some(id), Some(size), true) = (id, size, violations.is_empty()) else {
            return Err(Error::from(violations).into());
        };
        let rows = registry
            .read_of_record(&context, id, async |tx| {
                store::list_visits(tx, id, after, size.fetch_limit()).await
            })
            .await?;
        let (rows, next_page_token) =
            finish_page(rows, size, |row| (row.start_time, row.admission_id));
        Ok(Response::new(pb::ListPatientVisitsResponse {
            visits: rows.iter().map(visit_to_pb).collect(),
            next_page_token,
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn merge_patients(
        &self,
        request: Request<pb::MergePatientsRequest>,
    ) -> Result<Response<pb::MergePatientsResponse>, Status> {
        let context = RequestContext::of(&request);
        let registry = &self.registry;
        context.authorize_any(MERGE)?;
        let message = request.into_inner();
        let now = registry.calls.now();
        let mut violations = Violations::default();
        let key = violations.check("request_id", RequestKey::parse(&message.request_id));
        let survivor_id = parse_id("survivor_id", &message.survivor_id, &mut violations);
        let merged_id = parse_id("merged_id", &message.merged_id, &mut violations);
        let survivor_version =
            violations.check("survivor_etag", Version::parse_etag(&message.survivor_etag));
        let merged_version =
            violations.check("merged_etag", Version::parse_etag(&message.merged_etag));
        let reason = violations.check("reason", Text::parse_required(&message.reason));
        if survivor_id.is_some() && survivor_id == merged_id {
            violations.add("merged_id", "must differ from survivor_id");
        }
        let (
            Some(key),
            Some(survivor_id),
            Some(merged_id),
            Some(survivor_version),
            Some(merged_version),
            Some(reason),
            true,
        ) = (
            key,
            survivor_id,
            merged_id,
            survivor_version,
            merged_version,
            reason,
            violations.is_empty(),
        )
        else {
            return Err(Error::from(violations).into());
        };
        let response = registry
            .write(&context, "MergePatients", &key, &message, async |tx| {
                let pair = registry
                    .lock_pair(tx, &context, survivor_id, merged_id)
                    .await?;
                for (row, _) in &pair {
                    if let Some(into) = row.merged_into {
                        return Err(Error::MergedAway(into));
                    }
                }
                if Version::from_db(pair[0].0.version) != survivor_version
                    || Version::from_db(pair[1].0.version) != merged_version
                {
                    return Err(Error::Stale);
                }
                let user = context.user_id();
                let merge_id =
                    store::merge(tx, survivor_id, merged_id, reason.as_str(), user, now).await?;
                let [survivor, merged] = registry
                    .reversion_pair(
                        tx,
                        &context,
                        &pair,
                        Some(survivor_id),
                        pb::ChangeKind::Merged,
                        now,
                    )
                    .await?;
                registry
                    .outbox
                    .publish(
                        tx,
                        PATIENTS_MERGED,
                        &merged_id.to_string(),
                        &pb::PatientsMerged {
                            merge_id: merge_id.to_string(),
                            survivor_id: survivor_id.to_string(),
                            merged_id: merged_id.to_string(),
                            merge_time: timestamp(now),
                        },
                        now,
                    )
                    .await?;
                audit::record(
                    tx,
                    &context,
                    &AuditEntry::ok(&[survivor_id, merged_id]),
                    now,
                )
                .await?;
                Ok(pb::MergePatientsResponse {
                    survivor: Some(survivor),
                    merged: Some(merged),
                    merge_id: merge_id.to_string(),
                })
            })
            .await?;
        tracing::info!(%survivor_id, %merged_id, "patients merged");
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all)]
    async fn unmerge_patient(
        &self,
        request: Request<pb::UnmergePatientRequest>,
    ) -> Result<Response<pb::UnmergePatientResponse>, Status> {
        let context = RequestContext::of(&request);
        let registry = &self.registry;
        context.authorize_any(MERGE)?;
        let message = request.into_inner();
        let now = registry.calls.now();
        let mut violations = Violations::default();
        let key = violations.check("request_id", RequestKey::parse(&message.request_id));
        let merged_id = parse_id("merged_id", &message.merged_id, &mut violations);
        let reason = violations.check("reason", Text::parse_required(&message.reason));
        let (Some(key), Some(merged_id), Some(reason), true) =
            (key, merged_id, reason, violations.is_empty())
        else {
            return Err(Error::from(violations).into());
        };
        let response = registry
            .write(&context, "UnmergePatient", &key, &message, async |tx| {
                let merge =
                    store::open_merge_of(tx, merged_id)
                        .await?
                        .ok_or(Error::Precondition(
                            "the patient is not merged into another",
                        ))?;
                let survivor_id = merge.survivor_id;
                let pair = registry
                    .lock_pair(tx, &context, survivor_id, merged_id)
                    .await?;
                let user = context.user_id();
                store::unmerge(tx, &merge, reason.as_str(), user, now).await?;
                let [survivor, restored] = registry
                    .reversion_pair(tx, &context, &pair, None, pb::ChangeKind::Unmerged, now)
                    .await?;
                registry
                    .outbox
                    .publish(
                        tx,
                        PATIENTS_UNMERGED,
                        &merged_id.to_string(),
                        &pb::PatientsUnmerged {
                            merge_id: merge.id.to_string(),
                            survivor_id: survivor_id.to_string(),
                            restored_id: merged_id.to_string(),
                            unmerge_time: timestamp(now),
                        },
                        now,
                    )
                    .await?;
                audit::record(
                    tx,
                    &context,
                    &AuditEntry::ok(&[survivor_id, merged_id]),
                    now,
                )
                .await?;
                Ok(pb::UnmergePatientResponse {
                    survivor: Some(survivor),
                    restored: Some(restored),
                })
            })
            .await?;
        tracing::info!(%merged_id, "merge undone");
        Ok(Response::new(response))
    }
}

/// Whether the record an exact key found passes the search's filters: not merged away, the
/// asked birth date, year and sex, and within the caller's reach (as [`patient_access`] rules
/// for reads; a search does not break the glass).
fn exact_match_shown(
    context: &RequestContext,
    filters: &SearchFilters,
    found: &store::Placed,
) -> bool {
    let patient = &found.patient;
    patient.merged_into.is_none()
        && filters
            .birth_date
            .is_none_or(|date| patient.birth_date == date)
        && filters
            .birth_year
            .is_none_or(|year| patient.birth_date.year() == year)
        && filters.sex.is_none_or(|sex| patient.sex == sex)
        && matches!(
            patient_access(context, READ, found.placement()),
            Ok(PatientAccess::InScope)
        )
}

/// Exactly one of MRN, identifier or name.
fn parse_search_key(
    message: &pb::SearchPatientsRequest,
    violations: &mut Violations,
) -> Option<SearchKey> {
    let given = [
        !message.mrn.trim().is_empty(),
        message.identifier.is_some(),
        !message.name.trim().is_empty(),
    ];
    if given.iter().filter(|given| **given).count() != 1 {
        violations.add("mrn", "give exactly one of mrn, identifier or name");
        return None;
    }
    if !message.mrn.trim().is_empty() {
        let mrn = message.mrn.trim();
        if mrn.len() > 32 || !mrn.chars().all(|c| c.is_ascii_digit()) {
            violations.add("mrn", "must be digits");
            return None;
        }
        return Some(SearchKey::Mrn(mrn.to_owned()));
    }
    if let Some(identifier) = &message.identifier {
        let Some(kind) = parse_identifier_type(identifier.r#type) else {
            violations.add("identifier.type", "is required and must be a known type");
            return None;
        };
        // Searching normalises but does not validate: an old or mistyped number simply
        // finds nobody.
        let value: String = identifier
            .value
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '.' | '/'))
            .flat_map(char::to_uppercase)
            .collect();
        let country = identifier.country.trim().to_uppercase();
        if value.is_empty() || value.chars().count() > 32 {
            violations.add("identifier.value", "must have 1 to 32 characters");
            return None;
        }
        return Some(SearchKey::Identifier(Identifier {
            kind,
            country,
            value,
        }));
    }
    let name = message.name.trim();
    if name.chars().count() < 2
        || name.chars().count() > Name::MAX_LEN
        || name.chars().any(char::is_control)
    {
        violations.add("name", "must be 2 to 200 characters of text");
        return None;
    }
    Some(SearchKey::Name(name.to_owned()))
}

fn parse_search_filters(
    message: &pb::SearchPatientsRequest,
    now: DateTime<Utc>,
    violations: &mut Violations,
    context: &RequestContext,
) -> Option<SearchFilters> {
    let birth_date = if message.birth_date.trim().is_empty() {
        None
    } else {
        violations.check("birth_date", parse_birth_date(&message.birth_date, now))
    };
    let birth_year = match message.birth_year {
        0 => None,
        year if (1880..=now.year()).contains(&year) => Some(year),
        _ => {
            violations.add("birth_year", "must be a year from 1880 to this one");
            None
        }
    };
    let sex = match pb::Sex::try_from(message.sex) {
        Ok(pb::Sex::Unspecified) => None,
        Ok(pb::Sex::Male) => Some("male"),
        Ok(pb::Sex::Female) => Some("female"),
        Ok(pb::Sex::Unknown) => Some("unknown"),
        Err(_) => {
            violations.add("sex", "is not a known value");
            None
        }
    };
    let principal = context.principal().ok()?;
    Some(SearchFilters {
        birth_date,
        birth_year,
        sex,
        reach: principal.reach(READ),
        confidential_by_name: principal.holds(CONFIDENTIAL),
    })
}
