//! Finding records: who holds a document, the probable duplicates of a new record, the
//! search by an exact key or by name within the caller's reach.

use std::collections::HashMap;

use chrono::NaiveDate;
use hmis_platform::TenantTx;
use hmis_platform::auth::Reach;
use sqlx::FromRow;
use uuid::Uuid;

use crate::domain::patient::{Identifier, IdentifierType, PatientRecord};
use crate::error::Error;

use super::{IdentifierRow, PATIENT_COLUMNS, PatientRow};

/// Who holds an identifier, as the desk is told.
#[derive(Debug, Clone, FromRow)]
pub struct Holder {
    pub mrn: String,
    pub unpaid_debt: bool,
}

/// The first of `identifiers` somebody holds (its position in the list) and who holds it, as
/// one parameterised sub-select over `$1` (the tenant) and `$2`..`$4` (the identifiers' types,
/// countries and values, in parallel arrays).
const FIRST_HOLDER: &str = "SELECT w.n, p.mrn, p.unpaid_debt \
     FROM unnest($2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS w (type, country, value, n) \
     JOIN patients.identifiers i ON i.tenant_id = $1 AND i.type = w.type \
          AND i.country = w.country AND i.value = w.value \
     JOIN patients.patients p ON p.tenant_id = i.tenant_id AND p.id = i.patient_id \
     ORDER BY w.n LIMIT 1";

#[derive(FromRow)]
struct HolderAt {
    n: Option<i64>,
    mrn: Option<String>,
    unpaid_debt: Option<bool>,
}

impl HolderAt {
    fn found(self) -> Option<(usize, Holder)> {
        let position = usize::try_from(self.n?).ok()?.checked_sub(1)?;
        let holder = Holder {
            mrn: self.mrn?,
            unpaid_debt: self.unpaid_debt?,
        };
        Some((position, holder))
    }
}

pub(super) fn identifier_arrays(identifiers: &[Identifier]) -> [Vec<&str>; 3] {
    [
        identifiers.iter().map(|i| i.kind.as_db()).collect(),
        identifiers.iter().map(|i| i.country.as_str()).collect(),
        identifiers.iter().map(|i| i.value.as_str()).collect(),
    ]
}

/// The first of `identifiers` somebody holds, with who holds it.
pub async fn first_holder(
    tx: &mut TenantTx,
    identifiers: &[Identifier],
) -> Result<Option<(usize, Holder)>, Error> {
    let [types, countries, values] = identifier_arrays(identifiers);
    let found: Option<HolderAt> = sqlx::query_as(FIRST_HOLDER)
        .bind(tx.tenant_id().as_uuid())
        .bind(types)
        .bind(countries)
        .bind(values)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(found.and_then(HolderAt::found))
}

/// Before a registration's checks: serialises registrations of one name and birth date in a
/// tenant, so two desks registering the same unidentified person at once see each other's
/// record as a candidate, and answers (in the same round trip) the first of the record's
/// documents somebody already holds. The holders are read as they were before the lock was
/// granted: one registered while this call waited is among the probable duplicates (the same
/// name and birth date), and the identifiers' unique constraint settles any other race.
pub async fn lock_and_find_holder(
    tx: &mut TenantTx,
    record: &PatientRecord,
) -> Result<Option<(usize, Holder)>, Error> {
    // The outer row always exists, so the lock is taken whether or not a holder is found.
    let sql = format!(
        "SELECT h.n, h.mrn, h.unpaid_debt FROM (SELECT pg_advisory_xact_lock(hashtextextended( \
             $1::text || '/' || patients.search_text($5 || ' ' || $6) || '/' || $7::text, 4))) l \
         LEFT JOIN LATERAL ({FIRST_HOLDER}) h ON true"
    );
    let [types, countries, values] = identifier_arrays(&record.identifiers);
    let found: HolderAt = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(tx.tenant_id().as_uuid())
        .bind(types)
        .bind(countries)
        .bind(values)
        .bind(record.family_name.as_str())
        .bind(record.given_names.as_str())
        .bind(record.birth_date)
        .fetch_one(&mut **tx)
        .await?;
    Ok(found.found())
}

pub fn identifier_type(row: &IdentifierRow) -> Result<IdentifierType, Error> {
    IdentifierType::from_db(&row.r#type).ok_or(Error::corrupt("identifier type"))
}

/// How close a name must be (trigram similarity of the whole normalised names) to make a
/// patient with the same birth date a probable duplicate.
const DUPLICATE_SIMILARITY: f32 = 0.5;

/// Records that may be the same person: the same birth date, a sex that does not differ, and
/// the same or a close name.
/// Merged-away records are not candidates (their survivor is).
pub async fn duplicate_candidates(
    tx: &mut TenantTx,
    record: &PatientRecord,
) -> Result<Vec<Match>, Error> {
    // Family and given names only (`match_name`): a patronymic is often missing at the
    // emergency desk. The birth date index narrows to a handful of rows, so the similarity
    // needs no index; the identifiers are read for the matches only.
    let sql = format!(
        "SELECT {PATIENT_COLUMNS}, {IDENTIFIER_ARRAYS}, f.score \
         FROM (SELECT c.id, similarity(c.match_name, n.name) AS score \
               FROM patients.patients c, (SELECT patients.search_text($2 || ' ' || $3) AS name) n \
               WHERE c.tenant_id = $1 AND c.birth_date = $4 AND c.merged_into IS NULL \
                 AND (c.sex = $6 OR c.sex = 'unknown' OR $6 = 'unknown') \
                 AND (c.match_name = n.name OR similarity(c.match_name, n.name) >= $5) \
               ORDER BY score DESC, c.mrn LIMIT 10) f \
         JOIN patients.patients p ON p.tenant_id = $1 AND p.id = f.id \
         {IDENTIFIER_ARRAYS_JOIN} \
         ORDER BY f.score DESC, p.mrn"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(tx.tenant_id().as_uuid())
        .bind(record.family_name.as_str())
        .bind(record.given_names.as_str())
        .bind(record.birth_date)
        .bind(DUPLICATE_SIMILARITY)
        .bind(record.sex.as_db())
        .fetch_all(&mut **tx)
        .await?)
}

/// What a search looks for.
#[derive(Debug, Clone)]
pub enum SearchKey {
    Mrn(String),
    Identifier(Identifier),
    /// The typed name, as given.
    Name(String),
}

/// Narrowing a search.
#[derive(Debug, Clone)]
pub struct SearchFilters {
    pub birth_date: Option<NaiveDate>,
    pub birth_year: Option<i32>,
    pub sex: Option<&'static str>,
    /// Whose records the caller may see (ward-scoped staff: patients placed in their wards).
    pub reach: Reach,
    /// Whether confidential records may match by name (otherwise only exact keys find them,
    /// and they come back restricted).
    pub confidential_by_name: bool,
}

/// A record's identifiers read in the same statement as the record (three parallel arrays,
/// in (type, country, value) order), so a search answers in one round trip.
#[derive(Debug, Clone, FromRow)]
pub struct IdentifierArrays {
    identifier_types: Vec<String>,
    identifier_countries: Vec<String>,
    identifier_values: Vec<String>,
}

impl IdentifierArrays {
    pub fn rows(&self) -> Vec<IdentifierRow> {
        self.identifier_types
            .iter()
            .zip(&self.identifier_countries)
            .zip(&self.identifier_values)
            .map(|((kind, country), value)| IdentifierRow {
                r#type: kind.clone(),
                country: country.clone(),
                value: value.clone(),
            })
            .collect()
    }
}

/// The select list and the join behind [`IdentifierArrays`], for a query over
/// `patients.patients p`.
const IDENTIFIER_ARRAYS: &str = "i.types AS identifier_types, \
     i.countries AS identifier_countries, i.vals AS identifier_values";
const IDENTIFIER_ARRAYS_JOIN: &str = "CROSS JOIN LATERAL (SELECT \
         coalesce(array_agg(x.type ORDER BY x.type, x.country, x.value), '{}') AS types, \
         coalesce(array_agg(x.country ORDER BY x.type, x.country, x.value), '{}') AS countries, \
         coalesce(array_agg(x.value ORDER BY x.type, x.country, x.value), '{}') AS vals \
     FROM patients.identifiers x WHERE x.tenant_id = p.tenant_id AND x.patient_id = p.id) i";

#[derive(Debug, Clone, FromRow)]
pub struct Match {
    #[sqlx(flatten)]
    pub patient: PatientRow,
    #[sqlx(flatten)]
    pub identifiers: IdentifierArrays,
    pub score: f32,
}

/// A record with the ward it is placed in, if any.
#[derive(Debug, Clone, FromRow)]
pub struct Placed {
    #[sqlx(flatten)]
    pub patient: PatientRow,
    #[sqlx(flatten)]
    pub identifiers: IdentifierArrays,
    pub facility_id: Option<Uuid>,
    pub department_id: Option<Uuid>,
}

impl Placed {
    pub fn placement(&self) -> Option<(Uuid, Uuid)> {
        self.facility_id.zip(self.department_id)
    }
}

/// The one record an MRN or an identifier names (both are unique in a tenant), with its
/// identifiers and placement, in one statement. A plain key
/// lookup with no optional filters, so PostgreSQL keeps one generic plan for it instead of
/// planning every call; the caller applies the search filters to the one row.
pub async fn find_exact(tx: &mut TenantTx, key: &SearchKey) -> Result<Option<Placed>, Error> {
    let (condition, first, second, third) = match key {
        SearchKey::Mrn(mrn) => ("p.mrn = $2", mrn.as_str(), "", ""),
        SearchKey::Identifier(identifier) => (
            "p.id = (SELECT i.patient_id FROM patients.identifiers i WHERE i.tenant_id = $1 \
             AND i.type = $2 AND i.country = $3 AND i.value = $4)",
            identifier.kind.as_db(),
            identifier.country.as_str(),
            identifier.value.as_str(),
        ),
        SearchKey::Name(_) => return Ok(None),
    };
    let sql = format!(
        "SELECT {PATIENT_COLUMNS}, {IDENTIFIER_ARRAYS}, w.facility_id, w.department_id \
         FROM patients.patients p {IDENTIFIER_ARRAYS_JOIN} \
         LEFT JOIN patients.placements w ON w.tenant_id = p.tenant_id AND w.patient_id = p.id \
         WHERE p.tenant_id = $1 AND {condition}"
    );
    let query = sqlx::query_as::<_, Placed>(sqlx::AssertSqlSafe(sql))
        .bind(tx.tenant_id().as_uuid())
        .bind(first);
    let query = match key {
        SearchKey::Identifier(_) => query.bind(second).bind(third),
        _ => query,
    };
    Ok(query.fetch_optional(&mut **tx).await?)
}

/// The reach as the SQL filters take it: NULL facilities for everyone.
fn reach_arrays(reach: &Reach) -> (Option<Vec<Uuid>>, Vec<Uuid>) {
    match reach {
        Reach::Tenant => (None, Vec::new()),
        Reach::Limited {
            facilities,
            departments,
        } => (Some(facilities.clone()), departments.clone()),
    }
}

/// Patients whose name matches what the desk typed: whole-name prefixes first (score 1,
/// alphabetical), then typo-tolerant word matches by similarity. The matching runs in
/// `patients.find_by_name` (see its migration for why); the records are read here, under the
/// tenant policy.
pub async fn search_by_name(
    tx: &mut TenantTx,
    name: &str,
    filters: &SearchFilters,
    offset: i64,
    limit: i64,
) -> Result<Vec<Match>, Error> {
    let (facilities, departments) = reach_arrays(&filters.reach);
    let sql = format!(
        "SELECT {PATIENT_COLUMNS}, {IDENTIFIER_ARRAYS}, m.score \
         FROM patients.find_by_name($2, $3::int, $4::int, $5, $6, $7, $8, $9, $10) m \
         JOIN patients.patients p ON p.tenant_id = $1 AND p.id = m.patient_id \
         {IDENTIFIER_ARRAYS_JOIN} \
         ORDER BY m.rank OFFSET $3 LIMIT $4"
    );
    Ok(sqlx::query_as::<_, Match>(sqlx::AssertSqlSafe(sql))
        .bind(tx.tenant_id().as_uuid())
        .bind(name)
        .bind(offset)
        .bind(limit)
        .bind(filters.birth_date)
        .bind(filters.birth_year)
        .bind(filters.sex)
        .bind(filters.confidential_by_name)
        .bind(facilities)
        .bind(departments)
        .fetch_all(&mut **tx)
        .await?)
}

/// The identifiers of several patients at once.
pub async fn identifiers_of_many(
    tx: &mut TenantTx,
    patient_ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<IdentifierRow>>, Error> {
    let rows: Vec<(Uuid, String, String, String)> = sqlx::query_as(
        "SELECT patient_id, type, country, value FROM patients.identifiers \
         WHERE tenant_id = $1 AND patient_id = ANY($2) ORDER BY patient_id, type, country, value",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(patient_ids)
    .fetch_all(&mut **tx)
    .await?;
    let mut by_patient: HashMap<Uuid, Vec<IdentifierRow>> = HashMap::new();
    for (patient_id, kind, country, value) in rows {
        by_patient
            .entry(patient_id)
            .or_default()
            .push(IdentifierRow {
                r#type: kind,
                country,
                value,
            });
    }
    Ok(by_patient)
}
