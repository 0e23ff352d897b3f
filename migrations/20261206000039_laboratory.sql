-- The laboratory (`laboratory`): its catalogue (sections, tests coded in LOINC with their
-- reference ranges, panels), orders received from physicians' referrals, specimens with their
-- accession numbers, results (entered by hand or by analysers over HL7 v2) with their
-- validation, critical-value alerts, and the HL7 message log.
--
-- The database keeps the rules people and analysers race on:
--   * one order per referral (orders_one_per_referral): the follower may see an event twice;
--   * a test of an order is in one live specimen (order_tests' specimen_id is set once per
--     collection; a rejection frees it);
--   * a test of an order has one current result (results_one_current): a later value
--     supersedes the earlier one, which is kept;
--   * a message of an analyser is applied once (hl7_messages_once): a retransmission with the
--     same control id is answered without storing its results again;
--   * an alert is raised once per result (alerts_once_per_result).
CREATE SCHEMA laboratory;
SELECT platform.install_module_kit('laboratory');

CREATE TABLE laboratory.sections (
    tenant_id     uuid   NOT NULL,
    code          text   NOT NULL CHECK (code ~ '^[A-Z0-9_-]{1,16}$'),
    name          text   NOT NULL,
    loinc_classes text[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (tenant_id, code)
);

CREATE TABLE laboratory.tests (
    tenant_id      uuid    NOT NULL,
    code           text    NOT NULL,
    name           text    NOT NULL,
    section_code   text    NOT NULL,
    loinc_class    text    NOT NULL DEFAULT '',
    specimen_type  text    NOT NULL,
    container      text    NOT NULL,
    result_kind    text    NOT NULL CHECK (result_kind IN ('numeric', 'text', 'coded', 'panel')),
    unit           text    NOT NULL DEFAULT '',
    -- [{sex, age_from_days, age_to_days, low, high, critical_low, critical_high}]
    ranges         jsonb   NOT NULL DEFAULT '[]',
    member_codes   text[]  NOT NULL DEFAULT '{}',
    answers        text[]  NOT NULL DEFAULT '{}',
    normal_answers text[]  NOT NULL DEFAULT '{}',
    active         boolean NOT NULL DEFAULT true,
    version        bigint  NOT NULL DEFAULT 1,
    PRIMARY KEY (tenant_id, code),
    FOREIGN KEY (tenant_id, section_code) REFERENCES laboratory.sections (tenant_id, code)
);

-- What orders need of the registry's patients (sex and birth date choose the reference
-- range), kept from its events; a row only moves to a newer version.
CREATE TABLE laboratory.known_patients (
    tenant_id  uuid   NOT NULL,
    patient_id uuid   NOT NULL,
    version    bigint NOT NULL,
    sex        text   NOT NULL CHECK (sex IN ('male', 'female', 'unknown')),
    birth_date date,
    PRIMARY KEY (tenant_id, patient_id)
);

CREATE TABLE laboratory.orders (
    tenant_id     uuid        NOT NULL,
    id            uuid        NOT NULL,
    referral_id   uuid        NOT NULL,
    encounter_id  uuid        NOT NULL,
    patient_id    uuid        NOT NULL,
    admission_id  uuid,
    department_id uuid,
    facility_id   uuid        NOT NULL,
    requested_by  uuid        NOT NULL,
    priority      text        NOT NULL CHECK (priority IN ('routine', 'urgent', 'emergency')),
    status        text        NOT NULL CHECK (status IN ('ordered', 'collected', 'received',
                      'in_progress', 'preliminary', 'final', 'cancelled')),
    reason        text        NOT NULL DEFAULT '',
    ordered_at    timestamptz NOT NULL,
    final_at      timestamptz,
    cancel_reason text        NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT orders_one_per_referral UNIQUE (tenant_id, referral_id)
);
CREATE INDEX orders_open_by_facility ON laboratory.orders (tenant_id, facility_id, ordered_at)
    WHERE status NOT IN ('final', 'cancelled');
CREATE INDEX orders_by_patient ON laboratory.orders (tenant_id, patient_id, ordered_at);

CREATE SEQUENCE laboratory.accession_numbers;
GRANT USAGE ON SEQUENCE laboratory.accession_numbers TO openhmis_app;

CREATE TABLE laboratory.specimens (
    tenant_id        uuid        NOT NULL,
    id               uuid        NOT NULL,
    accession        text        NOT NULL,
    order_id         uuid        NOT NULL,
    specimen_type    text        NOT NULL,
    container        text        NOT NULL,
    -- The tests it was collected for (a rejection frees them; the specimen still says).
    test_codes       text[]      NOT NULL,
    status           text        NOT NULL CHECK (status IN ('collected', 'received', 'rejected')),
    collected_by     uuid        NOT NULL,
    collected_at     timestamptz NOT NULL,
    received_by      uuid,
    received_at      timestamptz,
    rejection_reason text,
    rejection_note   text        NOT NULL DEFAULT '',
    rejected_by      uuid,
    rejected_at      timestamptz,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT specimens_accession_unique UNIQUE (tenant_id, accession),
    FOREIGN KEY (tenant_id, order_id) REFERENCES laboratory.orders (tenant_id, id)
);
CREATE INDEX specimens_by_order ON laboratory.specimens (tenant_id, order_id);

-- An order's tests (a panel ordered is its members), each with its section and the specimen
-- that carries it while one does.
CREATE TABLE laboratory.order_tests (
    tenant_id    uuid NOT NULL,
    order_id     uuid NOT NULL,
    test_code    text NOT NULL,
    test_name    text NOT NULL,
    section_code text NOT NULL,
    position     int  NOT NULL,
    specimen_id  uuid,
    PRIMARY KEY (tenant_id, order_id, test_code),
    FOREIGN KEY (tenant_id, order_id) REFERENCES laboratory.orders (tenant_id, id),
    FOREIGN KEY (tenant_id, specimen_id) REFERENCES laboratory.specimens (tenant_id, id)
);

CREATE TABLE laboratory.analysers (
    tenant_id           uuid        NOT NULL,
    id                  uuid        NOT NULL,
    code                text        NOT NULL,
    name                text        NOT NULL,
    sending_application text        NOT NULL,
    sending_facility    text        NOT NULL,
    facility_id         uuid        NOT NULL,
    section_code        text        NOT NULL,
    active              boolean     NOT NULL DEFAULT true,
    created_at          timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT analysers_code_unique UNIQUE (tenant_id, code),
    FOREIGN KEY (tenant_id, section_code) REFERENCES laboratory.sections (tenant_id, code)
);

-- Which tenant's analyser a message comes from, by its MSH-3 and MSH-4, before anything is
-- known of the tenant: like IAM's tenant codes, the routes are not secret and every
-- connection may read them (the analysers' own rows stay private to their tenant).
CREATE TABLE laboratory.analyser_routes (
    tenant_id           uuid NOT NULL,
    analyser_id         uuid NOT NULL,
    sending_application text NOT NULL,
    sending_facility    text NOT NULL,
    PRIMARY KEY (tenant_id, analyser_id),
    CONSTRAINT analyser_routes_unique UNIQUE (sending_application, sending_facility),
    FOREIGN KEY (tenant_id, analyser_id) REFERENCES laboratory.analysers (tenant_id, id)
);

CREATE TABLE laboratory.hl7_messages (
    tenant_id        uuid        NOT NULL,
    id               uuid        NOT NULL,
    analyser_id      uuid        NOT NULL,
    control_id       text        NOT NULL,
    message_type     text        NOT NULL,
    received_at      timestamptz NOT NULL,
    acknowledgment   text        NOT NULL CHECK (acknowledgment IN ('AA', 'AE', 'AR')),
    error            text        NOT NULL DEFAULT '',
    results          int         NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, analyser_id) REFERENCES laboratory.analysers (tenant_id, id)
);
-- Only an accepted message holds its control id: a refused one may be sent again, fixed.
CREATE UNIQUE INDEX hl7_messages_once ON laboratory.hl7_messages (tenant_id, analyser_id, control_id)
    WHERE acknowledgment = 'AA';
CREATE INDEX hl7_messages_by_time ON laboratory.hl7_messages (tenant_id, received_at DESC);

CREATE TABLE laboratory.results (
    tenant_id         uuid        NOT NULL,
    id                uuid        NOT NULL,
    order_id          uuid        NOT NULL,
    patient_id        uuid        NOT NULL,
    test_code         text        NOT NULL,
    value             text        NOT NULL,
    value_numeric     numeric,
    unit              text        NOT NULL DEFAULT '',
    flag              text        NOT NULL CHECK (flag IN ('none', 'normal', 'low', 'high',
                          'critical_low', 'critical_high', 'abnormal')),
    reference_range   text        NOT NULL DEFAULT '',
    status            text        NOT NULL CHECK (status IN ('entered', 'preliminary', 'final',
                          'superseded')),
    source            text        NOT NULL,
    message_id        uuid,
    entered_by        uuid        NOT NULL,
    observed_at       timestamptz NOT NULL,
    technical_by      uuid,
    technical_at      timestamptz,
    medical_by        uuid,
    medical_at        timestamptz,
    supersedes_id     uuid,
    correction_reason text        NOT NULL DEFAULT '',
    corrected         boolean     NOT NULL DEFAULT false,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, order_id, test_code)
        REFERENCES laboratory.order_tests (tenant_id, order_id, test_code),
    FOREIGN KEY (tenant_id, supersedes_id) REFERENCES laboratory.results (tenant_id, id)
);
CREATE UNIQUE INDEX results_one_current ON laboratory.results (tenant_id, order_id, test_code)
    WHERE status <> 'superseded';
CREATE INDEX results_by_patient_test ON laboratory.results (tenant_id, patient_id, test_code,
    observed_at);

CREATE TABLE laboratory.alerts (
    tenant_id        uuid        NOT NULL,
    id               uuid        NOT NULL,
    result_id        uuid        NOT NULL,
    order_id         uuid        NOT NULL,
    patient_id       uuid        NOT NULL,
    facility_id      uuid        NOT NULL,
    department_id    uuid,
    requested_by     uuid        NOT NULL,
    raised_at        timestamptz NOT NULL,
    acknowledged_by  uuid,
    acknowledged_at  timestamptz,
    acknowledgment_note text     NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT alerts_once_per_result UNIQUE (tenant_id, result_id),
    FOREIGN KEY (tenant_id, result_id) REFERENCES laboratory.results (tenant_id, id)
);
CREATE INDEX alerts_by_facility ON laboratory.alerts (tenant_id, facility_id, raised_at DESC);

GRANT SELECT, INSERT, UPDATE ON laboratory.sections, laboratory.tests,
    laboratory.known_patients, laboratory.orders, laboratory.specimens, laboratory.order_tests,
    laboratory.analysers, laboratory.results, laboratory.alerts TO openhmis_app;
GRANT SELECT, INSERT ON laboratory.analyser_routes, laboratory.hl7_messages TO openhmis_app;
SELECT platform.enable_tenant_rls(t)
FROM unnest(ARRAY['laboratory.sections', 'laboratory.tests', 'laboratory.known_patients',
                  'laboratory.orders', 'laboratory.specimens', 'laboratory.order_tests',
                  'laboratory.analysers', 'laboratory.hl7_messages', 'laboratory.results',
                  'laboratory.alerts']::regclass[]) AS t;

ALTER TABLE laboratory.analyser_routes ENABLE ROW LEVEL SECURITY;
ALTER TABLE laboratory.analyser_routes FORCE ROW LEVEL SECURITY;
CREATE POLICY routes_are_public ON laboratory.analyser_routes FOR SELECT TO openhmis_app
    USING (true);
CREATE POLICY routed_by_its_tenant ON laboratory.analyser_routes FOR INSERT TO openhmis_app
    WITH CHECK (tenant_id = platform.current_tenant_id());
