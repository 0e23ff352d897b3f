//! The tonic adapter of the registry. Every call touches a patient's data, so every call
//! leaves exactly one audit record naming that patient (a refusal included).

use std::collections::HashSet;
use std::sync::Arc;

use chrono::Datelike;
use hmis_platform::audit::{self, AuditEntry};
use hmis_platform::clock::SharedClock;
use hmis_platform::context::RequestId;
use hmis_platform::idempotency::{IdempotencyKeys, RequestKey};
use hmis_platform::outbox::Outbox;
use hmis_platform::paging::{PageSize, decode_token, encode_token};
use hmis_platform::types::{Name, Text, Version};
use hmis_platform::wire::timestamp;
use hmis_platform::{Database, RequestContext, Violations};
use hmis_proto::openhmis::patients::v1 as pb;
use pb::patient_service_server::PatientService;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::domain::Sex;
use crate::domain::patient::{
    Identifier, IdentifierType, NewPatient, RecordedSex, parse_birth_date,
};
use crate::error::Error;
use crate::store::{self, IdentifierRow, PatientRow, SearchFilters, SearchKey};

pub const PATIENT_REGISTERED: &str = "openhmis.patients.v1.Patient";

#[derive(Debug)]
pub(crate) struct Registry {
    pub(crate) database: Database,
    pub(crate) clock: SharedClock,
    pub(crate) keys: IdempotencyKeys,
    pub(crate) outbox: Outbox,
}

#[derive(Debug, Clone)]
pub struct PatientApi {
    pub(crate) registry: Arc<Registry>,
}

fn sex_to_pb(sex: &str) -> pb::Sex {
    match RecordedSex::from_db(sex) {
        Some(RecordedSex::Known(Sex::Male)) => pb::Sex::Male,
        Some(RecordedSex::Known(Sex::Female)) => pb::Sex::Female,
        Some(RecordedSex::Unknown) => pb::Sex::Unknown,
        None => pb::Sex::Unspecified,
    }
}

/// The identifier type of a request; `None` for UNSPECIFIED or an unknown value.
fn parse_identifier_type(value: i32) -> Option<IdentifierType> {
    match pb::IdentifierType::try_from(value) {
        Ok(pb::IdentifierType::NationalId) => Some(IdentifierType::NationalId),
        Ok(pb::IdentifierType::Passport) => Some(IdentifierType::Passport),
        Ok(pb::IdentifierType::DrivingLicence) => Some(IdentifierType::DrivingLicence),
        Ok(pb::IdentifierType::InsuranceNumber) => Some(IdentifierType::InsuranceNumber),
        Ok(pb::IdentifierType::Unspecified) | Err(_) => None,
    }
}

fn identifier_type_to_pb(kind: IdentifierType) -> pb::IdentifierType {
    match kind {
        IdentifierType::NationalId => pb::IdentifierType::NationalId,
        IdentifierType::Passport => pb::IdentifierType::Passport,
        IdentifierType::DrivingLicence => pb::IdentifierType::DrivingLicence,
        IdentifierType::InsuranceNumber => pb::IdentifierType::InsuranceNumber,
    }
}

fn patient_to_pb(row: &PatientRow, identifiers: &[IdentifierRow]) -> Result<pb::Patient, Error> {
    Ok(pb::Patient {
        id: row.id.to_string(),
        mrn: row.mrn.clone(),
        family_name: row.family_name.clone(),
        given_names: row.given_names.clone(),
        patronymic: row.patronymic.clone(),
        sex: sex_to_pb(&row.sex).into(),
        birth_date: row.birth_date.format("%Y-%m-%d").to_string(),
        birth_date_estimated: row.birth_date_estimated,
        identifiers: identifiers
            .iter()
            .map(|identifier| {
                Ok(pb::Identifier {
                    r#type: identifier_type_to_pb(store::identifier_type(identifier)?).into(),
                    country: identifier.country.clone(),
                    value: identifier.value.clone(),
                })
            })
            .collect::<Result<_, Error>>()?,
        etag: Version::from_db(row.version).etag(),
        create_time: timestamp(row.created_at),
    })
}

/// Parses the patient of a registration; every wrong field is reported at once.
fn parse_new_patient(
    patient: Option<&pb::Patient>,
    now: chrono::DateTime<chrono::Utc>,
    violations: &mut Violations,
) -> Option<NewPatient> {
    let Some(patient) = patient else {
        violations.add("patient", "is required");
        return None;
    };
    let family_name = violations.check("patient.family_name", Name::parse(&patient.family_name));
    let given_names = violations.check("patient.given_names", Name::parse(&patient.given_names));
    let patronymic = violations.check(
        "patient.patronymic",
        Text::parse(&patient.patronymic).and_then(|text| {
            if text.as_str().chars().count() > Name::MAX_LEN || text.as_str().contains('\n') {
                Err(hmis_platform::types::ParseError::new(
                    "must be one line of at most 200 characters",
                ))
            } else {
                Ok(text)
            }
        }),
    );
    let sex = match pb::Sex::try_from(patient.sex) {
        Ok(pb::Sex::Male) => Some(RecordedSex::Known(Sex::Male)),
        Ok(pb::Sex::Female) => Some(RecordedSex::Known(Sex::Female)),
        Ok(pb::Sex::Unknown) => Some(RecordedSex::Unknown),
        Ok(pb::Sex::Unspecified) => {
            violations.add(
                "patient.sex",
                "is required (UNKNOWN for an unidentified patient)",
            );
            None
        }
        Err(_) => {
            violations.add("patient.sex", "is not a known value");
            None
        }
    };
    let birth_date = violations.check(
        "patient.birth_date",
        parse_birth_date(&patient.birth_date, now),
    );
    // An estimated birth date says nothing a national id could contradict.
    let checked_birth_date = birth_date.filter(|_| !patient.birth_date_estimated);
    let mut identifiers = Vec::new();
    let mut seen = HashSet::new();
    for (index, identifier) in patient.identifiers.iter().enumerate() {
        let field = format!("patient.identifiers[{index}]");
        let Some(kind) = parse_identifier_type(identifier.r#type) else {
            violations.add(
                format!("{field}.type"),
                "is required and must be a known type",
            );
            continue;
        };
        if let Some(parsed) = violations.check(
            &format!("{field}.value"),
            Identifier::parse(
                kind,
                &identifier.country,
                &identifier.value,
                checked_birth_date,
                sex,
            ),
        ) {
            if !seen.insert(parsed.clone()) {
                violations.add(format!("{field}.value"), "is given twice");
            } else {
                identifiers.push(parsed);
            }
        }
    }
    match (family_name, given_names, patronymic, sex, birth_date) {
        (Some(family_name), Some(given_names), Some(patronymic), Some(sex), Some(birth_date))
            if violations.is_empty() =>
        {
            Some(NewPatient {
                family_name,
                given_names,
                patronymic,
                sex,
                birth_date,
                birth_date_estimated: patient.birth_date_estimated,
                identifiers,
            })
        }
        _ => None,
    }
}

impl Registry {
    /// Finds whose the identifier is, to tell the desk (after the failed transaction ended).
    async fn identifier_holder(&self, context: &RequestContext, taken: Error) -> Error {
        let Error::IdentifierTaken {
            kind,
            country,
            value,
            ..
        } = taken
        else {
            return taken;
        };
        let identifier = Identifier {
            kind: IdentifierType::from_db(kind).unwrap_or(IdentifierType::NationalId),
            country: country.clone(),
            value: value.clone(),
        };
        let holder = async {
            let mut tx = self
                .database
                .begin(context.tenant_id()?, &RequestId::generate())
                .await?;
            let holder = store::holder_of(&mut tx, &identifier).await?;
            tx.commit().await?;
            Ok::<_, Error>(holder)
        }
        .await;
        match holder {
            Ok(Some((_, mrn))) => Error::IdentifierTaken {
                kind,
                country,
                value,
                mrn,
            },
            Ok(None) => Error::Context(Status::aborted(
                "a concurrent registration changed the identifier; retry",
            )),
            Err(error) => error,
        }
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
        let principal = context.authorize_any("patients.write")?;
        let tenant_id = principal.tenant_id;
        let message = request.into_inner();
        let now = registry.clock.now();
        let mut violations = Violations::default();
        let key = violations.check("request_id", RequestKey::parse(&message.request_id));
        let patient = parse_new_patient(message.patient.as_ref(), now, &mut violations);
        let (Some(key), Some(patient)) = (key, patient) else {
            return Err(Error::from(violations).into());
        };
        let inner = registry.clone();
        let audit_context = context.clone();
        let result = registry
            .keys
            .run(
                &registry.database,
                tenant_id,
                &context.request_id,
                "/openhmis.patients.v1.PatientService/RegisterPatient",
                &key,
                &message,
                |tx| {
                    Box::pin(async move {
                        let (row, identifiers) = store::insert_patient(tx, &patient, now).await?;
                        let registered = patient_to_pb(&row, &identifiers)?;
                        audit::record(
                            tx,
                            &audit_context,
                            &AuditEntry {
                                patient_ids: &[row.id],
                                resource_ids: &[],
                                outcome: tonic::Code::Ok,
                                break_glass_reason: None,
                            },
                            now,
                        )
                        .await?;
                        inner
                            .outbox
                            .publish(
                                tx,
                                PATIENT_REGISTERED,
                                &row.id.to_string(),
                                &registered,
                                now,
                            )
                            .await?;
                        Ok::<_, Error>(pb::RegisterPatientResponse {
                            patient: Some(registered),
                        })
                    })
                },
            )
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
            Err(taken @ Error::IdentifierTaken { .. }) => {
                Err(registry.identifier_holder(&context, taken).await.into())
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
        let id = violations.check(
            "id",
            Uuid::parse_str(request.get_ref().id.trim()).map_err(|_| "must be a UUID"),
        );
        let Some(id) = id else {
            return Err(Error::from(violations).into());
        };
        let now = registry.clock.now();
        // Until admissions place patients in wards, reading a record needs patients.read in
        // any scope; ward scoping arrives with the admissions module.
        if let Err(denied) = context.authorize_any("patients.read") {
            return Err(
                audit::refuse(&registry.database, tenant_id, &context, &[id], denied, now).await,
            );
        }
        let mut tx = registry
            .database
            .begin(tenant_id, &context.request_id)
            .await
            .map_err(Error::from)?;
        let found = store::get_patient(&mut tx, id).await;
        let outcome = match &found {
            Ok(_) => tonic::Code::Ok,
            Err(Error::NotFound(_)) => tonic::Code::NotFound,
            Err(_) => tonic::Code::Internal,
        };
        let entry = AuditEntry {
            patient_ids: &[id],
            resource_ids: &[],
            outcome,
            break_glass_reason: None,
        };
        audit::record(&mut tx, &context, &entry, now)
            .await
            .map_err(Error::from)?;
        // The record is durable before the data leaves.
        tx.commit().await.map_err(Error::from)?;
        let (row, identifiers) = found?;
        Ok(Response::new(pb::GetPatientResponse {
            patient: Some(patient_to_pb(&row, &identifiers)?),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn search_patients(
        &self,
        request: Request<pb::SearchPatientsRequest>,
    ) -> Result<Response<pb::SearchPatientsResponse>, Status> {
        let context = RequestContext::of(&request);
        let registry = &self.registry;
        let tenant_id = context.authorize_any("patients.read")?.tenant_id;
        let message = request.get_ref();
        let now = registry.clock.now();
        let mut violations = Violations::default();
        let key = parse_search_key(message, &mut violations);
        let filters = parse_search_filters(message, now, &mut violations);
        let size = violations.check("page_size", PageSize::parse(message.page_size));
        let offset = violations
            .check("page_token", decode_token::<i64>(&message.page_token))
            .flatten()
            .unwrap_or(0);
        let (Some(key), Some(size), true) = (key, size, violations.is_empty()) else {
            return Err(Error::from(violations).into());
        };
        let mut tx = registry
            .database
            .begin(tenant_id, &context.request_id)
            .await
            .map_err(Error::from)?;
        let found = store::search(&mut tx, &key, &filters, offset, size.fetch_limit()).await?;
        let more = found.len() > size.get();
        let found: Vec<_> = found.into_iter().take(size.get()).collect();
        let ids: Vec<Uuid> = found.iter().map(|found| found.patient.id).collect();
        let identifiers = store::identifiers_of_many(&mut tx, &ids).await?;
        // One record for the search, naming every patient it showed.
        let entry = AuditEntry {
            patient_ids: &ids,
            resource_ids: &[],
            outcome: tonic::Code::Ok,
            break_glass_reason: None,
        };
        audit::record(&mut tx, &context, &entry, now)
            .await
            .map_err(Error::from)?;
        tx.commit().await.map_err(Error::from)?;
        let matches = found
            .iter()
            .map(|found| {
                let patient_identifiers = identifiers
                    .get(&found.patient.id)
                    .map(Vec::as_slice)
                    .unwrap_or(&[]);
                Ok(pb::PatientMatch {
                    patient: Some(patient_to_pb(&found.patient, patient_identifiers)?),
                    score: found.score,
                })
            })
            .collect::<Result<_, Error>>()?;
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
    now: chrono::DateTime<chrono::Utc>,
    violations: &mut Violations,
) -> SearchFilters {
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
    SearchFilters {
        birth_date,
        birth_year,
        sex,
    }
}
