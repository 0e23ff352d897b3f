-- Admissions: what admitting needs to know of the registry's patients (sex for beds, death,
-- merges), kept from the registry's PatientChanged events so an admission does not read the
-- whole record each time. No names or identifiers: those stay in the registry.
CREATE TABLE admissions.known_patients (
    tenant_id   uuid    NOT NULL,
    patient_id  uuid    NOT NULL,
    -- The registry's version the row reflects; an older event never overwrites a newer one.
    version     bigint  NOT NULL,
    sex         text    NOT NULL CHECK (sex IN ('male', 'female', 'unknown')),
    deceased    boolean NOT NULL,
    merged_into uuid,
    PRIMARY KEY (tenant_id, patient_id)
);

GRANT SELECT, INSERT, UPDATE ON admissions.known_patients TO openhmis_app;
SELECT platform.enable_tenant_rls('admissions.known_patients');
