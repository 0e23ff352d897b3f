-- Imaging (`imaging`): its catalogue of services (procedure codes by modality), examination
-- rooms, orders received from physicians' imaging referrals, one examination per service
-- ordered (with its DICOM accession number and study instance UID), and the radiologist's
-- reports, every version kept.
--
-- The database keeps the rules people race on:
--   * one order per referral (orders_one_per_referral): the follower may see an event twice;
--   * an accession number and a study instance UID name one examination (exams_*_unique);
--   * an examination has at most one draft and one signed report (reports_one_draft,
--     reports_one_signed): two radiologists signing at once, one wins;
--   * a signed report is never changed (reports_signed_kept): an amendment is a new version.
CREATE SCHEMA imaging;
SELECT platform.install_module_kit('imaging');

CREATE TABLE imaging.services (
    tenant_id        uuid    NOT NULL,
    code             text    NOT NULL,
    name             text    NOT NULL,
    modality         text    NOT NULL CHECK (modality IN ('xray', 'ultrasound', 'ct', 'mri',
                         'mammography', 'fluoroscopy')),
    body_part        text    NOT NULL DEFAULT '',
    duration_minutes int     NOT NULL CHECK (duration_minutes BETWEEN 1 AND 480),
    active           boolean NOT NULL DEFAULT true,
    version          bigint  NOT NULL DEFAULT 1,
    PRIMARY KEY (tenant_id, code)
);

CREATE TABLE imaging.rooms (
    tenant_id   uuid    NOT NULL,
    id          uuid    NOT NULL,
    code        text    NOT NULL,
    name        text    NOT NULL,
    facility_id uuid    NOT NULL,
    modality    text    NOT NULL CHECK (modality IN ('xray', 'ultrasound', 'ct', 'mri',
                    'mammography', 'fluoroscopy')),
    ae_title    text    NOT NULL DEFAULT '' CHECK (length(ae_title) <= 16),
    active      boolean NOT NULL DEFAULT true,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT rooms_code_unique UNIQUE (tenant_id, code)
);

CREATE TABLE imaging.orders (
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
    status        text        NOT NULL CHECK (status IN ('ordered', 'scheduled', 'in_progress',
                      'performed', 'preliminary', 'final', 'cancelled')),
    reason        text        NOT NULL DEFAULT '',
    ordered_at    timestamptz NOT NULL,
    final_at      timestamptz,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT orders_one_per_referral UNIQUE (tenant_id, referral_id)
);
CREATE INDEX orders_by_patient ON imaging.orders (tenant_id, patient_id, ordered_at);

CREATE SEQUENCE imaging.accession_numbers;
GRANT USAGE ON SEQUENCE imaging.accession_numbers TO openhmis_app;

CREATE TABLE imaging.exams (
    tenant_id          uuid        NOT NULL,
    id                 uuid        NOT NULL,
    order_id           uuid        NOT NULL,
    accession          text        NOT NULL CHECK (length(accession) <= 16),
    service_code       text        NOT NULL,
    service_name       text        NOT NULL,
    -- None while its code is not in the catalogue: scheduling it into a room gives it the
    -- room's modality.
    modality           text        CHECK (modality IN ('xray', 'ultrasound', 'ct', 'mri',
                           'mammography', 'fluoroscopy')),
    status             text        NOT NULL CHECK (status IN ('ordered', 'scheduled',
                           'in_progress', 'performed', 'preliminary', 'final', 'cancelled')),
    -- Copied from the order so the worklists read one table.
    facility_id        uuid        NOT NULL,
    department_id      uuid,
    priority           text        NOT NULL,
    ordered_at         timestamptz NOT NULL,
    room_id            uuid,
    scheduled_at       timestamptz,
    study_uid          text        NOT NULL CHECK (study_uid ~ '^[0-9]+(\.[0-9]+)*$'
                           AND length(study_uid) <= 64),
    performed_by       uuid,
    started_at         timestamptz,
    performed_at       timestamptz,
    technique_note     text        NOT NULL DEFAULT '',
    final_at           timestamptz,
    cancel_reason      text        NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT exams_accession_unique UNIQUE (tenant_id, accession),
    CONSTRAINT exams_study_unique UNIQUE (tenant_id, study_uid),
    FOREIGN KEY (tenant_id, order_id) REFERENCES imaging.orders (tenant_id, id),
    FOREIGN KEY (tenant_id, room_id) REFERENCES imaging.rooms (tenant_id, id)
);
CREATE INDEX exams_by_order ON imaging.exams (tenant_id, order_id);
CREATE INDEX exams_open_by_facility ON imaging.exams (tenant_id, facility_id, modality, ordered_at)
    WHERE status NOT IN ('final', 'cancelled');

CREATE TABLE imaging.reports (
    tenant_id        uuid        NOT NULL,
    id               uuid        NOT NULL,
    exam_id          uuid        NOT NULL,
    version          int         NOT NULL CHECK (version >= 1),
    findings         text        NOT NULL,
    conclusion       text        NOT NULL,
    status           text        NOT NULL CHECK (status IN ('draft', 'signed', 'superseded')),
    written_by       uuid        NOT NULL,
    written_at       timestamptz NOT NULL,
    signed_by        uuid,
    signed_at        timestamptz,
    content_sha256   text,
    amendment_reason text        NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT reports_version_unique UNIQUE (tenant_id, exam_id, version),
    CONSTRAINT reports_signed_complete CHECK (status = 'draft'
        OR (signed_by IS NOT NULL AND signed_at IS NOT NULL AND content_sha256 IS NOT NULL)),
    FOREIGN KEY (tenant_id, exam_id) REFERENCES imaging.exams (tenant_id, id)
);
CREATE UNIQUE INDEX reports_one_draft ON imaging.reports (tenant_id, exam_id)
    WHERE status = 'draft';
CREATE UNIQUE INDEX reports_one_signed ON imaging.reports (tenant_id, exam_id)
    WHERE status = 'signed';

-- A signed report's content and signature never change; only its status moves to
-- superseded when a signed amendment replaces it.
CREATE FUNCTION imaging.keep_signed_reports() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status <> 'draft' AND (NEW.findings IS DISTINCT FROM OLD.findings
        OR NEW.conclusion IS DISTINCT FROM OLD.conclusion
        OR NEW.signed_by IS DISTINCT FROM OLD.signed_by
        OR NEW.signed_at IS DISTINCT FROM OLD.signed_at
        OR NEW.content_sha256 IS DISTINCT FROM OLD.content_sha256
        OR NEW.version IS DISTINCT FROM OLD.version
        OR NOT (OLD.status = 'signed' AND NEW.status IN ('signed', 'superseded')
                OR OLD.status = 'superseded' AND NEW.status = 'superseded')) THEN
        RAISE EXCEPTION 'a signed report is never changed; amend it instead'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'reports_signed_kept';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER reports_signed_kept BEFORE UPDATE ON imaging.reports
    FOR EACH ROW EXECUTE FUNCTION imaging.keep_signed_reports();

GRANT SELECT, INSERT, UPDATE ON imaging.services, imaging.rooms, imaging.orders, imaging.exams,
    imaging.reports TO openhmis_app;
SELECT platform.enable_tenant_rls(t)
FROM unnest(ARRAY['imaging.services', 'imaging.rooms', 'imaging.orders', 'imaging.exams',
                  'imaging.reports']::regclass[]) AS t;
