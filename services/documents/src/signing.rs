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
//!
//! Each signature names the deployment secret it came from by a fingerprint (its key id), so
//! the secret can be rotated: earlier secrets, kept to verify with, still verify what they
//! signed.

use chrono::{DateTime, SecondsFormat, Utc};
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _};
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

/// A signature made: the signer's public key, the signature over the statement, and the
/// key id of the deployment secret it was derived from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    pub public_key: [u8; 32],
    pub signature: [u8; 64],
    pub key_id: String,
}

/// The fingerprint of a deployment secret (16 hex digits), which tells nothing of it.
fn key_id(secret: &[u8; 32]) -> String {
    let (_, sha256) = crate::domain::digest([
        b"openhmis document signing key id v1\n".as_slice(),
        secret.as_slice(),
    ]);
    sha256[..16].to_owned()
}

/// The deployment's signer: the secret it signs with and the earlier ones it still verifies
/// with; `Debug` shows nothing of them.
pub struct Signer {
    secret: [u8; 32],
    earlier: Vec<[u8; 32]>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer(***)")
    }
}

impl Signer {
    #[cfg(test)]
    pub fn new(secret: [u8; 32]) -> Self {
        Self {
            secret,
            earlier: Vec::new(),
        }
    }

    /// The signer, also verifying what the `earlier` secrets signed (a rotation).
    pub fn with_earlier(secret: [u8; 32], earlier: Vec<[u8; 32]>) -> Self {
        Self { secret, earlier }
    }

    fn key(&self, tenant: Uuid, kind: SignerKind, signer: Uuid) -> SigningKey {
        derived(&self.secret, tenant, kind, signer)
    }
}

/// The signer's key in `tenant`, derived from a deployment secret.
fn derived(secret: &[u8; 32], tenant: Uuid, kind: SignerKind, signer: Uuid) -> SigningKey {
    let hkdf = Hkdf::<Sha256>::new(Some(tenant.as_bytes()), secret);
    let info = format!("openhmis document signing v1 {}:{signer}", kind.as_db());
    let mut seed = [0_u8; 32];
    // 32 bytes are far below HKDF-SHA256's limit of 255 hashes.
    let _ = hkdf.expand(info.as_bytes(), &mut seed);
    SigningKey::from_bytes(&seed)
}

impl Signer {
    pub fn sign(&self, tenant: Uuid, statement: &Statement) -> Signed {
        let key = self.key(tenant, statement.signer_kind, statement.signer_id);
        Signed {
            public_key: key.verifying_key().to_bytes(),
            signature: key.sign(statement.text().as_bytes()).to_bytes(),
            key_id: key_id(&self.secret),
        }
    }

    /// Whether `signature` is the signer's, in `tenant`, over `statement`, under the secret
    /// `key_id` names (the current one or an earlier one; any of them for a signature made
    /// before key ids, `""`). The key is derived again, the stored one not trusted.
    pub fn verify(
        &self,
        tenant: Uuid,
        statement: &Statement,
        (signature, signed_with): (&[u8], &str),
    ) -> bool {
        let Ok(signature) = Signature::from_slice(signature) else {
            return false;
        };
        std::iter::once(&self.secret)
            .chain(&self.earlier)
            .filter(|secret| signed_with.is_empty() || key_id(secret) == signed_with)
            .any(|secret| {
                derived(secret, tenant, statement.signer_kind, statement.signer_id)
                    .verifying_key()
                    .verify(statement.text().as_bytes(), &signature)
                    .is_ok()
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::VerifyingKey;

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
        let verify = |signer: &Signer, tenant, statement: &Statement, signature: &[u8]| {
            signer.verify(tenant, statement, (signature, signed.key_id.as_str()))
        };
        assert!(verify(&signer, tenant, &statement(), &signed.signature));
        let altered = Statement {
            sha256: "cd".repeat(32),
            ..statement()
        };
        assert!(!verify(&signer, tenant, &altered, &signed.signature));
        let other_signer = Statement {
            signer_id: Uuid::from_u128(3),
            ..statement()
        };
        assert!(!verify(&signer, tenant, &other_signer, &signed.signature));
        assert!(!verify(
            &signer,
            Uuid::from_u128(8),
            &statement(),
            &signed.signature
        ));
        assert!(!verify(
            &Signer::new([6; 32]),
            tenant,
            &statement(),
            &signed.signature
        ));
        assert!(!verify(&signer, tenant, &statement(), b"short"));
    }

    #[test]
    fn a_rotated_secret_still_verifies_what_it_signed() {
        let tenant = Uuid::from_u128(9);
        let before = Signer::new([5; 32]).sign(tenant, &statement());
        let rotated = Signer::with_earlier([6; 32], vec![[5; 32]]);
        let after = rotated.sign(tenant, &statement());
        assert_ne!(before.key_id, after.key_id, "each secret has its key id");
        assert_eq!(before.key_id.len(), 16);
        for signed in [&before, &after] {
            let with = (signed.signature.as_slice(), signed.key_id.as_str());
            assert!(rotated.verify(tenant, &statement(), with));
        }
        // Without the earlier secret, what it signed no longer verifies.
        let forgot = Signer::new([6; 32]);
        let with = (before.signature.as_slice(), before.key_id.as_str());
        assert!(!forgot.verify(tenant, &statement(), with));
        // A signature from before key ids is tried against every secret.
        assert!(rotated.verify(tenant, &statement(), (&before.signature, "")));
        // A key id names one secret: another's signature under it does not verify.
        assert!(!rotated.verify(tenant, &statement(), (&before.signature, &after.key_id)));
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
