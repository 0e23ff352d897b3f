//! The only place the registry speaks SQL, and only to the `patients` schema.

mod history;
mod placements;
mod search;

pub use history::*;
pub use placements::{place, unplace};
pub use search::*;

use chrono::{DateTime, NaiveDate, Utc};
use hmis_platform::TenantTx;
use hmis_platform::error::DbErrorKind;
use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use sqlx::types::Json;
use uuid::Uuid;

use crate::domain::patient::{Identifier, PatientRecord};
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
    /// The time of a death in the hospital's care.
    pub death_time: Option<DateTime<Utc>>,
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
     p.death_time, p.confidential, p.unpaid_debt, p.photo_ref, p.merged_into, p.version, p.created_at, \
     p.updated_at";

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct IdentifierRow {
    pub r#type: String,
    pub country: String,
    pub value: String,
}

impl IdentifierRow {
    pub fn of(identifier: &Identifier) -> Self {
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

type RowQuery<'q, O> = sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments>;

/// Binds a record's editable columns, in the order INSERT and UPDATE both list them.
fn bind_record<'q, O>(query: RowQuery<'q, O>, record: &'q PatientRecord) -> RowQuery<'q, O> {
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

/// Reserves the tenant's next `count` MRNs in a transaction of its own and returns the first:
/// the counter's row is locked for that moment only, not until a registration commits, so
/// registrations do not wait for each other. An MRN must be unique, not gap-free: numbers a
/// process reserved and never used (it stopped) are skipped.
pub async fn reserve_mrns(
    database: &hmis_platform::Database,
    tenant_id: hmis_platform::TenantId,
    count: i64,
) -> Result<i64, Error> {
    let mut tx = database
        .begin(tenant_id, &hmis_platform::context::RequestId::generate())
        .await?;
    let first: i64 = sqlx::query_scalar(
        "INSERT INTO patients.mrn_counters (tenant_id, next_mrn) VALUES ($1, 1 + $2) \
         ON CONFLICT (tenant_id) DO UPDATE SET next_mrn = patients.mrn_counters.next_mrn + $2 \
         RETURNING next_mrn - $2",
    )
    .bind(tenant_id.as_uuid())
    .bind(count)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(first)
}

/// Inserts the patient with a new MRN, and its identifiers, in one statement. A document
/// somebody registered since the caller's check is answered as taken (its holder is looked up
/// after the rollback).
pub async fn insert_patient(
    tx: &mut TenantTx,
    record: &PatientRecord,
    mrn: &str,
    now: DateTime<Utc>,
) -> Result<(PatientRow, Vec<IdentifierRow>), Error> {
    let id = Uuid::now_v7();
    // `ON CONFLICT DO NOTHING` waits for a concurrent holder to commit and then leaves its
    // identifier out of what the insert returns: a missing one is a taken one.
    let sql = format!(
        "WITH p AS (INSERT INTO patients.patients AS p (tenant_id, id, mrn, family_name, \
             given_names, patronymic, sex, birth_date, birth_date_estimated, citizenship, address, \
             phones, occupation, marital_status, language, contacts, insurance_policies, \
             death_date, confidential, unpaid_debt, photo_ref, created_at, updated_at) \
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
                   $18, $19, $20, $21, $22, $22) \
           RETURNING {PATIENT_COLUMNS}), \
         x AS (INSERT INTO patients.identifiers (tenant_id, patient_id, type, country, value) \
           SELECT $1, $2, w.type, w.country, w.value \
           FROM unnest($23::text[], $24::text[], $25::text[]) AS w (type, country, value) \
           ON CONFLICT (tenant_id, type, country, value) DO NOTHING \
           RETURNING type, country, value) \
         SELECT p.*, {INSERTED_IDENTIFIER_ARRAYS} FROM p"
    );
    let [types, countries, values] = search::identifier_arrays(&record.identifiers);
    let query = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(tx.tenant_id().as_uuid())
        .bind(id)
        .bind(mrn);
    let inserted: Inserted = bind_record(query, record)
        .bind(now)
        .bind(types)
        .bind(countries)
        .bind(values)
        .fetch_one(&mut **tx)
        .await?;
    let identifiers = inserted.identifiers.rows();
    if let Some(taken) = (record.identifiers.iter())
        .find(|identifier| !identifiers.contains(&IdentifierRow::of(identifier)))
    {
        return Err(Error::identifier_taken(taken, String::new(), false));
    }
    Ok((inserted.patient, identifiers))
}

/// The identifiers an insert returned (`x`), as [`IdentifierArrays`] reads them.
const INSERTED_IDENTIFIER_ARRAYS: &str = "\
     coalesce((SELECT array_agg(x.type ORDER BY x.type, x.country, x.value) FROM x), '{}') \
         AS identifier_types, \
     coalesce((SELECT array_agg(x.country ORDER BY x.type, x.country, x.value) FROM x), '{}') \
         AS identifier_countries, \
     coalesce((SELECT array_agg(x.value ORDER BY x.type, x.country, x.value) FROM x), '{}') \
         AS identifier_values";

#[derive(FromRow)]
struct Inserted {
    #[sqlx(flatten)]
    patient: PatientRow,
    #[sqlx(flatten)]
    identifiers: IdentifierArrays,
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
            DbErrorKind::UniqueViolation { .. } => {
                Error::identifier_taken(identifier, String::new(), false)
            }
            _ => error.into(),
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
         death_time = CASE WHEN $17::date IS NULL THEN NULL ELSE p.death_time END, \
         death_recorded_from = CASE WHEN $17::date IS NULL THEN NULL ELSE p.death_recorded_from END, \
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

/// Records a death in the hospital's care on a record not yet marked deceased: `None` when it
/// already is (by hand, or by an earlier delivery of the same event).
pub async fn record_death(
    tx: &mut TenantTx,
    id: Uuid,
    (death_time, death_date): (DateTime<Utc>, NaiveDate),
    recorded_from: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<PatientRow>, Error> {
    let sql = format!(
        "UPDATE patients.patients AS p SET death_date = $3, death_time = $4, \
         death_recorded_from = $5, updated_at = $6, version = p.version + 1 \
         WHERE p.tenant_id = $1 AND p.id = $2 AND p.death_date IS NULL \
         RETURNING {PATIENT_COLUMNS}"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(tx.tenant_id().as_uuid())
        .bind(id)
        .bind(death_date)
        .bind(death_time)
        .bind(recorded_from)
        .bind(now)
        .fetch_optional(&mut **tx)
        .await?)
}

/// The record's photo becomes the archive's document `document` (`shown`), or stops being it
/// (deleted): `None` when the record already is so.
pub async fn follow_photo(
    tx: &mut TenantTx,
    id: Uuid,
    (document, shown): (Uuid, bool),
    now: DateTime<Utc>,
) -> Result<Option<PatientRow>, Error> {
    let sql = format!(
        "UPDATE patients.patients AS p \
         SET photo_ref = CASE WHEN $5 THEN $3 ELSE '' END, updated_at = $4, \
             version = p.version + 1 \
         WHERE p.tenant_id = $1 AND p.id = $2 \
           AND CASE WHEN $5 THEN p.photo_ref <> $3 ELSE p.photo_ref = $3 END \
         RETURNING {PATIENT_COLUMNS}"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(tx.tenant_id().as_uuid())
        .bind(id)
        .bind(document.to_string())
        .bind(now)
        .bind(shown)
        .fetch_optional(&mut **tx)
        .await?)
}

/// Withdraws the death `recorded_from` recorded: `None` when the record holds no such death
/// (never recorded, already withdrawn, or entered by hand).
pub async fn withdraw_death(
    tx: &mut TenantTx,
    id: Uuid,
    recorded_from: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<PatientRow>, Error> {
    let sql = format!(
        "UPDATE patients.patients AS p SET death_date = NULL, death_time = NULL, \
         death_recorded_from = NULL, updated_at = $4, version = p.version + 1 \
         WHERE p.tenant_id = $1 AND p.id = $2 AND p.death_recorded_from = $3 \
         RETURNING {PATIENT_COLUMNS}"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(tx.tenant_id().as_uuid())
        .bind(id)
        .bind(recorded_from)
        .bind(now)
        .fetch_optional(&mut **tx)
        .await?)
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
