//! The only SQL of the archive, to the `documents` schema only. Every function takes the
//! caller's tenant transaction (row-level security keeps it to that tenant), except the
//! verify command's listing of every version, which works across tenants as the worker.

use chrono::{DateTime, NaiveDate, Utc};
use hmis_platform::{TenantId, TenantTx};
use sqlx::{FromRow, PgPool};
use uuid::Uuid;

use crate::domain::{Printout, SignerKind};
use crate::error::{Error, Result};

#[derive(Debug, Clone, FromRow)]
pub struct KindRow {
    pub code: String,
    pub name: String,
    pub retention_years: i32,
    pub content_types: Vec<String>,
    pub max_size_bytes: i64,
}

/// Stores the kind, replacing the tenant's settings when it exists.
pub async fn upsert_kind(tx: &mut TenantTx, kind: &KindRow) -> Result<()> {
    insert_kind(
        tx,
        kind,
        "DO UPDATE SET name = EXCLUDED.name, retention_years = EXCLUDED.retention_years, \
         content_types = EXCLUDED.content_types, max_size_bytes = EXCLUDED.max_size_bytes",
    )
    .await
}

/// Makes sure the kind exists, keeping the tenant's settings when it does.
pub async fn ensure_kind(tx: &mut TenantTx, kind: &KindRow) -> Result<()> {
    insert_kind(tx, kind, "DO NOTHING").await
}

/// Inserts the kind; `on_conflict` (a constant) says what an existing one becomes.
async fn insert_kind(tx: &mut TenantTx, kind: &KindRow, on_conflict: &'static str) -> Result<()> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO documents.kinds (tenant_id, code, name, retention_years, content_types, \
         max_size_bytes) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, code) \
         {on_conflict}"
    )))
    .bind(tx.tenant_id().as_uuid())
    .bind(&kind.code)
    .bind(&kind.name)
    .bind(kind.retention_years)
    .bind(&kind.content_types)
    .bind(kind.max_size_bytes)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn list_kinds(tx: &mut TenantTx) -> Result<Vec<KindRow>> {
    Ok(sqlx::query_as(
        "SELECT code, name, retention_years, content_types, max_size_bytes \
         FROM documents.kinds ORDER BY code",
    )
    .fetch_all(&mut **tx)
    .await?)
}

pub async fn get_kind(tx: &mut TenantTx, code: &str) -> Result<KindRow> {
    sqlx::query_as(
        "SELECT code, name, retention_years, content_types, max_size_bytes \
         FROM documents.kinds WHERE code = $1",
    )
    .bind(code)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or_else(|| Error::invalid("kind_code", "is not a kind of document of the archive"))
}

#[derive(Debug, Clone, FromRow)]
pub struct DocumentRow {
    pub id: Uuid,
    pub kind_code: String,
    /// None for a facility's document (a ward's medication order, Form 16).
    pub patient_id: Option<Uuid>,
    pub facility_id: Uuid,
    pub department_id: Option<Uuid>,
    pub admission_id: Option<Uuid>,
    pub encounter_id: Option<Uuid>,
    pub title: String,
    pub current_version: i32,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub retain_until: NaiveDate,
    pub legal_hold: bool,
    pub legal_hold_reason: String,
    pub deleted_at: Option<DateTime<Utc>>,
    pub deleted_by: Option<Uuid>,
    pub delete_reason: String,
    /// What the hospital printed, for a document it issued.
    pub printout: Option<Printout>,
    pub source_id: String,
}

const DOCUMENT_COLUMNS: &str = "id, kind_code, patient_id, facility_id, department_id, \
     admission_id, encounter_id, title, current_version, created_by, created_at, retain_until, \
     legal_hold, legal_hold_reason, deleted_at, deleted_by, delete_reason, printout, source_id";

pub async fn insert_document(tx: &mut TenantTx, document: &DocumentRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO documents.documents (tenant_id, id, kind_code, patient_id, facility_id, \
         department_id, admission_id, encounter_id, title, current_version, created_by, \
         created_at, retain_until, printout, source_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(document.id)
    .bind(&document.kind_code)
    .bind(document.patient_id)
    .bind(document.facility_id)
    .bind(document.department_id)
    .bind(document.admission_id)
    .bind(document.encounter_id)
    .bind(&document.title)
    .bind(document.current_version)
    .bind(document.created_by)
    .bind(document.created_at)
    .bind(document.retain_until)
    .bind(document.printout)
    .bind(&document.source_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The document, locked for a change when `lock`.
pub async fn get_document(tx: &mut TenantTx, id: Uuid, lock: bool) -> Result<DocumentRow> {
    let lock = if lock { " FOR UPDATE" } else { "" };
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {DOCUMENT_COLUMNS} FROM documents.documents WHERE id = $1{lock}"
    )))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(Error::NotFound("document"))
}

pub async fn patient_documents(tx: &mut TenantTx, patient_id: Uuid) -> Result<Vec<DocumentRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {DOCUMENT_COLUMNS} FROM documents.documents WHERE patient_id = $1 \
         ORDER BY created_at DESC, id DESC LIMIT 500"
    )))
    .bind(patient_id)
    .fetch_all(&mut **tx)
    .await?)
}

/// The document's version moves on (a replacement's content is stored).
pub async fn set_current_version(tx: &mut TenantTx, id: Uuid, version: i32) -> Result<()> {
    sqlx::query("UPDATE documents.documents SET current_version = $2 WHERE id = $1")
        .bind(id)
        .bind(version)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub async fn set_hold(tx: &mut TenantTx, id: Uuid, hold: bool, reason: &str) -> Result<()> {
    sqlx::query(
        "UPDATE documents.documents SET legal_hold = $2, legal_hold_reason = $3 WHERE id = $1",
    )
    .bind(id)
    .bind(hold)
    .bind(reason)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Marks the document deleted (the database refuses it before its retention ends or while a
/// hold is on it), then deletes its content.
pub async fn delete_document(
    tx: &mut TenantTx,
    id: Uuid,
    (by, at, reason): (Uuid, DateTime<Utc>, &str),
) -> Result<()> {
    sqlx::query(
        "UPDATE documents.documents SET deleted_at = $2, deleted_by = $3, delete_reason = $4 \
         WHERE id = $1",
    )
    .bind(id)
    .bind(at)
    .bind(by)
    .bind(reason)
    .execute(&mut **tx)
    .await?;
    sqlx::query("DELETE FROM documents.chunks WHERE document_id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

#[derive(Debug, Clone, FromRow)]
pub struct VersionRow {
    pub document_id: Uuid,
    pub number: i32,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub chunks: i32,
    pub file_name: String,
    pub added_by: Uuid,
    pub added_at: DateTime<Utc>,
    /// Where the content is in the object store; none when it is in `documents.chunks`.
    pub object_key: Option<String>,
}

const VERSION_COLUMNS: &str = "document_id, number, content_type, size_bytes, sha256, chunks, \
     file_name, added_by, added_at, object_key";

pub async fn insert_version(tx: &mut TenantTx, version: &VersionRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO documents.versions (tenant_id, document_id, number, content_type, \
         size_bytes, sha256, chunks, file_name, added_by, added_at, object_key) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(version.document_id)
    .bind(version.number)
    .bind(&version.content_type)
    .bind(version.size_bytes)
    .bind(&version.sha256)
    .bind(version.chunks)
    .bind(&version.file_name)
    .bind(version.added_by)
    .bind(version.added_at)
    .bind(&version.object_key)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The versions of the documents, oldest first.
pub async fn versions_of(tx: &mut TenantTx, document_ids: &[Uuid]) -> Result<Vec<VersionRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {VERSION_COLUMNS} FROM documents.versions WHERE document_id = ANY($1) \
         ORDER BY document_id, number"
    )))
    .bind(document_ids)
    .fetch_all(&mut **tx)
    .await?)
}

/// Stores one chunk of a version's content (checked against its version at commit).
pub async fn insert_chunk(
    tx: &mut TenantTx,
    (document_id, version, seq): (Uuid, i32, i32),
    bytes: &[u8],
) -> Result<()> {
    sqlx::query(
        "INSERT INTO documents.chunks (tenant_id, document_id, version, seq, bytes) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(document_id)
    .bind(version)
    .bind(seq)
    .bind(bytes)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// One chunk of a version's content; none past its last chunk (or when it is missing).
pub async fn chunk(
    tx: &mut TenantTx,
    (document_id, version, seq): (Uuid, i32, i32),
) -> Result<Option<Vec<u8>>> {
    Ok(sqlx::query_scalar(
        "SELECT bytes FROM documents.chunks WHERE document_id = $1 AND version = $2 AND seq = $3",
    )
    .bind(document_id)
    .bind(version)
    .bind(seq)
    .fetch_optional(&mut **tx)
    .await?)
}

/// Every version of every tenant, for the verify command (no content).
pub async fn all_versions(worker_pool: &PgPool) -> Result<Vec<(TenantId, VersionRow)>> {
    #[derive(FromRow)]
    struct Listed {
        tenant_id: Uuid,
        #[sqlx(flatten)]
        version: VersionRow,
    }
    let listed: Vec<Listed> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT tenant_id, {VERSION_COLUMNS} FROM documents.versions \
         ORDER BY tenant_id, document_id, number"
    )))
    .fetch_all(worker_pool)
    .await?;
    Ok(listed
        .into_iter()
        .map(|listed| (TenantId::new(listed.tenant_id), listed.version))
        .collect())
}

#[derive(Debug, Clone, FromRow)]
pub struct SignatureRow {
    pub document_id: Uuid,
    pub version: i32,
    pub signer_kind: SignerKind,
    pub signer_id: Uuid,
    pub signer_name: String,
    pub sha256: String,
    pub signed_at: DateTime<Utc>,
    pub public_key: Vec<u8>,
    pub signature: Vec<u8>,
    /// The deployment secret's key id; empty for signatures made before key ids.
    pub key_id: String,
}

pub async fn insert_signature(tx: &mut TenantTx, signature: &SignatureRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO documents.signatures (tenant_id, document_id, version, signer_kind, \
         signer_id, signer_name, sha256, signed_at, public_key, signature, key_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(signature.document_id)
    .bind(signature.version)
    .bind(signature.signer_kind)
    .bind(signature.signer_id)
    .bind(&signature.signer_name)
    .bind(&signature.sha256)
    .bind(signature.signed_at)
    .bind(&signature.public_key)
    .bind(&signature.signature)
    .bind(&signature.key_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The signatures of the documents, by document, version, then the clinician's first.
pub async fn signatures_of(tx: &mut TenantTx, document_ids: &[Uuid]) -> Result<Vec<SignatureRow>> {
    Ok(sqlx::query_as(
        "SELECT document_id, version, signer_kind, signer_id, signer_name, sha256, signed_at, \
         public_key, signature, key_id FROM documents.signatures WHERE document_id = ANY($1) \
         ORDER BY document_id, version, signer_kind",
    )
    .bind(document_ids)
    .fetch_all(&mut **tx)
    .await?)
}
