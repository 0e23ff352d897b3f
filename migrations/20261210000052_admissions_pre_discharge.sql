-- Pre-discharge (issue 19): the physician announces the discharge (type, planned time,
-- destination); from then encounters refuses new orders for the stay until it is withdrawn.
ALTER TABLE admissions.admissions
    ADD COLUMN planned_discharge_type text CHECK (planned_discharge_type IN ('recovered',
        'improved', 'unchanged', 'worsened', 'deceased', 'transferred', 'left_against_advice')),
    ADD COLUMN planned_discharge_time timestamptz,
    ADD COLUMN planned_discharge_destination text NOT NULL DEFAULT '',
    ADD COLUMN discharge_announced_by uuid,
    ADD COLUMN discharge_announced_at timestamptz,
    ADD CONSTRAINT admissions_planned_discharge_whole CHECK (
        (planned_discharge_type IS NULL) = (planned_discharge_time IS NULL)
        AND (planned_discharge_type IS NULL) = (discharge_announced_by IS NULL)
        AND (planned_discharge_type IS NULL) = (discharge_announced_at IS NULL));
-- The discharge desk's worklist: open admissions whose discharge was announced.
CREATE INDEX admissions_announced_discharges
    ON admissions.admissions (tenant_id, facility_id, planned_discharge_time)
    WHERE status = 'admitted' AND planned_discharge_type IS NOT NULL;
