-- Patients: finding people by name in milliseconds among millions, under row-level security.
--
-- Two measured problems with trigram search on patients.patients itself:
-- 1. pg_trgm's operators are not LEAKPROOF, so under FORCE ROW LEVEL SECURITY PostgreSQL will
--    not use them in an index scan ahead of the policy: every name search filtered every row
--    of the tenant (a sequential scan).
-- 2. Even with the index, a typo search ranks every record sharing trigrams with the query;
--    people share a few thousand surnames, so at 1,000,000 patients that is 100-250 ms.
--
-- So searching works on a projection: patients.name_index holds each record's normalised name,
-- its words and what searches filter on; patients.name_words is the lexicon of name words.
-- A prefix search walks a btree range (stops after one page, however common the prefix); a
-- typo search corrects each typed word against the lexicon (thousands of words, not millions
-- of people) and then intersects the people holding a candidate of every word (GIN on the
-- word arrays). Neither table is granted to the application role: the only way in is
-- patients.find_by_name(), which runs as their owner and keeps to the transaction's tenant.
-- Callers join its answer to patients.patients, where the usual policy applies again.

DROP INDEX patients.patients_name_trigrams;

CREATE TABLE patients.name_index (
    tenant_id     uuid    NOT NULL,
    patient_id    uuid    NOT NULL,
    search_name   text    NOT NULL,
    words         text[]  GENERATED ALWAYS AS (string_to_array(search_name, ' ')) STORED,
    birth_date    date    NOT NULL,
    sex           text    NOT NULL,
    confidential  boolean NOT NULL,
    -- False once merged into another record (searches skip it).
    active        boolean NOT NULL,
    -- The ward the patient is in now, if any (ward-scoped staff find only their patients).
    facility_id   uuid,
    department_id uuid,
    PRIMARY KEY (tenant_id, patient_id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients.patients (tenant_id, id)
);
CREATE INDEX name_index_prefix ON patients.name_index (tenant_id, (search_name COLLATE "C"));
CREATE INDEX name_index_words ON patients.name_index USING gin (words);

CREATE TABLE patients.name_words (
    tenant_id uuid NOT NULL,
    word      text NOT NULL,
    PRIMARY KEY (tenant_id, word)
);
CREATE INDEX name_words_trigrams ON patients.name_words USING gin (word gin_trgm_ops);

-- Row-level security for anyone but the owner (no FORCE), should the tables ever be granted.
ALTER TABLE patients.name_index ENABLE ROW LEVEL SECURITY;
ALTER TABLE patients.name_words ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON patients.name_index TO openhmis_app
    USING (tenant_id = platform.current_tenant_id())
    WITH CHECK (tenant_id = platform.current_tenant_id());
CREATE POLICY tenant_isolation ON patients.name_words TO openhmis_app
    USING (tenant_id = platform.current_tenant_id())
    WITH CHECK (tenant_id = platform.current_tenant_id());

-- Kept in step with the record and its placement, in the same transaction.
CREATE FUNCTION patients.index_patient() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO patients.name_index AS n (tenant_id, patient_id, search_name, birth_date, sex,
                                          confidential, active)
    VALUES (NEW.tenant_id, NEW.id, NEW.search_name, NEW.birth_date, NEW.sex, NEW.confidential,
            NEW.merged_into IS NULL)
    ON CONFLICT (tenant_id, patient_id) DO UPDATE
        SET search_name = EXCLUDED.search_name, birth_date = EXCLUDED.birth_date,
            sex = EXCLUDED.sex, confidential = EXCLUDED.confidential, active = EXCLUDED.active
        WHERE (n.search_name, n.birth_date, n.sex, n.confidential, n.active)
              IS DISTINCT FROM (EXCLUDED.search_name, EXCLUDED.birth_date, EXCLUDED.sex,
                                EXCLUDED.confidential, EXCLUDED.active);
    INSERT INTO patients.name_words (tenant_id, word)
    SELECT NEW.tenant_id, word FROM unnest(string_to_array(NEW.search_name, ' ')) AS word
    WHERE word <> ''
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
CREATE TRIGGER index_patient AFTER INSERT OR UPDATE ON patients.patients
    FOR EACH ROW EXECUTE FUNCTION patients.index_patient();

CREATE FUNCTION patients.index_placement() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        UPDATE patients.name_index SET facility_id = NULL, department_id = NULL
        WHERE tenant_id = OLD.tenant_id AND patient_id = OLD.patient_id;
        RETURN NULL;
    END IF;
    UPDATE patients.name_index SET facility_id = NEW.facility_id, department_id = NEW.department_id
    WHERE tenant_id = NEW.tenant_id AND patient_id = NEW.patient_id;
    RETURN NULL;
END $$;
CREATE TRIGGER index_placement AFTER INSERT OR UPDATE OR DELETE ON patients.placements
    FOR EACH ROW EXECUTE FUNCTION patients.index_placement();

INSERT INTO patients.name_index (tenant_id, patient_id, search_name, birth_date, sex,
                                 confidential, active, facility_id, department_id)
SELECT p.tenant_id, p.id, p.search_name, p.birth_date, p.sex, p.confidential,
       p.merged_into IS NULL, w.facility_id, w.department_id
FROM patients.patients p
LEFT JOIN patients.placements w ON w.tenant_id = p.tenant_id AND w.patient_id = p.id;
INSERT INTO patients.name_words (tenant_id, word)
SELECT DISTINCT tenant_id, word FROM patients.name_index, unnest(words) AS word WHERE word <> '';

-- One page of the transaction's tenant's patients matching the typed name `query`, best
-- first, as (patient, score, rank). Prefix matches of the whole name score 1, in alphabetical
-- order; then people whose name words are each close to (or, for the last, start like) a typed
-- word, by word similarity (below 1). Filters mirror SearchPatients': birth date or year, sex,
-- confidential records, and the caller's reach (NULL facilities: everyone; else patients
-- placed in those facilities or departments, and unplaced ones when facilities is not empty).
CREATE FUNCTION patients.find_by_name(
    query text, skip integer, take integer, born date, born_year integer, wanted_sex text,
    with_confidential boolean, facilities uuid[], departments uuid[])
    RETURNS TABLE (patient_id uuid, score real, rank bigint)
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
    ROWS 50 AS $$
DECLARE
    tenant     uuid   := platform.current_tenant_id();
    normalised text   := btrim(regexp_replace(patients.search_text(query), '\s+', ' ', 'g'));
    typed      text[] := string_to_array(normalised, ' ');
    wanted     integer := skip + take;
    prefixed   integer;
    candidates text[];
    conditions text   := '';
    filters    text   := $f$
        AND n.tenant_id = $1 AND n.active
        AND ($3::date IS NULL OR n.birth_date = $3)
        AND ($4::int IS NULL OR extract(year FROM n.birth_date)::int = $4)
        AND ($5::text IS NULL OR n.sex = $5)
        AND ($6 OR NOT n.confidential)
        AND ($7::uuid[] IS NULL OR n.facility_id = ANY($7) OR n.department_id = ANY($8)
             OR (cardinality($7) > 0 AND n.department_id IS NULL))$f$;
BEGIN
    IF tenant IS NULL OR normalised = '' THEN
        RETURN;
    END IF;
    -- C collation: every name starting with the prefix sorts between it and it + U+10FFFF.
    RETURN QUERY EXECUTE
        'SELECT n.patient_id, 1.0::real, row_number() OVER (ORDER BY n.search_name COLLATE "C", '
        || 'n.patient_id) FROM patients.name_index n '
        || 'WHERE n.search_name COLLATE "C" >= $2 AND n.search_name COLLATE "C" < $2 || chr(1114111) '
        || filters || ' ORDER BY n.search_name COLLATE "C", n.patient_id LIMIT $9'
        USING tenant, normalised, born, born_year, wanted_sex, with_confidential, facilities,
              departments, wanted;
    GET DIAGNOSTICS prefixed = ROW_COUNT;
    IF prefixed >= wanted THEN
        RETURN;
    END IF;
    -- Typo-tolerant: each typed word becomes the lexicon words closest to it (a word typed
    -- right becomes itself), and the last one also the words it begins, as a desk types.
    -- Few candidates keep the intersection below small.
    FOR i IN 1 .. least(cardinality(typed), 4) LOOP
        SELECT array_agg(c.word) INTO candidates FROM (
            SELECT w.word FROM (
                SELECT word, similarity(word, typed[i]) AS closeness,
                       max(similarity(word, typed[i])) OVER () AS best,
                       i = cardinality(typed) AND char_length(typed[i]) >= 3
                           AND word COLLATE "C" >= typed[i]
                           AND word COLLATE "C" < typed[i] || chr(1114111) AS extends
                FROM patients.name_words
                WHERE tenant_id = tenant
                  AND (word % typed[i]
                       OR (i = cardinality(typed) AND char_length(typed[i]) >= 3
                           AND word COLLATE "C" >= typed[i]
                           AND word COLLATE "C" < typed[i] || chr(1114111)))) w
            WHERE w.extends OR w.closeness >= w.best - 0.1
            ORDER BY w.closeness DESC, w.word LIMIT 12) c;
        IF candidates IS NULL THEN
            RETURN;
        END IF;
        conditions := conditions || format(' AND n.words && %L::text[]', candidates);
    END LOOP;
    RETURN QUERY EXECUTE
        'SELECT m.patient_id, m.score, $10 + row_number() OVER (ORDER BY m.score DESC, '
        || 'm.search_name, m.patient_id) FROM (SELECT n.patient_id, n.search_name, '
        || 'least(word_similarity($2, n.search_name), 0.99)::real AS score '
        || 'FROM patients.name_index n WHERE true ' || conditions || filters
        || ' AND NOT (n.search_name COLLATE "C" >= $2 AND n.search_name COLLATE "C" < $2 || chr(1114111))'
        || ') m ORDER BY m.score DESC, m.search_name, m.patient_id LIMIT $9 - $10'
        USING tenant, normalised, born, born_year, wanted_sex, with_confidential, facilities,
              departments, wanted, prefixed::bigint;
END $$;
REVOKE ALL ON FUNCTION patients.find_by_name(text, integer, integer, date, integer, text,
    boolean, uuid[], uuid[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION patients.find_by_name(text, integer, integer, date, integer, text,
    boolean, uuid[], uuid[]) TO openhmis_app;
REVOKE ALL ON FUNCTION patients.index_patient() FROM PUBLIC;
REVOKE ALL ON FUNCTION patients.index_placement() FROM PUBLIC;
