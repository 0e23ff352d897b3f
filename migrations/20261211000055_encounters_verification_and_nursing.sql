-- Nurses verify inpatient prescriptions before the round and may query them; the nursing
-- record (vital signs, notes, care) is the nurses' own (issue 19).
--
-- Prescriptions written before verification existed need none (they are on the round as
-- they were); new ones get their state from the encounter (pending on a ward).
ALTER TABLE encounters.prescriptions
    ADD COLUMN verification text NOT NULL DEFAULT 'not_required'
        CHECK (verification IN ('pending', 'queried', 'verified', 'not_required')),
    ADD COLUMN verified_by uuid,
    ADD COLUMN verified_at timestamptz,
    ADD CONSTRAINT prescriptions_verified_by_whom
        CHECK ((verification = 'verified') = (verified_at IS NOT NULL));
ALTER TABLE encounters.prescriptions ALTER COLUMN verification DROP DEFAULT;
-- Take-home medication: the discharge's list, off the ward's round, not ended with the stay.
ALTER TABLE encounters.prescriptions ADD COLUMN take_home boolean NOT NULL DEFAULT false;
CREATE INDEX prescriptions_awaiting_verification ON encounters.prescriptions (tenant_id, encounter_id)
    WHERE verification IN ('pending', 'queried') AND status = 'active';


CREATE TABLE encounters.prescription_queries (
    tenant_id       uuid        NOT NULL,
    id              uuid        NOT NULL,
    prescription_id uuid        NOT NULL,
    encounter_id    uuid        NOT NULL,
    patient_id      uuid        NOT NULL,
    question        text        NOT NULL CHECK (question <> ''),
    asked_by        uuid        NOT NULL,
    asked_at        timestamptz NOT NULL,
    answer          text        NOT NULL DEFAULT '',
    answered_by     uuid,
    answered_at     timestamptz,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, prescription_id) REFERENCES encounters.prescriptions (tenant_id, id),
    CHECK ((answered_at IS NULL) = (answer = ''))
);
-- One open query per prescription: a second question waits for the first answer.
CREATE UNIQUE INDEX prescription_queries_one_open ON encounters.prescription_queries (tenant_id, prescription_id)
    WHERE answered_at IS NULL;
CREATE INDEX prescription_queries_by_encounter ON encounters.prescription_queries (tenant_id, encounter_id, asked_at);
GRANT SELECT, INSERT, UPDATE ON encounters.prescription_queries TO openhmis_app;
SELECT platform.enable_tenant_rls('encounters.prescription_queries'::regclass);

CREATE TABLE encounters.nursing_entries (
    tenant_id    uuid        NOT NULL,
    id           uuid        NOT NULL,
    encounter_id uuid        NOT NULL,
    patient_id   uuid        NOT NULL,
    kind         text        NOT NULL CHECK (kind IN ('vital_signs', 'note', 'care')),
    -- Vital signs: [{"code": "8310-5", "value": "37.2", "unit": "Cel"}, ...].
    vital_signs  jsonb       NOT NULL DEFAULT '[]',
    text         text        NOT NULL DEFAULT '',
    observed_at  timestamptz NOT NULL,
    recorded_by  uuid        NOT NULL,
    recorded_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, encounter_id) REFERENCES encounters.encounters (tenant_id, id),
    CHECK ((kind = 'vital_signs') = (jsonb_array_length(vital_signs) > 0)),
    CHECK (kind = 'vital_signs' OR text <> '')
);
CREATE INDEX nursing_entries_by_encounter ON encounters.nursing_entries (tenant_id, encounter_id, observed_at);
GRANT SELECT, INSERT ON encounters.nursing_entries TO openhmis_app;
SELECT platform.enable_tenant_rls('encounters.nursing_entries'::regclass);
