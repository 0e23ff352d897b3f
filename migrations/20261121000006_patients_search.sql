-- Patients: finding people by name, case-, accent- and typo-insensitively.
-- pg_trgm and unaccent ship with PostgreSQL (contrib) and are trusted extensions: a database
-- owner may create them.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS unaccent;

-- unaccent() is STABLE (its dictionary could change); pinning the dictionary makes it safe to
-- index, which is the documented way to use it in an expression index.
CREATE FUNCTION patients.search_text(value text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    AS $$ SELECT lower(public.unaccent('public.unaccent'::regdictionary, value)) $$;

ALTER TABLE patients.patients ADD COLUMN search_name text GENERATED ALWAYS AS (
    patients.search_text(family_name || ' ' || given_names || ' ' || patronymic)
) STORED;

CREATE INDEX patients_name_trigrams ON patients.patients USING gin (search_name gin_trgm_ops);
CREATE INDEX patients_by_birth_date ON patients.patients (tenant_id, birth_date);
GRANT EXECUTE ON FUNCTION patients.search_text(text) TO openhmis_app;
