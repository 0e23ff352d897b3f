-- A version's content may be kept in an object store (a directory, or an S3-compatible
-- bucket) instead of documents.chunks: object_key names it there; NULL keeps it in chunks.
-- Versions stored before a store was configured keep being read from the database.
ALTER TABLE documents.versions
    ADD COLUMN object_key text CHECK (object_key IS NULL OR object_key ~ '^[0-9a-f-]{36}/[0-9a-f-]{36}/[0-9]+\.[0-9a-f-]{36}$');
COMMENT ON COLUMN documents.versions.object_key IS
    'where the content is in the configured object store: tenant/document/version.upload; NULL when in documents.chunks';
