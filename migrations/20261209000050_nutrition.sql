-- Nutrition (`nutrition`): the diet catalogue and the wards' default diets, each facility's
-- kitchen and meal times, patients' food allergies and restrictions, diet orders (and nil
-- by mouth before an operation), who is in which ward (kept from the admissions' events),
-- the wards' meal orders and their lines, the kitchen's ingredients (food items of the
-- inventory), recipes and cycle menus, and the days whose ingredients were issued.
--
-- The database keeps the rules people race on:
--   * one ordered diet per patient at a time (diet_orders_one_at_a_time);
--   * one meal order per ward, day and meal (meal_orders_once), and one sending per facility,
--     day and meal (meal_rounds' key): the cut-off job and a second server send it once;
--   * a day's ingredients issued once per facility (issues' key).
CREATE SCHEMA nutrition;
SELECT platform.install_module_kit('nutrition');
CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE nutrition.diets (
    tenant_id          uuid        NOT NULL,
    id                 uuid        NOT NULL,
    code               text        NOT NULL,
    name               text        NOT NULL,
    kind               text        NOT NULL CHECK (kind IN ('table', 'texture', 'special',
                           'nil_by_mouth')),
    energy_kcal_min    int         NOT NULL DEFAULT 0 CHECK (energy_kcal_min >= 0),
    energy_kcal_max    int         NOT NULL DEFAULT 0 CHECK (energy_kcal_max >= 0),
    protein_g_min      int         NOT NULL DEFAULT 0 CHECK (protein_g_min >= 0),
    fat_g_max          int         NOT NULL DEFAULT 0 CHECK (fat_g_max >= 0),
    carbohydrate_g_max int         NOT NULL DEFAULT 0 CHECK (carbohydrate_g_max >= 0),
    sodium_mg_max      int         NOT NULL DEFAULT 0 CHECK (sodium_mg_max >= 0),
    created_at         timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT diets_code_unique UNIQUE (tenant_id, code)
);

-- A facility's kitchen: its zone (the register's, kept so the cut-off job computes local
-- times without asking), the food warehouse and the kitchen's department, the cycle menu's
-- start and length, and the diet of patients whose ward sets none.
CREATE TABLE nutrition.kitchens (
    tenant_id       uuid        NOT NULL,
    facility_id     uuid        NOT NULL,
    time_zone       text        NOT NULL,
    warehouse_id    uuid        NOT NULL,
    department_id   uuid        NOT NULL,
    cycle_start     date        NOT NULL,
    cycle_days      int         NOT NULL CHECK (cycle_days BETWEEN 1 AND 28),
    default_diet_id uuid        NOT NULL,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, facility_id),
    FOREIGN KEY (tenant_id, default_diet_id) REFERENCES nutrition.diets (tenant_id, id)
);

CREATE TABLE nutrition.meal_times (
    tenant_id   uuid NOT NULL,
    facility_id uuid NOT NULL,
    meal        text NOT NULL CHECK (meal IN ('breakfast', 'lunch', 'dinner')),
    cutoff      time NOT NULL,
    serve       time NOT NULL,
    PRIMARY KEY (tenant_id, facility_id, meal),
    FOREIGN KEY (tenant_id, facility_id) REFERENCES nutrition.kitchens (tenant_id, facility_id)
        ON DELETE CASCADE,
    CONSTRAINT meal_times_cutoff_first CHECK (cutoff < serve)
);

CREATE TABLE nutrition.ward_diets (
    tenant_id     uuid        NOT NULL,
    department_id uuid        NOT NULL,
    facility_id   uuid        NOT NULL,
    diet_id       uuid        NOT NULL,
    set_by        uuid        NOT NULL,
    set_at        timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, department_id),
    FOREIGN KEY (tenant_id, diet_id) REFERENCES nutrition.diets (tenant_id, id)
);

CREATE TABLE nutrition.restrictions (
    tenant_id   uuid        NOT NULL,
    id          uuid        NOT NULL,
    patient_id  uuid        NOT NULL,
    kind        text        NOT NULL CHECK (kind IN ('allergy', 'intolerance', 'religious',
                    'personal')),
    allergen    text        NOT NULL,
    note        text        NOT NULL DEFAULT '',
    recorded_by uuid        NOT NULL,
    recorded_at timestamptz NOT NULL,
    ended_by    uuid,
    ended_at    timestamptz,
    end_reason  text,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX restrictions_once ON nutrition.restrictions (tenant_id, patient_id, allergen)
    WHERE ended_at IS NULL;

-- Who is where, from the admissions' events: each admission's version (a newer event
-- replaces its stays, an older one is ignored) and its ward and bed periods.
CREATE TABLE nutrition.admissions (
    tenant_id    uuid   NOT NULL,
    admission_id uuid   NOT NULL,
    version      bigint NOT NULL,
    patient_id   uuid   NOT NULL,
    facility_id  uuid   NOT NULL,
    PRIMARY KEY (tenant_id, admission_id)
);

-- Start and end as plain columns: comparisons of timestamps are leakproof, so "present at"
-- is an index condition under row-level security.
CREATE TABLE nutrition.stays (
    tenant_id     uuid        NOT NULL,
    admission_id  uuid        NOT NULL,
    position      int         NOT NULL,
    patient_id    uuid        NOT NULL,
    facility_id   uuid        NOT NULL,
    department_id uuid        NOT NULL,
    bed_id        uuid,
    start_at      timestamptz NOT NULL,
    end_at        timestamptz,
    PRIMARY KEY (tenant_id, admission_id, position),
    FOREIGN KEY (tenant_id, admission_id) REFERENCES nutrition.admissions (tenant_id, admission_id)
        ON DELETE CASCADE
);
CREATE INDEX stays_in_ward ON nutrition.stays (tenant_id, department_id, start_at);
CREATE INDEX stays_in_facility ON nutrition.stays (tenant_id, facility_id, start_at);
CREATE INDEX stays_of_patient ON nutrition.stays (tenant_id, patient_id);

CREATE TABLE nutrition.diet_orders (
    tenant_id    uuid        NOT NULL,
    id           uuid        NOT NULL,
    patient_id   uuid        NOT NULL,
    diet_id      uuid        NOT NULL,
    start_at     timestamptz NOT NULL,
    end_at       timestamptz,
    source       text        NOT NULL CHECK (source IN ('ordered', 'operation')),
    operation_id uuid,
    note         text        NOT NULL DEFAULT '',
    ordered_by   uuid,
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, diet_id) REFERENCES nutrition.diets (tenant_id, id),
    CONSTRAINT diet_orders_period CHECK (end_at IS NULL OR end_at > start_at),
    CONSTRAINT diet_orders_one_at_a_time
        EXCLUDE USING gist (tenant_id WITH =, patient_id WITH =,
                            tstzrange(start_at, end_at) WITH &&)
        WHERE (source = 'ordered')
);
CREATE INDEX diet_orders_of_patient ON nutrition.diet_orders (tenant_id, patient_id, start_at);
CREATE UNIQUE INDEX diet_orders_one_per_operation ON nutrition.diet_orders
    (tenant_id, operation_id) WHERE source = 'operation';

-- One row per facility, day and meal whose cut-off has passed and whose orders were sent.
CREATE TABLE nutrition.meal_rounds (
    tenant_id   uuid        NOT NULL,
    facility_id uuid        NOT NULL,
    day         date        NOT NULL,
    meal        text        NOT NULL,
    sent_at     timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, facility_id, day, meal)
);

CREATE TABLE nutrition.meal_orders (
    tenant_id     uuid        NOT NULL,
    id            uuid        NOT NULL,
    facility_id   uuid        NOT NULL,
    department_id uuid        NOT NULL,
    day           date        NOT NULL,
    meal          text        NOT NULL CHECK (meal IN ('breakfast', 'lunch', 'dinner')),
    cutoff_at     timestamptz NOT NULL,
    serve_at      timestamptz NOT NULL,
    status        text        NOT NULL CHECK (status IN ('open', 'sent')),
    sent_at       timestamptz,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT meal_orders_once UNIQUE (tenant_id, department_id, day, meal)
);
CREATE INDEX meal_orders_of_day ON nutrition.meal_orders (tenant_id, facility_id, day);
CREATE INDEX meal_orders_to_serve ON nutrition.meal_orders (tenant_id, serve_at)
    WHERE status = 'sent';

CREATE TABLE nutrition.meal_order_lines (
    tenant_id     uuid        NOT NULL,
    id            uuid        NOT NULL,
    meal_order_id uuid        NOT NULL,
    kind          text        NOT NULL CHECK (kind IN ('patient', 'adjustment')),
    patient_id    uuid,
    admission_id  uuid,
    bed_id        uuid,
    diet_id       uuid        NOT NULL,
    portions      int         NOT NULL CHECK (portions BETWEEN -20 AND 20),
    amendment     boolean     NOT NULL,
    reason        text        NOT NULL DEFAULT '',
    added_by      uuid,
    created_at    timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, meal_order_id) REFERENCES nutrition.meal_orders (tenant_id, id),
    FOREIGN KEY (tenant_id, diet_id) REFERENCES nutrition.diets (tenant_id, id),
    CONSTRAINT meal_order_lines_patient_named CHECK (kind = 'adjustment' OR patient_id IS NOT NULL)
);
CREATE INDEX meal_order_lines_of_order ON nutrition.meal_order_lines (tenant_id, meal_order_id);
CREATE INDEX meal_order_lines_of_patient ON nutrition.meal_order_lines (tenant_id, patient_id)
    WHERE patient_id IS NOT NULL;

CREATE TABLE nutrition.ingredients (
    tenant_id  uuid           NOT NULL,
    item_id    uuid           NOT NULL,
    code       text           NOT NULL,
    name       text           NOT NULL,
    base_unit  text           NOT NULL,
    issue_step numeric(14, 4) NOT NULL CHECK (issue_step > 0),
    allergens  text[]         NOT NULL DEFAULT '{}',
    created_at timestamptz    NOT NULL,
    PRIMARY KEY (tenant_id, item_id)
);

CREATE TABLE nutrition.recipes (
    tenant_id      uuid        NOT NULL,
    id             uuid        NOT NULL,
    code           text        NOT NULL,
    name           text        NOT NULL,
    course         text        NOT NULL CHECK (course IN ('soup', 'main', 'side', 'dessert',
                       'drink', 'bread')),
    energy_kcal    int         NOT NULL CHECK (energy_kcal >= 0),
    protein_g      int         NOT NULL CHECK (protein_g >= 0),
    fat_g          int         NOT NULL CHECK (fat_g >= 0),
    carbohydrate_g int         NOT NULL CHECK (carbohydrate_g >= 0),
    sodium_mg      int         NOT NULL CHECK (sodium_mg >= 0),
    created_at     timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT recipes_code_unique UNIQUE (tenant_id, code)
);

CREATE TABLE nutrition.recipe_ingredients (
    tenant_id uuid           NOT NULL,
    recipe_id uuid           NOT NULL,
    item_id   uuid           NOT NULL,
    quantity  numeric(14, 4) NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (tenant_id, recipe_id, item_id),
    FOREIGN KEY (tenant_id, recipe_id) REFERENCES nutrition.recipes (tenant_id, id),
    FOREIGN KEY (tenant_id, item_id) REFERENCES nutrition.ingredients (tenant_id, item_id)
);

CREATE TABLE nutrition.menu_courses (
    tenant_id            uuid NOT NULL,
    facility_id          uuid NOT NULL,
    cycle_day            int  NOT NULL CHECK (cycle_day BETWEEN 1 AND 28),
    meal                 text NOT NULL CHECK (meal IN ('breakfast', 'lunch', 'dinner')),
    diet_id              uuid NOT NULL,
    course               text NOT NULL,
    recipe_id            uuid NOT NULL,
    substitute_recipe_id uuid,
    PRIMARY KEY (tenant_id, facility_id, cycle_day, meal, diet_id, course),
    FOREIGN KEY (tenant_id, diet_id) REFERENCES nutrition.diets (tenant_id, id),
    FOREIGN KEY (tenant_id, recipe_id) REFERENCES nutrition.recipes (tenant_id, id),
    FOREIGN KEY (tenant_id, substitute_recipe_id) REFERENCES nutrition.recipes (tenant_id, id)
);

-- A day's ingredients issued from the food warehouse, once per facility and day: what is
-- to be issued is kept first (`lines`, item and quantity), so a retry after a stop midway
-- asks the stock ledger the very same thing and finds the movements made; then what the
-- ledger moved (quantities and values, for the reports).
CREATE TABLE nutrition.issues (
    tenant_id    uuid        NOT NULL,
    facility_id  uuid        NOT NULL,
    day          date        NOT NULL,
    lines        jsonb       NOT NULL,
    requested_by uuid        NOT NULL,
    requested_at timestamptz NOT NULL,
    movement_ids uuid[],
    issued_at    timestamptz,
    PRIMARY KEY (tenant_id, facility_id, day),
    CONSTRAINT issues_done_whole CHECK ((movement_ids IS NULL) = (issued_at IS NULL))
);

CREATE TABLE nutrition.issue_lines (
    tenant_id   uuid           NOT NULL,
    facility_id uuid           NOT NULL,
    day         date           NOT NULL,
    item_id     uuid           NOT NULL,
    quantity    numeric(14, 4) NOT NULL,
    value       numeric(14, 4) NOT NULL,
    PRIMARY KEY (tenant_id, facility_id, day, item_id),
    FOREIGN KEY (tenant_id, facility_id, day) REFERENCES nutrition.issues (tenant_id, facility_id, day)
);

GRANT SELECT, INSERT, UPDATE, DELETE ON nutrition.kitchens, nutrition.meal_times,
    nutrition.ward_diets, nutrition.admissions, nutrition.stays, nutrition.diet_orders,
    nutrition.menu_courses TO openhmis_app;
GRANT SELECT, INSERT, UPDATE ON nutrition.diets, nutrition.restrictions, nutrition.meal_rounds,
    nutrition.meal_orders, nutrition.ingredients, nutrition.recipes,
    nutrition.recipe_ingredients TO openhmis_app;
GRANT SELECT, INSERT ON nutrition.meal_order_lines, nutrition.issue_lines TO openhmis_app;
GRANT SELECT, INSERT, UPDATE ON nutrition.issues TO openhmis_app;
SELECT platform.enable_tenant_rls(t)
FROM unnest(ARRAY['nutrition.diets', 'nutrition.kitchens', 'nutrition.meal_times',
                  'nutrition.ward_diets', 'nutrition.restrictions', 'nutrition.admissions',
                  'nutrition.stays', 'nutrition.diet_orders', 'nutrition.meal_rounds',
                  'nutrition.meal_orders', 'nutrition.meal_order_lines',
                  'nutrition.ingredients', 'nutrition.recipes', 'nutrition.recipe_ingredients',
                  'nutrition.menu_courses', 'nutrition.issues',
                  'nutrition.issue_lines']::regclass[]) AS t;

-- The cut-off job finds the facilities, days and meals whose orders are due across tenants,
-- then sends each inside its tenant's transaction: it reads kitchens and meal times (no
-- patient data) and which rounds were sent.
GRANT SELECT ON nutrition.kitchens, nutrition.meal_times, nutrition.meal_rounds
    TO openhmis_worker;
CREATE POLICY cutoff_job_reads ON nutrition.kitchens FOR SELECT TO openhmis_worker USING (true);
CREATE POLICY cutoff_job_reads ON nutrition.meal_times FOR SELECT TO openhmis_worker USING (true);
CREATE POLICY cutoff_job_reads ON nutrition.meal_rounds FOR SELECT TO openhmis_worker
    USING (true);
