-- Laboratory results released for an encounter's orders, kept by encounters from the
-- laboratory's ResultsReleased events so the medical extract reads no other module: the
-- latest released value of each test of an order (a correction replaces it; the laboratory
-- keeps the history).
CREATE TABLE encounters.investigation_results (
    tenant_id       uuid        NOT NULL,
    order_id        uuid        NOT NULL,
    test_code       text        NOT NULL,
    encounter_id    uuid        NOT NULL,
    result_id       uuid        NOT NULL,
    test_name       text        NOT NULL,
    value           text        NOT NULL,
    unit            text        NOT NULL,
    flag            text        NOT NULL,
    reference_range text        NOT NULL,
    observed_at     timestamptz NOT NULL,
    released_at     timestamptz NOT NULL,
    corrected       boolean     NOT NULL,
    PRIMARY KEY (tenant_id, order_id, test_code)
);
CREATE INDEX investigation_results_by_encounter
    ON encounters.investigation_results (tenant_id, encounter_id, observed_at);

GRANT SELECT, INSERT, UPDATE ON encounters.investigation_results TO openhmis_app;
SELECT platform.enable_tenant_rls('encounters.investigation_results'::regclass);
