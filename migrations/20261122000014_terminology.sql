-- Terminology: code systems (ICD-10, the procedure classification, ATC, LOINC, ...) in
-- versions, their concepts with hierarchy, and maps between versions of a system.
--
-- Each tenant holds the versions it imported: institutions adopt a new ICD-10 release on their
-- own date, and the statistics of a year stay coded in the version they were coded in.
CREATE SCHEMA terminology;
SELECT platform.install_module_kit('terminology');

CREATE TABLE terminology.code_systems (
    tenant_id     uuid        NOT NULL,
    system        text        NOT NULL CHECK (system ~ '^[a-z][a-z0-9-]{1,31}$'),
    version       text        NOT NULL CHECK (version ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$'),
    title         text        NOT NULL,
    -- Codes are looked up in the default version of a system unless a caller names one.
    is_default    boolean     NOT NULL DEFAULT false,
    concept_count integer     NOT NULL DEFAULT 0 CHECK (concept_count >= 0),
    imported_at   timestamptz NOT NULL,
    source        text        NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, system, version)
);
CREATE UNIQUE INDEX code_systems_one_default
    ON terminology.code_systems (tenant_id, system) WHERE is_default;

CREATE TABLE terminology.concepts (
    tenant_id   uuid     NOT NULL,
    system      text     NOT NULL,
    version     text     NOT NULL,
    code        text     NOT NULL CHECK (code <> ''),
    display     text     NOT NULL,
    -- chapter, block, category, ... as the source classification names its levels.
    kind        text     NOT NULL DEFAULT '',
    parent_code text,
    -- Whether the code may be recorded (a leaf or a category the classification allows);
    -- chapters and blocks group codes but are not codes one diagnoses with.
    selectable  boolean  NOT NULL,
    -- The display and the code, lower-cased: what text search matches words against.
    search_text text     NOT NULL,
    -- Position in the source file: listings come out in the classification's own order.
    ordinal     integer  NOT NULL,
    PRIMARY KEY (tenant_id, system, version, code),
    FOREIGN KEY (tenant_id, system, version)
        REFERENCES terminology.code_systems (tenant_id, system, version) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, system, version, parent_code)
        REFERENCES terminology.concepts (tenant_id, system, version, code)
        DEFERRABLE INITIALLY DEFERRED
);
-- Prefix search walks this range (C collation: byte order, so 'A0' .. 'A1' is a range).
CREATE INDEX concepts_by_code_prefix
    ON terminology.concepts (tenant_id, system, version, (code COLLATE "C"));
CREATE INDEX concepts_by_parent
    ON terminology.concepts (tenant_id, system, version, parent_code, ordinal);

-- How a code of one version reads in another (ICD-10 2016 -> 2019, ...). A code absent here
-- but present with the same meaning in both versions translates to itself.
CREATE TABLE terminology.concept_maps (
    tenant_id    uuid NOT NULL,
    system       text NOT NULL,
    from_version text NOT NULL,
    from_code    text NOT NULL,
    to_version   text NOT NULL,
    to_code      text NOT NULL,
    relation     text NOT NULL CHECK (relation IN ('equivalent', 'broader', 'narrower',
                     'related', 'not_mapped')),
    PRIMARY KEY (tenant_id, system, from_version, from_code, to_version, to_code),
    FOREIGN KEY (tenant_id, system, from_version)
        REFERENCES terminology.code_systems (tenant_id, system, version) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, system, to_version)
        REFERENCES terminology.code_systems (tenant_id, system, version) ON DELETE CASCADE
);

GRANT SELECT, INSERT, UPDATE, DELETE ON terminology.code_systems, terminology.concepts,
    terminology.concept_maps TO openhmis_app;
SELECT platform.enable_tenant_rls(t)
FROM unnest(ARRAY['terminology.code_systems', 'terminology.concepts',
                  'terminology.concept_maps']::regclass[]) AS t;
