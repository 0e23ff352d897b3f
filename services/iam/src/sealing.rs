//! Signing keys at rest: sealed (AES-256-GCM) with a key the database never sees, taken from
//! the options or a secret file. The sealed bytes are bound to the key's id and public key, so
//! a row someone wrote with SQL (a key of their own, or a sealed key copied under another
//! public key) does not open and is not trusted.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};

use crate::error::{Error, Result};
use crate::options::IamOptions;

const KEY_LEN: usize = 32;

/// Seals and opens signing keys with the deployment's key-encryption key.
pub struct Sealer {
    key: LessSafeKey,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(***)")
    }
}

fn config_error(what: impl std::fmt::Display) -> Error {
    Error::Crypto(format!("the signing-key secret: {what}"))
}

fn decode(text: &str) -> Result<[u8; KEY_LEN]> {
    let bytes = STANDARD
        .decode(text.trim())
        .map_err(|_| config_error("is not base64"))?;
    bytes
        .try_into()
        .map_err(|_| config_error(format!("must be {KEY_LEN} bytes")))
}

/// Reads the secret file, or creates it with a new random key when it does not exist.
fn read_or_create(path: &Path) -> Result<[u8; KEY_LEN]> {
    match fs::read_to_string(path) {
        Ok(text) => return decode(&text),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return Err(config_error(format!("{}: {error}", path.display()))),
    }
    if let Some(folder) = path
        .parent()
        .filter(|folder| !folder.as_os_str().is_empty())
    {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(folder)
            .map_err(|error| config_error(format!("{}: {error}", folder.display())))?;
    }
    let mut key = [0_u8; KEY_LEN];
    getrandom::fill(&mut key).map_err(|error| Error::Crypto(error.to_string()))?;
    let created = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path);
    match created {
        Ok(mut file) => {
            file.write_all(format!("{}\n", STANDARD.encode(key)).as_bytes())
                .and_then(|()| file.sync_all())
                .map_err(|error| config_error(format!("{}: {error}", path.display())))?;
            tracing::info!(path = %path.display(), "created the signing-key secret");
            Ok(key)
        }
        // Another process created it first: use theirs.
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
            decode(&fs::read_to_string(path).map_err(config_error)?)
        }
        Err(error) => Err(config_error(format!("{}: {error}", path.display()))),
    }
}

/// What the sealed bytes are bound to: the key's id and its public key.
fn binding(kid: &str, public_key: &[u8]) -> Vec<u8> {
    let mut aad = b"openhmis signing key\0".to_vec();
    aad.extend_from_slice(kid.as_bytes());
    aad.push(0);
    aad.extend_from_slice(public_key);
    aad
}

impl Sealer {
    /// The deployment's sealer: the configured secret, else the secret file (created at the
    /// first start).
    pub fn from_options(options: &IamOptions) -> Result<Self> {
        let key = match &options.signing_key_secret {
            Some(secret) => decode(secret.expose())?,
            None => read_or_create(&options.signing_key_secret_file)?,
        };
        Ok(Self::new(&key))
    }

    pub fn new(key: &[u8; KEY_LEN]) -> Self {
        let key = UnboundKey::new(&AES_256_GCM, key)
            .unwrap_or_else(|_| unreachable!("a 32-byte key is an AES-256 key"));
        Self {
            key: LessSafeKey::new(key),
        }
    }

    /// `private_key` sealed: a random nonce, then the ciphertext and its tag.
    pub fn seal(&self, kid: &str, public_key: &[u8], private_key: &[u8]) -> Result<Vec<u8>> {
        let mut nonce = [0_u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|error| Error::Crypto(error.to_string()))?;
        let mut sealed = private_key.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(binding(kid, public_key)),
                &mut sealed,
            )
            .map_err(|_| Error::Crypto("sealing a signing key failed".to_owned()))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// The private key, if `sealed` was sealed by this deployment for this id and public key.
    pub fn open(&self, kid: &str, public_key: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < NONCE_LEN {
            return None;
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut buffer = ciphertext.to_vec();
        let opened = self
            .key
            .open_in_place(nonce, Aad::from(binding(kid, public_key)), &mut buffer)
            .ok()?;
        Some(opened.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_key_opens_only_under_its_own_id_and_public_key() {
        let sealer = Sealer::new(&[7; KEY_LEN]);
        let sealed = sealer.seal("k-1", b"public", b"private").expect("seal");
        assert_eq!(
            sealer.open("k-1", b"public", &sealed).as_deref(),
            Some(&b"private"[..])
        );
        assert!(sealer.open("k-2", b"public", &sealed).is_none());
        assert!(sealer.open("k-1", b"another", &sealed).is_none());
        assert!(
            Sealer::new(&[8; KEY_LEN])
                .open("k-1", b"public", &sealed)
                .is_none()
        );
        assert!(sealer.open("k-1", b"public", b"private").is_none());
    }

    #[test]
    fn the_secret_file_is_created_once_private_and_read_back() {
        let folder = std::env::temp_dir().join(format!("hmis-sealing-{}", std::process::id()));
        let path = folder.join("secrets").join("token-signing.key");
        let first = read_or_create(&path).expect("create");
        assert_eq!(read_or_create(&path).expect("read"), first);
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(&path).expect("metadata").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        fs::remove_dir_all(&folder).expect("clean up");
    }
}
