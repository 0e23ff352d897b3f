//! Password and secret hashing (argon2id, with the crate's recommended parameters) and the
//! random material of refresh tokens and service-account secrets. Hashing is deliberately
//! slow, so it runs on the blocking pool, never on the async workers.

use std::sync::OnceLock;

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

pub fn random_token(bytes: usize) -> Result<String> {
    let mut buffer = vec![0_u8; bytes];
    getrandom::fill(&mut buffer).map_err(|error| Error::Crypto(error.to_string()))?;
    Ok(URL_SAFE_NO_PAD.encode(buffer))
}

pub fn sha256(value: &str) -> Vec<u8> {
    Sha256::digest(value.as_bytes()).to_vec()
}

pub async fn hash(secret: String) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(secret.as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|error| Error::Crypto(error.to_string()))
    })
    .await
    .map_err(|error| Error::Crypto(error.to_string()))?
}

/// Whether `secret` matches `stored`. With no stored hash (unknown user) a dummy hash is
/// checked anyway, so a wrong user name costs as long as a wrong password.
pub async fn verify(secret: String, stored: Option<String>) -> Result<bool> {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let known = stored.is_some();
    let stored = match stored {
        Some(stored) => stored,
        None => match DUMMY.get() {
            Some(dummy) => dummy.clone(),
            None => {
                let dummy = hash(random_token(24)?).await?;
                DUMMY.get_or_init(|| dummy).clone()
            }
        },
    };
    let matches = tokio::task::spawn_blocking(move || {
        Argon2::default()
            .verify_password(secret.as_bytes(), stored.as_str())
            .is_ok()
    })
    .await
    .map_err(|error| Error::Crypto(error.to_string()))?;
    Ok(known && matches)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_only_their_secret() {
        let stored = hash("Correct-Horse-9".to_owned()).await.expect("hash");
        assert!(stored.starts_with("$argon2id$"));
        assert!(
            verify("Correct-Horse-9".to_owned(), Some(stored.clone()))
                .await
                .expect("verify")
        );
        assert!(
            !verify("correct-horse-9".to_owned(), Some(stored))
                .await
                .expect("verify")
        );
        assert!(!verify("anything".to_owned(), None).await.expect("verify"));
    }
}
