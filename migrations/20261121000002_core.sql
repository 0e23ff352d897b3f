-- Core: tenants, facilities, departments (wards), rooms, beds, dictionaries.
CREATE SCHEMA core;
SELECT platform.install_module_kit('core');

-- A tenant's row is keyed by its own id, so the same policy isolates it.
CREATE TABLE core.tenants (
    tenant_id  uuid        PRIMARY KEY,
    code       text        NOT NULL UNIQUE,
    name       text        NOT NULL,
    created_at timestamptz NOT NULL
);

CREATE TABLE core.facilities (
    tenant_id  uuid        NOT NULL REFERENCES core.tenants (tenant_id),
    id         uuid        NOT NULL,
    code       text        NOT NULL,
    name       text        NOT NULL,
    time_zone  text        NOT NULL,
    address    text        NOT NULL DEFAULT '',
    active     boolean     NOT NULL DEFAULT true,
    version    bigint      NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT facilities_code_unique UNIQUE (tenant_id, code)
);

CREATE TABLE core.departments (
    tenant_id      uuid        NOT NULL,
    id             uuid        NOT NULL,
    facility_id    uuid        NOT NULL,
    code           text        NOT NULL,
    name           text        NOT NULL,
    kind           text        NOT NULL CHECK (kind IN ('ward', 'emergency', 'outpatient',
                       'intensive_care', 'operating_block', 'pharmacy', 'laboratory', 'imaging',
                       'administrative')),
    specialty_code text        NOT NULL DEFAULT '',
    active         boolean     NOT NULL DEFAULT true,
    version        bigint      NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, facility_id) REFERENCES core.facilities (tenant_id, id),
    CONSTRAINT departments_code_unique UNIQUE (tenant_id, facility_id, code)
);

CREATE TABLE core.rooms (
    tenant_id     uuid        NOT NULL,
    id            uuid        NOT NULL,
    department_id uuid        NOT NULL,
    code          text        NOT NULL,
    name          text        NOT NULL,
    active        boolean     NOT NULL DEFAULT true,
    version       bigint      NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, department_id) REFERENCES core.departments (tenant_id, id),
    CONSTRAINT rooms_code_unique UNIQUE (tenant_id, department_id, code),
    -- Lets beds carry their department with a foreign key that keeps it true.
    UNIQUE (tenant_id, id, department_id)
);

CREATE TABLE core.beds (
    tenant_id      uuid        NOT NULL,
    id             uuid        NOT NULL,
    room_id        uuid        NOT NULL,
    department_id  uuid        NOT NULL,
    code           text        NOT NULL,
    sex            text        NOT NULL CHECK (sex IN ('any', 'male', 'female')),
    isolation      boolean     NOT NULL DEFAULT false,
    intensive_care boolean     NOT NULL DEFAULT false,
    state          text        NOT NULL CHECK (state IN ('free', 'occupied', 'reserved',
                       'cleaning', 'out_of_service')),
    state_reason   text        NOT NULL DEFAULT '',
    active         boolean     NOT NULL DEFAULT true,
    version        bigint      NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, room_id, department_id)
        REFERENCES core.rooms (tenant_id, id, department_id),
    CONSTRAINT beds_code_unique UNIQUE (tenant_id, room_id, code)
);
CREATE INDEX beds_by_department ON core.beds (tenant_id, department_id, state);

CREATE TABLE core.dictionaries (
    tenant_id   uuid        NOT NULL REFERENCES core.tenants (tenant_id),
    code        text        NOT NULL,
    name        text        NOT NULL,
    description text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, code)
);

CREATE TABLE core.dictionary_entries (
    tenant_id       uuid        NOT NULL,
    dictionary_code text        NOT NULL,
    code            text        NOT NULL,
    display         text        NOT NULL,
    sort_order      integer     NOT NULL DEFAULT 0,
    active          boolean     NOT NULL DEFAULT true,
    version         bigint      NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, dictionary_code, code),
    FOREIGN KEY (tenant_id, dictionary_code) REFERENCES core.dictionaries (tenant_id, code)
);
CREATE INDEX dictionary_entries_pick_list
    ON core.dictionary_entries (tenant_id, dictionary_code, sort_order, code);

GRANT SELECT, INSERT ON core.tenants TO openhmis_app;
GRANT SELECT, INSERT, UPDATE ON core.facilities, core.departments, core.rooms, core.beds,
    core.dictionaries, core.dictionary_entries TO openhmis_app;

SELECT platform.enable_tenant_rls(t)
FROM unnest(ARRAY['core.tenants', 'core.facilities', 'core.departments', 'core.rooms',
                  'core.beds', 'core.dictionaries', 'core.dictionary_entries']::regclass[]) AS t;
