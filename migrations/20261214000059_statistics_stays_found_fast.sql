-- The whole hospital's occupancy asks, for every ward, who is in it now by sex and its census
-- of a day; both were most of the call's time.
--
-- Who is in a ward now, by sex: each stay carries its admission's patient and that patient's
-- sex (as the registry last told it; NULL while it has not), so the open stays are counted
-- alone instead of each joined to its admission and its patient. The admissions follower
-- copies the sex when it stores the stays; the patients follower corrects the stays of the
-- patient it changes. Both take the patient's advisory lock first, so whichever commits
-- second sees what the other wrote.
ALTER TABLE statistics.stays
    ADD COLUMN patient_id uuid,
    ADD COLUMN sex        text;
UPDATE statistics.stays s
SET patient_id = a.patient_id
FROM statistics.admissions a
WHERE a.tenant_id = s.tenant_id AND a.admission_id = s.admission_id;
UPDATE statistics.stays s
SET sex = p.sex
FROM statistics.patients p
WHERE p.tenant_id = s.tenant_id AND p.patient_id = s.patient_id;
ALTER TABLE statistics.stays ALTER COLUMN patient_id SET NOT NULL;
CREATE INDEX stays_of_patient ON statistics.stays (tenant_id, patient_id);

-- The stays overlapping a day. Under row-level security PostgreSQL only uses leakproof
-- operators as index conditions, and the range overlap (&&) is not one: the GiST index on
-- the stays' periods was never used, and a day's census read every stay of the facility.
-- A stay now carries its length class, k when it lasted at most 2^k hours (16 for longer,
-- NULL while open); a stay of class k that overlaps a period started at most 2^k hours
-- before it, so each class is one range of this btree (plain timestamp comparisons, which
-- are leakproof), and the open stays are the partial index `stays_open`.
ALTER TABLE statistics.stays
    ADD COLUMN length_class smallint GENERATED ALWAYS AS (
        CASE WHEN end_time IS NOT NULL THEN
            least(16, ceil(log(2, greatest(extract(epoch FROM end_time - start_time) / 3600, 1))))
        END::smallint) STORED;
CREATE INDEX stays_by_length ON statistics.stays (tenant_id, facility_id, length_class, start_time);
DROP INDEX statistics.stays_during;
