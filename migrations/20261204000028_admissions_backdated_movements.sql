-- Movements recorded further back than the backdating window: allowed to holders of
-- admissions.backdate who give a reason, and kept here for the records office to review. The
-- request id ties each to the call's audit record (which names the patient).
CREATE TABLE admissions.backdated_movements (
    tenant_id     uuid        NOT NULL,
    id            uuid        NOT NULL,
    request_id    text        NOT NULL,
    field         text        NOT NULL,
    movement_time timestamptz NOT NULL,
    reason        text        NOT NULL CHECK (reason <> ''),
    user_id       uuid        NOT NULL,
    recorded_at   timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX backdated_movements_by_time ON admissions.backdated_movements (tenant_id, recorded_at);
GRANT SELECT, INSERT ON admissions.backdated_movements TO openhmis_app;
SELECT platform.enable_tenant_rls('admissions.backdated_movements'::regclass);
