-- A death in the hospital's care: its exact time, and the admission or emergency visit whose
-- outcome recorded it (so undoing that discharge withdraws exactly that death, and nothing a
-- person entered by hand).
ALTER TABLE patients.patients
    ADD COLUMN death_time timestamptz,
    ADD COLUMN death_recorded_from uuid,
    ADD CONSTRAINT patients_death_time_has_date CHECK (death_time IS NULL OR death_date IS NOT NULL);
