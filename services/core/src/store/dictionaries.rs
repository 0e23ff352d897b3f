//! The dictionaries of the register.

use super::*;

/// The dictionary whose entries departments' specialty codes must name.
pub const SPECIALTIES: &str = "specialties";

#[derive(FromRow)]
struct DictionaryRow {
    code: String,
    name: String,
    description: String,
    created_at: DateTime<Utc>,
}

impl TryFrom<DictionaryRow> for Dictionary {
    type Error = Error;

    fn try_from(row: DictionaryRow) -> Result<Self> {
        Ok(Dictionary {
            code: code(&row.code, "dictionary code")?,
            name: name(&row.name, "dictionary name")?,
            description: text(&row.description, "dictionary description")?,
            created_at: row.created_at,
        })
    }
}

pub async fn insert_dictionary(tx: &mut TenantTx, dictionary: &Dictionary) -> Result<()> {
    sqlx::query(
        "INSERT INTO core.dictionaries (tenant_id, code, name, description, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(dictionary.code.as_str())
    .bind(dictionary.name.as_str())
    .bind(dictionary.description.as_str())
    .bind(dictionary.created_at)
    .execute(&mut **tx)
    .await
    .map_err(|error| {
        Error::duplicate(
            error,
            &format!("a dictionary with code {} already exists", dictionary.code),
        )
    })?;
    Ok(())
}

pub async fn list_dictionaries(
    tx: &mut TenantTx,
    after_code: Option<&str>,
    limit: i64,
) -> Result<Vec<Dictionary>> {
    let rows: Vec<DictionaryRow> = sqlx::query_as(
        "SELECT code, name, description, created_at FROM core.dictionaries \
         WHERE tenant_id = $1 AND ($2::text IS NULL OR code > $2) ORDER BY code LIMIT $3",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(after_code)
    .bind(limit)
    .fetch_all(&mut **tx)
    .await?;
    rows.into_iter().map(Dictionary::try_from).collect()
}

pub async fn dictionary_exists(tx: &mut TenantTx, dictionary_code: &Code) -> Result<bool> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT FROM core.dictionaries WHERE tenant_id = $1 AND code = $2)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(dictionary_code.as_str())
    .fetch_one(&mut **tx)
    .await?)
}

/// Whether `entry_code` is an active entry of `dictionary_code`.
pub async fn entry_is_active(
    tx: &mut TenantTx,
    dictionary_code: &str,
    entry_code: &Code,
) -> Result<bool> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT FROM core.dictionary_entries \
         WHERE tenant_id = $1 AND dictionary_code = $2 AND code = $3 AND active)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(dictionary_code)
    .bind(entry_code.as_str())
    .fetch_one(&mut **tx)
    .await?)
}

const ENTRY_COLUMNS: &str =
    "dictionary_code, code, display, sort_order, active, version, created_at, updated_at";

#[derive(FromRow)]
struct EntryRow {
    dictionary_code: String,
    code: String,
    display: String,
    sort_order: i32,
    active: bool,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<EntryRow> for DictionaryEntry {
    type Error = Error;

    fn try_from(row: EntryRow) -> Result<Self> {
        Ok(DictionaryEntry {
            dictionary_code: code(&row.dictionary_code, "dictionary code")?,
            code: code(&row.code, "entry code")?,
            display: name(&row.display, "entry display")?,
            sort_order: row.sort_order,
            active: row.active,
            version: Version::from_db(row.version),
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

pub async fn insert_entry(tx: &mut TenantTx, entry: &DictionaryEntry) -> Result<()> {
    sqlx::query(
        "INSERT INTO core.dictionary_entries (tenant_id, dictionary_code, code, display, \
         sort_order, active, version, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(entry.dictionary_code.as_str())
    .bind(entry.code.as_str())
    .bind(entry.display.as_str())
    .bind(entry.sort_order)
    .bind(entry.active)
    .bind(entry.version.get())
    .bind(entry.created_at)
    .bind(entry.updated_at)
    .execute(&mut **tx)
    .await
    .map_err(|error| {
        Error::duplicate(
            error,
            &format!(
                "dictionary {} already has an entry {}",
                entry.dictionary_code, entry.code
            ),
        )
    })?;
    Ok(())
}

pub async fn get_entry(
    tx: &mut TenantTx,
    dictionary_code: &Code,
    entry_code: &Code,
    lock: Lock,
) -> Result<DictionaryEntry> {
    let sql = format!(
        "SELECT {ENTRY_COLUMNS} FROM core.dictionary_entries \
         WHERE tenant_id = $1 AND dictionary_code = $2 AND code = $3{}",
        lock.clause()
    );
    let row: Option<EntryRow> = sqlx::query_as(AssertSqlSafe(sql))
        .bind(tx.tenant_id().as_uuid())
        .bind(dictionary_code.as_str())
        .bind(entry_code.as_str())
        .fetch_optional(&mut **tx)
        .await?;
    row.ok_or_else(|| {
        not_found(
            "dictionary entry",
            format!("{dictionary_code}/{entry_code}"),
        )
    })?
    .try_into()
}

/// Entries in pick-list order (sort_order, code), after `after` when given.
pub async fn list_entries(
    tx: &mut TenantTx,
    dictionary_code: &Code,
    include_inactive: bool,
    after: Option<(i32, &str)>,
    limit: i64,
) -> Result<Vec<DictionaryEntry>> {
    let sql = format!(
        "SELECT {ENTRY_COLUMNS} FROM core.dictionary_entries \
         WHERE tenant_id = $1 AND dictionary_code = $2 AND ($3 OR active) \
           AND ($4::int IS NULL OR (sort_order, code) > ($4, $5)) \
         ORDER BY sort_order, code LIMIT $6"
    );
    let rows: Vec<EntryRow> = sqlx::query_as(AssertSqlSafe(sql))
        .bind(tx.tenant_id().as_uuid())
        .bind(dictionary_code.as_str())
        .bind(include_inactive)
        .bind(after.map(|(sort_order, _)| sort_order))
        .bind(after.map(|(_, code)| code))
        .bind(limit)
        .fetch_all(&mut **tx)
        .await?;
    rows.into_iter().map(DictionaryEntry::try_from).collect()
}

pub async fn update_entry(tx: &mut TenantTx, entry: &mut DictionaryEntry) -> Result<()> {
    let version: i64 = sqlx::query_scalar(
        "UPDATE core.dictionary_entries SET display = $4, sort_order = $5, active = $6, \
         updated_at = $7, version = version + 1 \
         WHERE tenant_id = $1 AND dictionary_code = $2 AND code = $3 RETURNING version",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(entry.dictionary_code.as_str())
    .bind(entry.code.as_str())
    .bind(entry.display.as_str())
    .bind(entry.sort_order)
    .bind(entry.active)
    .bind(entry.updated_at)
    .fetch_one(&mut **tx)
    .await?;
    entry.version = Version::from_db(version);
    Ok(())
}
