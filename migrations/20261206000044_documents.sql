-- The document archive (`documents`): kinds of documents with their retention, documents of
-- patients' records with every version of their content, and the content itself in chunks
-- (PostgreSQL keeps it by default; metadata always stays here).
--
-- The database keeps the archive's rules:
--   * a version's chunks are written in the upload's transaction and checked against their
--     version at commit (chunks_of_a_version, deferred): an upload that does not end whole
--     leaves nothing behind;
--   * a document is deleted only once its retention has ended and no hold is on it
--     (documents_deleted_when_due), and its content only once it is deleted (a trigger that
--     refuses even the owner otherwise);
--   * versions are never changed: a replacement is a new version.
CREATE SCHEMA documents;
SELECT platform.install_module_kit('documents');

CREATE TABLE documents.kinds (
    tenant_id       uuid    NOT NULL,
    code            text    NOT NULL CHECK (code ~ '^[A-Z0-9_]{1,32}$'),
    name            text    NOT NULL,
    retention_years int     NOT NULL CHECK (retention_years BETWEEN 1 AND 100),
    content_types   text[]  NOT NULL DEFAULT '{}',
    max_size_bytes  bigint  NOT NULL CHECK (max_size_bytes > 0),
    PRIMARY KEY (tenant_id, code)
);

CREATE TABLE documents.documents (
    tenant_id         uuid        NOT NULL,
    id                uuid        NOT NULL,
    kind_code         text        NOT NULL,
    patient_id        uuid        NOT NULL,
    facility_id       uuid        NOT NULL,
    department_id     uuid,
    admission_id      uuid,
    encounter_id      uuid,
    title             text        NOT NULL,
    current_version   int         NOT NULL CHECK (current_version >= 1),
    created_by        uuid        NOT NULL,
    created_at        timestamptz NOT NULL,
    retain_until      date        NOT NULL,
    legal_hold        boolean     NOT NULL DEFAULT false,
    legal_hold_reason text        NOT NULL DEFAULT '',
    deleted_at        timestamptz,
    deleted_by        uuid,
    delete_reason     text        NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, kind_code) REFERENCES documents.kinds (tenant_id, code),
    CONSTRAINT documents_deleted_when_due CHECK (deleted_at IS NULL
        OR (NOT legal_hold AND retain_until <= deleted_at::date))
);
CREATE INDEX documents_by_patient ON documents.documents (tenant_id, patient_id, created_at DESC);

CREATE TABLE documents.versions (
    tenant_id    uuid        NOT NULL,
    document_id  uuid        NOT NULL,
    number       int         NOT NULL CHECK (number >= 1),
    content_type text        NOT NULL,
    size_bytes   bigint      NOT NULL CHECK (size_bytes > 0),
    sha256       text        NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    chunks       int         NOT NULL CHECK (chunks >= 1),
    file_name    text        NOT NULL DEFAULT '',
    added_by     uuid        NOT NULL,
    added_at     timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, document_id, number),
    FOREIGN KEY (tenant_id, document_id) REFERENCES documents.documents (tenant_id, id)
);

CREATE TABLE documents.chunks (
    tenant_id   uuid  NOT NULL,
    document_id uuid  NOT NULL,
    version     int   NOT NULL,
    seq         int   NOT NULL CHECK (seq >= 0),
    bytes       bytea NOT NULL,
    PRIMARY KEY (tenant_id, document_id, version, seq),
    CONSTRAINT chunks_of_a_version FOREIGN KEY (tenant_id, document_id, version)
        REFERENCES documents.versions (tenant_id, document_id, number)
        DEFERRABLE INITIALLY DEFERRED
);
-- Scans, PDFs and photos are compressed already: stored out of line, not compressed again.
ALTER TABLE documents.chunks ALTER COLUMN bytes SET STORAGE EXTERNAL;

-- Versions are never changed; content goes only with its deleted document.
CREATE FUNCTION documents.keep_versions() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'a document''s version is never changed; store a new version instead'
        USING ERRCODE = 'check_violation', CONSTRAINT = 'versions_kept';
END $$;
CREATE TRIGGER versions_kept BEFORE UPDATE OR DELETE ON documents.versions
    FOR EACH ROW EXECUTE FUNCTION documents.keep_versions();

CREATE FUNCTION documents.delete_content_of_deleted_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' OR NOT EXISTS (SELECT 1 FROM documents.documents d
            WHERE d.tenant_id = OLD.tenant_id AND d.id = OLD.document_id
              AND d.deleted_at IS NOT NULL) THEN
        RAISE EXCEPTION 'a document''s content is never changed, and deleted only with the document at the end of its retention'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'content_kept';
    END IF;
    RETURN OLD;
END $$;
CREATE TRIGGER content_kept BEFORE UPDATE OR DELETE ON documents.chunks
    FOR EACH ROW EXECUTE FUNCTION documents.delete_content_of_deleted_only();

GRANT SELECT, INSERT, UPDATE ON documents.kinds, documents.documents TO openhmis_app;
GRANT SELECT, INSERT ON documents.versions TO openhmis_app;
GRANT SELECT, INSERT, DELETE ON documents.chunks TO openhmis_app;
SELECT platform.enable_tenant_rls(t)
FROM unnest(ARRAY['documents.kinds', 'documents.documents', 'documents.versions',
                  'documents.chunks']::regclass[]) AS t;

-- The verify command lists every version across tenants (ids, sizes and hashes: no content),
-- then reads each one's chunks inside its tenant's transaction.
GRANT SELECT ON documents.versions TO openhmis_worker;
CREATE POLICY verifier_lists_versions ON documents.versions FOR SELECT TO openhmis_worker
    USING (true);
