-- Orders sent to analysers over HL7 v2 (ORM^O01 over MLLP): an analyser may take orders at an
-- endpoint; each specimen received with tests of its section queues one message, in the
-- reception's own transaction (nothing received is left unsent, nothing sent that was not
-- received), and a background sender delivers it, retrying with a growing delay until the
-- analyser acknowledges it or the attempts run out. The queue is the outbound message log.
ALTER TABLE laboratory.analysers ADD COLUMN order_endpoint text NOT NULL DEFAULT ''
    CHECK (length(order_endpoint) <= 260);

CREATE TABLE laboratory.outbound_messages (
    tenant_id       uuid        NOT NULL,
    id              uuid        NOT NULL,
    analyser_id     uuid        NOT NULL,
    specimen_id     uuid        NOT NULL,
    accession       text        NOT NULL,
    control_id      text        NOT NULL,
    message_type    text        NOT NULL,
    message         text        NOT NULL,
    status          text        NOT NULL CHECK (status IN ('pending', 'delivered', 'refused',
                        'failed')),
    attempts        int         NOT NULL DEFAULT 0,
    queued_at       timestamptz NOT NULL,
    next_attempt_at timestamptz NOT NULL,
    answered_at     timestamptz,
    acknowledgment  text        NOT NULL DEFAULT '',
    error           text        NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT outbound_control_id_unique UNIQUE (tenant_id, control_id),
    FOREIGN KEY (tenant_id, analyser_id) REFERENCES laboratory.analysers (tenant_id, id),
    FOREIGN KEY (tenant_id, specimen_id) REFERENCES laboratory.specimens (tenant_id, id)
);
CREATE INDEX outbound_due ON laboratory.outbound_messages (next_attempt_at)
    WHERE status = 'pending';
CREATE INDEX outbound_by_time ON laboratory.outbound_messages (tenant_id, queued_at DESC);

GRANT SELECT, INSERT, UPDATE ON laboratory.outbound_messages TO openhmis_app;
SELECT platform.enable_tenant_rls('laboratory.outbound_messages'::regclass);

-- The sender finds what is due across tenants, then sends each inside its tenant's
-- transaction: the worker may read just enough to find them.
GRANT SELECT ON laboratory.outbound_messages TO openhmis_worker;
CREATE POLICY sender_finds_due ON laboratory.outbound_messages FOR SELECT TO openhmis_worker
    USING (status = 'pending');
