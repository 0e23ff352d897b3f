-- Access-token signing keys are now stored sealed with a secret the database never sees (the
-- server's iam.signing_key_secret); a row the server cannot open is not trusted. Keys stored
-- before were readable by the application's role: they are dropped, never to sign or verify
-- again. Tokens they signed stop verifying; clients sign in again or refresh (refresh tokens
-- do not depend on them). The first start after this migration creates a sealed key.
DELETE FROM iam.signing_keys;
COMMENT ON COLUMN iam.signing_keys.private_key IS
    'nonce || AES-256-GCM(private key, bound to kid and public_key), sealed by the server';
