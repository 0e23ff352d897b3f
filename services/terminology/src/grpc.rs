//! The tonic adapter of terminology. Code systems are reference data, not patient data: calls
//! are authorized (`terminology.read`) but leave no audit record.

use hmis_platform::paging::{PageSize, decode_token, finish_page};
use hmis_platform::wire::timestamp;
use hmis_platform::{Database, RequestContext, TenantTx, Violations};
use hmis_proto::openhmis::terminology::v1 as pb;
use pb::terminology_service_server::TerminologyService;
use tonic::{Request, Response, Status};

use crate::domain::{MapRelation, Query, SystemName, VersionName, normalize_code};
use crate::error::{Error, Result};
use crate::store::{self, ConceptRow, SystemRow};

const READ: &str = "terminology.read";
/// A search page holds at most this many concepts (pickers show a screenful).
const MAX_SEARCH_PAGE: i32 = 200;
const DEFAULT_SEARCH_PAGE: i32 = 20;
const MAX_VALIDATE: usize = 1000;

#[derive(Debug, Clone)]
pub struct TerminologyApi {
    pub(crate) database: Database,
}

pub(crate) fn concept_to_pb(row: &ConceptRow) -> pb::Concept {
    pb::Concept {
        system: row.system.clone(),
        version: row.version.clone(),
        code: row.code.clone(),
        display: row.display.clone(),
        kind: row.kind.clone(),
        parent_code: row.parent_code.clone().unwrap_or_default(),
        selectable: row.selectable,
    }
}

fn system_to_pb(row: &SystemRow) -> pb::CodeSystem {
    pb::CodeSystem {
        system: row.system.clone(),
        version: row.version.clone(),
        title: row.title.clone(),
        is_default: row.is_default,
        concept_count: row.concept_count,
        imported_at: timestamp(row.imported_at),
        source: row.source.clone(),
    }
}

fn relation_to_pb(relation: &str) -> pb::MapRelation {
    match MapRelation::parse(relation) {
        Ok(MapRelation::Equivalent) => pb::MapRelation::Equivalent,
        Ok(MapRelation::Broader) => pb::MapRelation::Broader,
        Ok(MapRelation::Narrower) => pb::MapRelation::Narrower,
        Ok(MapRelation::Related) => pb::MapRelation::Related,
        Ok(MapRelation::NotMapped) => pb::MapRelation::NotMapped,
        Err(_) => pb::MapRelation::Unspecified,
    }
}

impl TerminologyApi {
    async fn read_tx(&self, context: &RequestContext) -> Result<TenantTx> {
        Ok(self
            .database
            .begin(context.tenant_id()?, &context.request_id)
            .await?)
    }
}

#[tonic::async_trait]
impl TerminologyService for TerminologyApi {
    #[tracing::instrument(skip_all)]
    async fn list_code_systems(
        &self,
        request: Request<pb::ListCodeSystemsRequest>,
    ) -> Result<Response<pb::ListCodeSystemsResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let mut violations = Violations::default();
        let system = match request.get_ref().system.trim() {
            "" => None,
            value => violations.check("system", SystemName::parse(value)),
        };
        if !violations.is_empty() {
            return Err(Error::from(violations).into());
        }
        let mut tx = self.read_tx(&context).await?;
        let rows = store::list_systems(&mut tx, system.as_ref().map(SystemName::as_str)).await?;
        tx.commit().await.map_err(Error::from)?;
        Ok(Response::new(pb::ListCodeSystemsResponse {
            code_systems: rows.iter().map(system_to_pb).collect(),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn lookup_concept(
        &self,
        request: Request<pb::LookupConceptRequest>,
    ) -> Result<Response<pb::LookupConceptResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.get_ref();
        let mut violations = Violations::default();
        let system = violations.check("system", SystemName::parse(&message.system));
        let version = violations
            .check("version", VersionName::parse_optional(&message.version))
            .flatten();
        let code = violations.check("code", normalize_code(&message.code));
        let (Some(system), Some(code), true) = (system, code, violations.is_empty()) else {
            return Err(Error::from(violations).into());
        };
        let mut tx = self.read_tx(&context).await?;
        let version = store::resolve_version(
            &mut tx,
            system.as_str(),
            version.as_ref().map(VersionName::as_str),
        )
        .await?;
        let found = store::get_concepts(
            &mut tx,
            system.as_str(),
            &version,
            std::slice::from_ref(&code),
        )
        .await?;
        let Some(concept) = found.first() else {
            return Err(
                Error::NotFound(format!("code {code} in {} {version}", system.as_str())).into(),
            );
        };
        let ancestors = store::ancestors(&mut tx, system.as_str(), &version, &code).await?;
        let children = store::children(&mut tx, system.as_str(), &version, &code).await?;
        tx.commit().await.map_err(Error::from)?;
        Ok(Response::new(pb::LookupConceptResponse {
            concept: Some(concept_to_pb(concept)),
            ancestors: ancestors.iter().map(concept_to_pb).collect(),
            children: children.iter().map(concept_to_pb).collect(),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn search_concepts(
        &self,
        request: Request<pb::SearchConceptsRequest>,
    ) -> Result<Response<pb::SearchConceptsResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.get_ref();
        let mut violations = Violations::default();
        let system = violations.check("system", SystemName::parse(&message.system));
        let version = violations
            .check("version", VersionName::parse_optional(&message.version))
            .flatten();
        let query = violations.check("query", Query::parse(&message.query));
        let requested = match message.page_size {
            0 => DEFAULT_SEARCH_PAGE,
            n => n.min(MAX_SEARCH_PAGE),
        };
        let size = violations.check("page_size", PageSize::parse(requested));
        let after = violations
            .check("page_token", decode_token::<i32>(&message.page_token))
            .flatten();
        let (Some(system), Some(query), Some(size), true) =
            (system, query, size, violations.is_empty())
        else {
            return Err(Error::from(violations).into());
        };
        let mut tx = self.read_tx(&context).await?;
        let version = store::resolve_version(
            &mut tx,
            system.as_str(),
            version.as_ref().map(VersionName::as_str),
        )
        .await?;
        let rows = store::search(
            &mut tx,
            system.as_str(),
            &version,
            &query,
            message.selectable_only,
            after,
            size.fetch_limit(),
        )
        .await?;
        tx.commit().await.map_err(Error::from)?;
        let (rows, next_page_token) = finish_page(rows, size, |row| row.ordinal);
        Ok(Response::new(pb::SearchConceptsResponse {
            concepts: rows.iter().map(concept_to_pb).collect(),
            next_page_token,
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn validate_codes(
        &self,
        request: Request<pb::ValidateCodesRequest>,
    ) -> Result<Response<pb::ValidateCodesResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.get_ref();
        let mut violations = Violations::default();
        let system = violations.check("system", SystemName::parse(&message.system));
        let version = violations
            .check("version", VersionName::parse_optional(&message.version))
            .flatten();
        if message.codes.is_empty() {
            violations.add("codes", "must name at least one code");
        } else if message.codes.len() > MAX_VALIDATE {
            violations.add("codes", format!("must name at most {MAX_VALIDATE} codes"));
        }
        let (Some(system), true) = (system, violations.is_empty()) else {
            return Err(Error::from(violations).into());
        };
        let mut tx = self.read_tx(&context).await?;
        let version = store::resolve_version(
            &mut tx,
            system.as_str(),
            version.as_ref().map(VersionName::as_str),
        )
        .await?;
        let normalized: Vec<Option<String>> = message
            .codes
            .iter()
            .map(|code| normalize_code(code).ok())
            .collect();
        let lookup: Vec<String> = normalized.iter().flatten().cloned().collect();
        let found = store::get_concepts(&mut tx, system.as_str(), &version, &lookup).await?;
        tx.commit().await.map_err(Error::from)?;
        let results = message
            .codes
            .iter()
            .zip(normalized)
            .map(|(given, normalized)| {
                let concept = normalized
                    .as_ref()
                    .and_then(|code| found.iter().find(|row| &row.code == code));
                let (valid, message) = match concept {
                    None if normalized.is_none() => (false, "is not a code".to_owned()),
                    None => (
                        false,
                        format!("is not a code of {} {version}", system.as_str()),
                    ),
                    Some(row) if !row.selectable => (
                        false,
                        format!(
                            "is a {} that groups codes; record one of the codes under it",
                            if row.kind.is_empty() {
                                "heading"
                            } else {
                                &row.kind
                            }
                        ),
                    ),
                    Some(_) => (true, String::new()),
                };
                pb::CodeValidation {
                    code: given.clone(),
                    exists: concept.is_some(),
                    valid,
                    message,
                    concept: concept.map(concept_to_pb),
                }
            })
            .collect();
        Ok(Response::new(pb::ValidateCodesResponse {
            version,
            results,
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn translate_code(
        &self,
        request: Request<pb::TranslateCodeRequest>,
    ) -> Result<Response<pb::TranslateCodeResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.get_ref();
        let mut violations = Violations::default();
        let system = violations.check("system", SystemName::parse(&message.system));
        let from = violations.check("from_version", VersionName::parse(&message.from_version));
        let to = violations.check("to_version", VersionName::parse(&message.to_version));
        let code = violations.check("code", normalize_code(&message.code));
        let (Some(system), Some(from), Some(to), Some(code), true) =
            (system, from, to, code, violations.is_empty())
        else {
            return Err(Error::from(violations).into());
        };
        let mut tx = self.read_tx(&context).await?;
        // Both versions must be imported; a typo in a version is not "no translation".
        store::resolve_version(&mut tx, system.as_str(), Some(from.as_str())).await?;
        store::resolve_version(&mut tx, system.as_str(), Some(to.as_str())).await?;
        let source = store::get_concepts(
            &mut tx,
            system.as_str(),
            from.as_str(),
            std::slice::from_ref(&code),
        )
        .await?;
        if source.is_empty() {
            return Err(Error::NotFound(format!(
                "code {code} in {} {}",
                system.as_str(),
                from.as_str()
            ))
            .into());
        }
        let mapped =
            store::translations(&mut tx, system.as_str(), from.as_str(), &code, to.as_str())
                .await?;
        // Without a map entry, a code that exists in the target version is taken to mean the
        // same there: releases change a small part of a classification.
        let targets: Vec<(String, String)> = if mapped.is_empty() {
            vec![(code.clone(), MapRelation::Equivalent.as_db().to_owned())]
        } else {
            mapped
                .into_iter()
                .filter(|(_, relation)| relation != MapRelation::NotMapped.as_db())
                .collect()
        };
        let target_codes: Vec<String> = targets.iter().map(|(code, _)| code.clone()).collect();
        let concepts =
            store::get_concepts(&mut tx, system.as_str(), to.as_str(), &target_codes).await?;
        tx.commit().await.map_err(Error::from)?;
        let translations = targets
            .iter()
            .filter_map(|(target, relation)| {
                concepts
                    .iter()
                    .find(|row| &row.code == target)
                    .map(|row| pb::Translation {
                        concept: Some(concept_to_pb(row)),
                        relation: relation_to_pb(relation).into(),
                    })
            })
            .collect();
        Ok(Response::new(pb::TranslateCodeResponse { translations }))
    }
}
