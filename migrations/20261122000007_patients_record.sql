-- Patients: the rest of the record, its version history, merges, and where patients are.

-- Scalars people filter on are columns; the nested parts the registry only shows and edits
-- (address, contacts, insurance policies) are JSON documents checked at the edge.
ALTER TABLE patients.patients
    ADD COLUMN citizenship        text    NOT NULL DEFAULT ''
        CHECK (citizenship ~ '^([A-Z]{2})?$'),
    ADD COLUMN address            jsonb   NOT NULL DEFAULT '{}'
        CHECK (jsonb_typeof(address) = 'object'),
    ADD COLUMN phones             text[]  NOT NULL DEFAULT '{}',
    ADD COLUMN occupation         text    NOT NULL DEFAULT '',
    ADD COLUMN marital_status     text    NOT NULL DEFAULT 'unspecified'
        CHECK (marital_status IN ('unspecified', 'single', 'married', 'divorced', 'widowed',
                                  'separated', 'partnership')),
    ADD COLUMN language           text    NOT NULL DEFAULT ''
        CHECK (language ~ '^([a-z]{2})?$'),
    ADD COLUMN contacts           jsonb   NOT NULL DEFAULT '[]'
        CHECK (jsonb_typeof(contacts) = 'array'),
    ADD COLUMN insurance_policies jsonb   NOT NULL DEFAULT '[]'
        CHECK (jsonb_typeof(insurance_policies) = 'array'),
    ADD COLUMN death_date         date,
    ADD COLUMN confidential       boolean NOT NULL DEFAULT false,
    ADD COLUMN unpaid_debt        boolean NOT NULL DEFAULT false,
    ADD COLUMN photo_ref          text    NOT NULL DEFAULT '',
    -- Set while this record is merged into another (the survivor).
    ADD COLUMN merged_into        uuid,
    ADD CONSTRAINT patients_merged_into_other CHECK (merged_into IS DISTINCT FROM id),
    ADD CONSTRAINT patients_merged_into_fk FOREIGN KEY (tenant_id, merged_into)
        REFERENCES patients.patients (tenant_id, id),
    ADD CONSTRAINT patients_death_after_birth CHECK (death_date IS NULL OR death_date >= birth_date);

-- Every version of every record, as the protobuf Patient it was (the contract clients read),
-- with who changed which fields. Append-only for the application.
CREATE TABLE patients.versions (
    tenant_id      uuid        NOT NULL,
    patient_id     uuid        NOT NULL,
    version        bigint      NOT NULL CHECK (version >= 1),
    kind           text        NOT NULL CHECK (kind IN ('registered', 'updated', 'merged',
                                                        'unmerged')),
    changed_fields text[]      NOT NULL,
    changed_by     uuid        NOT NULL,
    changed_at     timestamptz NOT NULL,
    snapshot       bytea       NOT NULL,
    PRIMARY KEY (tenant_id, patient_id, version),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients.patients (tenant_id, id)
);

-- One row per merge; an unmerge closes it. The identifiers that moved are listed so an unmerge
-- moves exactly those back.
CREATE TABLE patients.merges (
    tenant_id         uuid        NOT NULL,
    id                uuid        NOT NULL,
    survivor_id       uuid        NOT NULL,
    merged_id         uuid        NOT NULL,
    reason            text        NOT NULL,
    moved_identifiers jsonb       NOT NULL CHECK (jsonb_typeof(moved_identifiers) = 'array'),
    merged_by         uuid        NOT NULL,
    merged_at         timestamptz NOT NULL,
    unmerged_by       uuid,
    unmerged_at       timestamptz,
    unmerge_reason    text,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, survivor_id) REFERENCES patients.patients (tenant_id, id),
    FOREIGN KEY (tenant_id, merged_id) REFERENCES patients.patients (tenant_id, id),
    CHECK (survivor_id <> merged_id),
    CHECK ((unmerged_at IS NULL) = (unmerged_by IS NULL))
);
-- A record is merged away at most once at a time.
CREATE UNIQUE INDEX merges_open_per_merged ON patients.merges (tenant_id, merged_id)
    WHERE unmerged_at IS NULL;

-- Where each patient is now (the ward of the current stay), kept from the admissions module's
-- events; ward-scoped staff see the patients placed in their wards.
CREATE TABLE patients.placements (
    tenant_id     uuid        NOT NULL,
    patient_id    uuid        NOT NULL,
    facility_id   uuid        NOT NULL,
    department_id uuid        NOT NULL,
    since         timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, patient_id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients.patients (tenant_id, id)
);
CREATE INDEX placements_by_department ON patients.placements (tenant_id, department_id);

GRANT SELECT, INSERT ON patients.versions TO openhmis_app;
GRANT SELECT, INSERT, UPDATE ON patients.merges TO openhmis_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON patients.placements TO openhmis_app;
-- Updates may replace a record's identifiers.
GRANT DELETE ON patients.identifiers TO openhmis_app;
SELECT platform.enable_tenant_rls(t)
FROM unnest(ARRAY['patients.versions', 'patients.merges', 'patients.placements']::regclass[]) AS t;
