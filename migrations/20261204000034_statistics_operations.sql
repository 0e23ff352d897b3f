-- Operations as the operating block last published them (only a newer version replaces
-- one): what surgical activity and theatre utilisation are counted from.
CREATE TABLE statistics.operations (
    tenant_id          uuid        NOT NULL,
    operation_id       uuid        NOT NULL,
    version            bigint      NOT NULL,
    facility_id        uuid        NOT NULL,
    theatre_id         uuid        NOT NULL,
    patient_id         uuid        NOT NULL,
    primary_surgeon_id uuid        NOT NULL,
    specialty_code     text        NOT NULL,
    priority           text        NOT NULL,
    max_grade          smallint    NOT NULL,
    status             text        NOT NULL,
    cancel_reason      text        NOT NULL,
    planned_start      timestamptz NOT NULL,
    planned_end        timestamptz NOT NULL,
    into_room          timestamptz,
    out_of_room        timestamptz,
    PRIMARY KEY (tenant_id, operation_id)
);
CREATE INDEX operations_by_start ON statistics.operations (tenant_id, facility_id, planned_start);
CREATE INDEX operations_by_patient ON statistics.operations (tenant_id, patient_id, into_room);

GRANT SELECT, INSERT, UPDATE, DELETE ON statistics.operations TO openhmis_app;
SELECT platform.enable_tenant_rls('statistics.operations');
