-- Stocktaking: a warehouse's stock counted lot by lot; posting adjusts every counted lot
-- whose count differs from its balance, through the ledger (adjustment movements).
CREATE TABLE inventory.stocktakings (
    tenant_id    uuid        NOT NULL,
    id           uuid        NOT NULL,
    warehouse_id uuid        NOT NULL,
    status       text        NOT NULL CHECK (status IN ('open', 'posted', 'cancelled')),
    started_by   uuid        NOT NULL,
    started_at   timestamptz NOT NULL,
    closed_at    timestamptz,
    version      bigint      NOT NULL DEFAULT 1,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, warehouse_id) REFERENCES inventory.warehouses (tenant_id, id),
    CHECK ((status = 'open') = (closed_at IS NULL))
);
-- One stocktaking at a time per warehouse.
CREATE UNIQUE INDEX stocktakings_one_open
    ON inventory.stocktakings (tenant_id, warehouse_id) WHERE status = 'open';

CREATE TABLE inventory.stocktaking_lines (
    tenant_id      uuid          NOT NULL,
    stocktaking_id uuid          NOT NULL,
    lot_id         uuid          NOT NULL,
    expected       numeric(14,4) NOT NULL CHECK (expected >= 0),
    counted        numeric(14,4) CHECK (counted >= 0),
    -- Set when posted: counted minus the balance at posting.
    difference     numeric(14,4),
    PRIMARY KEY (tenant_id, stocktaking_id, lot_id),
    FOREIGN KEY (tenant_id, stocktaking_id) REFERENCES inventory.stocktakings (tenant_id, id),
    FOREIGN KEY (tenant_id, lot_id) REFERENCES inventory.lots (tenant_id, id)
);

GRANT SELECT, INSERT, UPDATE ON inventory.stocktakings, inventory.stocktaking_lines
    TO openhmis_app;
SELECT platform.enable_tenant_rls(t)
FROM unnest(ARRAY['inventory.stocktakings', 'inventory.stocktaking_lines']::regclass[]) AS t;
