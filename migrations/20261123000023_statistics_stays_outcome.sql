-- The movement analysis reads every stay of its period (60,000 for a 1,000-bed hospital's
-- year); joining each to its admission for the facility and the outcome was most of its
-- time. Each stay now carries them (copied whenever the admission is stored, as the stays
-- are), and the analysis reads the stays alone.
ALTER TABLE statistics.stays
    ADD COLUMN facility_id    uuid,
    ADD COLUMN status         text,
    ADD COLUMN discharge_type text;
UPDATE statistics.stays s
SET facility_id = a.facility_id, status = a.status, discharge_type = a.discharge_type
FROM statistics.admissions a
WHERE a.tenant_id = s.tenant_id AND a.admission_id = s.admission_id;
ALTER TABLE statistics.stays
    ALTER COLUMN facility_id SET NOT NULL,
    ALTER COLUMN status SET NOT NULL,
    ADD CHECK (status IN ('admitted', 'discharged', 'cancelled'));
CREATE INDEX stays_by_facility ON statistics.stays (tenant_id, facility_id, start_time);
