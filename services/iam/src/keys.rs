//! Access tokens: EdDSA (Ed25519) JWTs with a `kid`, signed by the newest key of the ring and
//! verified by any key not retired for longer than a token lives, so rotating keys never
//! cuts off a token already issued. Keys live in `iam.signing_keys`, their private halves
//! sealed ([`Sealer`]); every process of a split deployment loads the same ring, and trusts
//! only rows it can open.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Duration, Utc};
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use hmis_platform::TenantId;
use hmis_platform::auth::{Grant, Principal, Scope, TokenError, TokenVerifier};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::sealing::Sealer;
use crate::store;

const ISSUER: &str = "openhmis";
const AUDIENCE: &str = "openhmis";

/// The claims of an access token. Grants travel in the token, so authorizing a call needs
/// no database round trip; the short lifetime bounds how long a revoked grant lingers.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    /// The user (or service account) id.
    pub sub: Uuid,
    /// The tenant.
    pub tid: Uuid,
    pub usr: String,
    /// A service account.
    pub sa: bool,
    /// The session: the refresh-token family the token was issued in.
    pub sid: Uuid,
    pub iat: i64,
    pub exp: i64,
    pub jti: Uuid,
    /// (permission, scope) pairs.
    pub grants: Vec<(String, String)>,
}

impl Claims {
    pub fn new(principal: &Principal, issued_at: DateTime<Utc>, lifetime: Duration) -> Self {
        Self {
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            sub: principal.user_id,
            tid: principal.tenant_id.as_uuid(),
            usr: principal.username.clone(),
            sa: principal.service_account,
            sid: principal.session_id,
            iat: issued_at.timestamp(),
            exp: (issued_at + lifetime).timestamp(),
            jti: Uuid::now_v7(),
            grants: principal
                .grants
                .iter()
                .map(|grant| (grant.permission.clone(), grant.scope.to_string()))
                .collect(),
        }
    }

    fn into_principal(self) -> std::result::Result<Principal, TokenError> {
        let grants = self
            .grants
            .into_iter()
            .map(|(permission, scope)| {
                // Only the system's own context holds every permission; no token does.
                if permission == hmis_platform::auth::EVERY_PERMISSION {
                    return Err(TokenError::Invalid(
                        "a grant of every permission".to_owned(),
                    ));
                }
                scope
                    .parse::<Scope>()
                    .map(|scope| Grant { permission, scope })
                    .map_err(TokenError::Invalid)
            })
            .collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(Principal {
            user_id: self.sub,
            tenant_id: TenantId::new(self.tid),
            username: self.usr,
            service_account: self.sa,
            session_id: self.sid,
            grants,
            expires_at: chrono::DateTime::from_timestamp(self.exp, 0),
        })
    }
}

#[derive(Default)]
struct Keys {
    signing: Option<(String, EncodingKey)>,
    verifying: HashMap<String, DecodingKey>,
}

/// Who may no longer act although their access tokens have not expired: sessions revoked
/// (a refresh token reused, signing out, a changed password) and users disabled or past their
/// validity. Re-read every second and after every revocation this process makes.
#[derive(Default)]
struct Revoked {
    sessions: HashSet<Uuid>,
    users: HashSet<Uuid>,
}

/// The deployment's signing keys, and what the verifier refuses before tokens expire.
pub struct KeyRing {
    keys: RwLock<Keys>,
    sealer: Sealer,
    revoked: RwLock<Revoked>,
    validation: Validation,
    token_lifetime: Duration,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kids: Vec<String> = self
            .keys
            .read()
            .map(|keys| keys.verifying.keys().cloned().collect())
            .unwrap_or_default();
        f.debug_struct("KeyRing")
            .field("kids", &kids)
            .finish_non_exhaustive()
    }
}

fn generate_key() -> Result<(String, Vec<u8>, Vec<u8>)> {
    let mut seed = [0_u8; 32];
    getrandom::fill(&mut seed).map_err(|error| Error::Crypto(error.to_string()))?;
    let signing_key = SigningKey::from_bytes(&seed);
    let private_key = signing_key
        .to_pkcs8_der()
        .map_err(|error| Error::Crypto(error.to_string()))?
        .as_bytes()
        .to_vec();
    let public_key = signing_key.verifying_key().to_bytes().to_vec();
    let kid = format!("k-{}", &hex_of(&Sha256::digest(&public_key))[..16]);
    Ok((kid, private_key, public_key))
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

impl KeyRing {
    /// Loads the ring, creating the first key if there is none.
    pub async fn load_or_create(
        pool: &PgPool,
        sealer: Sealer,
        token_lifetime: Duration,
        now: DateTime<Utc>,
    ) -> Result<Arc<Self>> {
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 30;
        let ring = Arc::new(Self {
            keys: RwLock::new(Keys::default()),
            sealer,
            revoked: RwLock::new(Revoked::default()),
            validation,
            token_lifetime,
        });
        let foreign = ring.reload(pool, now).await?;
        if ring.signing_kid().is_none() {
            // Keys in use that this process cannot open were sealed under another secret:
            // rotating them away would cut off every process that holds the right one.
            if foreign > 0 {
                return Err(Error::Crypto(
                    "the signing keys in use were sealed with another signing-key secret; give \
                     this process the deployment's HMIS_IAM__SIGNING_KEY_SECRET (if it is lost, \
                     retire them: UPDATE iam.signing_keys SET retired_at = now())"
                        .to_owned(),
                ));
            }
            ring.rotate(pool, now).await?;
        }
        Ok(ring)
    }

    /// Re-reads the keys (another process may have rotated them); answers how many keys in
    /// use (not retired) it could not open, and so does not trust.
    pub async fn reload(&self, pool: &PgPool, now: DateTime<Utc>) -> Result<usize> {
        let rows =
            store::signing_keys(pool, now - self.token_lifetime - Duration::minutes(5)).await?;
        let mut keys = Keys::default();
        let mut untrusted = 0;
        let mut foreign_in_use = 0;
        for row in rows {
            // A row this deployment did not seal (planted with SQL, or sealed under another
            // secret) neither signs nor verifies.
            let Some(private_key) = self
                .sealer
                .open(&row.kid, &row.public_key, &row.private_key)
            else {
                untrusted += 1;
                foreign_in_use += usize::from(row.retired_at.is_none());
                continue;
            };
            if row.retired_at.is_none() && keys.signing.is_none() {
                keys.signing = Some((row.kid.clone(), EncodingKey::from_ed_der(&private_key)));
            }
            keys.verifying
                .insert(row.kid, DecodingKey::from_ed_der(&row.public_key));
        }
        if untrusted > 0 {
            tracing::warn!(
                untrusted,
                "signing keys that this deployment's signing-key secret does not open are ignored"
            );
        }
        *self
            .keys
            .write()
            .map_err(|_| Error::Crypto("key ring poisoned".to_owned()))? = keys;
        Ok(foreign_in_use)
    }

    /// Re-reads who may no longer act (across tenants, as the worker role): sessions revoked
    /// within a token's lifetime and users who are not active now.
    pub async fn reload_revocations(&self, worker: &PgPool, now: DateTime<Utc>) -> Result<()> {
        let since = now - self.token_lifetime - Duration::minutes(1);
        let (sessions, users) = store::revocations(worker, since, now).await?;
        *self
            .revoked
            .write()
            .map_err(|_| Error::Crypto("revocation list poisoned".to_owned()))? = Revoked {
            sessions: sessions.into_iter().collect(),
            users: users.into_iter().collect(),
        };
        Ok(())
    }

    /// Whether `principal`'s session was revoked or its user may no longer act.
    fn is_revoked(&self, principal: &Principal) -> bool {
        self.revoked.read().map_or(true, |revoked| {
            revoked.sessions.contains(&principal.session_id)
                || revoked.users.contains(&principal.user_id)
        })
    }

    /// Starts signing with a new key; older keys keep verifying until their tokens expire.
    pub async fn rotate(&self, pool: &PgPool, now: DateTime<Utc>) -> Result<String> {
        let (kid, private_key, public_key) = generate_key()?;
        let sealed = self.sealer.seal(&kid, &public_key, &private_key)?;
        store::replace_signing_key(pool, &kid, &sealed, &public_key, now).await?;
        self.reload(pool, now).await?;
        tracing::info!(kid = %kid, "access-token signing key rotated");
        Ok(kid)
    }

    pub fn signing_kid(&self) -> Option<String> {
        self.keys
            .read()
            .ok()
            .and_then(|keys| keys.signing.as_ref().map(|(kid, _)| kid.clone()))
    }

    pub fn token_lifetime(&self) -> Duration {
        self.token_lifetime
    }

    /// Signs an access token for `principal`.
    pub fn issue(
        &self,
        principal: &Principal,
        now: DateTime<Utc>,
    ) -> Result<(String, DateTime<Utc>)> {
        let claims = Claims::new(principal, now, self.token_lifetime);
        let keys = self
            .keys
            .read()
            .map_err(|_| Error::Crypto("key ring poisoned".to_owned()))?;
        let (kid, key) = keys
            .signing
            .as_ref()
            .ok_or_else(|| Error::Crypto("no signing key".to_owned()))?;
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(kid.clone());
        let token = jsonwebtoken::encode(&header, &claims, key)
            .map_err(|error| Error::Crypto(error.to_string()))?;
        Ok((token, now + self.token_lifetime))
    }
}

impl TokenVerifier for KeyRing {
    /// Signing in and out: the password, the client secret or the refresh token is the
    /// credential there.
    fn public_methods(&self) -> &'static [&'static str] {
        &[
            "/openhmis.iam.v1.AuthService/Login",
            "/openhmis.iam.v1.AuthService/Refresh",
            "/openhmis.iam.v1.AuthService/Logout",
        ]
    }

    fn verify(&self, token: &str) -> std::result::Result<Principal, TokenError> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|error| TokenError::Invalid(error.to_string()))?;
        if header.alg != Algorithm::EdDSA {
            return Err(TokenError::Invalid("unexpected algorithm".to_owned()));
        }
        let kid = header.kid.ok_or(TokenError::UnknownKey)?;
        let keys = self
            .keys
            .read()
            .map_err(|_| TokenError::Invalid("key ring poisoned".to_owned()))?;
        let key = keys.verifying.get(&kid).ok_or(TokenError::UnknownKey)?;
        let data =
            jsonwebtoken::decode::<Claims>(token, key, &self.validation).map_err(|error| {
                match error.kind() {
                    jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
                    _ => TokenError::Invalid(error.to_string()),
                }
            })?;
        let principal = data.claims.into_principal()?;
        if self.is_revoked(&principal) {
            return Err(TokenError::Invalid(
                "the session was ended or the account disabled".to_owned(),
            ));
        }
        Ok(principal)
    }
}
