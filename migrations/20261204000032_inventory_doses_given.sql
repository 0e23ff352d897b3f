-- Doses given on the wards draw on the ward's stock (an issue to the patient whose document is
-- the administration). A dose that cannot be booked (no ward stock, no catalogue item in the
-- medicine's unit, not enough in stock) is kept here for the ward to reconcile, instead of
-- holding up every dose after it.
CREATE TABLE inventory.unbooked_doses (
    tenant_id         uuid        NOT NULL,
    administration_id uuid        NOT NULL,
    department_id     uuid        NOT NULL,
    medicine_code     text        NOT NULL,
    quantity          text        NOT NULL,
    reason            text        NOT NULL,
    recorded_at       timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, administration_id)
);
CREATE INDEX movements_of_administrations ON inventory.movements (tenant_id, document_id)
    WHERE document_type = 'administration';
GRANT SELECT, INSERT ON inventory.unbooked_doses TO openhmis_app;
SELECT platform.enable_tenant_rls('inventory.unbooked_doses'::regclass);
