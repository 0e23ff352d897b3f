//! The only place the registry speaks SQL, and only to the `patients` schema.

mod placements;

pub use placements::{place, unplace};

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use hmis_platform::TenantTx;
use hmis_platform::auth::Reach;
use hmis_platform::error::DbErrorKind;
use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use sqlx::types::Json;
use uuid::Uuid;

use crate::domain::patient::{Identifier, IdentifierType, PatientRecord};
use crate::error::Error;

/// The address as stored (a JSON document; the record's parser checked it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AddressDoc {
    pub country: String,
    pub region: String,
    pub locality: String,
    pub street: String,
    pub postal_code: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContactDoc {
    pub name: String,
    pub relationship: String,
    pub phone: String,
    pub next_of_kin: bool,
    pub companion: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyDoc {
    pub insurer: String,
    pub number: String,
    pub valid_from: NaiveDate,
    pub valid_until: Option<NaiveDate>,
    /// "primary" or "supplementary".
    pub rank: String,
}

#[derive(Debug, Clone, FromRow)]
pub struct PatientRow {
    pub id: Uuid,
    pub mrn: String,
    pub family_name: String,
    pub given_names: String,
    pub patronymic: String,
    pub sex: String,
    pub birth_date: NaiveDate,
    pub birth_date_estimated: bool,
    pub citizenship: String,
    pub address: Json<AddressDoc>,
    pub phones: Vec<String>,
    pub occupation: String,
    pub marital_status: String,
    pub language: String,
    pub contacts: Json<Vec<ContactDoc>>,
    pub insurance_policies: Json<Vec<PolicyDoc>>,
    pub death_date: Option<NaiveDate>,
    pub confidential: bool,
    pub unpaid_debt: bool,
    pub photo_ref: String,
    pub merged_into: Option<Uuid>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The columns of [`PatientRow`], from `patients.patients p`.
const PATIENT_COLUMNS: &str = "p.id, p.mrn, p.family_name, p.given_names, p.patronymic, p.sex, \
     p.birth_date, p.birth_date_estimated, p.citizenship, p.address, p.phones, p.occupation, \
     p.marital_status, p.language, p.contacts, p.insurance_policies, p.death_date, \
     p.confidential, p.unpaid_debt, p.photo_ref, p.merged_into, p.version, p.created_at, \
     p.updated_at";

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct IdentifierRow {
    pub r#type: String,
    pub country: String,
    pub value: String,
}

impl IdentifierRow {
    fn of(identifier: &Identifier) -> Self {
        Self {
            r#type: identifier.kind.as_db().to_owned(),
            country: identifier.country.clone(),
            value: identifier.value.clone(),
        }
    }
}

/// A record's columns other than its identity, ready to bind.
struct Columns {
    address: Json<AddressDoc>,
    phones: Vec<String>,
    contacts: Json<Vec<ContactDoc>>,
    policies: Json<Vec<PolicyDoc>>,
}

impl Columns {
    fn of(record: &PatientRecord) -> Self {
        Self {
            address: Json(AddressDoc {
                country: record.address.country.clone(),
                region: record.address.region.as_str().to_owned(),
                locality: record.address.locality.as_str().to_owned(),
                street: record.address.street.as_str().to_owned(),
                postal_code: record.address.postal_code.as_str().to_owned(),
            }),
            phones: record
                .phones
                .iter()
                .map(|phone| phone.as_str().to_owned())
                .collect(),
            contacts: Json(
                record
                    .contacts
                    .iter()
                    .map(|contact| ContactDoc {
                        name: contact.name.as_str().to_owned(),
                        relationship: contact.relationship.as_str().to_owned(),
                        phone: contact
                            .phone
                            .as_ref()
                            .map(|phone| phone.as_str().to_owned())
                            .unwrap_or_default(),
                        next_of_kin: contact.next_of_kin,
                        companion: contact.companion,
                    })
                    .collect(),
            ),
            policies: Json(
                record
                    .insurance_policies
                    .iter()
                    .map(|policy| PolicyDoc {
                        insurer: policy.insurer.as_str().to_owned(),
                        number: policy.number.clone(),
                        valid_from: policy.valid_from,
                        valid_until: policy.valid_until,
                        rank: policy.rank.as_db().to_owned(),
                    })
                    .collect(),
            ),
        }
    }
}

type RowQuery<'q> =
    sqlx::query::QueryAs<'q, sqlx::Postgres, PatientRow, sqlx::postgres::PgArguments>;

/// Binds a record's editable columns, in the order INSERT and UPDATE both list them.
fn bind_record<'q>(query: RowQuery<'q>, record: &'q PatientRecord) -> RowQuery<'q> {
    let columns = Columns::of(record);
    query
        .bind(record.family_name.as_str())
        .bind(record.given_names.as_str())
        .bind(record.patronymic.as_str())
        .bind(record.sex.as_db())
        .bind(record.birth_date)
        .bind(record.birth_date_estimated)
        .bind(&record.citizenship)
        .bind(columns.address)
        .bind(columns.phones)
        .bind(record.occupation.as_str())
        .bind(record.marital_status.as_db())
        .bind(&record.language)
        .bind(columns.contacts)
        .bind(columns.policies)
        .bind(record.death_date)
        .bind(record.confidential)
        .bind(record.unpaid_debt)
        .bind(record.photo_ref.as_str())
}

/// Takes the tenant's next MRN under the counter's row lock (released at commit; a rollback
/// returns the number).
async fn next_mrn(tx: &mut TenantTx) -> Result<String, Error> {
    let number: i64 = sqlx::query_scalar(
        "INSERT INTO patients.mrn_counters (tenant_id, next_mrn) VALUES ($1, 2) \
         ON CONFLICT (tenant_id) DO UPDATE SET next_mrn = patients.mrn_counters.next_mrn + 1 \
         RETURNING next_mrn - 1",
    )
    .bind(tx.tenant_id().as_uuid())
    .fetch_one(&mut **tx)
    .await?;
    Ok(format!("{number:08}"))
}

/// Inserts the patient with a new MRN, and its identifiers.
pub async fn insert_patient(
    tx: &mut TenantTx,
    record: &PatientRecord,
    now: DateTime<Utc>,
) -> Result<(PatientRow, Vec<IdentifierRow>), Error> {
    let id = Uuid::now_v7();
    let mrn = next_mrn(tx).await?;
    let sql = format!(
        "INSERT INTO patients.patients AS p (tenant_id, id, mrn, family_name, given_names, \
         patronymic, sex, birth_date, birth_date_estimated, citizenship, address, phones, \
         occupation, marital_status, language, contacts, insurance_policies, death_date, \
         confidential, unpaid_debt, photo_ref, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
                 $18, $19, $20, $21, $22, $22) \
         RETURNING {PATIENT_COLUMNS}"
    );
    let query = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(tx.tenant_id().as_uuid())
        .bind(id)
        .bind(&mrn);
    let row: PatientRow = bind_record(query, record)
        .bind(now)
        .fetch_one(&mut **tx)
        .await?;
    insert_identifiers(tx, id, &record.identifiers).await?;
    let identifiers = identifiers_of(tx, id).await?;
    Ok((row, identifiers))
}

async fn insert_identifiers(
    tx: &mut TenantTx,
    patient_id: Uuid,
    identifiers: &[Identifier],
) -> Result<(), Error> {
    for identifier in identifiers {
        sqlx::query(
            "INSERT INTO patients.identifiers (tenant_id, patient_id, type, country, value) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(tx.tenant_id().as_uuid())
        .bind(patient_id)
        .bind(identifier.kind.as_db())
        .bind(&identifier.country)
        .bind(&identifier.value)
        .execute(&mut **tx)
        .await
        .map_err(|error| match DbErrorKind::of(&error) {
            // Somebody holds this document: the caller learns whose it is after this
            // transaction rolls back.
            DbErrorKind::UniqueViolation { .. } => Error::IdentifierTaken {
                kind: identifier.kind.as_db(),
                country: identifier.country.clone(),
                value: identifier.value.clone(),
                mrn: String::new(),
                unpaid_debt: false,
            },
            _ => Error::Database(error),
        })?;
    }
    Ok(())
}

/// Writes a new state of the record (its version goes up by one) and its identifiers.
pub async fn update_patient(
    tx: &mut TenantTx,
    id: Uuid,
    record: &PatientRecord,
    now: DateTime<Utc>,
) -> Result<(PatientRow, Vec<IdentifierRow>), Error> {
    let sql = format!(
        "UPDATE patients.patients AS p SET family_name = $3, given_names = $4, patronymic = $5, \
         sex = $6, birth_date = $7, birth_date_estimated = $8, citizenship = $9, address = $10, \
         phones = $11, occupation = $12, marital_status = $13, language = $14, contacts = $15, \
         insurance_policies = $16, death_date = $17, confidential = $18, unpaid_debt = $19, \
         photo_ref = $20, updated_at = $21, version = p.version + 1 \
         WHERE p.tenant_id = $1 AND p.id = $2 RETURNING {PATIENT_COLUMNS}"
    );
    let query = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(tx.tenant_id().as_uuid())
        .bind(id);
    let row: PatientRow = bind_record(query, record)
        .bind(now)
        .fetch_one(&mut **tx)
        .await?;
    let current = identifiers_of(tx, id).await?;
    let wanted: Vec<IdentifierRow> = record.identifiers.iter().map(IdentifierRow::of).collect();
    for gone in current.iter().filter(|row| !wanted.contains(row)) {
        sqlx::query(
            "DELETE FROM patients.identifiers WHERE tenant_id = $1 AND patient_id = $2 \
             AND type = $3 AND country = $4 AND value = $5",
        )
        .bind(tx.tenant_id().as_uuid())
        .bind(id)
        .bind(&gone.r#type)
        .bind(&gone.country)
        .bind(&gone.value)
        .execute(&mut **tx)
        .await?;
    }
    let added: Vec<Identifier> = record
        .identifiers
        .iter()
        .filter(|identifier| !current.contains(&IdentifierRow::of(identifier)))
        .cloned()
        .collect();
    insert_identifiers(tx, id, &added).await?;
    let identifiers = identifiers_of(tx, id).await?;
    Ok((row, identifiers))
}

/// Bumps the version of a record whose state changed elsewhere (a merge moved identifiers).
pub async fn touch_patient(
    tx: &mut TenantTx,
    id: Uuid,
    merged_into: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<PatientRow, Error> {
    let sql = format!(
        "UPDATE patients.patients AS p SET merged_into = $3, updated_at = $4, \
         version = p.version + 1 WHERE p.tenant_id = $1 AND p.id = $2 RETURNING {PATIENT_COLUMNS}"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(tx.tenant_id().as_uuid())
        .bind(id)
        .bind(merged_into)
        .bind(now)
        .fetch_one(&mut **tx)
        .await?)
}

pub async fn identifiers_of(
    tx: &mut TenantTx,
    patient_id: Uuid,
) -> Result<Vec<IdentifierRow>, Error> {
    Ok(identifiers_of_many(tx, &[patient_id])
        .await?
        .remove(&patient_id)
        .unwrap_or_default())
}

/// How to read a record: a plain read, or locked for a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    None,
    ForUpdate,
}

pub async fn get_patient(
    tx: &mut TenantTx,
    id: Uuid,
    lock: Lock,
) -> Result<(PatientRow, Vec<IdentifierRow>), Error> {
    let suffix = match lock {
        Lock::None => "",
        Lock::ForUpdate => " FOR UPDATE",
    };
    let sql = format!(
        "SELECT {PATIENT_COLUMNS} FROM patients.patients p \
         WHERE p.tenant_id = $1 AND p.id = $2{suffix}"
    );
    let row: Option<PatientRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(tx.tenant_id().as_uuid())
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    let row = row.ok_or_else(|| Error::NotFound(id.to_string()))?;
    let identifiers = identifiers_of(tx, id).await?;
    Ok((row, identifiers))
}

/// The ward a patient is in now: (facility, department).
pub async fn placement_of(
    tx: &mut TenantTx,
    patient_id: Uuid,
) -> Result<Option<(Uuid, Uuid)>, Error> {
    Ok(sqlx::query_as(
        "SELECT facility_id, department_id FROM patients.placements \
         WHERE tenant_id = $1 AND patient_id = $2",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(patient_id)
    .fetch_optional(&mut **tx)
    .await?)
}

/// Who holds an identifier, as the desk is told.
#[derive(Debug, Clone, FromRow)]
pub struct Holder {
    pub mrn: String,
    pub unpaid_debt: bool,
}

/// Whoever holds `identifier`.
pub async fn holder_of(
    tx: &mut TenantTx,
    identifier: &Identifier,
) -> Result<Option<Holder>, Error> {
    Ok(sqlx::query_as(
        "SELECT p.mrn, p.unpaid_debt FROM patients.identifiers i \
         JOIN patients.patients p ON p.tenant_id = i.tenant_id AND p.id = i.patient_id \
         WHERE i.tenant_id = $1 AND i.type = $2 AND i.country = $3 AND i.value = $4",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(identifier.kind.as_db())
    .bind(&identifier.country)
    .bind(&identifier.value)
    .fetch_optional(&mut **tx)
    .await?)
}

pub fn identifier_type(row: &IdentifierRow) -> Result<IdentifierType, Error> {
    IdentifierType::from_db(&row.r#type).ok_or(Error::CorruptRow("identifier type"))
}

/// Serialises registrations of one name and birth date in a tenant, so two desks registering
/// the same unidentified person at once see each other's record as a candidate.
pub async fn lock_name_and_birth_date(
    tx: &mut TenantTx,
    record: &PatientRecord,
) -> Result<(), Error> {
    sqlx::query(
        "SELECT pg_advisory_xact_lock(hashtextextended( \
             $1::text || '/' || patients.search_text($2 || ' ' || $3) || '/' || $4::text, 4))",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(record.family_name.as_str())
    .bind(record.given_names.as_str())
    .bind(record.birth_date)
    .execute(&mut **tx)
    .await?;
    Ok(())
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
    // Family and given names only: a patronymic is often missing at the emergency desk. The
    // birth date index narrows to a handful of rows, so the similarity needs no index.
    let sql = format!(
        "SELECT {PATIENT_COLUMNS}, {IDENTIFIER_ARRAYS}, similarity(c.name, n.name) AS score \
         FROM patients.patients p {IDENTIFIER_ARRAYS_JOIN} \
         CROSS JOIN LATERAL (SELECT patients.search_text(p.family_name || ' ' || p.given_names) \
                             AS name) c, \
              (SELECT patients.search_text($2 || ' ' || $3) AS name) n \
         WHERE p.tenant_id = $1 AND p.birth_date = $4 AND p.merged_into IS NULL \
           AND (p.sex = $6 OR p.sex = 'unknown' OR $6 = 'unknown') \
           AND (c.name = n.name OR similarity(c.name, n.name) >= $5) \
         ORDER BY score DESC, p.mrn LIMIT 10"
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

/// One entry of a record's history.
#[derive(Debug, Clone, FromRow)]
pub struct VersionRow {
    pub version: i64,
    pub kind: String,
    pub changed_fields: Vec<String>,
    pub changed_by: Uuid,
    pub changed_at: DateTime<Utc>,
    pub snapshot: Vec<u8>,
}

pub async fn insert_version(
    tx: &mut TenantTx,
    patient_id: Uuid,
    row: &VersionRow,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO patients.versions (tenant_id, patient_id, version, kind, changed_fields, \
         changed_by, changed_at, snapshot) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(patient_id)
    .bind(row.version)
    .bind(&row.kind)
    .bind(&row.changed_fields)
    .bind(row.changed_by)
    .bind(row.changed_at)
    .bind(&row.snapshot)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Versions older than `before` (all when `None`), newest first.
pub async fn list_versions(
    tx: &mut TenantTx,
    patient_id: Uuid,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<VersionRow>, Error> {
    Ok(sqlx::query_as(
        "SELECT version, kind, changed_fields, changed_by, changed_at, snapshot \
         FROM patients.versions WHERE tenant_id = $1 AND patient_id = $2 \
           AND ($3::bigint IS NULL OR version < $3) \
         ORDER BY version DESC LIMIT $4",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(patient_id)
    .bind(before)
    .bind(limit)
    .fetch_all(&mut **tx)
    .await?)
}

/// A merge, as recorded.
#[derive(Debug, Clone, FromRow)]
pub struct MergeRow {
    pub id: Uuid,
    pub survivor_id: Uuid,
    pub merged_id: Uuid,
    pub moved_identifiers: Json<Vec<MovedIdentifier>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MovedIdentifier {
    pub r#type: String,
    pub country: String,
    pub value: String,
}

/// Moves every identifier of `merged` to `survivor` and records the merge.
pub async fn merge(
    tx: &mut TenantTx,
    survivor: Uuid,
    merged: Uuid,
    reason: &str,
    merged_by: Uuid,
    now: DateTime<Utc>,
) -> Result<Uuid, Error> {
    let moved: Vec<MovedIdentifier> = sqlx::query_as::<_, (String, String, String)>(
        "UPDATE patients.identifiers SET patient_id = $3 \
         WHERE tenant_id = $1 AND patient_id = $2 RETURNING type, country, value",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(merged)
    .bind(survivor)
    .fetch_all(&mut **tx)
    .await?
    .into_iter()
    .map(|(r#type, country, value)| MovedIdentifier {
        r#type,
        country,
        value,
    })
    .collect();
    let merge_id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO patients.merges (tenant_id, id, survivor_id, merged_id, reason, \
         moved_identifiers, merged_by, merged_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(merge_id)
    .bind(survivor)
    .bind(merged)
    .bind(reason)
    .bind(Json(moved))
    .bind(merged_by)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(merge_id)
}

/// The open merge of `merged`, locked.
pub async fn open_merge_of(tx: &mut TenantTx, merged: Uuid) -> Result<Option<MergeRow>, Error> {
    Ok(sqlx::query_as(
        "SELECT id, survivor_id, merged_id, moved_identifiers FROM patients.merges \
         WHERE tenant_id = $1 AND merged_id = $2 AND unmerged_at IS NULL FOR UPDATE",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(merged)
    .fetch_optional(&mut **tx)
    .await?)
}

/// Gives the identifiers a merge moved back to the merged record (those the survivor still
/// holds; one removed since stays removed) and closes the merge.
pub async fn unmerge(
    tx: &mut TenantTx,
    merge: &MergeRow,
    reason: &str,
    unmerged_by: Uuid,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    for identifier in merge.moved_identifiers.iter() {
        sqlx::query(
            "UPDATE patients.identifiers SET patient_id = $3 WHERE tenant_id = $1 \
             AND patient_id = $2 AND type = $4 AND country = $5 AND value = $6",
        )
        .bind(tx.tenant_id().as_uuid())
        .bind(merge.survivor_id)
        .bind(merge.merged_id)
        .bind(&identifier.r#type)
        .bind(&identifier.country)
        .bind(&identifier.value)
        .execute(&mut **tx)
        .await?;
    }
    sqlx::query(
        "UPDATE patients.merges SET unmerged_by = $3, unmerged_at = $4, unmerge_reason = $5 \
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(merge.id)
    .bind(unmerged_by)
    .bind(now)
    .bind(reason)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A hospital stay as the registry keeps it.
#[derive(Debug, Clone, FromRow)]
pub struct VisitRow {
    pub admission_id: Uuid,
    pub patient_id: Uuid,
    pub admission_number: String,
    pub facility_id: Uuid,
    pub department_id: Uuid,
    pub admission_type: String,
    pub status: String,
    pub start_time: DateTime<Utc>,
    pub end_time: Option<DateTime<Utc>>,
}

/// Records a stay as the latest admission event tells it. A patient the registry does not
/// hold (another tenant's id) has no history to keep: nothing is written.
pub async fn upsert_visit(tx: &mut TenantTx, visit: &VisitRow) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO patients.visits (tenant_id, admission_id, patient_id, admission_number, \
             facility_id, department_id, admission_type, status, start_time, end_time) \
         SELECT $1, $2, p.id, $4, $5, $6, $7, $8, $9, $10 FROM patients.patients p \
         WHERE p.tenant_id = $1 AND p.id = $3 \
         ON CONFLICT (tenant_id, admission_id) DO UPDATE SET \
             patient_id = EXCLUDED.patient_id, admission_number = EXCLUDED.admission_number, \
             facility_id = EXCLUDED.facility_id, department_id = EXCLUDED.department_id, \
             admission_type = EXCLUDED.admission_type, status = EXCLUDED.status, \
             start_time = EXCLUDED.start_time, end_time = EXCLUDED.end_time",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(visit.admission_id)
    .bind(visit.patient_id)
    .bind(&visit.admission_number)
    .bind(visit.facility_id)
    .bind(visit.department_id)
    .bind(&visit.admission_type)
    .bind(&visit.status)
    .bind(visit.start_time)
    .bind(visit.end_time)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A patient's stays newest first, with those of records merged into it, after the keyset
/// `(start_time, admission_id)` of the previous page.
pub async fn list_visits(
    tx: &mut TenantTx,
    patient_id: Uuid,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<VisitRow>, Error> {
    let (after_time, after_id) = after.unzip();
    Ok(sqlx::query_as(
        "SELECT admission_id, patient_id, admission_number, facility_id, department_id, \
                admission_type, status, start_time, end_time \
         FROM patients.visits v \
         WHERE v.tenant_id = $1 \
           AND (v.patient_id = $2 OR v.patient_id IN (SELECT id FROM patients.patients \
                WHERE tenant_id = $1 AND merged_into = $2)) \
           AND ($3::timestamptz IS NULL OR (v.start_time, v.admission_id) < ($3, $4)) \
         ORDER BY v.start_time DESC, v.admission_id DESC LIMIT $5",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(patient_id)
    .bind(after_time)
    .bind(after_id)
    .bind(limit)
    .fetch_all(&mut **tx)
    .await?)
}
