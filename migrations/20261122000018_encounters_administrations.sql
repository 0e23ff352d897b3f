-- The medication administration record: each dose nurses gave, or did not give and why.
CREATE TABLE encounters.administrations (
    tenant_id       uuid        NOT NULL,
    id              uuid        NOT NULL,
    prescription_id uuid        NOT NULL,
    encounter_id    uuid        NOT NULL,
    patient_id      uuid        NOT NULL,
    -- The scheduled dose it answers; empty for an as-needed dose.
    scheduled_time  timestamptz,
    status          text        NOT NULL CHECK (status IN ('given', 'refused', 'held')),
    reason          text        NOT NULL DEFAULT '',
    administered_at timestamptz NOT NULL,
    recorded_by     uuid        NOT NULL,
    created_at      timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, prescription_id) REFERENCES encounters.prescriptions (tenant_id, id),
    CHECK (status = 'given' OR reason <> '')
);
-- A scheduled dose is recorded once: two nurses on the same round cannot both give it.
CREATE UNIQUE INDEX administrations_one_per_dose
    ON encounters.administrations (tenant_id, prescription_id, scheduled_time)
    WHERE scheduled_time IS NOT NULL;
CREATE INDEX administrations_by_encounter
    ON encounters.administrations (tenant_id, encounter_id, administered_at);

GRANT SELECT, INSERT ON encounters.administrations TO openhmis_app;
SELECT platform.enable_tenant_rls('encounters.administrations'::regclass);
