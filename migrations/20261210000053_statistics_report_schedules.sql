-- Scheduled electronic reporting (issue 19): per facility and report, the previous month's
-- report is submitted on a day and hour of the facility's time zone, by a background job.
CREATE TABLE statistics.report_schedules (
    tenant_id          uuid        NOT NULL,
    facility_id        uuid        NOT NULL,
    report             text        NOT NULL CHECK (report IN ('movement', 'diagnoses', 'form16')),
    day_of_month       smallint    NOT NULL CHECK (day_of_month BETWEEN 1 AND 28),
    hour               smallint    NOT NULL CHECK (hour BETWEEN 0 AND 23),
    -- The facility's IANA zone when the schedule was set (its runs are computed in it).
    time_zone          text        NOT NULL,
    enabled            boolean     NOT NULL,
    -- The first day of the next month to submit, and when it goes.
    next_period_from   date        NOT NULL CHECK (extract(day FROM next_period_from) = 1),
    next_run_at        timestamptz NOT NULL,
    last_submission_id uuid,
    last_error         text,
    updated_by         uuid        NOT NULL,
    updated_at         timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, facility_id, report)
);
CREATE INDEX report_schedules_due ON statistics.report_schedules (next_run_at) WHERE enabled;
GRANT SELECT, INSERT, UPDATE ON statistics.report_schedules TO openhmis_app;
SELECT platform.enable_tenant_rls('statistics.report_schedules');
-- The scheduler finds what is due across tenants, and sees no more than that; it submits and
-- records each run inside the tenant's own transaction.
GRANT SELECT (tenant_id, facility_id, report, next_run_at, enabled)
    ON statistics.report_schedules TO openhmis_worker;
CREATE POLICY scheduler_finds_due ON statistics.report_schedules FOR SELECT TO openhmis_worker
    USING (enabled);
