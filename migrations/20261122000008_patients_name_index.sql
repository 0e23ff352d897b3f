-- Patients: a name index the trigram operators can use under row-level security.
--
-- pg_trgm's operators are not LEAKPROOF, so PostgreSQL will not evaluate them in an index scan
-- ahead of a row-level security policy: under FORCE RLS a name search on patients.patients
-- filters every row of the tenant (measured: a sequential scan, tens of milliseconds at
-- 300,000 patients). Marking them leakproof needs a superuser. Instead the normalised names
-- live in this table, which the application role cannot read; the only way in is
-- patients.names_matching(), which runs as the table's owner (so the GIN index applies) and
-- itself keeps to the transaction's tenant. Callers join its answer to patients.patients,
-- where the usual policy applies again.
CREATE TABLE patients.name_index (
    tenant_id   uuid NOT NULL,
    patient_id  uuid NOT NULL,
    search_name text NOT NULL,
    PRIMARY KEY (tenant_id, patient_id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients.patients (tenant_id, id)
);
CREATE INDEX name_index_trigrams ON patients.name_index USING gin (search_name gin_trgm_ops);

-- Row-level security for anyone but the owner (no FORCE), should the table ever be granted.
ALTER TABLE patients.name_index ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON patients.name_index TO openhmis_app
    USING (tenant_id = platform.current_tenant_id())
    WITH CHECK (tenant_id = platform.current_tenant_id());

INSERT INTO patients.name_index (tenant_id, patient_id, search_name)
SELECT tenant_id, id, search_name FROM patients.patients;

-- Kept in step with the record in the same transaction.
CREATE FUNCTION patients.index_name() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO patients.name_index (tenant_id, patient_id, search_name)
    VALUES (NEW.tenant_id, NEW.id, NEW.search_name)
    ON CONFLICT (tenant_id, patient_id) DO UPDATE SET search_name = EXCLUDED.search_name
    WHERE patients.name_index.search_name IS DISTINCT FROM EXCLUDED.search_name;
    RETURN NULL;
END $$;
CREATE TRIGGER index_name AFTER INSERT OR UPDATE OF family_name, given_names, patronymic
    ON patients.patients FOR EACH ROW EXECUTE FUNCTION patients.index_name();

-- The patients of the transaction's tenant whose name starts with `prefix` (scored 1) or
-- contains words like `query` (scored by word similarity); both already normalised with
-- patients.search_text().
CREATE FUNCTION patients.names_matching(query text, prefix text)
    RETURNS TABLE (patient_id uuid, score real)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
    ROWS 200 AS $$
    SELECT n.patient_id,
           CASE WHEN n.search_name LIKE prefix || '%' THEN 1.0::real
                ELSE word_similarity(query, n.search_name) END
    FROM patients.name_index n
    WHERE n.tenant_id = platform.current_tenant_id()
      AND (n.search_name LIKE prefix || '%' OR query <% n.search_name)
$$;
REVOKE ALL ON FUNCTION patients.names_matching(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION patients.names_matching(text, text) TO openhmis_app;
REVOKE ALL ON FUNCTION patients.index_name() FROM PUBLIC;

-- Name searches go through the index table; the one on the record is no longer read.
DROP INDEX patients.patients_name_trigrams;
