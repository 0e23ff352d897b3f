-- Settlement (`billing`): the invoices of an account. An interim invoice bills what a patient
-- still in hospital was charged so far; the final one, once the admission is discharged (or an
-- outpatient account closed), settles the account; charges that land after it (a late
-- procedure, a discharge undone and done again) go on supplementary invoices.
--   * a charge is billed on one invoice at most (invoice_charges' key);
--   * an account has one final invoice at most (invoices_one_final);
--   * an invoice's shares add up (invoices_adds_up) and numbers are gap-free per tenant and
--     year (invoice_series, taken in the invoice's transaction, like receipts).
-- status of accounts gains 'settled' (the final invoice was issued).
CREATE TABLE billing.invoice_series (
    tenant_id uuid    NOT NULL,
    year      integer NOT NULL,
    last      integer NOT NULL,
    PRIMARY KEY (tenant_id, year)
);

-- kind: interim | final | supplementary. paid: the account's payments less refunds when
-- issued; patient_due: the patient's part of every invoice of the account so far less paid.
CREATE TABLE billing.invoices (
    tenant_id      uuid          NOT NULL,
    id             uuid          NOT NULL,
    account_id     uuid          NOT NULL,
    number         text          NOT NULL,
    kind           text          NOT NULL CHECK (kind IN ('interim', 'final', 'supplementary')),
    charge_count   integer       NOT NULL CHECK (charge_count >= 0),
    total          numeric(14,2) NOT NULL,
    insurers_total numeric(14,2) NOT NULL,
    patient_total  numeric(14,2) NOT NULL,
    paid           numeric(14,2) NOT NULL,
    patient_due    numeric(14,2) NOT NULL,
    warnings       text[]        NOT NULL DEFAULT '{}',
    issued_by      uuid          NOT NULL,
    issued_at      timestamptz   NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, account_id) REFERENCES billing.accounts (tenant_id, id),
    CONSTRAINT invoices_number_unique UNIQUE (tenant_id, number),
    CONSTRAINT invoices_adds_up CHECK (total = insurers_total + patient_total)
);
CREATE UNIQUE INDEX invoices_one_final ON billing.invoices (tenant_id, account_id)
    WHERE kind = 'final';
CREATE INDEX invoices_by_account ON billing.invoices (tenant_id, account_id, issued_at);

CREATE TABLE billing.invoice_charges (
    tenant_id  uuid NOT NULL,
    charge_id  uuid NOT NULL,
    invoice_id uuid NOT NULL,
    CONSTRAINT invoice_charges_once PRIMARY KEY (tenant_id, charge_id),
    FOREIGN KEY (tenant_id, charge_id) REFERENCES billing.charges (tenant_id, id),
    FOREIGN KEY (tenant_id, invoice_id) REFERENCES billing.invoices (tenant_id, id)
);
CREATE INDEX invoice_charges_by_invoice ON billing.invoice_charges (tenant_id, invoice_id);

GRANT SELECT, INSERT ON billing.invoices, billing.invoice_charges TO openhmis_app;
GRANT SELECT, INSERT, UPDATE ON billing.invoice_series TO openhmis_app;
SELECT platform.enable_tenant_rls(t)
FROM unnest(ARRAY['billing.invoice_series', 'billing.invoices',
                  'billing.invoice_charges']::regclass[]) AS t;

-- `openhmis billing verify` adds every invoice up again from its charges.
GRANT SELECT ON billing.invoices, billing.invoice_charges TO openhmis_worker;
CREATE POLICY verify_reads ON billing.invoices FOR SELECT TO openhmis_worker USING (true);
CREATE POLICY verify_reads ON billing.invoice_charges FOR SELECT TO openhmis_worker USING (true);

-- An insurer's remittance: money received from it, with the DRG claims it pays (each claim
-- paid once: remittance_lines' key) and the rest paid on account (fee-for-service shares).
CREATE TABLE billing.remittances (
    tenant_id     uuid          NOT NULL,
    id            uuid          NOT NULL,
    contract_id   uuid          NOT NULL,
    reference     text          NOT NULL,
    received_on   date          NOT NULL,
    amount        numeric(14,2) NOT NULL CHECK (amount > 0),
    allocated     numeric(14,2) NOT NULL CHECK (allocated >= 0),
    recorded_by   uuid          NOT NULL,
    recorded_at   timestamptz   NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, contract_id) REFERENCES billing.contracts (tenant_id, id),
    CONSTRAINT remittances_reference_once UNIQUE (tenant_id, contract_id, reference),
    CONSTRAINT remittances_allocated_within CHECK (allocated <= amount)
);
CREATE INDEX remittances_by_day ON billing.remittances (tenant_id, contract_id, received_on);

CREATE TABLE billing.remittance_lines (
    tenant_id     uuid          NOT NULL,
    admission_id  uuid          NOT NULL,
    remittance_id uuid          NOT NULL,
    amount        numeric(14,2) NOT NULL CHECK (amount >= 0),
    CONSTRAINT remittance_lines_claim_once PRIMARY KEY (tenant_id, admission_id),
    FOREIGN KEY (tenant_id, remittance_id) REFERENCES billing.remittances (tenant_id, id),
    FOREIGN KEY (tenant_id, admission_id) REFERENCES billing.cases (tenant_id, admission_id)
);
CREATE INDEX remittance_lines_by_remittance ON billing.remittance_lines (tenant_id, remittance_id);

-- The tenant's chart of accounts for the journal exported to accounting, by role:
-- "revenue" (a service group's revenue: code + "." + group), "patients" (what patients owe),
-- "insurers" (what an insurer owes: code + "." + payer code), and one per payment method.
CREATE TABLE billing.ledger_accounts (
    tenant_id uuid NOT NULL,
    role      text NOT NULL CHECK (role IN ('revenue', 'patients', 'insurers', 'cash', 'card',
                                            'bank_transfer', 'mobile')),
    code      text NOT NULL,
    PRIMARY KEY (tenant_id, role)
);

GRANT SELECT, INSERT ON billing.remittances, billing.remittance_lines TO openhmis_app;
GRANT SELECT, INSERT, UPDATE ON billing.ledger_accounts TO openhmis_app;
SELECT platform.enable_tenant_rls(t)
FROM unnest(ARRAY['billing.remittances', 'billing.remittance_lines',
                  'billing.ledger_accounts']::regclass[]) AS t;

-- Packages: a tariff of kind 'package' prices a bundle of care at one price; `includes` names
-- what it covers ("service:<system>:<code>", "accommodation:<care level>", "supply:<item>").
-- A package applied to an account (one at most: account_packages' key) charges its price once
-- and reverses the included charges already there; included charges captured after it are
-- priced at 0.
ALTER TABLE billing.tariffs ADD COLUMN includes text[] NOT NULL DEFAULT '{}';
ALTER TABLE billing.tariffs ADD CONSTRAINT tariffs_includes_of_packages
    CHECK (kind = 'package' OR cardinality(includes) = 0);

CREATE TABLE billing.account_packages (
    tenant_id  uuid        NOT NULL,
    account_id uuid        NOT NULL,
    code       text        NOT NULL,
    name       text        NOT NULL,
    includes   text[]      NOT NULL,
    applied_by uuid        NOT NULL,
    applied_at timestamptz NOT NULL,
    CONSTRAINT account_packages_one PRIMARY KEY (tenant_id, account_id),
    FOREIGN KEY (tenant_id, account_id) REFERENCES billing.accounts (tenant_id, id)
);
GRANT SELECT, INSERT ON billing.account_packages TO openhmis_app;
SELECT platform.enable_tenant_rls('billing.account_packages'::regclass);
