-- The whole hospital's occupancy, found by index without a sort.
--
-- Who is in each ward now, by sex: one short range of this index per ward, its sex read from
-- the index itself (the statement asks ward by ward instead of sorting the facility's open
-- stays by ward).
CREATE INDEX stays_present ON statistics.stays (tenant_id, department_id) INCLUDE (sex)
    WHERE end_time IS NULL AND status = 'admitted';
-- The open stays of a facility by start: a past day's census reads only those that had
-- begun by the day's end, not every patient in the hospital today.
DROP INDEX statistics.stays_open;
CREATE INDEX stays_open ON statistics.stays (tenant_id, facility_id, start_time)
    WHERE end_time IS NULL;
