-- Platform: the roles the application acts as, and helpers every module's migrations call.
--
-- openhmis_app    request-serving connections (SET ROLE after connect). No BYPASSRLS, owns
--                 nothing: every tenant policy applies to it, even when the login is a superuser.
-- openhmis_worker background relays and purges that work across tenants, through narrow
--                 policies on bookkeeping tables only.
-- Roles are cluster-wide, so creating them tolerates their existence (and a concurrent creator).
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'openhmis_app') THEN
        CREATE ROLE openhmis_app NOLOGIN NOBYPASSRLS;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$;

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'openhmis_worker') THEN
        CREATE ROLE openhmis_worker NOLOGIN NOBYPASSRLS;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$;

-- The login that migrates must be able to SET ROLE to both.
GRANT openhmis_app TO CURRENT_USER;
GRANT openhmis_worker TO CURRENT_USER;

CREATE SCHEMA platform;
GRANT USAGE ON SCHEMA platform TO openhmis_app, openhmis_worker;

-- The tenant of the current transaction, set by the platform with set_config(..., true).
-- NULLIF: once a connection has seen the setting, it reads as '' after the transaction.
CREATE FUNCTION platform.current_tenant_id() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid $$;

-- Puts a tenant-owned table under row-level security for the application role: it sees and
-- writes only rows of the transaction's tenant; with no tenant set it sees nothing.
CREATE FUNCTION platform.enable_tenant_rls(target regclass) RETURNS void
    LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', target);
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', target);
    EXECUTE format(
        'CREATE POLICY tenant_isolation ON %s TO openhmis_app '
        'USING (tenant_id = platform.current_tenant_id()) '
        'WITH CHECK (tenant_id = platform.current_tenant_id())', target);
END $$;

-- Wakes outbox dispatchers; the payload is the publishing schema.
CREATE FUNCTION platform.notify_outbox() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('openhmis_outbox', TG_TABLE_SCHEMA);
    RETURN NULL;
END $$;

-- Creates the tables every module keeps in its own schema:
--   outbox            domain events, written in the transaction of the change they describe
--   outbox_offsets    how far each subscriber has taken the outbox (relay bookkeeping)
--   idempotency_keys  request_id -> stored response, for retried mutating calls
CREATE FUNCTION platform.install_module_kit(module_schema text) RETURNS void
    LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format($sql$
        CREATE TABLE %1$I.outbox (
            tenant_id    uuid        NOT NULL,
            id           bigint      GENERATED ALWAYS AS IDENTITY,
            txid         xid8        NOT NULL DEFAULT pg_current_xact_id(),
            event_id     uuid        NOT NULL UNIQUE,
            event_type   text        NOT NULL,
            aggregate_id text        NOT NULL,
            payload      bytea       NOT NULL,
            occurred_at  timestamptz NOT NULL,
            request_id   text,
            PRIMARY KEY (tenant_id, id)
        );
        CREATE INDEX outbox_delivery_order ON %1$I.outbox (txid, id);
        CREATE TRIGGER outbox_notify AFTER INSERT ON %1$I.outbox
            FOR EACH STATEMENT EXECUTE FUNCTION platform.notify_outbox();
        GRANT INSERT ON %1$I.outbox TO openhmis_app;
        GRANT SELECT ON %1$I.outbox TO openhmis_worker;
        ALTER TABLE %1$I.outbox ENABLE ROW LEVEL SECURITY;
        ALTER TABLE %1$I.outbox FORCE ROW LEVEL SECURITY;
        CREATE POLICY tenant_isolation ON %1$I.outbox TO openhmis_app
            USING (tenant_id = platform.current_tenant_id())
            WITH CHECK (tenant_id = platform.current_tenant_id());
        CREATE POLICY relay_reads_all ON %1$I.outbox FOR SELECT TO openhmis_worker USING (true);

        -- Not tenant data: one row per subscriber, read and written by the relay only.
        CREATE TABLE %1$I.outbox_offsets (
            subscriber text        PRIMARY KEY,
            last_txid  xid8        NOT NULL DEFAULT '0',
            last_id    bigint      NOT NULL DEFAULT 0,
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        GRANT SELECT, INSERT, UPDATE ON %1$I.outbox_offsets TO openhmis_worker;

        CREATE TABLE %1$I.idempotency_keys (
            tenant_id    uuid        NOT NULL,
            request_id   text        NOT NULL,
            method       text        NOT NULL,
            request_hash bytea       NOT NULL,
            response     bytea,
            created_at   timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (tenant_id, request_id)
        );
        CREATE INDEX idempotency_keys_age ON %1$I.idempotency_keys (created_at);
        GRANT SELECT, INSERT, UPDATE ON %1$I.idempotency_keys TO openhmis_app;
        GRANT SELECT, DELETE ON %1$I.idempotency_keys TO openhmis_worker;
        ALTER TABLE %1$I.idempotency_keys ENABLE ROW LEVEL SECURITY;
        ALTER TABLE %1$I.idempotency_keys FORCE ROW LEVEL SECURITY;
        CREATE POLICY tenant_isolation ON %1$I.idempotency_keys TO openhmis_app
            USING (tenant_id = platform.current_tenant_id())
            WITH CHECK (tenant_id = platform.current_tenant_id());
        CREATE POLICY purge_expired ON %1$I.idempotency_keys FOR ALL TO openhmis_worker
            USING (true);
    $sql$, module_schema);
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO openhmis_app, openhmis_worker', module_schema);
END $$;
