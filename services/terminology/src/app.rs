//! The use cases of the terminology, one per RPC, in domain terms: what a code system holds,
//! a concept and its place in the hierarchy, a search, which codes may be recorded, and how a
//! code of one release reads in another. Code systems are reference data, not patient data:
//! the reads leave no audit record.

use hmis_platform::paging::{PageSize, finish_page};
use hmis_platform::{Database, RequestContext, TenantTx};

use crate::domain::{MapRelation, Query, SystemName, VersionName, normalize_code};
use crate::error::{Error, Result};
use crate::store::{self, ConceptRow, SystemRow};

/// The terminology's state: its database.
#[derive(Debug, Clone)]
pub(crate) struct Terminology {
    pub(crate) database: Database,
}

/// A concept with its ancestors (root first) and its children.
#[derive(Debug)]
pub(crate) struct Lookup {
    pub(crate) concept: ConceptRow,
    pub(crate) ancestors: Vec<ConceptRow>,
    pub(crate) children: Vec<ConceptRow>,
}

/// A search of one code system's version (the default one when none is named).
#[derive(Debug)]
pub(crate) struct Search {
    pub(crate) system: SystemName,
    pub(crate) version: Option<VersionName>,
    pub(crate) query: Query,
    pub(crate) selectable_only: bool,
    pub(crate) size: PageSize,
    pub(crate) after: Option<i32>,
}

/// What the terminology says of one code it was asked to validate.
#[derive(Debug)]
pub(crate) struct Validation {
    /// The code as the caller gave it.
    pub(crate) given: String,
    pub(crate) concept: Option<ConceptRow>,
    /// Whether it may be recorded (exists and is not a heading that groups codes).
    pub(crate) valid: bool,
    /// Why not, when it may not.
    pub(crate) message: String,
}

/// A code of one release as it reads in another.
#[derive(Debug)]
pub(crate) struct Translation {
    pub(crate) concept: ConceptRow,
    pub(crate) relation: String,
}

impl Terminology {
    async fn read_tx(&self, context: &RequestContext) -> Result<TenantTx> {
        Ok(self
            .database
            .begin(context.tenant_id()?, &context.request_id)
            .await?)
    }

    /// The imported code systems (of one system, when named).
    pub(crate) async fn code_systems(
        &self,
        context: &RequestContext,
        system: Option<SystemName>,
    ) -> Result<Vec<SystemRow>> {
        let mut tx = self.read_tx(context).await?;
        let rows = store::list_systems(&mut tx, system.as_ref().map(SystemName::as_str)).await?;
        tx.commit().await?;
        Ok(rows)
    }

    /// A concept of a version (the default one when none is named), with its neighbours.
    pub(crate) async fn lookup(
        &self,
        context: &RequestContext,
        system: SystemName,
        version: Option<VersionName>,
        code: String,
    ) -> Result<Lookup> {
        let mut tx = self.read_tx(context).await?;
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
        let Some(concept) = found.into_iter().next() else {
            return Err(Error::NotFound(format!(
                "code {code} in {} {version}",
                system.as_str()
            )));
        };
        let ancestors = store::ancestors(&mut tx, system.as_str(), &version, &code).await?;
        let children = store::children(&mut tx, system.as_str(), &version, &code).await?;
        tx.commit().await?;
        Ok(Lookup {
            concept,
            ancestors,
            children,
        })
    }

    /// A page of concepts matching the search, and the token of the next page.
    pub(crate) async fn search(
        &self,
        context: &RequestContext,
        search: Search,
    ) -> Result<(Vec<ConceptRow>, String)> {
        let mut tx = self.read_tx(context).await?;
        let version = store::resolve_version(
            &mut tx,
            search.system.as_str(),
            search.version.as_ref().map(VersionName::as_str),
        )
        .await?;
        let rows = store::search(
            &mut tx,
            search.system.as_str(),
            &version,
            &search.query,
            search.selectable_only,
            search.after,
            search.size.fetch_limit(),
        )
        .await?;
        tx.commit().await?;
        Ok(finish_page(rows, search.size, |row| row.ordinal))
    }

    /// Which of `codes` may be recorded, against a version (the default one when none is
    /// named), and that version's name.
    pub(crate) async fn validate(
        &self,
        context: &RequestContext,
        system: SystemName,
        version: Option<VersionName>,
        codes: &[String],
    ) -> Result<(String, Vec<Validation>)> {
        let mut tx = self.read_tx(context).await?;
        let version = store::resolve_version(
            &mut tx,
            system.as_str(),
            version.as_ref().map(VersionName::as_str),
        )
        .await?;
        let normalized: Vec<Option<String>> =
            codes.iter().map(|code| normalize_code(code).ok()).collect();
        let lookup: Vec<String> = normalized.iter().flatten().cloned().collect();
        let found = store::get_concepts(&mut tx, system.as_str(), &version, &lookup).await?;
        tx.commit().await?;
        let validations = codes
            .iter()
            .zip(normalized)
            .map(|(given, normalized)| {
                let concept = normalized
                    .as_ref()
                    .and_then(|code| found.iter().find(|row| &row.code == code))
                    .cloned();
                let (valid, message) = match &concept {
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
                Validation {
                    given: given.clone(),
                    concept,
                    valid,
                    message,
                }
            })
            .collect();
        Ok((version, validations))
    }

    /// How `code` of release `from` reads in release `to`.
    pub(crate) async fn translate(
        &self,
        context: &RequestContext,
        system: SystemName,
        from: VersionName,
        to: VersionName,
        code: String,
    ) -> Result<Vec<Translation>> {
        let mut tx = self.read_tx(context).await?;
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
            )));
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
        tx.commit().await?;
        Ok(targets
            .into_iter()
            .filter_map(|(target, relation)| {
                concepts
                    .iter()
                    .find(|row| row.code == target)
                    .map(|row| Translation {
                        concept: row.clone(),
                        relation,
                    })
            })
            .collect())
    }
}
