-- The stay's record handed over by the ward to medical records after the discharge (issue 19):
-- sender, where the paper file is, receiver. One hand-over per admission.
CREATE TABLE admissions.record_handovers (
    tenant_id           uuid        NOT NULL,
    id                  uuid        NOT NULL,
    admission_id        uuid        NOT NULL,
    patient_id          uuid        NOT NULL,
    facility_id         uuid        NOT NULL,
    sent_by             uuid        NOT NULL,
    sent_at             timestamptz NOT NULL,
    paper_file_location text        NOT NULL CHECK (paper_file_location <> ''),
    note                text        NOT NULL DEFAULT '',
    received_by         uuid,
    received_at         timestamptz,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT record_handovers_one_per_admission UNIQUE (tenant_id, admission_id),
    FOREIGN KEY (tenant_id, admission_id) REFERENCES admissions.admissions (tenant_id, id),
    CHECK ((received_by IS NULL) = (received_at IS NULL))
);
CREATE INDEX record_handovers_awaiting ON admissions.record_handovers (tenant_id, facility_id, sent_at)
    WHERE received_at IS NULL;
CREATE INDEX record_handovers_by_facility ON admissions.record_handovers (tenant_id, facility_id, sent_at);
GRANT SELECT, INSERT, UPDATE ON admissions.record_handovers TO openhmis_app;
SELECT platform.enable_tenant_rls('admissions.record_handovers'::regclass);
