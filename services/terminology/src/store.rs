//! The only place terminology speaks SQL, and only to the `terminology` schema.

use chrono::{DateTime, Utc};
use hmis_platform::TenantTx;
use sqlx::FromRow;

use crate::domain::{ImportedConcept, ImportedMapping, Query, search_text};
use crate::error::{Error, Result};

#[derive(Debug, Clone, FromRow)]
pub struct SystemRow {
    pub system: String,
    pub version: String,
    pub title: String,
    pub is_default: bool,
    pub concept_count: i32,
    pub imported_at: DateTime<Utc>,
    pub source: String,
}

#[derive(Debug, Clone, FromRow)]
pub struct ConceptRow {
    pub system: String,
    pub version: String,
    pub code: String,
    pub display: String,
    pub kind: String,
    pub parent_code: Option<String>,
    pub selectable: bool,
    pub ordinal: i32,
}

const CONCEPT_COLUMNS: &str =
    "system, version, code, display, kind, parent_code, selectable, ordinal";

pub async fn list_systems(tx: &mut TenantTx, system: Option<&str>) -> Result<Vec<SystemRow>> {
    Ok(sqlx::query_as(
        "SELECT system, version, title, is_default, concept_count, imported_at, source \
         FROM terminology.code_systems \
         WHERE tenant_id = $1 AND ($2::text IS NULL OR system = $2) \
         ORDER BY system, imported_at DESC, version DESC",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(system)
    .fetch_all(&mut **tx)
    .await?)
}

/// The version to read: the one named (if imported), else the system's default.
pub async fn resolve_version(
    tx: &mut TenantTx,
    system: &str,
    version: Option<&str>,
) -> Result<String> {
    let found: Option<String> = sqlx::query_scalar(
        "SELECT version FROM terminology.code_systems \
         WHERE tenant_id = $1 AND system = $2 AND (CASE WHEN $3::text IS NULL THEN is_default \
               ELSE version = $3 END)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(system)
    .bind(version)
    .fetch_optional(&mut **tx)
    .await?;
    found.ok_or_else(|| {
        Error::NotFound(match version {
            Some(version) => format!("code system {system} version {version}"),
            None => format!("code system {system}"),
        })
    })
}

pub async fn get_concepts(
    tx: &mut TenantTx,
    system: &str,
    version: &str,
    codes: &[String],
) -> Result<Vec<ConceptRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {CONCEPT_COLUMNS} FROM terminology.concepts \
         WHERE tenant_id = $1 AND system = $2 AND version = $3 AND code = ANY($4)"
    )))
    .bind(tx.tenant_id().as_uuid())
    .bind(system)
    .bind(version)
    .bind(codes)
    .fetch_all(&mut **tx)
    .await?)
}

/// The concept's ancestors, from the top of the hierarchy down to its parent.
pub async fn ancestors(
    tx: &mut TenantTx,
    system: &str,
    version: &str,
    code: &str,
) -> Result<Vec<ConceptRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "WITH RECURSIVE up AS ( \
             SELECT c.*, 0 AS depth FROM terminology.concepts c \
             WHERE c.tenant_id = $1 AND c.system = $2 AND c.version = $3 AND c.code = $4 \
             UNION ALL \
             SELECT p.*, up.depth + 1 FROM terminology.concepts p \
             JOIN up ON p.tenant_id = up.tenant_id AND p.system = up.system \
                    AND p.version = up.version AND p.code = up.parent_code \
             WHERE up.depth < 64) \
         SELECT {CONCEPT_COLUMNS} FROM up WHERE depth > 0 ORDER BY depth DESC"
    )))
    .bind(tx.tenant_id().as_uuid())
    .bind(system)
    .bind(version)
    .bind(code)
    .fetch_all(&mut **tx)
    .await?)
}

pub async fn children(
    tx: &mut TenantTx,
    system: &str,
    version: &str,
    code: &str,
) -> Result<Vec<ConceptRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {CONCEPT_COLUMNS} FROM terminology.concepts \
         WHERE tenant_id = $1 AND system = $2 AND version = $3 AND parent_code = $4 \
         ORDER BY ordinal"
    )))
    .bind(tx.tenant_id().as_uuid())
    .bind(system)
    .bind(version)
    .bind(code)
    .fetch_all(&mut **tx)
    .await?)
}

/// One page of a search, in the classification's order, after the ordinal `after`.
pub async fn search(
    tx: &mut TenantTx,
    system: &str,
    version: &str,
    query: &Query,
    selectable_only: bool,
    after: Option<i32>,
    limit: i64,
) -> Result<Vec<ConceptRow>> {
    let (prefix, words): (Option<&str>, Vec<String>) = match query {
        Query::CodePrefix(prefix) => (Some(prefix.as_str()), Vec::new()),
        Query::Words(words) => (None, words.iter().map(|word| format!("%{word}%")).collect()),
    };
    // The prefix is a range on the C-collated code index: [prefix, prefix || U+FFFF).
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {CONCEPT_COLUMNS} FROM terminology.concepts \
         WHERE tenant_id = $1 AND system = $2 AND version = $3 \
           AND ($4::text IS NULL OR ((code COLLATE \"C\") >= $4 \
                                     AND (code COLLATE \"C\") < $4 || chr(65535))) \
           AND search_text LIKE ALL ($5::text[]) \
           AND (NOT $6 OR selectable) \
           AND ($7::integer IS NULL OR ordinal > $7) \
         ORDER BY ordinal LIMIT $8"
    )))
    .bind(tx.tenant_id().as_uuid())
    .bind(system)
    .bind(version)
    .bind(prefix)
    .bind(&words)
    .bind(selectable_only)
    .bind(after)
    .bind(limit)
    .fetch_all(&mut **tx)
    .await?)
}

pub async fn translations(
    tx: &mut TenantTx,
    system: &str,
    from_version: &str,
    code: &str,
    to_version: &str,
) -> Result<Vec<(String, String)>> {
    Ok(sqlx::query_as(
        "SELECT to_code, relation FROM terminology.concept_maps \
         WHERE tenant_id = $1 AND system = $2 AND from_version = $3 AND from_code = $4 \
           AND to_version = $5 ORDER BY to_code",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(system)
    .bind(from_version)
    .bind(code)
    .bind(to_version)
    .fetch_all(&mut **tx)
    .await?)
}

/// What an import writes.
#[derive(Debug)]
pub struct NewSystem<'a> {
    pub system: &'a str,
    pub version: &'a str,
    pub title: &'a str,
    pub source: &'a str,
    pub make_default: bool,
}

/// Creates (or empties, for a re-import) one version of a system, and makes it the default
/// when asked or when the system has none.
pub async fn replace_system(
    tx: &mut TenantTx,
    new: &NewSystem<'_>,
    concept_count: i32,
    now: DateTime<Utc>,
) -> Result<()> {
    let tenant_id = tx.tenant_id().as_uuid();
    sqlx::query(
        "DELETE FROM terminology.concepts WHERE tenant_id = $1 AND system = $2 AND version = $3",
    )
    .bind(tenant_id)
    .bind(new.system)
    .bind(new.version)
    .execute(&mut **tx)
    .await?;
    let has_default: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM terminology.code_systems \
                        WHERE tenant_id = $1 AND system = $2 AND is_default AND version <> $3)",
    )
    .bind(tenant_id)
    .bind(new.system)
    .bind(new.version)
    .fetch_one(&mut **tx)
    .await?;
    let make_default = new.make_default || !has_default;
    if make_default {
        sqlx::query(
            "UPDATE terminology.code_systems SET is_default = false \
             WHERE tenant_id = $1 AND system = $2 AND is_default",
        )
        .bind(tenant_id)
        .bind(new.system)
        .execute(&mut **tx)
        .await?;
    }
    sqlx::query(
        "INSERT INTO terminology.code_systems \
             (tenant_id, system, version, title, is_default, concept_count, imported_at, source) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (tenant_id, system, version) DO UPDATE SET title = EXCLUDED.title, \
             is_default = EXCLUDED.is_default OR terminology.code_systems.is_default, \
             concept_count = EXCLUDED.concept_count, imported_at = EXCLUDED.imported_at, \
             source = EXCLUDED.source",
    )
    .bind(tenant_id)
    .bind(new.system)
    .bind(new.version)
    .bind(new.title)
    .bind(make_default)
    .bind(concept_count)
    .bind(now)
    .bind(new.source)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Inserts one batch of concepts, `first_ordinal` being the first one's position in the file.
pub async fn insert_concepts(
    tx: &mut TenantTx,
    system: &str,
    version: &str,
    concepts: &[ImportedConcept],
    first_ordinal: i32,
) -> Result<()> {
    let mut codes = Vec::with_capacity(concepts.len());
    let mut displays = Vec::with_capacity(concepts.len());
    let mut kinds = Vec::with_capacity(concepts.len());
    let mut parents = Vec::with_capacity(concepts.len());
    let mut selectable = Vec::with_capacity(concepts.len());
    let mut searches = Vec::with_capacity(concepts.len());
    for concept in concepts {
        codes.push(concept.code.as_str());
        displays.push(concept.display.as_str());
        kinds.push(concept.kind.as_str());
        parents.push(concept.parent_code.as_deref());
        selectable.push(concept.selectable);
        searches.push(search_text(&concept.code, &concept.display));
    }
    sqlx::query(
        "INSERT INTO terminology.concepts (tenant_id, system, version, code, display, kind, \
             parent_code, selectable, search_text, ordinal) \
         SELECT $1, $2, $3, c.code, c.display, c.kind, c.parent, c.selectable, c.search, \
                $10 + c.n - 1 \
         FROM unnest($4::text[], $5::text[], $6::text[], $7::text[], $8::boolean[], $9::text[]) \
              WITH ORDINALITY AS c(code, display, kind, parent, selectable, search, n)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(system)
    .bind(version)
    .bind(&codes)
    .bind(&displays)
    .bind(&kinds)
    .bind(&parents)
    .bind(&selectable)
    .bind(&searches)
    .bind(first_ordinal)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Replaces the map from one version to another.
pub async fn replace_map(
    tx: &mut TenantTx,
    system: &str,
    from_version: &str,
    to_version: &str,
    mappings: &[ImportedMapping],
) -> Result<()> {
    let tenant_id = tx.tenant_id().as_uuid();
    sqlx::query(
        "DELETE FROM terminology.concept_maps \
         WHERE tenant_id = $1 AND system = $2 AND from_version = $3 AND to_version = $4",
    )
    .bind(tenant_id)
    .bind(system)
    .bind(from_version)
    .bind(to_version)
    .execute(&mut **tx)
    .await?;
    let from: Vec<&str> = mappings.iter().map(|m| m.from_code.as_str()).collect();
    let to: Vec<&str> = mappings.iter().map(|m| m.to_code.as_str()).collect();
    let relation: Vec<&str> = mappings.iter().map(|m| m.relation.as_db()).collect();
    sqlx::query(
        "INSERT INTO terminology.concept_maps \
             (tenant_id, system, from_version, from_code, to_version, to_code, relation) \
         SELECT $1, $2, $3, m.from_code, $4, m.to_code, m.relation \
         FROM unnest($5::text[], $6::text[], $7::text[]) AS m(from_code, to_code, relation) \
         ON CONFLICT DO NOTHING",
    )
    .bind(tenant_id)
    .bind(system)
    .bind(from_version)
    .bind(to_version)
    .bind(&from)
    .bind(&to)
    .bind(&relation)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
