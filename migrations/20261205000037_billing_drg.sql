-- DRG cases and reports (`billing`): the tenant's grouper tables (CSV texts as imported, read by the
-- table-driven grouper), the diagnoses of each admission as encounters publishes them, the
-- patients' sex and birth date as the registry publishes them, and
-- one case per discharged admission with its DRG, weight and claim to the national insurer.
-- A national contract says what one unit of DRG weight is paid.
ALTER TABLE billing.contracts ADD COLUMN drg_base_rate numeric(14,2) CHECK (drg_base_rate >= 0);

CREATE TABLE billing.grouper_tables (
    tenant_id   uuid        NOT NULL,
    version     text        NOT NULL,
    diagnoses   text        NOT NULL,
    procedures  text        NOT NULL,
    severity    text        NOT NULL,
    drgs        text        NOT NULL,
    imported_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id)
);

-- role: admitting | principal | secondary | complication.
CREATE TABLE billing.case_diagnoses (
    tenant_id    uuid        NOT NULL,
    diagnosis_id uuid        NOT NULL,
    admission_id uuid        NOT NULL,
    code         text        NOT NULL,
    role         text        NOT NULL,
    recorded_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, diagnosis_id)
);
CREATE INDEX case_diagnoses_by_admission ON billing.case_diagnoses (tenant_id, admission_id);

-- claim_status: prepared | sent | accepted | rejected | paid | void | not_insured. What was
-- grouped is kept beside the result, so a case can be grouped again as late diagnoses land
-- and a claim says what it claimed.
CREATE TABLE billing.cases (
    tenant_id         uuid          NOT NULL,
    admission_id      uuid          NOT NULL,
    account_id        uuid          NOT NULL,
    patient_id        uuid          NOT NULL,
    facility_id       uuid          NOT NULL,
    department_id     uuid          NOT NULL,
    discharge_time    timestamptz   NOT NULL,
    -- The day of discharge in the facility's time zone (the patient's age is counted to it).
    discharge_day     date          NOT NULL,
    principal         text          NOT NULL DEFAULT '',
    secondaries       text[]        NOT NULL DEFAULT '{}',
    procedures        text[]        NOT NULL DEFAULT '{}',
    age               integer,
    sex               text          NOT NULL DEFAULT '',
    expired           boolean       NOT NULL,
    transferred       boolean       NOT NULL,
    length_of_stay    integer       NOT NULL CHECK (length_of_stay >= 0),
    drg               text          NOT NULL,
    mdc               text          NOT NULL,
    title             text          NOT NULL,
    relative_weight   numeric(8,4)  NOT NULL,
    gmlos             numeric(6,1)  NOT NULL,
    case_weight       numeric(8,4)  NOT NULL,
    severity          text          NOT NULL,
    surgical          boolean       NOT NULL,
    claim_status      text          NOT NULL,
    claim_contract_id uuid,
    claim_amount      numeric(14,2),
    rejection_reasons text[]        NOT NULL DEFAULT '{}',
    grouper_version   text          NOT NULL,
    version           bigint        NOT NULL DEFAULT 1,
    grouped_at        timestamptz   NOT NULL,
    PRIMARY KEY (tenant_id, admission_id),
    FOREIGN KEY (tenant_id, account_id) REFERENCES billing.accounts (tenant_id, id)
);
CREATE INDEX cases_by_discharge ON billing.cases (tenant_id, facility_id, discharge_time);

-- Revenue reports read the charges of a period.
CREATE INDEX charges_by_service_time ON billing.charges (tenant_id, service_time);

-- What grouping needs of the registry (sex, birth date), kept from its `PatientChanged`
-- events so grouping reads no other module; a row only moves to a newer version.
CREATE TABLE billing.known_patients (
    tenant_id  uuid   NOT NULL,
    patient_id uuid   NOT NULL,
    version    bigint NOT NULL,
    sex        text   NOT NULL,
    birth_date date,
    PRIMARY KEY (tenant_id, patient_id)
);

GRANT SELECT, INSERT, UPDATE ON billing.grouper_tables, billing.case_diagnoses, billing.cases,
    billing.known_patients TO openhmis_app;
SELECT platform.enable_tenant_rls(t)
FROM unnest(ARRAY['billing.grouper_tables', 'billing.case_diagnoses', 'billing.cases',
                  'billing.known_patients']::regclass[]) AS t;
