-- Billing (`billing`): price lists and their tariffs, insurance contracts and patients'
-- policies, patient accounts whose charges are captured from other modules' events, and the
-- cash desk (shifts, payments, refunds).
--
-- The database keeps the rules money depends on:
--   * a tenant's price lists never overlap in time (price_lists_no_overlap): a service date
--     has one price;
--   * a source event charges once (charges_once_per_source) and a charge is reversed once
--     (charges_reversed_once);
--   * a charge's shares add up to it (charges_shares_add_up);
--   * a payment confirmation is applied once (payments_confirmation_once);
--   * refunds never exceed the payment (payments_refund_within_amount), however many
--     cashiers refund it at once: the refund is an UPDATE of the payment's row;
--   * a cashier has one open shift (shifts_one_open_per_cashier);
--   * receipt numbers are gap-free per tenant and year (receipt_series, taken in the
--     payment's transaction).
-- Account totals are kept beside their charges and payments for the desk; `openhmis billing
-- verify` recomputes them, and each closed shift's report, from the rows.
CREATE SCHEMA billing;
SELECT platform.install_module_kit('billing');
CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE billing.price_lists (
    tenant_id  uuid        NOT NULL,
    id         uuid        NOT NULL,
    name       text        NOT NULL,
    currency   text        NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    valid      daterange   NOT NULL CHECK (NOT isempty(valid)),
    created_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT price_lists_no_overlap EXCLUDE USING gist (tenant_id WITH =, valid WITH &&)
);

-- kind: service | accommodation | supply. A service is priced per unit (`price`), a supply at
-- cost plus `margin_bp` (hundredths of a percent).
CREATE TABLE billing.tariffs (
    tenant_id     uuid          NOT NULL,
    price_list_id uuid          NOT NULL,
    kind          text          NOT NULL,
    code_system   text          NOT NULL DEFAULT '',
    code          text          NOT NULL,
    name          text          NOT NULL,
    price         numeric(14,2) CHECK (price >= 0),
    unit          text          NOT NULL,
    margin_bp     integer       CHECK (margin_bp >= 0),
    service_group text          NOT NULL,
    PRIMARY KEY (tenant_id, price_list_id, kind, code_system, code),
    FOREIGN KEY (tenant_id, price_list_id) REFERENCES billing.price_lists (tenant_id, id),
    CHECK ((kind = 'supply') = (margin_bp IS NOT NULL)),
    CHECK ((kind = 'supply') = (price IS NULL))
);

-- A ward's care level names the accommodation tariff its bed-days are priced by.
CREATE TABLE billing.ward_care_levels (
    tenant_id     uuid NOT NULL,
    department_id uuid NOT NULL,
    care_level    text NOT NULL,
    PRIMARY KEY (tenant_id, department_id)
);

-- coverage_bp: {"service group": hundredths of a percent}.
CREATE TABLE billing.contracts (
    tenant_id   uuid          NOT NULL,
    id          uuid          NOT NULL,
    payer_code  text          NOT NULL,
    name        text          NOT NULL,
    kind        text          NOT NULL,
    default_bp  integer       NOT NULL CHECK (default_bp BETWEEN 0 AND 10000),
    coverage_bp jsonb         NOT NULL DEFAULT '{}',
    franchise   numeric(14,2) NOT NULL DEFAULT 0 CHECK (franchise >= 0),
    ceiling     numeric(14,2) CHECK (ceiling >= 0),
    created_at  timestamptz   NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT contracts_payer_code_unique UNIQUE (tenant_id, payer_code)
);

-- A patient holds one policy of each kind (national, supplementary) on a given day.
CREATE TABLE billing.coverages (
    tenant_id     uuid      NOT NULL,
    id            uuid      NOT NULL,
    patient_id    uuid      NOT NULL,
    contract_id   uuid      NOT NULL,
    contract_kind text      NOT NULL,
    policy_number text      NOT NULL,
    valid         daterange NOT NULL CHECK (NOT isempty(valid)),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, contract_id) REFERENCES billing.contracts (tenant_id, id),
    CONSTRAINT coverages_one_per_kind EXCLUDE USING gist
        (tenant_id WITH =, patient_id WITH =, contract_kind WITH =, valid WITH &&)
);

-- One account per admission (`admission_id`), or one open outpatient account per patient.
-- admit_time and discharge_time follow the admission's events; a charge may create its
-- admission's account before the admission's own event arrives (the outboxes of two modules
-- are not ordered with each other).
CREATE TABLE billing.accounts (
    tenant_id      uuid          NOT NULL,
    id             uuid          NOT NULL,
    patient_id     uuid          NOT NULL,
    admission_id   uuid,
    status         text          NOT NULL,
    facility_id    uuid,
    physician_id   uuid,
    admit_time     timestamptz,
    discharge_time timestamptz,
    source_version bigint        NOT NULL DEFAULT 0,
    total          numeric(14,2) NOT NULL DEFAULT 0,
    patient_total  numeric(14,2) NOT NULL DEFAULT 0,
    paid           numeric(14,2) NOT NULL DEFAULT 0,
    opened_at      timestamptz   NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT accounts_one_per_admission UNIQUE (tenant_id, admission_id)
);
CREATE UNIQUE INDEX accounts_one_open_outpatient ON billing.accounts (tenant_id, patient_id)
    WHERE admission_id IS NULL AND status = 'open';
CREATE INDEX accounts_by_patient ON billing.accounts (tenant_id, patient_id, opened_at);

-- source: accommodation | procedure | operation | supply | emergency_visit | adjustment.
-- source_key names the event-borne fact it charges ("stay:<id>:<discharge>", "procedure:<id>",
-- "movement:<id>", ...), so a redelivered event charges nothing twice.
CREATE TABLE billing.charges (
    tenant_id                 uuid          NOT NULL,
    id                        uuid          NOT NULL,
    account_id                uuid          NOT NULL,
    source                    text          NOT NULL,
    source_key                text          NOT NULL,
    code_system               text          NOT NULL DEFAULT '',
    code                      text          NOT NULL DEFAULT '',
    description               text          NOT NULL,
    quantity                  numeric(14,4) NOT NULL,
    unit_price                numeric(14,2) NOT NULL,
    amount                    numeric(14,2) NOT NULL,
    national_contract_id      uuid,
    national_amount           numeric(14,2) NOT NULL DEFAULT 0,
    supplementary_contract_id uuid,
    supplementary_amount      numeric(14,2) NOT NULL DEFAULT 0,
    patient_amount            numeric(14,2) NOT NULL,
    franchise_applied         numeric(14,2) NOT NULL DEFAULT 0,
    service_group             text          NOT NULL DEFAULT '',
    service_time              timestamptz   NOT NULL,
    department_id             uuid,
    physician_id              uuid,
    reverses_id               uuid,
    unpriced                  boolean       NOT NULL DEFAULT false,
    reason                    text          NOT NULL DEFAULT '',
    approved_by               uuid,
    created_at                timestamptz   NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, account_id) REFERENCES billing.accounts (tenant_id, id),
    CONSTRAINT charges_once_per_source UNIQUE (tenant_id, source_key),
    CONSTRAINT charges_reversed_once UNIQUE (tenant_id, reverses_id),
    CONSTRAINT charges_shares_add_up
        CHECK (national_amount + supplementary_amount + patient_amount = amount)
);
CREATE INDEX charges_by_account ON billing.charges (tenant_id, account_id, service_time);

CREATE TABLE billing.shifts (
    tenant_id     uuid          NOT NULL,
    id            uuid          NOT NULL,
    cashier_id    uuid          NOT NULL,
    desk          text          NOT NULL,
    opening_float numeric(14,2) NOT NULL CHECK (opening_float >= 0),
    opened_at     timestamptz   NOT NULL,
    closed_at     timestamptz,
    counted_cash  numeric(14,2),
    PRIMARY KEY (tenant_id, id),
    CHECK ((closed_at IS NULL) = (counted_cash IS NULL))
);
CREATE UNIQUE INDEX shifts_one_open_per_cashier ON billing.shifts (tenant_id, cashier_id)
    WHERE closed_at IS NULL;

-- The closing report as it was closed, by method; `verify` recomputes it from the rows.
CREATE TABLE billing.shift_totals (
    tenant_id uuid          NOT NULL,
    shift_id  uuid          NOT NULL,
    method    text          NOT NULL,
    payments  numeric(14,2) NOT NULL,
    deposits  numeric(14,2) NOT NULL,
    refunds   numeric(14,2) NOT NULL,
    PRIMARY KEY (tenant_id, shift_id, method),
    FOREIGN KEY (tenant_id, shift_id) REFERENCES billing.shifts (tenant_id, id)
);

CREATE TABLE billing.receipt_series (
    tenant_id uuid    NOT NULL,
    year      integer NOT NULL,
    last      integer NOT NULL,
    PRIMARY KEY (tenant_id, year)
);

CREATE TABLE billing.payments (
    tenant_id       uuid          NOT NULL,
    id              uuid          NOT NULL,
    account_id      uuid          NOT NULL,
    shift_id        uuid          NOT NULL,
    kind            text          NOT NULL,
    method          text          NOT NULL,
    amount          numeric(14,2) NOT NULL CHECK (amount > 0),
    refunded        numeric(14,2) NOT NULL DEFAULT 0,
    receipt_number  text          NOT NULL,
    confirmation_id text,
    cashier_id      uuid          NOT NULL,
    paid_at         timestamptz   NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, account_id) REFERENCES billing.accounts (tenant_id, id),
    FOREIGN KEY (tenant_id, shift_id) REFERENCES billing.shifts (tenant_id, id),
    CONSTRAINT payments_refund_within_amount CHECK (refunded >= 0 AND refunded <= amount),
    CONSTRAINT payments_confirmation_once UNIQUE (tenant_id, confirmation_id),
    CONSTRAINT payments_receipt_unique UNIQUE (tenant_id, receipt_number)
);
CREATE INDEX payments_by_account ON billing.payments (tenant_id, account_id);
CREATE INDEX payments_by_shift ON billing.payments (tenant_id, shift_id);

CREATE TABLE billing.refunds (
    tenant_id      uuid          NOT NULL,
    id             uuid          NOT NULL,
    payment_id     uuid          NOT NULL,
    shift_id       uuid          NOT NULL,
    method         text          NOT NULL,
    amount         numeric(14,2) NOT NULL CHECK (amount > 0),
    reason         text          NOT NULL,
    receipt_number text          NOT NULL,
    cashier_id     uuid          NOT NULL,
    refunded_at    timestamptz   NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, payment_id) REFERENCES billing.payments (tenant_id, id),
    FOREIGN KEY (tenant_id, shift_id) REFERENCES billing.shifts (tenant_id, id),
    CONSTRAINT refunds_receipt_unique UNIQUE (tenant_id, receipt_number)
);
CREATE INDEX refunds_by_shift ON billing.refunds (tenant_id, shift_id);

GRANT SELECT, INSERT ON billing.price_lists, billing.contracts, billing.coverages,
    billing.charges, billing.refunds, billing.shift_totals TO openhmis_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON billing.tariffs, billing.ward_care_levels
    TO openhmis_app;
GRANT SELECT, INSERT, UPDATE ON billing.accounts, billing.shifts, billing.payments,
    billing.receipt_series TO openhmis_app;
SELECT platform.enable_tenant_rls(t)
FROM unnest(ARRAY['billing.price_lists', 'billing.tariffs', 'billing.ward_care_levels',
                  'billing.contracts', 'billing.coverages', 'billing.accounts',
                  'billing.charges', 'billing.shifts', 'billing.shift_totals',
                  'billing.receipt_series', 'billing.payments',
                  'billing.refunds']::regclass[]) AS t;

-- `openhmis billing verify` reads every tenant's money as the worker role.
GRANT SELECT ON billing.accounts, billing.charges, billing.payments, billing.refunds,
    billing.shifts, billing.shift_totals TO openhmis_worker;
CREATE POLICY verify_reads ON billing.accounts FOR SELECT TO openhmis_worker USING (true);
CREATE POLICY verify_reads ON billing.charges FOR SELECT TO openhmis_worker USING (true);
CREATE POLICY verify_reads ON billing.payments FOR SELECT TO openhmis_worker USING (true);
CREATE POLICY verify_reads ON billing.refunds FOR SELECT TO openhmis_worker USING (true);
CREATE POLICY verify_reads ON billing.shifts FOR SELECT TO openhmis_worker USING (true);
CREATE POLICY verify_reads ON billing.shift_totals FOR SELECT TO openhmis_worker USING (true);
