-- Medical statistics: read models fed by the events of admissions and encounters. Nothing
-- here is entered by people; every row can be rebuilt from the events.
CREATE SCHEMA statistics;
SELECT platform.install_module_kit('statistics');

-- Each admission as admissions last published it (only a newer version replaces it).
CREATE TABLE statistics.admissions (
    tenant_id      uuid        NOT NULL,
    admission_id   uuid        NOT NULL,
    version        bigint      NOT NULL,
    patient_id     uuid        NOT NULL,
    facility_id    uuid        NOT NULL,
    admission_type text        NOT NULL,
    status         text        NOT NULL CHECK (status IN ('admitted', 'discharged', 'cancelled')),
    admit_time     timestamptz NOT NULL,
    discharge_time timestamptz,
    discharge_type text,
    admitting_code text        NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, admission_id)
);

-- Its ward periods, in order; `last` marks the stay the patient left the hospital from (or
-- is in now).
CREATE TABLE statistics.stays (
    tenant_id     uuid        NOT NULL,
    admission_id  uuid        NOT NULL,
    position      integer     NOT NULL,
    department_id uuid        NOT NULL,
    start_time    timestamptz NOT NULL,
    end_time      timestamptz,
    last          boolean     NOT NULL,
    PRIMARY KEY (tenant_id, admission_id, position),
    FOREIGN KEY (tenant_id, admission_id) REFERENCES statistics.admissions (tenant_id, admission_id)
        ON DELETE CASCADE
);
CREATE INDEX stays_by_ward ON statistics.stays (tenant_id, department_id, start_time);

-- The principal diagnosis recorded for an admission (the latest), from encounters' events;
-- kept apart from the admission because the two outboxes are not ordered with each other.
CREATE TABLE statistics.principal_diagnoses (
    tenant_id    uuid        NOT NULL,
    admission_id uuid        NOT NULL,
    code         text        NOT NULL,
    recorded_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, admission_id)
);

GRANT SELECT, INSERT, UPDATE, DELETE ON statistics.admissions, statistics.stays,
    statistics.principal_diagnoses TO openhmis_app;
SELECT platform.enable_tenant_rls(t)
FROM unnest(ARRAY['statistics.admissions', 'statistics.stays',
                  'statistics.principal_diagnoses']::regclass[]) AS t;
