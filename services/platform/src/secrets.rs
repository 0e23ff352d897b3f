//! Keys the deployment holds outside the database (the IAM's key-encryption key, the archive's
//! signing secret): given in the options as base64, or kept in a file that the first start
//! creates with a random key (0600, in a 0700 folder). The application's database role never
//! reads them.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::config::Secret;

/// The length of a deployment key, in bytes.
pub const KEY_LEN: usize = 32;

/// Why a deployment key could not be had; the message names the file, never the key.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct KeyError(String);

fn decode(text: &str) -> Result<[u8; KEY_LEN], KeyError> {
    let bytes = STANDARD
        .decode(text.trim())
        .map_err(|_| KeyError("is not base64".to_owned()))?;
    bytes
        .try_into()
        .map_err(|_| KeyError(format!("must be {KEY_LEN} bytes")))
}

/// A deployment key given as base64 text (e.g. an earlier key kept to verify with).
pub fn given_key(secret: &Secret) -> Result<[u8; KEY_LEN], KeyError> {
    decode(secret.expose())
}

/// The key given in the options, else the one kept in `file` (created when it does not
/// exist; when two processes create it at once, both use the first one written).
pub fn deployment_key(given: Option<&Secret>, file: &Path) -> Result<[u8; KEY_LEN], KeyError> {
    match given {
        Some(secret) => decode(secret.expose()),
        None => read_or_create(file),
    }
}

fn read_or_create(path: &Path) -> Result<[u8; KEY_LEN], KeyError> {
    let failed = |error: &dyn std::fmt::Display| KeyError(format!("{}: {error}", path.display()));
    match fs::read_to_string(path) {
        Ok(text) => return decode(&text),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return Err(failed(&error)),
    }
    if let Some(folder) = path
        .parent()
        .filter(|folder| !folder.as_os_str().is_empty())
    {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(folder)
            .map_err(|error| KeyError(format!("{}: {error}", folder.display())))?;
    }
    let mut key = [0_u8; KEY_LEN];
    getrandom::fill(&mut key).map_err(|error| failed(&error))?;
    let created = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path);
    match created {
        Ok(mut file) => {
            file.write_all(format!("{}\n", STANDARD.encode(key)).as_bytes())
                .and_then(|()| file.sync_all())
                .map_err(|error| failed(&error))?;
            tracing::info!(path = %path.display(), "created a deployment key");
            Ok(key)
        }
        // Another process created it first: use theirs.
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
            decode(&fs::read_to_string(path).map_err(|error| failed(&error))?)
        }
        Err(error) => Err(failed(&error)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_file_is_created_once_private_and_read_back() {
        let folder = std::env::temp_dir().join(format!("hmis-secrets-{}", std::process::id()));
        let path = folder.join("secrets").join("some.key");
        let first = deployment_key(None, &path).expect("create");
        assert_eq!(deployment_key(None, &path).expect("read"), first);
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(&path).expect("metadata").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        fs::remove_dir_all(&folder).expect("clean up");
    }

    #[test]
    fn a_given_key_must_be_32_bytes_of_base64() {
        let nowhere = Path::new("/nonexistent/never.key");
        let given = Secret::new(STANDARD.encode([9_u8; KEY_LEN]));
        assert_eq!(
            deployment_key(Some(&given), nowhere).expect("given"),
            [9; KEY_LEN]
        );
        assert!(deployment_key(Some(&Secret::new("short")), nowhere).is_err());
        assert!(deployment_key(Some(&Secret::new(STANDARD.encode([1_u8; 8]))), nowhere).is_err());
    }
}
