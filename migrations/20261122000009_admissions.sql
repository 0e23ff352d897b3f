-- Admissions: emergency visits, admissions, ward and bed stays (ADT).
CREATE SCHEMA admissions;
SELECT platform.install_module_kit('admissions');
-- Equality on uuid inside a GiST exclusion constraint (a bed holds one patient at a time).
CREATE EXTENSION IF NOT EXISTS btree_gist;

-- The next admission number of each facility and year, taken under a row lock in the admitting
-- transaction: numbers are unique and a rolled-back admission gives its number back.
CREATE TABLE admissions.number_counters (
    tenant_id   uuid    NOT NULL,
    facility_id uuid    NOT NULL,
    year        integer NOT NULL,
    next_number bigint  NOT NULL CHECK (next_number >= 1),
    PRIMARY KEY (tenant_id, facility_id, year)
);

CREATE TABLE admissions.emergency_visits (
    tenant_id       uuid        NOT NULL,
    id              uuid        NOT NULL,
    patient_id      uuid        NOT NULL,
    facility_id     uuid        NOT NULL,
    department_id   uuid        NOT NULL,
    arrival_time    timestamptz NOT NULL,
    arrival_mode    text        NOT NULL CHECK (arrival_mode IN ('walk_in', 'ambulance', 'police',
                        'referred', 'transfer_in', 'other')),
    referral        jsonb       NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(referral) = 'object'),
    triage_level    smallint    NOT NULL CHECK (triage_level BETWEEN 1 AND 5),
    chief_complaint text        NOT NULL DEFAULT '',
    outcome         text        CHECK (outcome IN ('admitted', 'sent_home', 'referred_elsewhere',
                        'died', 'left_without_being_seen')),
    close_time      timestamptz,
    admission_id    uuid,
    outcome_note    text        NOT NULL DEFAULT '',
    version         bigint      NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CHECK ((outcome IS NULL) = (close_time IS NULL)),
    CHECK (close_time IS NULL OR close_time >= arrival_time),
    CHECK ((outcome = 'admitted') = (admission_id IS NOT NULL))
);
CREATE INDEX emergency_visits_by_department
    ON admissions.emergency_visits (tenant_id, department_id, arrival_time DESC, id DESC);

CREATE TABLE admissions.admissions (
    tenant_id                uuid        NOT NULL,
    id                       uuid        NOT NULL,
    patient_id               uuid        NOT NULL,
    facility_id              uuid        NOT NULL,
    admission_number         text        NOT NULL,
    type                     text        NOT NULL CHECK (type IN ('emergency', 'planned',
                                 'day_care', 'observation')),
    status                   text        NOT NULL CHECK (status IN ('admitted', 'discharged',
                                 'cancelled')),
    admit_time               timestamptz NOT NULL,
    -- Where the patient is now: the open stay's ward and bed, kept in the same transaction.
    department_id            uuid        NOT NULL,
    bed_id                   uuid,
    admitting_department_id  uuid        NOT NULL,
    admitting_physician_id   uuid,
    admitting_diagnosis_code text        NOT NULL DEFAULT '',
    admitting_diagnosis_text text        NOT NULL DEFAULT '',
    emergency_visit_id       uuid,
    consent_document_ids     uuid[]      NOT NULL DEFAULT '{}',
    mother_admission_id      uuid,
    discharge_type           text        CHECK (discharge_type IN ('recovered', 'improved',
                                 'unchanged', 'worsened', 'deceased', 'transferred',
                                 'left_against_advice')),
    discharge_time           timestamptz,
    discharge_destination    text        NOT NULL DEFAULT '',
    discharged_by            uuid,
    -- When the discharge was recorded (the undo window runs from here, not from the
    -- discharge time people may backdate).
    discharge_recorded_at    timestamptz,
    converted_at             timestamptz,
    version                  bigint      NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at               timestamptz NOT NULL,
    updated_at               timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT admissions_number_unique UNIQUE (tenant_id, facility_id, admission_number),
    FOREIGN KEY (tenant_id, emergency_visit_id)
        REFERENCES admissions.emergency_visits (tenant_id, id),
    FOREIGN KEY (tenant_id, mother_admission_id) REFERENCES admissions.admissions (tenant_id, id),
    CHECK ((status = 'discharged') = (discharge_time IS NOT NULL)),
    CHECK ((discharge_time IS NULL) = (discharge_type IS NULL)),
    CHECK (discharge_time IS NULL OR discharge_time >= admit_time)
);
-- No patient has two open admissions: racing desks collide here.
CREATE UNIQUE INDEX admissions_one_open_per_patient
    ON admissions.admissions (tenant_id, patient_id) WHERE status = 'admitted';
CREATE INDEX admissions_by_patient
    ON admissions.admissions (tenant_id, patient_id, admit_time DESC, id DESC);
CREATE INDEX admissions_by_department
    ON admissions.admissions (tenant_id, department_id, admit_time DESC, id DESC);
-- The conversion job looks for open observation stays.
CREATE INDEX admissions_open_observations
    ON admissions.admissions (tenant_id, admit_time)
    WHERE status = 'admitted' AND type = 'observation';
ALTER TABLE admissions.emergency_visits ADD FOREIGN KEY (tenant_id, admission_id)
    REFERENCES admissions.admissions (tenant_id, id);

-- The movement history: each row a period of an admission in one ward (and bed), or a bed
-- held for it (a reservation). A transfer ends one stay and begins the next at the same
-- instant, so [start, end) periods of one admission tile its time in hospital.
CREATE TABLE admissions.stays (
    tenant_id     uuid        NOT NULL,
    id            uuid        NOT NULL,
    admission_id  uuid        NOT NULL,
    kind          text        NOT NULL CHECK (kind IN ('stay', 'reservation')),
    department_id uuid        NOT NULL,
    bed_id        uuid,
    start_time    timestamptz NOT NULL,
    end_time      timestamptz,
    -- Stays of a cancelled admission stay on record but hold no bed.
    cancelled     boolean     NOT NULL DEFAULT false,
    reason        text        NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, admission_id) REFERENCES admissions.admissions (tenant_id, id),
    CHECK (end_time IS NULL OR end_time >= start_time),
    CHECK (kind = 'stay' OR bed_id IS NOT NULL),
    -- A bed holds one patient (or one reservation) at a time, over all of time: racing
    -- admissions, transfers and backdated entries collide here, not in application code.
    CONSTRAINT stays_one_per_bed EXCLUDE USING gist (
        tenant_id WITH =,
        bed_id WITH =,
        tstzrange(start_time, end_time) WITH &&
    ) WHERE (bed_id IS NOT NULL AND NOT cancelled)
);
-- At most one open stay and one open reservation per admission.
CREATE UNIQUE INDEX stays_one_open_per_admission
    ON admissions.stays (tenant_id, admission_id, kind) WHERE end_time IS NULL AND NOT cancelled;
CREATE INDEX stays_by_admission ON admissions.stays (tenant_id, admission_id, start_time);
CREATE INDEX stays_open_by_department
    ON admissions.stays (tenant_id, department_id) WHERE end_time IS NULL AND NOT cancelled;

GRANT SELECT, INSERT, UPDATE ON admissions.number_counters, admissions.emergency_visits,
    admissions.admissions, admissions.stays TO openhmis_app;
SELECT platform.enable_tenant_rls(t)
FROM unnest(ARRAY['admissions.number_counters', 'admissions.emergency_visits',
                  'admissions.admissions', 'admissions.stays']::regclass[]) AS t;

-- The conversion job scans open observations across tenants, then converts each inside its
-- tenant's transaction: the worker may read just enough to find them.
GRANT SELECT ON admissions.admissions TO openhmis_worker;
CREATE POLICY conversion_job_reads ON admissions.admissions FOR SELECT TO openhmis_worker
    USING (status = 'admitted' AND type = 'observation');
