-- Imaging reports signed for an encounter's orders, kept by encounters from imaging's
-- ReportSigned events so the medical extract reads no other module: the latest signed
-- version of each examination (an amendment replaces it; imaging keeps every version).
CREATE TABLE encounters.imaging_reports (
    tenant_id      uuid        NOT NULL,
    exam_id        uuid        NOT NULL,
    order_id       uuid        NOT NULL,
    encounter_id   uuid        NOT NULL,
    service_code   text        NOT NULL,
    service_name   text        NOT NULL,
    modality       text        NOT NULL,
    findings       text        NOT NULL,
    conclusion     text        NOT NULL,
    signed_by      uuid        NOT NULL,
    signed_at      timestamptz NOT NULL,
    study_uid      text        NOT NULL,
    amended        boolean     NOT NULL,
    PRIMARY KEY (tenant_id, exam_id)
);
CREATE INDEX imaging_reports_by_encounter
    ON encounters.imaging_reports (tenant_id, encounter_id, signed_at);

GRANT SELECT, INSERT, UPDATE ON encounters.imaging_reports TO openhmis_app;
SELECT platform.enable_tenant_rls('encounters.imaging_reports'::regclass);
