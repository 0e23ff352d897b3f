-- Admissions: what a patient merge moved, so an unmerge moves exactly that back.
CREATE TABLE admissions.patient_merges (
    tenant_id     uuid        NOT NULL,
    merge_id      uuid        NOT NULL,
    survivor_id   uuid        NOT NULL,
    merged_id     uuid        NOT NULL,
    admission_ids uuid[]      NOT NULL,
    visit_ids     uuid[]      NOT NULL,
    merged_at     timestamptz NOT NULL,
    unmerged_at   timestamptz,
    PRIMARY KEY (tenant_id, merge_id)
);

GRANT SELECT, INSERT, UPDATE ON admissions.patient_merges TO openhmis_app;
SELECT platform.enable_tenant_rls('admissions.patient_merges');
