-- The whole hospital's occupancy without counting every bed and patient on each call.
--
-- Each ward's active beds by state and the patients in it now by sex, kept as counters by
-- the writes to statistics.beds and statistics.stays themselves (row triggers, in the
-- writing transaction): whatever writes a bed or a stay (the followers, a rebuild, a seed)
-- keeps them, and a rolled-back write takes its counts with it. Beds in any other state and
-- stays of a cancelled or ended admission count nowhere, as before.
CREATE TABLE statistics.wards_now (
    tenant_id     uuid   NOT NULL,
    department_id uuid   NOT NULL,
    free          bigint NOT NULL DEFAULT 0,
    occupied      bigint NOT NULL DEFAULT 0,
    reserved      bigint NOT NULL DEFAULT 0,
    cleaning      bigint NOT NULL DEFAULT 0,
    blocked       bigint NOT NULL DEFAULT 0,
    male          bigint NOT NULL DEFAULT 0,
    female        bigint NOT NULL DEFAULT 0,
    other         bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, department_id)
);
GRANT SELECT, INSERT, UPDATE, DELETE ON statistics.wards_now TO openhmis_app;
SELECT platform.enable_tenant_rls('statistics.wards_now');

-- Adds `change` to the counter `counter` of a ward (one of the columns above). PL/pgSQL so
-- that each session plans the statement once.
CREATE FUNCTION statistics.count_in_ward(tenant uuid, ward uuid, counter text, change bigint)
    RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO statistics.wards_now AS w (tenant_id, department_id, free, occupied, reserved,
        cleaning, blocked, male, female, other)
    VALUES (tenant, ward,
        CASE WHEN counter = 'free' THEN change ELSE 0 END,
        CASE WHEN counter = 'occupied' THEN change ELSE 0 END,
        CASE WHEN counter = 'reserved' THEN change ELSE 0 END,
        CASE WHEN counter = 'cleaning' THEN change ELSE 0 END,
        CASE WHEN counter = 'blocked' THEN change ELSE 0 END,
        CASE WHEN counter = 'male' THEN change ELSE 0 END,
        CASE WHEN counter = 'female' THEN change ELSE 0 END,
        CASE WHEN counter = 'other' THEN change ELSE 0 END)
    ON CONFLICT (tenant_id, department_id) DO UPDATE SET
        free = w.free + EXCLUDED.free, occupied = w.occupied + EXCLUDED.occupied,
        reserved = w.reserved + EXCLUDED.reserved, cleaning = w.cleaning + EXCLUDED.cleaning,
        blocked = w.blocked + EXCLUDED.blocked, male = w.male + EXCLUDED.male,
        female = w.female + EXCLUDED.female, other = w.other + EXCLUDED.other;
END $$;

-- The counter an active bed in `state` counts in (NULL: none).
CREATE FUNCTION statistics.bed_counter(state text) RETURNS text
    LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN state IN ('free', 'occupied', 'reserved', 'cleaning') THEN state
                WHEN state = 'out_of_service' THEN 'blocked' END
$$;

-- The counter a present patient of `sex` counts in.
CREATE FUNCTION statistics.sex_counter(sex text) RETURNS text
    LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN sex IN ('male', 'female') THEN sex ELSE 'other' END
$$;

CREATE FUNCTION statistics.count_beds() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.active
       AND statistics.bed_counter(OLD.state) IS NOT NULL THEN
        PERFORM statistics.count_in_ward(OLD.tenant_id, OLD.department_id,
                                         statistics.bed_counter(OLD.state), -1);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.active
       AND statistics.bed_counter(NEW.state) IS NOT NULL THEN
        PERFORM statistics.count_in_ward(NEW.tenant_id, NEW.department_id,
                                         statistics.bed_counter(NEW.state), 1);
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION statistics.count_present() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.end_time IS NULL AND OLD.status = 'admitted' THEN
        PERFORM statistics.count_in_ward(OLD.tenant_id, OLD.department_id,
                                         statistics.sex_counter(OLD.sex), -1);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.end_time IS NULL AND NEW.status = 'admitted' THEN
        PERFORM statistics.count_in_ward(NEW.tenant_id, NEW.department_id,
                                         statistics.sex_counter(NEW.sex), 1);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER beds_counted AFTER INSERT OR DELETE ON statistics.beds
    FOR EACH ROW EXECUTE FUNCTION statistics.count_beds();
CREATE TRIGGER beds_recounted AFTER UPDATE ON statistics.beds
    FOR EACH ROW WHEN (OLD.active IS DISTINCT FROM NEW.active
                       OR OLD.state IS DISTINCT FROM NEW.state
                       OR OLD.department_id IS DISTINCT FROM NEW.department_id)
    EXECUTE FUNCTION statistics.count_beds();
CREATE TRIGGER stays_counted AFTER INSERT OR DELETE ON statistics.stays
    FOR EACH ROW EXECUTE FUNCTION statistics.count_present();
CREATE TRIGGER stays_recounted AFTER UPDATE ON statistics.stays
    FOR EACH ROW WHEN (OLD.end_time IS DISTINCT FROM NEW.end_time
                       OR OLD.status IS DISTINCT FROM NEW.status
                       OR OLD.sex IS DISTINCT FROM NEW.sex
                       OR OLD.department_id IS DISTINCT FROM NEW.department_id)
    EXECUTE FUNCTION statistics.count_present();

-- What is there already, through the same mapping of a bed's state and a patient's sex.
INSERT INTO statistics.wards_now (tenant_id, department_id, free, occupied, reserved, cleaning,
    blocked, male, female, other)
SELECT tenant_id, department_id, sum(free), sum(occupied), sum(reserved), sum(cleaning),
       sum(blocked), sum(male), sum(female), sum(other)
FROM (
    SELECT tenant_id, department_id,
           count(*) FILTER (WHERE statistics.bed_counter(state) = 'free') AS free,
           count(*) FILTER (WHERE statistics.bed_counter(state) = 'occupied') AS occupied,
           count(*) FILTER (WHERE statistics.bed_counter(state) = 'reserved') AS reserved,
           count(*) FILTER (WHERE statistics.bed_counter(state) = 'cleaning') AS cleaning,
           count(*) FILTER (WHERE statistics.bed_counter(state) = 'blocked') AS blocked,
           0 AS male, 0 AS female, 0 AS other
    FROM statistics.beds WHERE active GROUP BY tenant_id, department_id
    UNION ALL
    SELECT tenant_id, department_id, 0, 0, 0, 0, 0,
           count(*) FILTER (WHERE statistics.sex_counter(sex) = 'male'),
           count(*) FILTER (WHERE statistics.sex_counter(sex) = 'female'),
           count(*) FILTER (WHERE statistics.sex_counter(sex) = 'other')
    FROM statistics.stays WHERE end_time IS NULL AND status = 'admitted'
    GROUP BY tenant_id, department_id
) counted
GROUP BY tenant_id, department_id;

-- The open stays of a facility by start: a past day's census reads only those that had
-- begun by the day's end, not every patient in the hospital today.
DROP INDEX statistics.stays_open;
CREATE INDEX stays_open ON statistics.stays (tenant_id, facility_id, start_time)
    WHERE end_time IS NULL;
