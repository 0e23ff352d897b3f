-- Audit: who touched which patient's data, when, how, from where, with what outcome.
--
-- Append-only in the database itself: UPDATE, DELETE and TRUNCATE are refused by triggers
-- for everyone, and the application role may only INSERT and SELECT. Records are written by
-- the platform in the transaction of the call they describe (so a write and its record commit
-- together), then sealed into a per-tenant hash chain in commit order by a background sealer;
-- verification recomputes the chain and names the first record altered or removed.
CREATE SCHEMA audit;
GRANT USAGE ON SCHEMA audit TO openhmis_app, openhmis_worker;

CREATE TABLE audit.records (
    tenant_id          uuid        NOT NULL,
    id                 bigint      GENERATED ALWAYS AS IDENTITY,
    txid               xid8        NOT NULL DEFAULT pg_current_xact_id(),
    record_id          uuid        NOT NULL UNIQUE,
    occurred_at        timestamptz NOT NULL,
    user_id            uuid        NOT NULL,
    username           text        NOT NULL,
    method             text        NOT NULL,
    patient_ids        uuid[]      NOT NULL DEFAULT '{}',
    resource_ids       text[]      NOT NULL DEFAULT '{}',
    outcome            text        NOT NULL,
    client_addr        text        NOT NULL DEFAULT '',
    request_id         text        NOT NULL,
    break_glass_reason text        NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX records_seal_order ON audit.records (txid, id);
CREATE INDEX records_by_patient ON audit.records USING gin (patient_ids);
CREATE INDEX records_by_user ON audit.records (tenant_id, user_id, occurred_at);
CREATE INDEX records_by_time ON audit.records (tenant_id, occurred_at);
CREATE INDEX records_break_glass ON audit.records (tenant_id, occurred_at)
    WHERE break_glass_reason <> '';

-- The chain: entry n of a tenant hashes entry n-1's hash with record n's content hash.
CREATE TABLE audit.chain (
    tenant_id   uuid        NOT NULL,
    seq         bigint      NOT NULL CHECK (seq >= 1),
    record_id   uuid        NOT NULL UNIQUE,
    record_hash bytea       NOT NULL,
    chain_hash  bytea       NOT NULL,
    sealed_at   timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);

-- How far the sealer got, in (txid, id) order. Bookkeeping of the sealer only.
CREATE TABLE audit.sealer (
    singleton bool   PRIMARY KEY DEFAULT true CHECK (singleton),
    last_txid xid8   NOT NULL DEFAULT '0',
    last_id   bigint NOT NULL DEFAULT 0
);
INSERT INTO audit.sealer DEFAULT VALUES;

CREATE FUNCTION audit.refuse_change() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only (% on %.%)', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER records_append_only BEFORE UPDATE OR DELETE ON audit.records
    FOR EACH ROW EXECUTE FUNCTION audit.refuse_change();
CREATE TRIGGER records_no_truncate BEFORE TRUNCATE ON audit.records
    FOR EACH STATEMENT EXECUTE FUNCTION audit.refuse_change();
CREATE TRIGGER chain_append_only BEFORE UPDATE OR DELETE ON audit.chain
    FOR EACH ROW EXECUTE FUNCTION audit.refuse_change();
CREATE TRIGGER chain_no_truncate BEFORE TRUNCATE ON audit.chain
    FOR EACH STATEMENT EXECUTE FUNCTION audit.refuse_change();

GRANT SELECT, INSERT ON audit.records TO openhmis_app;
GRANT SELECT ON audit.chain TO openhmis_app;
GRANT SELECT ON audit.records TO openhmis_worker;
GRANT SELECT, INSERT ON audit.chain TO openhmis_worker;
GRANT SELECT, UPDATE ON audit.sealer TO openhmis_worker;
GRANT SELECT ON audit.sealer TO openhmis_app;

SELECT platform.enable_tenant_rls('audit.records');
SELECT platform.enable_tenant_rls('audit.chain');
CREATE POLICY sealer_reads_all ON audit.records FOR SELECT TO openhmis_worker USING (true);
CREATE POLICY sealer_chains_all ON audit.chain FOR ALL TO openhmis_worker USING (true) WITH CHECK (true);
