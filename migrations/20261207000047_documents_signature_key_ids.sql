-- Each signature names the deployment signing secret its key was derived from (a
-- fingerprint), so the secret can be rotated: earlier secrets kept for the purpose still
-- verify what they signed. Signatures made before this have none ('': every secret is tried).
ALTER TABLE documents.signatures
    ADD COLUMN key_id text NOT NULL DEFAULT '' CHECK (key_id ~ '^([0-9a-f]{16})?$');
