-- Form 16 (temporary work incapacity) reads sick-leave certificates and the sex and age of
-- their patients, both kept from events (encounters' CertificateIssued, the registry's
-- PatientChanged).
CREATE TABLE statistics.sick_leaves (
    tenant_id            uuid        NOT NULL,
    certificate_id       uuid        NOT NULL,
    patient_id           uuid        NOT NULL,
    facility_id          uuid        NOT NULL,
    first_certificate_id uuid        NOT NULL,
    period_start         date        NOT NULL,
    period_end           date        NOT NULL,
    diagnosis_code       text        NOT NULL,
    PRIMARY KEY (tenant_id, certificate_id)
);
CREATE INDEX sick_leaves_by_facility ON statistics.sick_leaves (tenant_id, facility_id, period_start);

CREATE TABLE statistics.patients (
    tenant_id  uuid   NOT NULL,
    patient_id uuid   NOT NULL,
    version    bigint NOT NULL,
    sex        text   NOT NULL,
    birth_date date,
    PRIMARY KEY (tenant_id, patient_id)
);

GRANT SELECT, INSERT, UPDATE, DELETE ON statistics.sick_leaves, statistics.patients
    TO openhmis_app;
SELECT platform.enable_tenant_rls(t)
FROM unnest(ARRAY['statistics.sick_leaves', 'statistics.patients']::regclass[]) AS t;
