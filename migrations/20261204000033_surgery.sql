-- The operating block (`surgery`): theatres (rooms of the register's operating-block
-- departments), their sessions, the procedure grades of the catalogue, surgeons' privileges
-- and the bookings of interventions with their team.
--
-- The database decides the races people run in a theatre office: two bookings overlapping in
-- one theatre (operations_one_per_theatre), one person in two overlapping bookings
-- (operation_team_one_place), one patient in two (operations_one_per_patient). Only a
-- scheduled or running operation holds its time: a cancelled, bumped or completed one lets
-- it go (the team's rows follow the operation's status in the same transaction).
--
-- The records of the day of surgery are append-only for the application: a checklist pause
-- and a milestone are written once, and each version of an operation's or anaesthesia
-- record is a new row (a signed record is amended, never rewritten).
CREATE SCHEMA surgery;
SELECT platform.install_module_kit('surgery');
CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE surgery.theatres (
    tenant_id       uuid        NOT NULL,
    id              uuid        NOT NULL,
    room_id         uuid        NOT NULL,
    facility_id     uuid        NOT NULL,
    department_id   uuid        NOT NULL,
    code            text        NOT NULL,
    name            text        NOT NULL,
    specialty_codes text[]      NOT NULL DEFAULT '{}',
    equipment       text[]      NOT NULL DEFAULT '{}',
    active          boolean     NOT NULL DEFAULT true,
    version         bigint      NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT theatres_one_per_room UNIQUE (tenant_id, room_id),
    CONSTRAINT theatres_code_unique UNIQUE (tenant_id, code)
);

CREATE TABLE surgery.theatre_sessions (
    tenant_id      uuid      NOT NULL,
    id             uuid      NOT NULL,
    theatre_id     uuid      NOT NULL,
    during         tstzrange NOT NULL CHECK (NOT isempty(during)),
    specialty_code text      NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, theatre_id) REFERENCES surgery.theatres (tenant_id, id),
    CONSTRAINT theatre_sessions_no_overlap
        EXCLUDE USING gist (tenant_id WITH =, theatre_id WITH =, during WITH &&)
);

-- The grade of each procedure (1 minor .. 5 complex major), imported like a code system.
CREATE TABLE surgery.procedure_grades (
    tenant_id  uuid        NOT NULL,
    code       text        NOT NULL,
    grade      smallint    NOT NULL CHECK (grade BETWEEN 1 AND 5),
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, code)
);

-- A surgeon's privilege: every procedure up to a grade, or one procedure.
CREATE TABLE surgery.privileges (
    tenant_id      uuid        NOT NULL,
    id             uuid        NOT NULL,
    surgeon_id     uuid        NOT NULL,
    max_grade      smallint    CHECK (max_grade BETWEEN 1 AND 5),
    procedure_code text,
    valid_from     date        NOT NULL,
    valid_until    date,
    status         text        NOT NULL CHECK (status IN ('active', 'suspended', 'revoked')),
    status_reason  text        NOT NULL DEFAULT '',
    granted_by     uuid        NOT NULL,
    granted_at     timestamptz NOT NULL,
    version        bigint      NOT NULL DEFAULT 1,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT privileges_one_extent CHECK ((max_grade IS NULL) <> (procedure_code IS NULL)),
    CONSTRAINT privileges_valid_period CHECK (valid_until IS NULL OR valid_until >= valid_from)
);
CREATE INDEX privileges_of_surgeon ON surgery.privileges (tenant_id, surgeon_id);

-- Every change of a privilege's status, with who and why (the privilege keeps the last one).
CREATE TABLE surgery.privilege_changes (
    tenant_id    uuid        NOT NULL,
    privilege_id uuid        NOT NULL,
    changed_at   timestamptz NOT NULL,
    changed_by   uuid        NOT NULL,
    status       text        NOT NULL,
    reason       text        NOT NULL,
    PRIMARY KEY (tenant_id, privilege_id, changed_at),
    FOREIGN KEY (tenant_id, privilege_id) REFERENCES surgery.privileges (tenant_id, id)
);

CREATE TABLE surgery.operations (
    tenant_id                 uuid        NOT NULL,
    id                        uuid        NOT NULL,
    theatre_id                uuid        NOT NULL,
    facility_id               uuid        NOT NULL,
    department_id             uuid        NOT NULL,
    patient_id                uuid        NOT NULL,
    admission_id              uuid,
    planned                   tstzrange   NOT NULL CHECK (NOT isempty(planned)),
    priority                  text        NOT NULL CHECK (priority IN ('elective', 'urgent',
                                  'emergency')),
    anaesthesia_type          text        NOT NULL,
    specialty_code            text        NOT NULL DEFAULT '',
    status                    text        NOT NULL CHECK (status IN ('scheduled', 'cancelled',
                                  'bumped', 'in_progress', 'completed')),
    cancel_reason             text        NOT NULL DEFAULT '',
    bumped_by                 uuid,
    privilege_override_reason text        NOT NULL DEFAULT '',
    booked_by                 uuid        NOT NULL,
    created_at                timestamptz NOT NULL,
    version                   bigint      NOT NULL DEFAULT 1,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, theatre_id) REFERENCES surgery.theatres (tenant_id, id),
    CONSTRAINT operations_one_per_theatre
        EXCLUDE USING gist (tenant_id WITH =, theatre_id WITH =, planned WITH &&)
        WHERE (status IN ('scheduled', 'in_progress')),
    CONSTRAINT operations_one_per_patient
        EXCLUDE USING gist (tenant_id WITH =, patient_id WITH =, planned WITH &&)
        WHERE (status IN ('scheduled', 'in_progress'))
);
CREATE INDEX operations_by_day ON surgery.operations
    USING gist (tenant_id, facility_id, planned);

CREATE TABLE surgery.operation_procedures (
    tenant_id    uuid     NOT NULL,
    operation_id uuid     NOT NULL,
    position     smallint NOT NULL,
    code         text     NOT NULL,
    display      text     NOT NULL,
    grade        smallint,
    PRIMARY KEY (tenant_id, operation_id, position),
    FOREIGN KEY (tenant_id, operation_id) REFERENCES surgery.operations (tenant_id, id)
);

-- The team of each operation; `planned` and `holds` follow the operation (a rescheduled
-- booking moves its team's rows, a cancelled one lets their time go).
CREATE TABLE surgery.operation_team (
    tenant_id    uuid      NOT NULL,
    operation_id uuid      NOT NULL,
    user_id      uuid      NOT NULL,
    role         text      NOT NULL CHECK (role IN ('primary_surgeon', 'assistant',
                     'anaesthetist', 'scrub_nurse')),
    position     smallint  NOT NULL,
    planned      tstzrange NOT NULL,
    holds        boolean   NOT NULL DEFAULT true,
    PRIMARY KEY (tenant_id, operation_id, user_id),
    FOREIGN KEY (tenant_id, operation_id) REFERENCES surgery.operations (tenant_id, id),
    CONSTRAINT operation_team_one_place
        EXCLUDE USING gist (tenant_id WITH =, user_id WITH =, planned WITH &&) WHERE (holds)
);
CREATE INDEX operation_team_by_user ON surgery.operation_team (tenant_id, user_id);

CREATE TABLE surgery.privilege_overrides (
    tenant_id       uuid        NOT NULL,
    id              uuid        NOT NULL,
    operation_id    uuid        NOT NULL,
    surgeon_id      uuid        NOT NULL,
    procedure_codes text[]      NOT NULL,
    reason          text        NOT NULL,
    recorded_by     uuid        NOT NULL,
    recorded_at     timestamptz NOT NULL,
    reviewed_by     uuid,
    reviewed_at     timestamptz,
    review_note     text        NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, operation_id) REFERENCES surgery.operations (tenant_id, id)
);

CREATE TABLE surgery.checklist (
    tenant_id       uuid        NOT NULL,
    operation_id    uuid        NOT NULL,
    phase           text        NOT NULL CHECK (phase IN ('sign_in', 'time_out', 'sign_out')),
    confirmed_items text[]      NOT NULL,
    confirmed_by    uuid        NOT NULL,
    confirmed_at    timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, operation_id, phase),
    FOREIGN KEY (tenant_id, operation_id) REFERENCES surgery.operations (tenant_id, id)
);

CREATE TABLE surgery.milestones (
    tenant_id    uuid        NOT NULL,
    operation_id uuid        NOT NULL,
    milestone    text        NOT NULL CHECK (milestone IN ('into_room', 'anaesthesia_start',
                     'incision', 'closure', 'out_of_room')),
    at           timestamptz NOT NULL,
    recorded_by  uuid        NOT NULL,
    PRIMARY KEY (tenant_id, operation_id, milestone),
    FOREIGN KEY (tenant_id, operation_id) REFERENCES surgery.operations (tenant_id, id)
);

CREATE TABLE surgery.records (
    tenant_id        uuid        NOT NULL,
    operation_id     uuid        NOT NULL,
    kind             text        NOT NULL CHECK (kind IN ('operation', 'anaesthesia')),
    version          integer     NOT NULL CHECK (version > 0),
    content          jsonb       NOT NULL,
    signed           boolean     NOT NULL,
    amendment_reason text        NOT NULL DEFAULT '',
    written_by       uuid        NOT NULL,
    written_at       timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, operation_id, kind, version),
    FOREIGN KEY (tenant_id, operation_id) REFERENCES surgery.operations (tenant_id, id)
);

-- What each operation used: the inventory ledger's movements issued to its patient.
CREATE TABLE surgery.consumption (
    tenant_id    uuid          NOT NULL,
    operation_id uuid          NOT NULL,
    movement_id  uuid          NOT NULL,
    item_id      uuid          NOT NULL,
    quantity     numeric(14,4) NOT NULL CHECK (quantity > 0),
    warehouse_id uuid          NOT NULL,
    recorded_by  uuid          NOT NULL,
    recorded_at  timestamptz   NOT NULL,
    PRIMARY KEY (tenant_id, operation_id, movement_id),
    FOREIGN KEY (tenant_id, operation_id) REFERENCES surgery.operations (tenant_id, id)
);

-- The pack a procedure usually takes, to pre-fill an operation's consumption.
CREATE TABLE surgery.procedure_packs (
    tenant_id      uuid          NOT NULL,
    procedure_code text          NOT NULL,
    item_id        uuid          NOT NULL,
    quantity       numeric(14,4) NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (tenant_id, procedure_code, item_id)
);

GRANT SELECT, INSERT ON surgery.checklist, surgery.milestones, surgery.records,
    surgery.consumption TO openhmis_app;
GRANT SELECT, INSERT, DELETE ON surgery.procedure_packs TO openhmis_app;

-- What booking checks of other modules' records, kept from their events so a booking reads
-- no other module (whose read would be a second audited access to the patient): the
-- registry's patients (death, merge) and admissions' admissions (whose, and whether open).
-- A row only moves to a newer version of its source; an unknown one is asked for.
CREATE TABLE surgery.known_patients (
    tenant_id   uuid    NOT NULL,
    patient_id  uuid    NOT NULL,
    version     bigint  NOT NULL,
    deceased    boolean NOT NULL,
    merged_into uuid,
    PRIMARY KEY (tenant_id, patient_id)
);

CREATE TABLE surgery.known_admissions (
    tenant_id    uuid    NOT NULL,
    admission_id uuid    NOT NULL,
    version      bigint  NOT NULL,
    patient_id   uuid    NOT NULL,
    open         boolean NOT NULL,
    PRIMARY KEY (tenant_id, admission_id)
);

GRANT SELECT, INSERT, UPDATE ON surgery.known_patients, surgery.known_admissions
    TO openhmis_app;
GRANT SELECT, INSERT, UPDATE ON surgery.theatres, surgery.privileges, surgery.operations,
    surgery.operation_team, surgery.privilege_overrides, surgery.procedure_grades
    TO openhmis_app;
GRANT SELECT, INSERT ON surgery.theatre_sessions, surgery.privilege_changes,
    surgery.operation_procedures TO openhmis_app;
SELECT platform.enable_tenant_rls(t)
FROM unnest(ARRAY['surgery.theatres', 'surgery.theatre_sessions', 'surgery.procedure_grades',
                  'surgery.privileges', 'surgery.privilege_changes', 'surgery.operations',
                  'surgery.operation_procedures', 'surgery.operation_team',
                  'surgery.privilege_overrides', 'surgery.known_patients',
                  'surgery.known_admissions', 'surgery.checklist', 'surgery.milestones',
                  'surgery.records', 'surgery.consumption',
                  'surgery.procedure_packs']::regclass[]) AS t;
