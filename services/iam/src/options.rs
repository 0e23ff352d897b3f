//! What a hospital may set of IAM (the `[iam]` section of the options).

use std::path::PathBuf;
use std::time::Duration;

use hmis_platform::config::Secret;
use hmis_platform::config::duration_secs;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct IamOptions {
    /// Lifetime of access tokens; also how long a revoked grant can linger.
    #[serde(with = "duration_secs")]
    pub access_token_ttl: Duration,
    /// Lifetime of a refresh token (one shift and some).
    #[serde(with = "duration_secs")]
    pub refresh_token_ttl: Duration,
    /// Code of the tenant created at first start.
    pub bootstrap_tenant_code: String,
    /// Name of the tenant created at first start.
    pub bootstrap_tenant_name: String,
    /// Password of the first administrator (`admin`); when absent one is generated and
    /// printed once on standard output.
    pub bootstrap_admin_password: Option<Secret>,
    /// The key that seals the access-token signing keys in the database (32 random bytes,
    /// base64): the database holds them only sealed, and a key row it cannot open is not
    /// trusted, so SQL as the application's role can neither read a signing key nor plant
    /// one. Every process of a deployment needs the same key.
    pub signing_key_secret: Option<Secret>,
    /// Where that key is kept when `signing_key_secret` is not set: read, or created (0600,
    /// in a 0700 folder) at the first start of a standalone server.
    pub signing_key_secret_file: PathBuf,
}

impl Default for IamOptions {
    fn default() -> Self {
        Self {
            access_token_ttl: Duration::from_secs(15 * 60),
            refresh_token_ttl: Duration::from_secs(14 * 3600),
            bootstrap_tenant_code: "MAIN".to_owned(),
            bootstrap_tenant_name: "Hospital".to_owned(),
            bootstrap_admin_password: None,
            signing_key_secret: None,
            signing_key_secret_file: PathBuf::from("data/secrets/token-signing.key"),
        }
    }
}
