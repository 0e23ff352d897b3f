//! The only place the registry speaks SQL, and only to the `patients` schema.

use chrono::{DateTime, NaiveDate, Utc};
use hmis_platform::TenantTx;
use hmis_platform::error::DbErrorKind;
use sqlx::FromRow;
use uuid::Uuid;

use crate::domain::patient::{Identifier, IdentifierType, NewPatient};
use crate::error::Error;

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
    pub version: i64,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, FromRow)]
pub struct IdentifierRow {
    pub r#type: String,
    pub country: String,
    pub value: String,
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

/// Inserts the patient with a new MRN and its identifiers.
pub async fn insert_patient(
    tx: &mut TenantTx,
    patient: &NewPatient,
    now: DateTime<Utc>,
) -> Result<(PatientRow, Vec<IdentifierRow>), Error> {
    let id = Uuid::now_v7();
    let mrn = next_mrn(tx).await?;
    let tenant_id = tx.tenant_id().as_uuid();
    let row: PatientRow = sqlx::query_as(
        "INSERT INTO patients.patients (tenant_id, id, mrn, family_name, given_names, patronymic, \
         sex, birth_date, birth_date_estimated, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) \
         RETURNING id, mrn, family_name, given_names, patronymic, sex, birth_date, \
                   birth_date_estimated, version, created_at",
    )
    .bind(tenant_id)
    .bind(id)
    .bind(&mrn)
    .bind(patient.family_name.as_str())
    .bind(patient.given_names.as_str())
    .bind(patient.patronymic.as_str())
    .bind(patient.sex.as_db())
    .bind(patient.birth_date)
    .bind(patient.birth_date_estimated)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    for identifier in &patient.identifiers {
        sqlx::query(
            "INSERT INTO patients.identifiers (tenant_id, patient_id, type, country, value) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(tenant_id)
        .bind(id)
        .bind(identifier.kind.as_db())
        .bind(&identifier.country)
        .bind(&identifier.value)
        .execute(&mut **tx)
        .await
        .map_err(|error| match DbErrorKind::of(&error) {
            // Somebody registered this document first: the caller learns whose it is after
            // this transaction rolls back.
            DbErrorKind::UniqueViolation { .. } => Error::IdentifierTaken {
                kind: identifier.kind.as_db(),
                country: identifier.country.clone(),
                value: identifier.value.clone(),
                mrn: String::new(),
            },
            _ => Error::Database(error),
        })?;
    }
    let identifiers = identifiers_of(tx, id).await?;
    Ok((row, identifiers))
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

pub async fn get_patient(
    tx: &mut TenantTx,
    id: Uuid,
) -> Result<(PatientRow, Vec<IdentifierRow>), Error> {
    let row: Option<PatientRow> = sqlx::query_as(
        "SELECT id, mrn, family_name, given_names, patronymic, sex, birth_date, \
                birth_date_estimated, version, created_at \
         FROM patients.patients WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    let row = row.ok_or_else(|| Error::NotFound(id.to_string()))?;
    let identifiers = identifiers_of(tx, id).await?;
    Ok((row, identifiers))
}

/// The MRN of whoever holds `identifier`.
pub async fn holder_of(
    tx: &mut TenantTx,
    identifier: &Identifier,
) -> Result<Option<(Uuid, String)>, Error> {
    Ok(sqlx::query_as(
        "SELECT p.id, p.mrn FROM patients.identifiers i \
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

/// What a search looks for.
#[derive(Debug, Clone)]
pub enum SearchKey {
    Mrn(String),
    Identifier(Identifier),
    /// The typed name, as given.
    Name(String),
}

/// Narrowing a search.
#[derive(Debug, Clone, Default)]
pub struct SearchFilters {
    pub birth_date: Option<NaiveDate>,
    pub birth_year: Option<i32>,
    pub sex: Option<&'static str>,
}

#[derive(Debug, Clone, FromRow)]
pub struct Match {
    #[sqlx(flatten)]
    pub patient: PatientRow,
    pub score: f32,
}

/// Patients matching `key` and `filters`, best first (name matches by prefix score 1, others by
/// trigram word similarity), then by MRN.
pub async fn search(
    tx: &mut TenantTx,
    key: &SearchKey,
    filters: &SearchFilters,
    offset: i64,
    limit: i64,
) -> Result<Vec<Match>, Error> {
    let (condition, score) = match key {
        SearchKey::Mrn(_) => ("p.mrn = $2", "1.0::real"),
        SearchKey::Identifier(_) => (
            "EXISTS (SELECT FROM patients.identifiers i WHERE i.tenant_id = p.tenant_id \
             AND i.patient_id = p.id AND i.type = $2 AND i.country = $3 AND i.value = $4)",
            "1.0::real",
        ),
        // $2: the typed name; $3: it with LIKE's wildcards escaped, as a prefix pattern. Both
        // are normalised like the stored name (lower case, no accents).
        SearchKey::Name(_) => (
            "(p.search_name LIKE patients.search_text($3) || '%' \
              OR patients.search_text($2) <% p.search_name)",
            "CASE WHEN p.search_name LIKE patients.search_text($3) || '%' THEN 1.0::real \
                  ELSE word_similarity(patients.search_text($2), p.search_name) END",
        ),
    };
    let sql = format!(
        "SELECT p.id, p.mrn, p.family_name, p.given_names, p.patronymic, p.sex, p.birth_date, \
                p.birth_date_estimated, p.version, p.created_at, {score} AS score \
         FROM patients.patients p \
         WHERE p.tenant_id = $1 AND {condition} \
           AND ($5::date IS NULL OR p.birth_date = $5) \
           AND ($6::int IS NULL OR extract(year FROM p.birth_date)::int = $6) \
           AND ($7::text IS NULL OR p.sex = $7) \
         ORDER BY score DESC, p.mrn OFFSET $8 LIMIT $9"
    );
    let query = sqlx::query_as::<_, Match>(sqlx::AssertSqlSafe(sql)).bind(tx.tenant_id().as_uuid());
    let query = match key {
        SearchKey::Mrn(mrn) => query
            .bind(mrn.clone())
            .bind(None::<String>)
            .bind(None::<String>),
        SearchKey::Identifier(identifier) => query
            .bind(identifier.kind.as_db())
            .bind(identifier.country.clone())
            .bind(Some(identifier.value.clone())),
        SearchKey::Name(name) => {
            let escaped = name
                .trim()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            query
                .bind(name.trim().to_owned())
                .bind(escaped)
                .bind(None::<String>)
        }
    };
    Ok(query
        .bind(filters.birth_date)
        .bind(filters.birth_year)
        .bind(filters.sex)
        .bind(offset)
        .bind(limit)
        .fetch_all(&mut **tx)
        .await?)
}

/// The identifiers of several patients at once.
pub async fn identifiers_of_many(
    tx: &mut TenantTx,
    patient_ids: &[Uuid],
) -> Result<std::collections::HashMap<Uuid, Vec<IdentifierRow>>, Error> {
    let rows: Vec<(Uuid, String, String, String)> = sqlx::query_as(
        "SELECT patient_id, type, country, value FROM patients.identifiers \
         WHERE tenant_id = $1 AND patient_id = ANY($2) ORDER BY patient_id, type, country, value",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(patient_ids)
    .fetch_all(&mut **tx)
    .await?;
    let mut by_patient: std::collections::HashMap<Uuid, Vec<IdentifierRow>> =
        std::collections::HashMap::new();
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
