-- Registers list admissions by number; the number comes with the admission events (a rebuild
-- or the next event of each admission fills it for rows stored before).
ALTER TABLE statistics.admissions ADD COLUMN admission_number text NOT NULL DEFAULT '';
CREATE INDEX admissions_by_admit_time ON statistics.admissions (tenant_id, facility_id, admit_time);
CREATE INDEX admissions_by_discharge_time ON statistics.admissions (tenant_id, facility_id, discharge_time)
    WHERE discharge_time IS NOT NULL;

-- Reports submitted electronically to the national statistics institute. The document is
-- kept as the exact bytes that were signed and sent, so what the institute holds can always
-- be shown again. A submission moves pending -> sent -> accepted | rejected (or pending ->
-- accepted | rejected when the institute decides at once); nothing else changes it.
CREATE TABLE statistics.submissions (
    tenant_id         uuid        NOT NULL,
    id                uuid        NOT NULL,
    facility_id       uuid        NOT NULL,
    report            text        NOT NULL CHECK (report IN ('movement', 'diagnoses', 'form16')),
    period_from       date        NOT NULL,
    period_to         date        NOT NULL CHECK (period_to >= period_from),
    revision          integer     NOT NULL CHECK (revision > 0),
    schema_version    text        NOT NULL,
    document          bytea       NOT NULL,
    signature         bytea       NOT NULL,
    key_id            text        NOT NULL,
    status            text        NOT NULL
        CHECK (status IN ('pending', 'sent', 'accepted', 'rejected')),
    attempts          integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    -- When the submitter next sends it (pending) or asks about it (sent); none once decided.
    next_attempt_at   timestamptz,
    last_error        text,
    receipt           text,
    rejection_reasons text[]      NOT NULL DEFAULT '{}',
    submitted_by      uuid        NOT NULL,
    created_at        timestamptz NOT NULL,
    sent_at           timestamptz,
    decided_at        timestamptz,
    PRIMARY KEY (tenant_id, id),
    -- Revisions are numbered without gaps or twins per report and period.
    UNIQUE (tenant_id, facility_id, report, period_from, period_to, revision),
    CHECK ((status IN ('accepted', 'rejected')) = (next_attempt_at IS NULL)),
    CHECK (status <> 'sent' OR receipt IS NOT NULL)
);
CREATE INDEX submissions_by_facility ON statistics.submissions (tenant_id, facility_id, created_at DESC, id DESC);
CREATE INDEX submissions_due ON statistics.submissions (next_attempt_at)
    WHERE next_attempt_at IS NOT NULL;

GRANT SELECT, INSERT, UPDATE ON statistics.submissions TO openhmis_app;
SELECT platform.enable_tenant_rls('statistics.submissions');
-- The submitter finds what is due across tenants, and sees no more than that; it sends and
-- records outcomes inside each tenant's own transaction.
GRANT SELECT (tenant_id, id, next_attempt_at) ON statistics.submissions TO openhmis_worker;
CREATE POLICY submitter_finds_due ON statistics.submissions FOR SELECT TO openhmis_worker
    USING (next_attempt_at IS NOT NULL);
