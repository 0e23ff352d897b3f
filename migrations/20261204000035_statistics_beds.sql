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
-- The stays of a facility that overlap a period (a day's census of every ward at once): the
-- movement statement states the overlap as this range too, so the index finds them. A stay
-- never ends before it starts (admissions checks it; so does the read model, which the
-- range relies on).
ALTER TABLE statistics.stays
    ADD CONSTRAINT stays_end_after_start CHECK (end_time IS NULL OR end_time >= start_time);
CREATE INDEX stays_during ON statistics.stays
    USING gist (tenant_id, facility_id, tstzrange(start_time, end_time, '(]'));
-- Who is in a ward now: the open stays.
CREATE INDEX stays_open ON statistics.stays (tenant_id, facility_id) WHERE end_time IS NULL;

GRANT SELECT, INSERT, UPDATE, DELETE ON statistics.departments, statistics.beds TO openhmis_app;
SELECT platform.enable_tenant_rls(t)
FROM unnest(ARRAY['statistics.departments', 'statistics.beds']::regclass[]) AS t;
