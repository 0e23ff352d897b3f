//! Where versions' content is kept: in PostgreSQL (`documents.chunks`, the standalone
//! hospital's default) or in an object store (a directory, or an S3-compatible bucket) named
//! by `[documents] content_store`. Metadata always stays in the `documents` schema; a
//! version's row says where its content is (`object_key`), so versions stored before the
//! store was configured are still read from the database.
//!
//! Content is read back in parts of [`PART`] bytes whichever the store, so one part at a time
//! is in memory; a version's `chunks` counts its parts.

use std::ops::Range;
use std::sync::{Arc, Mutex, PoisonError};

use futures::StreamExt;
use hmis_platform::{TenantId, TenantTx};
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::{ObjectStore, ObjectStoreExt, WriteMultipart};
use uuid::Uuid;

use crate::domain::Rehash;
use crate::error::{Error, Result};
use crate::store;

/// The size of a stored part: a database chunk at most, an object read back in parts of it.
pub(crate) const PART: usize = 1024 * 1024;

/// Parts of an object uploaded at once (each [`OBJECT_PART`] bytes, held until sent).
const PARTS_IN_FLIGHT: usize = 2;

/// The size of a multipart upload's part (S3 asks at least 5 MiB but for the last).
const OBJECT_PART: usize = 5 * 1024 * 1024;

/// Where content is kept.
#[derive(Debug, Clone, Default)]
pub enum ContentStore {
    /// In `documents.chunks`.
    #[default]
    Database,
    /// In an object store, under `tenant/document/version.upload`.
    Objects(Arc<dyn ObjectStore>),
}

/// A configuration that does not give a usable store.
#[derive(Debug, thiserror::Error)]
#[error("[documents] content_store: {0}")]
pub struct StoreError(String);

impl ContentStore {
    /// The store `[documents] content_store` names (`file:///path` or
    /// `s3://bucket[/prefix]`), PostgreSQL when none. An S3 store takes its credentials from
    /// the environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, ...) and the rest from
    /// `content_store_options` (`endpoint`, `region`, `allow_http`, ... as object_store names
    /// them).
    pub fn open(options: &crate::DocumentsOptions) -> std::result::Result<Self, StoreError> {
        let url = options.content_store.as_deref();
        let options = &options.content_store_options;
        let Some(url) = url.map(str::trim).filter(|url| !url.is_empty()) else {
            return Ok(Self::Database);
        };
        if let Some(directory) = url.strip_prefix("file://") {
            std::fs::create_dir_all(directory)
                .map_err(|error| StoreError(format!("cannot create {directory}: {error}")))?;
            let store = LocalFileSystem::new_with_prefix(directory)
                .map_err(|error| StoreError(error.to_string()))?;
            return Ok(Self::Objects(Arc::new(store)));
        }
        if let Some(location) = url.strip_prefix("s3://") {
            // reqwest brings rustls without a provider: ring, as the rest of the process.
            let _ = rustls::crypto::ring::default_provider().install_default();
            let (bucket, prefix) = location.split_once('/').unwrap_or((location, ""));
            let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
            for (key, value) in options {
                let key: AmazonS3ConfigKey = key
                    .parse()
                    .map_err(|_| StoreError(format!("unknown option {key}")))?;
                builder = builder.with_config(key, value);
            }
            let store = builder
                .build()
                .map_err(|error| StoreError(error.to_string()))?;
            let prefix = prefix.trim_matches('/');
            return Ok(Self::Objects(if prefix.is_empty() {
                Arc::new(store)
            } else {
                Arc::new(PrefixStore::new(store, prefix))
            }));
        }
        Err(StoreError(
            "names no store: file:///a/directory or s3://bucket[/prefix]".to_owned(),
        ))
    }

    /// Starts storing a version's content.
    pub(crate) async fn writer(
        &self,
        tenant: TenantId,
        (document_id, number): (Uuid, i32),
    ) -> Result<Writer> {
        match self {
            Self::Database => Ok(Writer::Database {
                key: (document_id, number),
                parts: 0,
            }),
            Self::Objects(objects) => {
                let key = format!(
                    "{}/{document_id}/{number}.{}",
                    tenant.as_uuid(),
                    Uuid::now_v7()
                );
                let upload = objects
                    .put_multipart(&Path::from(key.as_str()))
                    .await
                    .map_err(unavailable)?;
                Ok(Writer::Object {
                    key,
                    upload: WriteMultipart::new_with_chunk_size(upload, OBJECT_PART),
                    size: 0,
                })
            }
        }
    }

    /// One part of a stored version's content; none past its end or when it is missing.
    pub(crate) async fn part(
        &self,
        tx: &mut TenantTx,
        version: &store::VersionRow,
        seq: i32,
    ) -> Result<Option<Vec<u8>>> {
        match (&version.object_key, self) {
            (None, _) => store::chunk(tx, (version.document_id, version.number, seq)).await,
            (Some(key), Self::Objects(objects)) => {
                let Some(range) = part_range(version.size_bytes, seq) else {
                    return Ok(None);
                };
                match objects.get_range(&Path::from(key.as_str()), range).await {
                    Ok(bytes) => Ok(Some(bytes.to_vec())),
                    Err(object_store::Error::NotFound { .. }) => Ok(None),
                    Err(error) => Err(unavailable(error)),
                }
            }
            (Some(_), Self::Database) => Err(Error::Unavailable(
                "the content is in an object store this process is not configured with".to_owned(),
            )),
        }
    }

    /// The size and SHA-256 (hex) of a stored version's content read back part by part; none
    /// when a part is missing.
    pub(crate) async fn rehash(
        &self,
        tx: &mut TenantTx,
        version: &store::VersionRow,
    ) -> Result<Option<(u64, String)>> {
        let mut rehash = Rehash::default();
        for seq in 0..version.chunks {
            match self.part(tx, version, seq).await? {
                Some(bytes) => rehash.update(&bytes),
                None => return Ok(None),
            }
        }
        Ok(Some(rehash.finish()))
    }

    /// Whether an object's content is longer than its version says (a database version's
    /// extra chunk is found by [`Self::part`] past its last).
    pub(crate) async fn longer_than_stored(&self, version: &store::VersionRow) -> Result<bool> {
        match (&version.object_key, self) {
            (Some(key), Self::Objects(objects)) => {
                match objects.head(&Path::from(key.as_str())).await {
                    Ok(meta) => Ok(i64::try_from(meta.size) != Ok(version.size_bytes)),
                    Err(object_store::Error::NotFound { .. }) => Ok(false),
                    Err(error) => Err(unavailable(error)),
                }
            }
            _ => Ok(false),
        }
    }

    /// Removes objects whose versions' documents were deleted (after the deletion committed;
    /// a failure is logged and left for the verify command to name).
    pub(crate) async fn remove(&self, keys: &[String]) {
        let Self::Objects(objects) = self else {
            return;
        };
        for key in keys {
            if let Err(error) = objects.delete(&Path::from(key.as_str())).await {
                tracing::warn!(object = %key, error = %error, "a deleted document's content stayed");
            }
        }
    }

    /// Every object's key, for the verify command (none when content is in PostgreSQL).
    pub(crate) async fn keys(&self) -> Result<Vec<String>> {
        let Self::Objects(objects) = self else {
            return Ok(Vec::new());
        };
        let mut listed = objects.list(None);
        let mut keys = Vec::new();
        while let Some(meta) = listed.next().await {
            keys.push(meta.map_err(unavailable)?.location.to_string());
        }
        Ok(keys)
    }
}

/// The bytes of part `seq` of a content of `size` bytes.
fn part_range(size: i64, seq: i32) -> Option<Range<u64>> {
    let size = u64::try_from(size).ok()?;
    let start = u64::try_from(seq).ok()? * PART as u64;
    (start < size).then(|| start..size.min(start + PART as u64))
}

/// How many parts a content of `size` bytes is read back in.
pub(crate) fn parts(size: u64) -> i32 {
    i32::try_from(size.div_ceil(PART as u64).max(1)).unwrap_or(i32::MAX)
}

fn unavailable(error: object_store::Error) -> Error {
    tracing::error!(error = %error, "the document store failed");
    Error::Unavailable("the document store did not answer; try again".to_owned())
}

/// The object a call completed, removed again when the call does not commit (the object is
/// completed before the transaction that names it commits).
#[derive(Debug, Default)]
pub(crate) struct Written(Mutex<Option<String>>);

impl Written {
    pub(crate) fn note(&self, stored: &Stored) {
        if let Some(key) = &stored.object_key {
            *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(key.clone());
        }
    }

    /// The call's answer, once an object it wrote is removed if it failed.
    pub(crate) async fn settle<T>(self, content: &ContentStore, answer: Result<T>) -> Result<T> {
        if answer.is_err()
            && let Some(key) = self.0.into_inner().unwrap_or_else(PoisonError::into_inner)
        {
            content.remove(&[key]).await;
        }
        answer
    }
}

/// A version's content being stored.
pub(crate) enum Writer {
    Database {
        key: (Uuid, i32),
        parts: i32,
    },
    Object {
        key: String,
        upload: WriteMultipart,
        size: u64,
    },
}

/// Where a version's stored content is, and in how many parts it reads back.
#[derive(Debug, Clone)]
pub(crate) struct Stored {
    pub object_key: Option<String>,
    pub parts: i32,
}

impl Writer {
    /// Stores the next bytes (at most [`PART`]) of the content.
    pub(crate) async fn write(&mut self, tx: &mut TenantTx, bytes: &[u8]) -> Result<()> {
        match self {
            Self::Database { key, parts } => {
                store::insert_chunk(tx, (key.0, key.1, *parts), bytes).await?;
                *parts += 1;
            }
            Self::Object { upload, size, .. } => {
                upload
                    .wait_for_capacity(PARTS_IN_FLIGHT)
                    .await
                    .map_err(unavailable)?;
                upload.write(bytes);
                *size += bytes.len() as u64;
            }
        }
        Ok(())
    }

    /// The content ended whole: an object is completed (a database's chunks commit with the
    /// call's transaction).
    pub(crate) async fn finish(self) -> Result<Stored> {
        match self {
            Self::Database { parts, .. } => Ok(Stored {
                object_key: None,
                parts,
            }),
            Self::Object { key, upload, size } => {
                upload.finish().await.map_err(unavailable)?;
                Ok(Stored {
                    object_key: Some(key),
                    parts: parts(size),
                })
            }
        }
    }

    /// The content did not end whole: an object's parts are dropped.
    pub(crate) async fn abort(self) {
        if let Self::Object { key, upload, .. } = self
            && let Err(error) = upload.abort().await
        {
            tracing::warn!(object = %key, error = %error, "an interrupted upload's parts stayed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_cover_the_content_once() {
        let size = 3 * PART as i64 + 10;
        assert_eq!(parts(size as u64), 4);
        assert_eq!(part_range(size, 0), Some(0..PART as u64));
        assert_eq!(
            part_range(size, 3),
            Some(3 * PART as u64..3 * PART as u64 + 10)
        );
        assert_eq!(part_range(size, 4), None);
        assert_eq!(parts(0), 1);
        assert_eq!(part_range(0, 0), None);
    }
}
