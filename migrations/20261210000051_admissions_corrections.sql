-- Corrections at the admission desk (issue 19): an admission's type, admitting ward,
-- physician or admitting diagnosis may be corrected, and the admission cancelled, until the
-- ward's first clinical act (a medicine given, a procedure recorded), which admissions learns
-- from encounters' events. Each correction, and a cancellation, is kept here.
ALTER TABLE admissions.admissions ADD COLUMN first_clinical_act_at timestamptz;

CREATE TABLE admissions.corrections (
    tenant_id    uuid        NOT NULL,
    id           uuid        NOT NULL,
    admission_id uuid        NOT NULL,
    -- [{"field": ..., "before": ..., "after": ...}], in the contract's field names.
    changes      jsonb       NOT NULL CHECK (jsonb_typeof(changes) = 'array'
                                             AND jsonb_array_length(changes) > 0),
    reason       text        NOT NULL CHECK (reason <> ''),
    corrected_by uuid        NOT NULL,
    corrected_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, admission_id) REFERENCES admissions.admissions (tenant_id, id)
);
CREATE INDEX corrections_by_admission ON admissions.corrections (tenant_id, admission_id, corrected_at);
-- A record: added to, never changed.
GRANT SELECT, INSERT ON admissions.corrections TO openhmis_app;
SELECT platform.enable_tenant_rls('admissions.corrections'::regclass);
