-- Patients: the registry.
CREATE SCHEMA patients;
SELECT platform.install_module_kit('patients');

-- The next MRN of each tenant. Taken under a row lock in the registering transaction, so two
-- registrations never get one number, and a rolled-back one gives its number back (no gaps
-- that look like deleted records).
CREATE TABLE patients.mrn_counters (
    tenant_id uuid   PRIMARY KEY,
    next_mrn  bigint NOT NULL CHECK (next_mrn >= 1)
);

CREATE TABLE patients.patients (
    tenant_id            uuid        NOT NULL,
    id                   uuid        NOT NULL,
    mrn                  text        NOT NULL,
    family_name          text        NOT NULL,
    given_names          text        NOT NULL,
    patronymic           text        NOT NULL DEFAULT '',
    sex                  text        NOT NULL CHECK (sex IN ('male', 'female', 'unknown')),
    birth_date           date        NOT NULL,
    birth_date_estimated boolean     NOT NULL DEFAULT false,
    version              bigint      NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT patients_mrn_unique UNIQUE (tenant_id, mrn)
);

CREATE TABLE patients.identifiers (
    tenant_id  uuid NOT NULL,
    patient_id uuid NOT NULL,
    type       text NOT NULL CHECK (type IN ('national_id', 'passport', 'driving_licence',
                   'insurance_number')),
    country    text NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
    value      text NOT NULL,
    PRIMARY KEY (tenant_id, patient_id, type, country, value),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients.patients (tenant_id, id),
    -- One document, one patient: concurrent registrations of the same number collide here.
    CONSTRAINT identifiers_unique UNIQUE (tenant_id, type, country, value)
);

GRANT SELECT, INSERT, UPDATE ON patients.mrn_counters, patients.patients,
    patients.identifiers TO openhmis_app;
SELECT platform.enable_tenant_rls(t)
FROM unnest(ARRAY['patients.mrn_counters', 'patients.patients',
                  'patients.identifiers']::regclass[]) AS t;
