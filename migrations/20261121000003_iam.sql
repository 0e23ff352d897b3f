-- IAM: accounts, credentials, sessions, roles and scoped role assignments.
CREATE SCHEMA iam;
SELECT platform.install_module_kit('iam');

-- The tenants IAM knows, so a login can name its tenant by code before anyone is
-- authenticated. A projection of core's tenants (fed by core's TenantCreated events and by
-- bootstrap); codes are not secret, so every caller may read them.
CREATE TABLE iam.tenants (
    tenant_id uuid PRIMARY KEY,
    code      text NOT NULL UNIQUE
);

CREATE TABLE iam.users (
    tenant_id           uuid        NOT NULL,
    id                  uuid        NOT NULL,
    username            text        NOT NULL,
    display_name        text        NOT NULL,
    registration_number text        NOT NULL DEFAULT '',
    kind                text        NOT NULL CHECK (kind IN ('person', 'service')),
    status              text        NOT NULL CHECK (status IN ('active', 'disabled')),
    valid_from          timestamptz,
    valid_until         timestamptz,
    -- argon2id PHC string; persons only.
    password_hash       text,
    -- service accounts only: public id and argon2id hash of the secret.
    client_id           text UNIQUE,
    secret_hash         text,
    failed_logins       integer     NOT NULL DEFAULT 0 CHECK (failed_logins >= 0),
    locked_until        timestamptz,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT users_username_unique UNIQUE (tenant_id, username),
    CHECK ((kind = 'person' AND password_hash IS NOT NULL AND client_id IS NULL)
        OR (kind = 'service' AND client_id IS NOT NULL AND secret_hash IS NOT NULL)),
    CHECK (valid_until IS NULL OR valid_from IS NULL OR valid_until > valid_from)
);

CREATE TABLE iam.roles (
    tenant_id  uuid        NOT NULL,
    id         uuid        NOT NULL,
    code       text        NOT NULL,
    name       text        NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT roles_code_unique UNIQUE (tenant_id, code)
);

CREATE TABLE iam.role_permissions (
    tenant_id  uuid NOT NULL,
    role_id    uuid NOT NULL,
    permission text NOT NULL,
    PRIMARY KEY (tenant_id, role_id, permission),
    FOREIGN KEY (tenant_id, role_id) REFERENCES iam.roles (tenant_id, id)
);

CREATE TABLE iam.assignments (
    tenant_id   uuid        NOT NULL,
    id          uuid        NOT NULL,
    user_id     uuid        NOT NULL,
    role_id     uuid        NOT NULL,
    scope_kind  text        NOT NULL CHECK (scope_kind IN ('tenant', 'facility', 'department')),
    scope_id    uuid,
    valid_from  timestamptz,
    valid_until timestamptz,
    revoked_at  timestamptz,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES iam.users (tenant_id, id),
    FOREIGN KEY (tenant_id, role_id) REFERENCES iam.roles (tenant_id, id),
    CHECK ((scope_kind = 'tenant') = (scope_id IS NULL))
);
CREATE INDEX assignments_by_user ON iam.assignments (tenant_id, user_id);

-- Refresh tokens, stored only as SHA-256 of the secret. Tokens of one sign-in form a family;
-- each is used once, and a second use of any revokes the family (it was stolen).
CREATE TABLE iam.refresh_tokens (
    tenant_id  uuid        NOT NULL,
    id         uuid        NOT NULL,
    family_id  uuid        NOT NULL,
    user_id    uuid        NOT NULL,
    token_hash bytea       NOT NULL UNIQUE,
    issued_at  timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    revoked_at timestamptz,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES iam.users (tenant_id, id)
);
CREATE INDEX refresh_tokens_by_family ON iam.refresh_tokens (tenant_id, family_id);
CREATE INDEX refresh_tokens_by_user ON iam.refresh_tokens (tenant_id, user_id);

-- Access-token signing keys (Ed25519). Not tenant data: one key ring per deployment. Several
-- keys verify at once so a rotation never invalidates tokens already issued.
CREATE TABLE iam.signing_keys (
    kid         text        PRIMARY KEY,
    private_key bytea       NOT NULL,
    public_key  bytea       NOT NULL,
    created_at  timestamptz NOT NULL,
    retired_at  timestamptz
);

GRANT SELECT, INSERT ON iam.tenants TO openhmis_app, openhmis_worker;
GRANT SELECT, INSERT, UPDATE ON iam.users, iam.assignments, iam.refresh_tokens TO openhmis_app;
GRANT SELECT, INSERT ON iam.roles, iam.role_permissions TO openhmis_app;
GRANT SELECT, INSERT, UPDATE ON iam.signing_keys TO openhmis_app;

SELECT platform.enable_tenant_rls(t)
FROM unnest(ARRAY['iam.users', 'iam.roles', 'iam.role_permissions', 'iam.assignments',
                  'iam.refresh_tokens']::regclass[]) AS t;

ALTER TABLE iam.tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE iam.tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY codes_are_public ON iam.tenants FOR SELECT TO openhmis_app, openhmis_worker
    USING (true);
CREATE POLICY registered_by_its_tenant ON iam.tenants FOR INSERT TO openhmis_app
    WITH CHECK (tenant_id = platform.current_tenant_id());
CREATE POLICY registered_by_the_relay ON iam.tenants FOR INSERT TO openhmis_worker
    WITH CHECK (true);
