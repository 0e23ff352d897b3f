//! The hospital's signature on what it reports: Ed25519 over the exact bytes of the document
//! sent. The institute holds the public key under its key id and checks each submission
//! against it, so a document altered on the way (or forged) is refused there.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::pkcs8::DecodePrivateKey;
use ed25519_dalek::pkcs8::EncodePublicKey;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::{Signer as _, SigningKey};
use sha2::{Digest, Sha256};

/// Why the signing key could not be loaded; says which file, never what is in it.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read the signing key file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("the signing key file {path} is not an Ed25519 PKCS#8 PEM private key")]
    Format { path: String },
}

/// The signing key and the id the institute knows its public half by.
pub struct Signer {
    key: SigningKey,
    key_id: String,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl Signer {
    pub fn new(key: SigningKey) -> Self {
        let digest = Sha256::digest(key.verifying_key().as_bytes());
        let key_id = hex::encode(&digest[..8]);
        Self { key, key_id }
    }

    pub fn from_pem_file(path: &Path) -> Result<Self, KeyError> {
        let shown = path.display().to_string();
        let pem = std::fs::read_to_string(path).map_err(|source| KeyError::Read {
            path: shown.clone(),
            source,
        })?;
        let key = SigningKey::from_pkcs8_pem(&pem).map_err(|_| KeyError::Format { path: shown })?;
        Ok(Self::new(key))
    }

    /// Hex of the first 8 bytes of the public key's SHA-256.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The public key as the institute registers it (SPKI PEM).
    pub fn public_key_pem(&self) -> String {
        self.key
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap_or_default()
    }

    /// The 64-byte signature of `document`.
    pub fn sign(&self, document: &[u8]) -> Vec<u8> {
        self.key.sign(document).to_bytes().to_vec()
    }
}

pub fn base64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::{Signature, Verifier};

    use super::*;

    #[test]
    fn a_signature_verifies_and_an_altered_document_does_not() {
        let signer = Signer::new(SigningKey::from_bytes(&[7; 32]));
        let signature = Signature::from_slice(&signer.sign(b"{\"a\":1}")).expect("64 bytes");
        let public = signer.key.verifying_key();
        assert!(public.verify(b"{\"a\":1}", &signature).is_ok());
        assert!(public.verify(b"{\"a\":2}", &signature).is_err());
        assert_eq!(signer.key_id().len(), 16);
        assert!(
            signer
                .public_key_pem()
                .starts_with("-----BEGIN PUBLIC KEY-----")
        );
        assert!(!format!("{signer:?}").contains("key:"));
    }
}
