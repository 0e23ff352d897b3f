//! The tonic adapter of terminology: parse (every wrong field named), call the use case
//! (`crate::app`), convert. Code systems are reference data, not patient data: calls are
//! authorized (`terminology.read`) but leave no audit record.

use hmis_platform::paging::{PageSize, decode_token};
use hmis_platform::wire::timestamp;
use hmis_platform::{RequestContext, Violations};
use hmis_proto::openhmis::terminology::v1 as pb;
use pb::terminology_service_server::TerminologyService;
use tonic::{Request, Response, Status};

use crate::app::{Search, Terminology, Validation};
use crate::domain::{MapRelation, Query, SystemName, VersionName, normalize_code};
use crate::error::{Error, Result};
use crate::store::{ConceptRow, SystemRow};

const READ: &str = "terminology.read";
/// A search page holds at most this many concepts (pickers show a screenful).
const MAX_SEARCH_PAGE: i32 = 200;
const DEFAULT_SEARCH_PAGE: i32 = 20;
const MAX_VALIDATE: usize = 1000;

#[derive(Debug, Clone)]
pub struct TerminologyApi {
    pub(crate) terminology: Terminology,
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

fn validation_to_pb(validation: Validation) -> pb::CodeValidation {
    pb::CodeValidation {
        code: validation.given,
        exists: validation.concept.is_some(),
        valid: validation.valid,
        message: validation.message,
        concept: validation.concept.as_ref().map(concept_to_pb),
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

/// A code system, an optional version and a code, every wrong field named.
fn parse_concept(
    system: &str,
    version: &str,
    code: &str,
) -> Result<(SystemName, Option<VersionName>, String)> {
    let mut violations = Violations::default();
    let system = violations.check("system", SystemName::parse(system));
    let version = violations
        .check("version", VersionName::parse_optional(version))
        .flatten();
    let code = violations.check("code", normalize_code(code));
    let (Some(system), Some(code), true) = (system, code, violations.is_empty()) else {
        return Err(violations.into());
    };
    Ok((system, version, code))
}

fn parse_search(message: &pb::SearchConceptsRequest) -> Result<Search> {
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
        return Err(violations.into());
    };
    Ok(Search {
        system,
        version,
        query,
        selectable_only: message.selectable_only,
        size,
        after,
    })
}

fn parse_validation(
    message: &pb::ValidateCodesRequest,
) -> Result<(SystemName, Option<VersionName>)> {
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
        return Err(violations.into());
    };
    Ok((system, version))
}

fn parse_translation(
    message: &pb::TranslateCodeRequest,
) -> Result<(SystemName, VersionName, VersionName, String)> {
    let mut violations = Violations::default();
    let system = violations.check("system", SystemName::parse(&message.system));
    let from = violations.check("from_version", VersionName::parse(&message.from_version));
    let to = violations.check("to_version", VersionName::parse(&message.to_version));
    let code = violations.check("code", normalize_code(&message.code));
    let (Some(system), Some(from), Some(to), Some(code), true) =
        (system, from, to, code, violations.is_empty())
    else {
        return Err(violations.into());
    };
    Ok((system, from, to, code))
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
        violations.into_result().map_err(Error::from)?;
        let rows = self.terminology.code_systems(&context, system).await?;
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
        let (system, version, code) =
            parse_concept(&message.system, &message.version, &message.code)?;
        let found = self
            .terminology
            .lookup(&context, system, version, code)
            .await?;
        Ok(Response::new(pb::LookupConceptResponse {
            concept: Some(concept_to_pb(&found.concept)),
            ancestors: found.ancestors.iter().map(concept_to_pb).collect(),
            children: found.children.iter().map(concept_to_pb).collect(),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn search_concepts(
        &self,
        request: Request<pb::SearchConceptsRequest>,
    ) -> Result<Response<pb::SearchConceptsResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let search = parse_search(request.get_ref())?;
        let (rows, next_page_token) = self.terminology.search(&context, search).await?;
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
        let (system, version) = parse_validation(message)?;
        let (version, validations) = self
            .terminology
            .validate(&context, system, version, &message.codes)
            .await?;
        Ok(Response::new(pb::ValidateCodesResponse {
            version,
            results: validations.into_iter().map(validation_to_pb).collect(),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn translate_code(
        &self,
        request: Request<pb::TranslateCodeRequest>,
    ) -> Result<Response<pb::TranslateCodeResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let (system, from, to, code) = parse_translation(request.get_ref())?;
        let translations = self
            .terminology
            .translate(&context, system, from, to, code)
            .await?
            .iter()
            .map(|translation| pb::Translation {
                concept: Some(concept_to_pb(&translation.concept)),
                relation: relation_to_pb(&translation.relation).into(),
            })
            .collect();
        Ok(Response::new(pb::TranslateCodeResponse { translations }))
    }
}
