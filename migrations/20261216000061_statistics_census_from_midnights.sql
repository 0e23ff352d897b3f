-- A day's census without reading every patient present that day.
--
-- Who was in a ward at an instant t is every stay (of an admission not cancelled) with
-- start < t <= end, an open stay having no end. Counting them at a day's start read the
-- thousand-odd stays of a hospital's day on every census. Now each ward keeps, at every UTC
-- midnight, how many of its ended stays spanned it, and (at 'infinity') how many of its stays
-- are open: counters kept by the writes to statistics.stays themselves (statement triggers,
-- in the writing transaction, as statistics.wards_now is). A census starts from the midnight
-- nearest its day's start and adds the stays begun and ended between the two; those, and the
-- day's own comings and goings, are ranges of the two indexes below.
--
-- This rests on a stay never ending before it starts (stays_end_after_start, migration 035).

CREATE TABLE statistics.ward_midnights (
    tenant_id     uuid        NOT NULL,
    facility_id   uuid        NOT NULL,
    -- A UTC midnight, or 'infinity' for the open stays.
    at            timestamptz NOT NULL,
    department_id uuid        NOT NULL,
    present       bigint      NOT NULL,
    PRIMARY KEY (tenant_id, facility_id, at, department_id)
);
GRANT SELECT, INSERT, UPDATE, DELETE ON statistics.ward_midnights TO openhmis_app;
SELECT platform.enable_tenant_rls('statistics.ward_midnights');

-- The instants a stay over [`start_time`, `end_time`] counts at: the UTC midnights it spans
-- (after its start, up to and including its end), or 'infinity' while it is open. Whole
-- hours, not days, are added: a day of the session's time zone may be 23 or 25 hours long.
CREATE FUNCTION statistics.midnights_of(start_time timestamptz, end_time timestamptz)
    RETURNS SETOF timestamptz LANGUAGE sql STABLE AS $$
    SELECT 'infinity'::timestamptz WHERE end_time IS NULL
    UNION ALL
    SELECT generate_series(date_trunc('day', start_time, 'UTC') + interval '24 hours',
                           end_time, interval '24 hours')
    WHERE end_time IS NOT NULL
$$;

-- Adds each written statement's stays to the midnights they span and takes the replaced or
-- deleted ones away, in one upsert per statement (in key order, so that two writers lock the
-- rows they share in the same order).
CREATE FUNCTION statistics.count_midnights() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO statistics.ward_midnights AS w (tenant_id, facility_id, at, department_id,
                                                    present)
        SELECT n.tenant_id, n.facility_id, m.at, n.department_id, count(*)
        FROM new_stays n, statistics.midnights_of(n.start_time, n.end_time) AS m(at)
        WHERE n.status <> 'cancelled'
        GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
        ON CONFLICT (tenant_id, facility_id, at, department_id)
            DO UPDATE SET present = w.present + EXCLUDED.present;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO statistics.ward_midnights AS w (tenant_id, facility_id, at, department_id,
                                                    present)
        SELECT o.tenant_id, o.facility_id, m.at, o.department_id, -count(*)
        FROM old_stays o, statistics.midnights_of(o.start_time, o.end_time) AS m(at)
        WHERE o.status <> 'cancelled'
        GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
        ON CONFLICT (tenant_id, facility_id, at, department_id)
            DO UPDATE SET present = w.present + EXCLUDED.present;
    ELSE
        INSERT INTO statistics.ward_midnights AS w (tenant_id, facility_id, at, department_id,
                                                    present)
        SELECT c.tenant_id, c.facility_id, m.at, c.department_id, sum(c.change)
        FROM (SELECT o.tenant_id, o.facility_id, o.department_id, o.start_time, o.end_time,
                     -1 AS change
              FROM old_stays o WHERE o.status <> 'cancelled'
              UNION ALL
              SELECT n.tenant_id, n.facility_id, n.department_id, n.start_time, n.end_time, 1
              FROM new_stays n WHERE n.status <> 'cancelled') c,
             statistics.midnights_of(c.start_time, c.end_time) AS m(at)
        GROUP BY 1, 2, 3, 4 HAVING sum(c.change) <> 0 ORDER BY 1, 2, 3, 4
        ON CONFLICT (tenant_id, facility_id, at, department_id)
            DO UPDATE SET present = w.present + EXCLUDED.present;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER stays_at_midnights_added AFTER INSERT ON statistics.stays
    REFERENCING NEW TABLE AS new_stays
    FOR EACH STATEMENT EXECUTE FUNCTION statistics.count_midnights();
CREATE TRIGGER stays_at_midnights_removed AFTER DELETE ON statistics.stays
    REFERENCING OLD TABLE AS old_stays
    FOR EACH STATEMENT EXECUTE FUNCTION statistics.count_midnights();
CREATE TRIGGER stays_at_midnights_changed AFTER UPDATE ON statistics.stays
    REFERENCING OLD TABLE AS old_stays NEW TABLE AS new_stays
    FOR EACH STATEMENT EXECUTE FUNCTION statistics.count_midnights();

-- What is there already.
INSERT INTO statistics.ward_midnights (tenant_id, facility_id, at, department_id, present)
SELECT s.tenant_id, s.facility_id, m.at, s.department_id, count(*)
FROM statistics.stays s, statistics.midnights_of(s.start_time, s.end_time) AS m(at)
WHERE s.status <> 'cancelled'
GROUP BY 1, 2, 3, 4;

-- The stays begun, and those ended, in a period of a facility: the day's comings and goings
-- and those between the day's start and its nearest midnight.
CREATE INDEX stays_started ON statistics.stays (tenant_id, facility_id, start_time);
CREATE INDEX stays_ended ON statistics.stays (tenant_id, facility_id, end_time)
    WHERE end_time IS NOT NULL;
