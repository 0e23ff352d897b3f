-- The medical act (`encounters` schema): encounters, notes, diagnoses, procedures, allergies,
-- the formulary with its interaction rules, prescriptions, referrals and certificates.
CREATE SCHEMA encounters;
SELECT platform.install_module_kit('encounters');

CREATE TABLE encounters.encounters (
    tenant_id         uuid        NOT NULL,
    id                uuid        NOT NULL,
    patient_id        uuid        NOT NULL,
    kind              text        NOT NULL CHECK (kind IN ('inpatient', 'outpatient')),
    status            text        NOT NULL CHECK (status IN ('open', 'closed', 'cancelled')),
    facility_id       uuid        NOT NULL,
    department_id     uuid        NOT NULL,
    admission_id      uuid,
    -- The admission as admissions last published it (openhmis.admissions.v1.Admission), and
    -- its version: events may arrive twice or late; only a newer version replaces it.
    admission         bytea,
    admission_version bigint,
    start_time        timestamptz NOT NULL,
    end_time          timestamptz,
    version           bigint      NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CHECK ((kind = 'inpatient') = (admission_id IS NOT NULL)),
    CHECK ((status = 'open') = (end_time IS NULL) OR status = 'cancelled')
);
-- An admission has one encounter, however many desks open it at once.
CREATE UNIQUE INDEX encounters_one_per_admission
    ON encounters.encounters (tenant_id, admission_id) WHERE admission_id IS NOT NULL;
CREATE INDEX encounters_by_patient ON encounters.encounters (tenant_id, patient_id, start_time DESC, id DESC);

CREATE TABLE encounters.notes (
    tenant_id    uuid        NOT NULL,
    id           uuid        NOT NULL,
    encounter_id uuid        NOT NULL,
    kind         text        NOT NULL CHECK (kind IN ('examination', 'progress', 'consultation',
                     'discharge_summary', 'recommendation')),
    text         text        NOT NULL CHECK (text <> ''),
    author_id    uuid        NOT NULL,
    record_time  timestamptz NOT NULL,
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, encounter_id) REFERENCES encounters.encounters (tenant_id, id)
);
CREATE INDEX notes_by_encounter ON encounters.notes (tenant_id, encounter_id, record_time);

CREATE TABLE encounters.diagnoses (
    tenant_id    uuid        NOT NULL,
    id           uuid        NOT NULL,
    encounter_id uuid        NOT NULL,
    patient_id   uuid        NOT NULL,
    code         text        NOT NULL,
    code_version text        NOT NULL,
    display      text        NOT NULL,
    role         text        NOT NULL CHECK (role IN ('admitting', 'principal', 'secondary',
                     'complication')),
    certainty    text        NOT NULL CHECK (certainty IN ('provisional', 'confirmed', 'ruled_out')),
    note         text        NOT NULL DEFAULT '',
    recorded_by  uuid        NOT NULL,
    record_time  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, encounter_id) REFERENCES encounters.encounters (tenant_id, id)
);
-- One principal diagnosis per encounter: two physicians racing both cannot set one.
CREATE UNIQUE INDEX diagnoses_one_principal
    ON encounters.diagnoses (tenant_id, encounter_id) WHERE role = 'principal';
CREATE INDEX diagnoses_by_encounter ON encounters.diagnoses (tenant_id, encounter_id, record_time);

CREATE TABLE encounters.procedures (
    tenant_id      uuid        NOT NULL,
    id             uuid        NOT NULL,
    encounter_id   uuid        NOT NULL,
    patient_id     uuid        NOT NULL,
    code           text        NOT NULL,
    code_version   text        NOT NULL,
    display        text        NOT NULL,
    performed_time timestamptz NOT NULL,
    performer_id   uuid        NOT NULL,
    note           text        NOT NULL DEFAULT '',
    recorded_by    uuid        NOT NULL,
    created_at     timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, encounter_id) REFERENCES encounters.encounters (tenant_id, id)
);
CREATE INDEX procedures_by_encounter ON encounters.procedures (tenant_id, encounter_id, performed_time);

CREATE TABLE encounters.allergies (
    tenant_id          uuid        NOT NULL,
    id                 uuid        NOT NULL,
    patient_id         uuid        NOT NULL,
    category           text        NOT NULL CHECK (category IN ('medication', 'food',
                           'environment', 'other')),
    kind               text        NOT NULL CHECK (kind IN ('allergy', 'intolerance')),
    substance_atc_code text        NOT NULL DEFAULT '',
    substance_text     text        NOT NULL DEFAULT '',
    severity           text        NOT NULL CHECK (severity IN ('mild', 'moderate', 'severe')),
    reaction           text        NOT NULL DEFAULT '',
    recorded_by        uuid        NOT NULL,
    record_time        timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CHECK (substance_atc_code <> '' OR substance_text <> '')
);
CREATE INDEX allergies_by_patient ON encounters.allergies (tenant_id, patient_id);

-- The formulary: what may be prescribed. Amounts are numeric (a dose of half a tablet is
-- 0.5, never a float).
CREATE TABLE encounters.medicines (
    tenant_id      uuid          NOT NULL,
    id             uuid          NOT NULL,
    code           text          NOT NULL,
    name           text          NOT NULL,
    atc_code       text          NOT NULL,
    form_unit      text          NOT NULL,
    strength       numeric(14,4) NOT NULL CHECK (strength > 0),
    strength_unit  text          NOT NULL,
    max_daily_dose numeric(14,4) CHECK (max_daily_dose > 0),
    restriction    text          NOT NULL CHECK (restriction IN ('none', 'reserve_antibiotic',
                       'controlled')),
    version        bigint        NOT NULL DEFAULT 1,
    created_at     timestamptz   NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT medicines_code_unique UNIQUE (tenant_id, code)
);

CREATE TABLE encounters.interaction_rules (
    tenant_id   uuid        NOT NULL,
    id          uuid        NOT NULL,
    atc_code_a  text        NOT NULL,
    atc_code_b  text        NOT NULL,
    severity    text        NOT NULL CHECK (severity IN ('minor', 'moderate', 'severe')),
    description text        NOT NULL,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT interaction_rules_pair_unique UNIQUE (tenant_id, atc_code_a, atc_code_b)
);

CREATE TABLE encounters.prescriptions (
    tenant_id          uuid          NOT NULL,
    id                 uuid          NOT NULL,
    encounter_id       uuid          NOT NULL,
    patient_id         uuid          NOT NULL,
    medicine_id        uuid          NOT NULL,
    medicine_code      text          NOT NULL,
    medicine_name      text          NOT NULL,
    atc_code           text          NOT NULL,
    dose               numeric(14,4) NOT NULL CHECK (dose > 0),
    dose_unit          text          NOT NULL,
    route              text          NOT NULL,
    times_per_day      integer       NOT NULL CHECK (times_per_day BETWEEN 1 AND 24),
    times_of_day       text[]        NOT NULL DEFAULT '{}',
    as_needed          boolean       NOT NULL,
    as_needed_reason   text          NOT NULL DEFAULT '',
    -- The daily amount in the medicine's strength unit, as checked against the maximum.
    daily_amount       numeric(14,4) NOT NULL,
    daily_unit         text          NOT NULL,
    start_time         timestamptz   NOT NULL,
    stop_time          timestamptz,
    instructions       text          NOT NULL DEFAULT '',
    status             text          NOT NULL CHECK (status IN ('active', 'discontinued')),
    prescriber_id      uuid          NOT NULL,
    -- What the safety check found (openhmis.encounters.v1.PrescribingWarning as JSON).
    warnings           jsonb         NOT NULL DEFAULT '[]',
    override_reason    text          NOT NULL DEFAULT '',
    overridden_by      uuid,
    discontinue_reason text          NOT NULL DEFAULT '',
    discontinued_by    uuid,
    discontinue_time   timestamptz,
    version            bigint        NOT NULL DEFAULT 1,
    created_at         timestamptz   NOT NULL,
    updated_at         timestamptz   NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, encounter_id) REFERENCES encounters.encounters (tenant_id, id),
    FOREIGN KEY (tenant_id, medicine_id) REFERENCES encounters.medicines (tenant_id, id),
    CHECK (stop_time IS NULL OR stop_time >= start_time),
    CHECK ((status = 'discontinued') = (discontinue_time IS NOT NULL)),
    CHECK ((override_reason = '') = (overridden_by IS NULL))
);
CREATE INDEX prescriptions_by_encounter ON encounters.prescriptions (tenant_id, encounter_id, created_at);
CREATE INDEX prescriptions_active_by_patient
    ON encounters.prescriptions (tenant_id, patient_id) WHERE status = 'active';

CREATE TABLE encounters.referrals (
    tenant_id            uuid        NOT NULL,
    id                   uuid        NOT NULL,
    encounter_id         uuid        NOT NULL,
    patient_id           uuid        NOT NULL,
    kind                 text        NOT NULL CHECK (kind IN ('laboratory', 'imaging', 'consultation')),
    investigation_codes  text[]      NOT NULL DEFAULT '{}',
    specialty            text        NOT NULL DEFAULT '',
    target_department_id uuid,
    reason               text        NOT NULL,
    urgency              text        NOT NULL CHECK (urgency IN ('routine', 'urgent', 'emergency')),
    referred_by          uuid        NOT NULL,
    created_at           timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, encounter_id) REFERENCES encounters.encounters (tenant_id, id)
);
CREATE INDEX referrals_by_encounter ON encounters.referrals (tenant_id, encounter_id, created_at);

GRANT SELECT, INSERT, UPDATE ON encounters.encounters, encounters.notes, encounters.diagnoses,
    encounters.procedures, encounters.allergies, encounters.medicines,
    encounters.interaction_rules, encounters.prescriptions, encounters.referrals TO openhmis_app;
SELECT platform.enable_tenant_rls(t)
FROM unnest(ARRAY['encounters.encounters', 'encounters.notes', 'encounters.diagnoses',
                  'encounters.procedures', 'encounters.allergies', 'encounters.medicines',
                  'encounters.interaction_rules', 'encounters.prescriptions',
                  'encounters.referrals']::regclass[]) AS t;

-- Certificates: numbered per facility in series (kind and year), without gaps: the next
-- number is taken under a row lock in the issuing transaction.
CREATE TABLE encounters.certificate_counters (
    tenant_id   uuid   NOT NULL,
    facility_id uuid   NOT NULL,
    series      text   NOT NULL,
    next_number bigint NOT NULL CHECK (next_number >= 1),
    PRIMARY KEY (tenant_id, facility_id, series)
);

CREATE TABLE encounters.certificates (
    tenant_id               uuid        NOT NULL,
    id                      uuid        NOT NULL,
    kind                    text        NOT NULL CHECK (kind IN ('sick_leave', 'medical', 'death')),
    patient_id              uuid        NOT NULL,
    encounter_id            uuid        NOT NULL,
    facility_id             uuid        NOT NULL,
    series                  text        NOT NULL,
    number                  bigint      NOT NULL,
    issued_by               uuid        NOT NULL,
    issue_time              timestamptz NOT NULL,
    -- Sick leave: the period (inclusive), the cause, and the chain of extensions.
    period_start            date,
    period_end              date,
    diagnosis_code          text,
    first_certificate_id    uuid,
    previous_certificate_id uuid,
    -- The kind's own data (openhmis.encounters.v1 details as JSON).
    details                 jsonb       NOT NULL DEFAULT '{}',
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT certificates_number_unique UNIQUE (tenant_id, facility_id, series, number),
    FOREIGN KEY (tenant_id, encounter_id) REFERENCES encounters.encounters (tenant_id, id),
    FOREIGN KEY (tenant_id, previous_certificate_id)
        REFERENCES encounters.certificates (tenant_id, id),
    CHECK ((kind = 'sick_leave') = (period_start IS NOT NULL AND period_end IS NOT NULL
                                    AND diagnosis_code IS NOT NULL
                                    AND first_certificate_id IS NOT NULL)),
    CHECK (period_end >= period_start)
);
-- A certificate is extended once: two physicians extending it at once cannot fork the chain.
CREATE UNIQUE INDEX certificates_one_extension
    ON encounters.certificates (tenant_id, previous_certificate_id)
    WHERE previous_certificate_id IS NOT NULL;
CREATE INDEX certificates_by_patient ON encounters.certificates (tenant_id, patient_id, issue_time DESC);

GRANT SELECT, INSERT, UPDATE ON encounters.certificate_counters, encounters.certificates
    TO openhmis_app;
SELECT platform.enable_tenant_rls(t)
FROM unnest(ARRAY['encounters.certificate_counters',
                  'encounters.certificates']::regclass[]) AS t;
