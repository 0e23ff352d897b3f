//! Signing keys at rest: sealed (AES-256-GCM) with a key the database never sees, taken from
//! the options or a secret file. The sealed bytes are bound to the key's id and public key, so
//! a row someone wrote with SQL (a key of their own, or a sealed key copied under another
//! public key) does not open and is not trusted.

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};

use crate::error::{Error, Result};
use crate::options::IamOptions;

const KEY_LEN: usize = hmis_platform::secrets::KEY_LEN;

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
        let key = hmis_platform::secrets::deployment_key(
            options.signing_key_secret.as_ref(),
            &options.signing_key_secret_file,
        )
        .map_err(config_error)?;
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
}
