-- What has been dispensed against each prescription (net of returns). A dispense adds to it
-- only while the sum stays within what the prescription allows: the row's lock orders racing
-- dispenses, so they never add up to more, however many arrive.
CREATE TABLE inventory.prescription_fills (
    tenant_id       uuid          NOT NULL,
    prescription_id uuid          NOT NULL,
    dispensed       numeric(14,4) NOT NULL DEFAULT 0 CHECK (dispensed >= 0),
    PRIMARY KEY (tenant_id, prescription_id)
);
GRANT SELECT, INSERT, UPDATE ON inventory.prescription_fills TO openhmis_app;
SELECT platform.enable_tenant_rls('inventory.prescription_fills'::regclass);
