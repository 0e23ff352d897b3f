-- A tenant's admissions settings, and the principal diagnoses the encounters module recorded
-- for each admission (kept from its DiagnosisRecorded events): a tenant may require one before
-- a discharge.
CREATE TABLE admissions.settings (
    tenant_id                               uuid        PRIMARY KEY,
    discharge_requires_principal_diagnosis  boolean     NOT NULL DEFAULT false,
    version                                 bigint      NOT NULL DEFAULT 1,
    updated_at                              timestamptz NOT NULL
);
CREATE TABLE admissions.principal_diagnoses (
    tenant_id     uuid        NOT NULL,
    admission_id  uuid        NOT NULL,
    code          text        NOT NULL,
    recorded_at   timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, admission_id)
);
GRANT SELECT, INSERT, UPDATE ON admissions.settings, admissions.principal_diagnoses TO openhmis_app;
SELECT platform.enable_tenant_rls(t)
FROM unnest(ARRAY['admissions.settings', 'admissions.principal_diagnoses']::regclass[]) AS t;
