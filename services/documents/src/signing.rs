//! Signatures of issued documents: detached Ed25519 signatures, one by the issuing clinician
//! and one by the facility, each over a statement that names the document, its version and
//! its content's SHA-256 ([`Statement::text`], the text the contract documents, so anyone
//! with the public key checks it without us).
//!
//! The keys are the tenant's: derived (HKDF-SHA256) from the deployment's signing secret,
//! which lives outside the database, salted with the tenant and bound to the signer. Nothing
//! private is stored; a signature's public key is kept beside it for outside verifiers, and
//! our own verification derives the key again rather than trusting the stored one (a row
//! written with SQL under a key of its own does not verify).

use chrono::{DateTime, SecondsFormat, Utc};
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use hkdf::Hkdf;
use sha2::Sha256;
use uuid::Uuid;

use crate::domain::SignerKind;

/// What a signature says: this signer signed this content as this version of this document
/// at this time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub document_id: Uuid,
    pub version: i32,
    pub sha256: String,
    pub signer_kind: SignerKind,
    pub signer_id: Uuid,
    pub signed_at: DateTime<Utc>,
}

impl Statement {
    /// The signed bytes: `openhmis-signature-v1`, then the document id, the version, the
    /// content's SHA-256 (hex), `<signer kind>:<signer id>` and the time (RFC 3339, UTC,
    /// seconds), each on a line of its own.
    pub fn text(&self) -> String {
        format!(
            "openhmis-signature-v1\n{}\n{}\n{}\n{}:{}\n{}\n",
            self.document_id,
            self.version,
            self.sha256,
            self.signer_kind.as_db(),
            self.signer_id,
            self.signed_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        )
    }
}

/// A signature made: the signer's public key and the signature over the statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    pub public_key: [u8; 32],
    pub signature: [u8; 64],
}

/// The deployment's signer; `Debug` shows nothing of the secret.
pub struct Signer {
    secret: [u8; 32],
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer(***)")
    }
}

impl Signer {
    pub fn new(secret: [u8; 32]) -> Self {
        Self { secret }
    }

    fn key(&self, tenant: Uuid, kind: SignerKind, signer: Uuid) -> SigningKey {
        let hkdf = Hkdf::<Sha256>::new(Some(tenant.as_bytes()), &self.secret);
        let info = format!("openhmis document signing v1 {}:{signer}", kind.as_db());
        let mut seed = [0_u8; 32];
        // 32 bytes are far below HKDF-SHA256's limit of 255 hashes.
        let _ = hkdf.expand(info.as_bytes(), &mut seed);
        SigningKey::from_bytes(&seed)
    }

    /// The signer's public key in `tenant`.
    pub fn public_key(&self, tenant: Uuid, kind: SignerKind, signer: Uuid) -> [u8; 32] {
        self.key(tenant, kind, signer).verifying_key().to_bytes()
    }

    pub fn sign(&self, tenant: Uuid, statement: &Statement) -> Signed {
        let key = self.key(tenant, statement.signer_kind, statement.signer_id);
        Signed {
            public_key: key.verifying_key().to_bytes(),
            signature: key.sign(statement.text().as_bytes()).to_bytes(),
        }
    }

    /// Whether `signature` is the signer's, in `tenant`, over `statement` (the key derived
    /// again, the stored one not trusted).
    pub fn verify(&self, tenant: Uuid, statement: &Statement, signature: &[u8]) -> bool {
        let Ok(signature) = Signature::from_slice(signature) else {
            return false;
        };
        let key = self.public_key(tenant, statement.signer_kind, statement.signer_id);
        VerifyingKey::from_bytes(&key)
            .map(|key| key.verify(statement.text().as_bytes(), &signature).is_ok())
            .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statement() -> Statement {
        Statement {
            document_id: Uuid::from_u128(1),
            version: 1,
            sha256: "ab".repeat(32),
            signer_kind: SignerKind::Clinician,
            signer_id: Uuid::from_u128(2),
            signed_at: DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default(),
        }
    }

    #[test]
    fn a_signature_verifies_for_its_statement_only() {
        let signer = Signer::new([5; 32]);
        let tenant = Uuid::from_u128(9);
        let signed = signer.sign(tenant, &statement());
        assert!(signer.verify(tenant, &statement(), &signed.signature));
        let altered = Statement {
            sha256: "cd".repeat(32),
            ..statement()
        };
        assert!(!signer.verify(tenant, &altered, &signed.signature));
        let other_signer = Statement {
            signer_id: Uuid::from_u128(3),
            ..statement()
        };
        assert!(!signer.verify(tenant, &other_signer, &signed.signature));
        assert!(!signer.verify(Uuid::from_u128(8), &statement(), &signed.signature));
        assert!(!Signer::new([6; 32]).verify(tenant, &statement(), &signed.signature));
        assert!(!signer.verify(tenant, &statement(), b"short"));
    }

    #[test]
    fn the_public_key_checks_the_signature_outside_too() {
        let signer = Signer::new([5; 32]);
        let signed = signer.sign(Uuid::from_u128(9), &statement());
        let key = VerifyingKey::from_bytes(&signed.public_key).expect("a key");
        let signature = Signature::from_bytes(&signed.signature);
        assert!(
            key.verify(statement().text().as_bytes(), &signature)
                .is_ok()
        );
        assert!(
            statement().text().ends_with(
                "clinician:00000000-0000-0000-0000-000000000002\n2027-01-15T08:00:00Z\n"
            )
        );
    }
}
