-- The duplicate check of a registration (issue 26): the family and given names as the check
-- compares them (normalised, without the patronymic a desk often lacks), kept with the row
-- instead of normalised again for every patient born the same day at every registration.
ALTER TABLE patients.patients ADD COLUMN match_name text GENERATED ALWAYS AS (
    patients.search_text(family_name || ' ' || given_names)
) STORED;

-- The birth date index carries what the check compares, so it reads the index alone (not
-- the scattered rows of everybody born that day) and only its few matches from the table.
CREATE INDEX patients_duplicate_check ON patients.patients (tenant_id, birth_date)
    INCLUDE (sex, merged_into, match_name, mrn);
DROP INDEX patients.patients_by_birth_date;
