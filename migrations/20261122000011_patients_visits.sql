-- Patients: the visit history, kept from the admissions module's events (each carries the
-- admission as it is after the change, so the latest event's row is the truth).
CREATE TABLE patients.visits (
    tenant_id        uuid        NOT NULL,
    admission_id     uuid        NOT NULL,
    patient_id       uuid        NOT NULL,
    admission_number text        NOT NULL,
    facility_id      uuid        NOT NULL,
    department_id    uuid        NOT NULL,
    admission_type   text        NOT NULL,
    status           text        NOT NULL CHECK (status IN ('in_progress', 'finished',
                         'cancelled')),
    start_time       timestamptz NOT NULL,
    end_time         timestamptz,
    PRIMARY KEY (tenant_id, admission_id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients.patients (tenant_id, id)
);
CREATE INDEX visits_by_patient ON patients.visits (tenant_id, patient_id, start_time DESC);

GRANT SELECT, INSERT, UPDATE ON patients.visits TO openhmis_app;
SELECT platform.enable_tenant_rls('patients.visits');
