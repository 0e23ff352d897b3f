-- What admitting checks of a patient also covers its birth date (nothing is recorded before
-- it) and the registry's unpaid-debt flag (the desk is warned at admission). `facts_complete`
-- marks rows kept with both: rows kept before are asked of the registry again.
ALTER TABLE admissions.known_patients
    ADD COLUMN birth_date date,
    ADD COLUMN unpaid_debt boolean NOT NULL DEFAULT false,
    ADD COLUMN facts_complete boolean NOT NULL DEFAULT false;
