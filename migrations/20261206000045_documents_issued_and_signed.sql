-- Documents the hospital issues (printed from the record as PDF) and their signatures.
--
--   * an issued document says what it printed (`printout`) and from what (`source_id`: the
--     encounter, the certificate, the ward or the facility and period);
--   * the ward's medication order and Form 16 are the facility's documents, of no patient;
--     every other document has its patient (documents_of_a_patient);
--   * a signature is a detached Ed25519 signature, by the issuing clinician or by the
--     facility, over a statement naming the document, its version and its content's SHA-256;
--     signatures, like versions, are never changed (signatures_kept).
ALTER TABLE documents.documents ALTER COLUMN patient_id DROP NOT NULL;
ALTER TABLE documents.documents
    ADD COLUMN printout  text CHECK (printout IN ('medical_extract', 'certificate',
        'prescriptions', 'patient_slip', 'ward_medication_order', 'form16')),
    ADD COLUMN source_id text NOT NULL DEFAULT '',
    ADD CONSTRAINT documents_of_a_patient CHECK (patient_id IS NOT NULL
        OR printout IN ('ward_medication_order', 'form16'));
CREATE INDEX documents_by_source ON documents.documents (tenant_id, printout, source_id)
    WHERE printout IS NOT NULL;

CREATE TABLE documents.signatures (
    tenant_id   uuid        NOT NULL,
    document_id uuid        NOT NULL,
    version     int         NOT NULL,
    signer_kind text        NOT NULL CHECK (signer_kind IN ('clinician', 'facility')),
    signer_id   uuid        NOT NULL,
    signer_name text        NOT NULL,
    sha256      text        NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    signed_at   timestamptz NOT NULL,
    public_key  bytea       NOT NULL CHECK (length(public_key) = 32),
    signature   bytea       NOT NULL CHECK (length(signature) = 64),
    PRIMARY KEY (tenant_id, document_id, version, signer_kind),
    FOREIGN KEY (tenant_id, document_id, version)
        REFERENCES documents.versions (tenant_id, document_id, number)
);

CREATE FUNCTION documents.keep_signatures() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'a signature is never changed'
        USING ERRCODE = 'check_violation', CONSTRAINT = 'signatures_kept';
END $$;
CREATE TRIGGER signatures_kept BEFORE UPDATE OR DELETE ON documents.signatures
    FOR EACH ROW EXECUTE FUNCTION documents.keep_signatures();

GRANT SELECT, INSERT ON documents.signatures TO openhmis_app;
SELECT platform.enable_tenant_rls('documents.signatures'::regclass);
