-- Ward requisitions: what a ward stock asks of the pharmacy; the pharmacy fills them with
-- transfers that name the requisition, in one go or in parts.
CREATE TABLE inventory.requisitions (
    tenant_id        uuid        NOT NULL,
    id               uuid        NOT NULL,
    -- The ward stock asking, and the warehouse asked.
    ward_stock_id    uuid        NOT NULL,
    supplier_id      uuid        NOT NULL,
    status           text        NOT NULL CHECK (status IN ('open', 'fulfilled', 'cancelled')),
    note             text        NOT NULL DEFAULT '',
    requested_by     uuid        NOT NULL,
    created_at       timestamptz NOT NULL,
    closed_at        timestamptz,
    version          bigint      NOT NULL DEFAULT 1,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, ward_stock_id) REFERENCES inventory.warehouses (tenant_id, id),
    FOREIGN KEY (tenant_id, supplier_id) REFERENCES inventory.warehouses (tenant_id, id),
    CHECK (ward_stock_id <> supplier_id),
    CHECK ((status = 'open') = (closed_at IS NULL))
);
CREATE INDEX requisitions_open_by_supplier
    ON inventory.requisitions (tenant_id, supplier_id, created_at) WHERE status = 'open';

CREATE TABLE inventory.requisition_lines (
    tenant_id      uuid          NOT NULL,
    requisition_id uuid          NOT NULL,
    item_id        uuid          NOT NULL,
    requested      numeric(14,4) NOT NULL CHECK (requested > 0),
    supplied       numeric(14,4) NOT NULL DEFAULT 0 CHECK (supplied >= 0),
    PRIMARY KEY (tenant_id, requisition_id, item_id),
    FOREIGN KEY (tenant_id, requisition_id) REFERENCES inventory.requisitions (tenant_id, id),
    FOREIGN KEY (tenant_id, item_id) REFERENCES inventory.items (tenant_id, id),
    -- Never more than was asked for.
    CONSTRAINT requisition_lines_not_oversupplied CHECK (supplied <= requested)
);

GRANT SELECT, INSERT, UPDATE ON inventory.requisitions, inventory.requisition_lines
    TO openhmis_app;
SELECT platform.enable_tenant_rls(t)
FROM unnest(ARRAY['inventory.requisitions', 'inventory.requisition_lines']::regclass[]) AS t;
