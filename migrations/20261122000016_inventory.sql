-- Inventory: the catalog, warehouses, lots and the stock ledger.
--
-- The ledger (inventory.movements) is append-only: the application may insert and read it,
-- never change it. Balances are derived from it by the database: a trigger on every
-- inserted movement takes the quantity out of the source warehouse's balance and puts it
-- into the destination's, in the inserting transaction. A balance below zero violates
-- balances_never_negative, so an issue that the stock does not cover fails whole, however
-- many dispensers race for the same lot; and a balance cannot be changed except by a
-- movement (balances_change_only_by_movements).
CREATE SCHEMA inventory;
SELECT platform.install_module_kit('inventory');

CREATE TABLE inventory.items (
    tenant_id         uuid        NOT NULL,
    id                uuid        NOT NULL,
    code              text        NOT NULL,
    name              text        NOT NULL,
    item_class        text        NOT NULL CHECK (item_class IN ('medicine', 'parapharmaceutical',
                          'auxiliary')),
    atc_code          text        NOT NULL DEFAULT '',
    preparation_group text        NOT NULL DEFAULT '',
    base_unit         text        NOT NULL,
    controlled        boolean     NOT NULL DEFAULT false,
    version           bigint      NOT NULL DEFAULT 1,
    created_at        timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT items_code_unique UNIQUE (tenant_id, code)
);

CREATE TABLE inventory.pack_units (
    tenant_id     uuid          NOT NULL,
    item_id       uuid          NOT NULL,
    name          text          NOT NULL,
    base_quantity numeric(14,4) NOT NULL CHECK (base_quantity > 0),
    PRIMARY KEY (tenant_id, item_id, name),
    FOREIGN KEY (tenant_id, item_id) REFERENCES inventory.items (tenant_id, id)
);

CREATE TABLE inventory.warehouses (
    tenant_id     uuid        NOT NULL,
    id            uuid        NOT NULL,
    code          text        NOT NULL,
    name          text        NOT NULL,
    kind          text        NOT NULL CHECK (kind IN ('central_pharmacy', 'ward',
                      'operating_block', 'other')),
    facility_id   uuid        NOT NULL,
    department_id uuid,
    created_at    timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT warehouses_code_unique UNIQUE (tenant_id, code)
);

CREATE TABLE inventory.reorder_points (
    tenant_id    uuid          NOT NULL,
    warehouse_id uuid          NOT NULL,
    item_id      uuid          NOT NULL,
    quantity     numeric(14,4) NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (tenant_id, warehouse_id, item_id),
    FOREIGN KEY (tenant_id, warehouse_id) REFERENCES inventory.warehouses (tenant_id, id),
    FOREIGN KEY (tenant_id, item_id) REFERENCES inventory.items (tenant_id, id)
);

-- A lot is what a receipt brings of one item: its number, expiry, cost and provenance.
-- The same delivery received twice on paper is the same lot.
CREATE TABLE inventory.lots (
    tenant_id   uuid          NOT NULL,
    id          uuid          NOT NULL,
    item_id     uuid          NOT NULL,
    lot_number  text          NOT NULL,
    expiry_date date          NOT NULL,
    unit_cost   numeric(14,4) NOT NULL CHECK (unit_cost >= 0),
    provenance  text          NOT NULL CHECK (provenance IN ('purchase', 'donation',
                    'state_programme')),
    supplier    text          NOT NULL DEFAULT '',
    created_at  timestamptz   NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT lots_identity UNIQUE (tenant_id, item_id, lot_number, expiry_date, unit_cost,
                                     provenance),
    FOREIGN KEY (tenant_id, item_id) REFERENCES inventory.items (tenant_id, id)
);

CREATE TABLE inventory.movements (
    tenant_id           uuid          NOT NULL,
    id                  uuid          NOT NULL,
    kind                text          NOT NULL CHECK (kind IN ('receipt', 'transfer',
                            'issue_patient', 'issue_ward', 'return', 'write_off', 'adjustment')),
    item_id             uuid          NOT NULL,
    lot_id              uuid          NOT NULL,
    from_warehouse_id   uuid,
    to_warehouse_id     uuid,
    quantity            numeric(14,4) NOT NULL CHECK (quantity > 0),
    unit_cost           numeric(14,4) NOT NULL,
    actor_id            uuid          NOT NULL,
    document_type       text          NOT NULL,
    document_id         text          NOT NULL,
    reason              text          NOT NULL DEFAULT '',
    patient_id          uuid,
    department_id       uuid,
    -- A return names the movement it reverses.
    reverses_id         uuid,
    occurred_at         timestamptz   NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, lot_id) REFERENCES inventory.lots (tenant_id, id),
    FOREIGN KEY (tenant_id, from_warehouse_id) REFERENCES inventory.warehouses (tenant_id, id),
    FOREIGN KEY (tenant_id, to_warehouse_id) REFERENCES inventory.warehouses (tenant_id, id),
    FOREIGN KEY (tenant_id, reverses_id) REFERENCES inventory.movements (tenant_id, id),
    -- What enters has no source, what leaves no destination, a transfer has both.
    CHECK (CASE kind
        WHEN 'receipt' THEN from_warehouse_id IS NULL AND to_warehouse_id IS NOT NULL
        WHEN 'transfer' THEN from_warehouse_id IS NOT NULL AND to_warehouse_id IS NOT NULL
                             AND from_warehouse_id <> to_warehouse_id
        WHEN 'issue_patient' THEN from_warehouse_id IS NOT NULL AND to_warehouse_id IS NULL
                                  AND patient_id IS NOT NULL
        WHEN 'issue_ward' THEN from_warehouse_id IS NOT NULL AND to_warehouse_id IS NULL
                               AND department_id IS NOT NULL
        WHEN 'return' THEN to_warehouse_id IS NOT NULL AND reverses_id IS NOT NULL
        WHEN 'write_off' THEN from_warehouse_id IS NOT NULL AND to_warehouse_id IS NULL
                              AND reason <> ''
        ELSE (from_warehouse_id IS NULL) <> (to_warehouse_id IS NULL)
    END)
);
CREATE INDEX movements_by_warehouse_out
    ON inventory.movements (tenant_id, from_warehouse_id, occurred_at DESC, id DESC);
CREATE INDEX movements_by_warehouse_in
    ON inventory.movements (tenant_id, to_warehouse_id, occurred_at DESC, id DESC);
CREATE INDEX movements_reversing ON inventory.movements (tenant_id, reverses_id)
    WHERE reverses_id IS NOT NULL;

CREATE TABLE inventory.balances (
    tenant_id    uuid          NOT NULL,
    warehouse_id uuid          NOT NULL,
    lot_id       uuid          NOT NULL,
    item_id      uuid          NOT NULL,
    quantity     numeric(14,4) NOT NULL,
    PRIMARY KEY (tenant_id, warehouse_id, lot_id),
    CONSTRAINT balances_never_negative CHECK (quantity >= 0),
    FOREIGN KEY (tenant_id, warehouse_id) REFERENCES inventory.warehouses (tenant_id, id),
    FOREIGN KEY (tenant_id, lot_id) REFERENCES inventory.lots (tenant_id, id)
);
CREATE INDEX balances_by_item ON inventory.balances (tenant_id, warehouse_id, item_id)
    WHERE quantity > 0;

CREATE FUNCTION inventory.apply_movement() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.from_warehouse_id IS NOT NULL THEN
        UPDATE inventory.balances SET quantity = quantity - NEW.quantity
        WHERE tenant_id = NEW.tenant_id AND warehouse_id = NEW.from_warehouse_id
          AND lot_id = NEW.lot_id;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'the warehouse holds none of this lot'
                USING ERRCODE = 'check_violation', CONSTRAINT = 'balances_never_negative',
                      TABLE = 'balances', SCHEMA = 'inventory';
        END IF;
    END IF;
    IF NEW.to_warehouse_id IS NOT NULL THEN
        INSERT INTO inventory.balances (tenant_id, warehouse_id, lot_id, item_id, quantity)
        VALUES (NEW.tenant_id, NEW.to_warehouse_id, NEW.lot_id, NEW.item_id, NEW.quantity)
        ON CONFLICT (tenant_id, warehouse_id, lot_id)
            DO UPDATE SET quantity = inventory.balances.quantity + EXCLUDED.quantity;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER movements_apply AFTER INSERT ON inventory.movements
    FOR EACH ROW EXECUTE FUNCTION inventory.apply_movement();

-- Only the movement trigger (one level down) may write a balance.
CREATE FUNCTION inventory.guard_balances() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF pg_trigger_depth() < 2 THEN
        RAISE EXCEPTION 'balances change only through movements'
            USING ERRCODE = 'insufficient_privilege',
                  CONSTRAINT = 'balances_change_only_by_movements';
    END IF;
    RETURN COALESCE(NEW, OLD);
END $$;

CREATE TRIGGER balances_guard BEFORE INSERT OR UPDATE OR DELETE ON inventory.balances
    FOR EACH ROW EXECUTE FUNCTION inventory.guard_balances();

-- The ledger is append-only for the application: no UPDATE or DELETE grant.
GRANT SELECT, INSERT, UPDATE ON inventory.items, inventory.warehouses, inventory.lots
    TO openhmis_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON inventory.pack_units, inventory.reorder_points
    TO openhmis_app;
GRANT SELECT, INSERT ON inventory.movements TO openhmis_app;
GRANT SELECT, INSERT, UPDATE ON inventory.balances TO openhmis_app;
SELECT platform.enable_tenant_rls(t)
FROM unnest(ARRAY['inventory.items', 'inventory.pack_units', 'inventory.warehouses',
                  'inventory.reorder_points', 'inventory.lots', 'inventory.movements',
                  'inventory.balances']::regclass[]) AS t;

-- `openhmis inventory verify` checks every tenant's ledger against its balances.
GRANT SELECT ON inventory.movements, inventory.balances TO openhmis_worker;
CREATE POLICY verify_reads ON inventory.movements FOR SELECT TO openhmis_worker USING (true);
CREATE POLICY verify_reads ON inventory.balances FOR SELECT TO openhmis_worker USING (true);
