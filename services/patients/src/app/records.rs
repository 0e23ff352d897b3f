//! A record's life at the desk: registered (documents on file and probable duplicates
//! checked first), read, searched, corrected.

use chrono::{Datelike, NaiveDate};
use hmis_platform::audit::{self, AuditEntry};
use hmis_platform::context::PatientAccess;
use hmis_platform::idempotency::RequestKey;
use hmis_platform::paging::{PageSize, encode_token};
use hmis_platform::types::Version;
use hmis_platform::{RequestContext, Violations};
use hmis_proto::openhmis::patients::v1 as pb;
use tonic::{Code, Status};
use uuid::Uuid;

use super::{CONFIDENTIAL, READ, Registry, WRITE, patient_access, sees_confidential, visible};
use crate::convert::{apply_mask, changed_fields, parse_record, patient_to_pb};
use crate::domain::patient::PatientRecord;
use crate::error::Error;
use crate::store::{self, Lock, SearchFilters, SearchKey};

/// A new record, checked against those on file unless the desk confirmed it is new.
pub(crate) struct Registration {
    pub(crate) key: RequestKey,
    pub(crate) record: PatientRecord,
    pub(crate) confirmed_new: bool,
}

/// One key (MRN, identifier or name) and the filters that narrow what it finds.
pub(crate) struct Search {
    pub(crate) key: SearchKey,
    pub(crate) birth_date: Option<NaiveDate>,
    pub(crate) birth_year: Option<i32>,
    pub(crate) sex: Option<&'static str>,
    pub(crate) size: PageSize,
    pub(crate) offset: i64,
}

/// A correction of the fields the mask names, against the version the desk read.
pub(crate) struct Update {
    pub(crate) key: RequestKey,
    pub(crate) id: Uuid,
    pub(crate) version: Version,
    pub(crate) given: pb::Patient,
    pub(crate) paths: Vec<String>,
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

/// A document of the new record one of its probable duplicates holds. The holders were read
/// while waiting for the name's lock; the candidates after it, so they see a registration of
/// the same person that another desk committed meanwhile (still answered as the document's
/// holder, not as a guess by name).
fn held_by_candidate(record: &PatientRecord, candidates: &[store::Match]) -> Option<Error> {
    candidates.iter().find_map(|candidate| {
        let held = candidate.identifiers.rows();
        let identifier = (record.identifiers.iter())
            .find(|identifier| held.contains(&store::IdentifierRow::of(identifier)))?;
        let patient = &candidate.patient;
        Some(Error::identifier_taken(
            identifier,
            patient.mrn.clone(),
            patient.unpaid_debt,
        ))
    })
}

/// The audit outcome of a read's answer.
pub(super) fn outcome<T>(answer: &Result<T, Error>) -> Code {
    match answer {
        Ok(_) => Code::Ok,
        Err(Error::NotFound(_)) => Code::NotFound,
        Err(Error::Failure(hmis_platform::Failure::Context(status))) => status.code(),
        Err(_) => Code::Internal,
    }
}

impl Registry {
    pub(crate) async fn register_patient(
        &self,
        context: &RequestContext,
        message: &pb::RegisterPatientRequest,
        registration: Registration,
    ) -> Result<pb::RegisterPatientResponse, Error> {
        let now = self.calls.now();
        let Registration {
            key,
            record,
            confirmed_new,
        } = registration;
        let mrn = self.next_mrn(context.tenant_id()?).await?;
        let result = self
            .write(context, "RegisterPatient", &key, message, async |tx| {
                // A document already on file answers who holds it, before any guess
                // by name (the unique constraint still settles races on it).
                if let Some((n, holder)) = store::lock_and_find_holder(tx, &record).await? {
                    let identifier = &record.identifiers[n];
                    return Err(Error::identifier_taken(
                        identifier,
                        holder.mrn,
                        holder.unpaid_debt,
                    ));
                }
                if !confirmed_new {
                    let candidates = store::duplicate_candidates(tx, &record).await?;
                    if let Some(taken) = held_by_candidate(&record, &candidates) {
                        return Err(taken);
                    }
                    if !candidates.is_empty() {
                        let shown = self.matches_to_pb(context, &candidates)?;
                        return Err(Error::ProbableDuplicates(shown));
                    }
                }
                let (row, identifiers) = store::insert_patient(tx, &record, &mrn, now).await?;
                let registered = patient_to_pb(&row, &identifiers, now.date_naive())?;
                let changed = changed_fields(&pb::Patient::default(), &registered);
                let change = (pb::ChangeKind::Registered, changed);
                (self.record_version(tx, context, &registered, &row, change, now)).await?;
                audit::record(tx, context, &AuditEntry::ok(&[row.id]), now).await?;
                Ok(pb::RegisterPatientResponse {
                    patient: Some(registered),
                    duplicate_candidates: Vec::new(),
                })
            })
            .await;
        match result {
            Ok(response) => {
                let id = response.patient.as_ref().map(|p| p.id.as_str());
                tracing::info!(patient_id = id.unwrap_or_default(), "patient registered");
                Ok(response)
            }
            Err(Error::ProbableDuplicates(candidates)) => {
                // The candidates leave the server: that is an access to their records.
                let shown: Vec<Uuid> = candidates
                    .iter()
                    .filter_map(|found| found.patient.as_ref())
                    .filter_map(|patient| patient.id.parse().ok())
                    .collect();
                let database = self.calls.database();
                let entry = AuditEntry::ok(&shown);
                audit::record_refusal(database, context.tenant_id()?, context, &entry, now).await?;
                Ok(pb::RegisterPatientResponse {
                    patient: None,
                    duplicate_candidates: candidates,
                })
            }
            Err(error) => Err(error),
        }
    }

    /// One record, as the caller may see it; the read (or its refusal) is on record, durable
    /// before the data leaves.
    pub(crate) async fn get_patient(
        &self,
        context: &RequestContext,
        id: Uuid,
    ) -> Result<pb::GetPatientResponse, Error> {
        let now = self.calls.now();
        if let Err(denied) = context.authorize_any(READ) {
            return Err(self.calls.refuse(context, &[id], denied).await);
        }
        let mut tx = self.calls.begin_read(context).await?;
        let (answer, access) = match store::get_patient(&mut tx, id, Lock::None).await {
            Ok((row, identifiers)) => {
                let placement = store::placement_of(&mut tx, id).await?;
                match patient_access(context, READ, placement) {
                    Ok(access) => (
                        patient_to_pb(&row, &identifiers, now.date_naive())
                            .map(|patient| visible(context, patient)),
                        Some(access),
                    ),
                    Err(denied) => (Err(Error::from(denied)), None),
                }
            }
            Err(error) => (Err(error), None),
        };
        let ids = [id];
        let entry = AuditEntry {
            outcome: outcome(&answer),
            break_glass_reason: access.as_ref().and_then(PatientAccess::reason),
            ..AuditEntry::ok(&ids)
        };
        audit::record(&mut tx, context, &entry, now).await?;
        tx.commit().await?;
        Ok(pb::GetPatientResponse {
            patient: Some(answer?),
        })
    }

    /// Records by one key, each as the caller may see it; one audit record names every
    /// patient the search showed.
    pub(crate) async fn search_patients(
        &self,
        context: &RequestContext,
        search: Search,
    ) -> Result<pb::SearchPatientsResponse, Error> {
        let now = self.calls.now();
        let principal = context.principal()?;
        let (size, offset) = (search.size, search.offset);
        let filters = SearchFilters {
            birth_date: search.birth_date,
            birth_year: search.birth_year,
            sex: search.sex,
            reach: principal.reach(READ),
            confidential_by_name: principal.holds(CONFIDENTIAL),
        };
        let mut tx = self.calls.begin_read(context).await?;
        let (ids, matches, more) = match &search.key {
            SearchKey::Name(name) => {
                let found =
                    store::search_by_name(&mut tx, name, &filters, offset, size.fetch_limit())
                        .await?;
                let more = found.len() > size.get();
                let found: Vec<_> = found.into_iter().take(size.get()).collect();
                let matches = self.matches_to_pb(context, &found)?;
                let ids: Vec<Uuid> = found.iter().map(|found| found.patient.id).collect();
                (ids, matches, more)
            }
            // The exact keys read the record and its identifiers in one statement.
            exact => {
                let found = store::find_exact(&mut tx, exact)
                    .await?
                    .filter(|found| offset == 0 && exact_match_shown(context, &filters, found));
                let mut ids = Vec::new();
                let mut matches = Vec::new();
                if let Some(found) = found {
                    let identifiers = found.identifiers.rows();
                    let patient = patient_to_pb(&found.patient, &identifiers, now.date_naive())?;
                    ids.push(found.patient.id);
                    matches.push(pb::PatientMatch {
                        patient: Some(visible(context, patient)),
                        score: 1.0,
                    });
                }
                (ids, matches, false)
            }
        };
        audit::record(&mut tx, context, &AuditEntry::ok(&ids), now).await?;
        tx.commit().await?;
        let next_page_token = if more {
            encode_token(&(offset + i64::try_from(size.get()).unwrap_or(0)))
        } else {
            String::new()
        };
        Ok(pb::SearchPatientsResponse {
            matches,
            next_page_token,
        })
    }

    pub(crate) async fn update_patient(
        &self,
        context: &RequestContext,
        message: &pb::UpdatePatientRequest,
        update: Update,
    ) -> Result<pb::UpdatePatientResponse, Error> {
        let now = self.calls.now();
        let id = update.id;
        let result = self
            .write(context, "UpdatePatient", &update.key, message, async |tx| {
                let (row, identifiers) = store::get_patient(tx, id, Lock::ForUpdate).await?;
                let placement = store::placement_of(tx, id).await?;
                let refused = |status| Error::refused(status, vec![id]);
                let access = patient_access(context, WRITE, placement).map_err(refused)?;
                if row.confidential && !sees_confidential(context) {
                    return Err(refused(Status::permission_denied(format!(
                        "the record is confidential: missing permission {CONFIDENTIAL}"
                    ))));
                }
                if let Some(survivor) = row.merged_into {
                    return Err(Error::MergedAway(survivor));
                }
                if Version::from_db(row.version) != update.version {
                    return Err(Error::Stale);
                }
                let today = now.date_naive();
                let current = patient_to_pb(&row, &identifiers, today)?;
                let next = apply_mask(&current, &update.given, &update.paths);
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
                let change = (pb::ChangeKind::Updated, changed);
                (self.record_version(tx, context, &updated, &row, change, now)).await?;
                let ids = [id];
                let entry = AuditEntry {
                    break_glass_reason: access.reason(),
                    ..AuditEntry::ok(&ids)
                };
                audit::record(tx, context, &entry, now).await?;
                Ok(pb::UpdatePatientResponse {
                    patient: Some(updated),
                })
            })
            .await;
        match result {
            // Nothing to write; the caller still read the record, and that is recorded.
            Err(Error::Unchanged(current)) => {
                let database = self.calls.database();
                let patients = [id];
                let entry = AuditEntry::ok(&patients);
                audit::record_refusal(database, context.tenant_id()?, context, &entry, now).await?;
                Ok(pb::UpdatePatientResponse {
                    patient: Some(*current),
                })
            }
            other => other,
        }
    }
}
