-- The register's wards and beds as its events last told them (only a newer version replaces
-- a row): the whole hospital's occupancy is read from them and the stays in one call.
CREATE TABLE statistics.departments (
    tenant_id     uuid    NOT NULL,
    department_id uuid    NOT NULL,
    version       bigint  NOT NULL,
    facility_id   uuid    NOT NULL,
    code          text    NOT NULL,
    kind          text    NOT NULL,
    active        boolean NOT NULL,
    PRIMARY KEY (tenant_id, department_id)
);
CREATE INDEX departments_of_facility ON statistics.departments (tenant_id, facility_id);

CREATE TABLE statistics.beds (
    tenant_id     uuid    NOT NULL,
    bed_id        uuid    NOT NULL,
    version       bigint  NOT NULL,
    department_id uuid    NOT NULL,
    state         text    NOT NULL,
    active        boolean NOT NULL,
    PRIMARY KEY (tenant_id, bed_id)
);
CREATE INDEX beds_of_department ON statistics.beds (tenant_id, department_id);
-- Who is in a ward now: the open stays.
CREATE INDEX stays_open ON statistics.stays (tenant_id, facility_id) WHERE end_time IS NULL;

GRANT SELECT, INSERT, UPDATE, DELETE ON statistics.departments, statistics.beds TO openhmis_app;
SELECT platform.enable_tenant_rls(t)
FROM unnest(ARRAY['statistics.departments', 'statistics.beds']::regclass[]) AS t;
