-- The outpatient front office (`scheduling`): clinics (bookable services of the register's
-- departments) and their weekly schedules, facility holidays and clinicians' leave, the slots
-- opened from them, appointments, the referrals each department has to see (kept from the
-- encounters' events), and the day's queue tickets.
--
-- The database decides the races of a booking office:
--   * a slot's places: `booked` counts the appointments holding or having used a place (all
--     but cancelled and expired ones) and may not pass `capacity` (slots_within_capacity):
--     32 kiosks after the last place, one wins;
--   * one patient in two overlapping appointments (appointments_one_per_patient);
--   * one clinician in two overlapping open slots (slots_one_place_per_clinician);
--   * one ticket per appointment (tickets_one_per_appointment) and one number per clinic
--     and day (tickets_number_unique, numbers drawn from queue_counters).
CREATE SCHEMA scheduling;
SELECT platform.install_module_kit('scheduling');
CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE scheduling.clinics (
    tenant_id     uuid        NOT NULL,
    id            uuid        NOT NULL,
    department_id uuid        NOT NULL,
    facility_id   uuid        NOT NULL,
    code          text        NOT NULL,
    name          text        NOT NULL,
    kind          text        NOT NULL CHECK (kind IN ('consultation', 'laboratory', 'imaging',
                      'procedure')),
    slot_minutes  int         NOT NULL CHECK (slot_minutes BETWEEN 5 AND 240),
    capacity      int         NOT NULL CHECK (capacity BETWEEN 1 AND 100),
    active        boolean     NOT NULL DEFAULT true,
    version       bigint      NOT NULL DEFAULT 1,
    created_at    timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT clinics_code_unique UNIQUE (tenant_id, code)
);

-- A clinician's (or the clinic's own, clinician_id NULL) working week; `hours` is the list
-- of {weekday, start, end} in the facility's local time.
CREATE TABLE scheduling.weekly_schedules (
    tenant_id    uuid        NOT NULL,
    id           uuid        NOT NULL,
    clinic_id    uuid        NOT NULL,
    clinician_id uuid,
    room_id      uuid,
    hours        jsonb       NOT NULL,
    slot_minutes int         NOT NULL CHECK (slot_minutes BETWEEN 5 AND 240),
    capacity     int         NOT NULL CHECK (capacity BETWEEN 1 AND 100),
    valid_from   date        NOT NULL,
    valid_until  date,
    created_by   uuid        NOT NULL,
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, clinic_id) REFERENCES scheduling.clinics (tenant_id, id),
    CONSTRAINT weekly_schedules_valid_period
        CHECK (valid_until IS NULL OR valid_until >= valid_from)
);
CREATE INDEX weekly_schedules_of_clinic ON scheduling.weekly_schedules (tenant_id, clinic_id);

CREATE TABLE scheduling.holidays (
    tenant_id   uuid        NOT NULL,
    facility_id uuid        NOT NULL,
    day         date        NOT NULL,
    name        text        NOT NULL,
    recorded_by uuid        NOT NULL,
    recorded_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, facility_id, day)
);

CREATE TABLE scheduling.leave (
    tenant_id    uuid        NOT NULL,
    id           uuid        NOT NULL,
    clinician_id uuid        NOT NULL,
    facility_id  uuid        NOT NULL,
    days         daterange   NOT NULL CHECK (NOT isempty(days)),
    reason       text        NOT NULL,
    recorded_by  uuid        NOT NULL,
    recorded_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX leave_of_clinician ON scheduling.leave USING gist (tenant_id, clinician_id, days);

CREATE TABLE scheduling.slots (
    tenant_id    uuid      NOT NULL,
    id           uuid      NOT NULL,
    clinic_id    uuid      NOT NULL,
    clinician_id uuid,
    room_id      uuid,
    facility_id  uuid      NOT NULL,
    during       tstzrange NOT NULL CHECK (NOT isempty(during)),
    -- The start as a column of its own: comparing timestamps is leakproof, so the search's
    -- bounds on it are index conditions under row-level security (lower(during) is not, and
    -- would be a filter over every free slot of the clinic).
    starts_at    timestamptz GENERATED ALWAYS AS (lower(during)) STORED,
    capacity     int       NOT NULL CHECK (capacity BETWEEN 1 AND 100),
    booked       int       NOT NULL DEFAULT 0,
    blocked      boolean   NOT NULL DEFAULT false,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, clinic_id) REFERENCES scheduling.clinics (tenant_id, id),
    CONSTRAINT slots_within_capacity CHECK (booked BETWEEN 0 AND capacity),
    CONSTRAINT slots_one_place_per_clinician
        EXCLUDE USING gist (tenant_id WITH =, clinician_id WITH =, during WITH &&)
        WHERE (clinician_id IS NOT NULL AND NOT blocked)
);
-- One slot per clinic, clinician and start: opening the same days again opens nothing twice.
CREATE UNIQUE INDEX slots_once ON scheduling.slots
    (tenant_id, clinic_id, coalesce(clinician_id, '00000000-0000-0000-0000-000000000000'),
     lower(during));
-- The search for free places: a clinic's open slots with room left, in the order the search
-- answers (start, then id), so the first ones are read and no more, whatever the plan.
CREATE INDEX slots_free ON scheduling.slots (tenant_id, clinic_id, starts_at, id)
    WHERE NOT blocked AND booked < capacity;
CREATE INDEX slots_by_facility ON scheduling.slots USING gist (tenant_id, facility_id, during);

CREATE TABLE scheduling.appointments (
    tenant_id     uuid        NOT NULL,
    id            uuid        NOT NULL,
    slot_id       uuid        NOT NULL,
    clinic_id     uuid        NOT NULL,
    clinician_id  uuid,
    patient_id    uuid        NOT NULL,
    during        tstzrange   NOT NULL,
    -- The start as a column of its own, for index conditions under row-level security.
    starts_at     timestamptz GENERATED ALWAYS AS (lower(during)) STORED,
    status        text        NOT NULL CHECK (status IN ('held', 'booked', 'checked_in',
                      'completed', 'cancelled', 'no_show', 'expired')),
    channel       text        NOT NULL CHECK (channel IN ('desk', 'kiosk', 'phone', 'online')),
    hold_until    timestamptz,
    referral_id   uuid,
    booked_by     uuid        NOT NULL,
    created_at    timestamptz NOT NULL,
    cancel_reason text        NOT NULL DEFAULT '',
    cancelled_by  uuid,
    ended_at      timestamptz,
    version       bigint      NOT NULL DEFAULT 1,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, slot_id) REFERENCES scheduling.slots (tenant_id, id),
    CONSTRAINT appointments_hold_has_expiry CHECK ((status = 'held') = (hold_until IS NOT NULL)),
    CONSTRAINT appointments_one_per_patient
        EXCLUDE USING gist (tenant_id WITH =, patient_id WITH =, during WITH &&)
        WHERE (status IN ('held', 'booked', 'checked_in'))
);
CREATE INDEX appointments_of_clinic ON scheduling.appointments (tenant_id, clinic_id, starts_at);
CREATE INDEX appointments_of_patient ON scheduling.appointments (tenant_id, patient_id);
CREATE INDEX appointments_of_slot ON scheduling.appointments (tenant_id, slot_id);
-- One appointment per referral while it stands.
CREATE UNIQUE INDEX appointments_one_per_referral ON scheduling.appointments (tenant_id, referral_id)
    WHERE referral_id IS NOT NULL AND status IN ('held', 'booked', 'checked_in', 'completed');
CREATE INDEX appointments_holds_due ON scheduling.appointments (hold_until) WHERE status = 'held';

-- Referrals as the encounters' `ReferralCreated` events told them (no clinical text).
CREATE TABLE scheduling.referrals (
    tenant_id               uuid        NOT NULL,
    referral_id             uuid        NOT NULL,
    patient_id              uuid        NOT NULL,
    facility_id             uuid        NOT NULL,
    kind                    text        NOT NULL CHECK (kind IN ('laboratory', 'imaging',
                                'consultation')),
    codes                   text[]      NOT NULL DEFAULT '{}',
    specialty               text        NOT NULL DEFAULT '',
    target_department_id    uuid,
    referring_department_id uuid,
    referred_by             uuid        NOT NULL,
    urgency                 text        NOT NULL,
    created_at              timestamptz NOT NULL,
    status                  text        NOT NULL DEFAULT 'waiting'
                                CHECK (status IN ('waiting', 'booked', 'seen')),
    appointment_id          uuid,
    PRIMARY KEY (tenant_id, referral_id)
);
CREATE INDEX referrals_to_see ON scheduling.referrals (tenant_id, target_department_id, status);

CREATE TABLE scheduling.queue_counters (
    tenant_id uuid NOT NULL,
    clinic_id uuid NOT NULL,
    day       date NOT NULL,
    last      int  NOT NULL,
    PRIMARY KEY (tenant_id, clinic_id, day)
);

CREATE TABLE scheduling.tickets (
    tenant_id                uuid        NOT NULL,
    id                       uuid        NOT NULL,
    clinic_id                uuid        NOT NULL,
    day                      date        NOT NULL,
    number                   int         NOT NULL,
    patient_id               uuid        NOT NULL,
    appointment_id           uuid,
    appointment_time         timestamptz,
    priority                 smallint    NOT NULL CHECK (priority BETWEEN 1 AND 3),
    status                   text        NOT NULL CHECK (status IN ('waiting', 'called',
                                 'in_consultation', 'done', 'left')),
    arrived_at               timestamptz NOT NULL,
    called_at                timestamptz,
    started_at               timestamptz,
    ended_at                 timestamptz,
    called_to                text        NOT NULL DEFAULT '',
    clinician_id             uuid,
    encounter_id             uuid,
    outcome                  text        CHECK (outcome IN ('follow_up', 'referred', 'admitted',
                                 'to_family_doctor')),
    follow_up_appointment_id uuid,
    checked_in_by            uuid        NOT NULL,
    version                  bigint      NOT NULL DEFAULT 1,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, clinic_id) REFERENCES scheduling.clinics (tenant_id, id),
    CONSTRAINT tickets_number_unique UNIQUE (tenant_id, clinic_id, day, number),
    CONSTRAINT tickets_one_per_appointment UNIQUE (tenant_id, appointment_id),
    CONSTRAINT tickets_times_in_order CHECK (
        (called_at IS NULL OR called_at >= arrived_at)
        AND (started_at IS NULL OR called_at IS NOT NULL AND started_at >= called_at)
        AND (ended_at IS NULL OR ended_at >= arrived_at))
);
-- One place in a clinic's queue per patient at a time.
CREATE UNIQUE INDEX tickets_one_waiting_per_patient ON scheduling.tickets
    (tenant_id, clinic_id, day, patient_id) WHERE status IN ('waiting', 'called', 'in_consultation');

-- Patients waiting for a place of a clinic (one clinician's or any) within a window of time:
-- a place freed by a cancellation or an expired hold is offered, as a hold, to the first one
-- waiting whose window takes it. One entry per patient and clinic while it stands.
CREATE TABLE scheduling.waiting_list (
    tenant_id      uuid        NOT NULL,
    id             uuid        NOT NULL,
    clinic_id      uuid        NOT NULL,
    clinician_id   uuid,
    patient_id     uuid        NOT NULL,
    wanted         tstzrange   NOT NULL CHECK (NOT isempty(wanted)),
    status         text        NOT NULL CHECK (status IN ('waiting', 'offered', 'booked',
                       'lapsed', 'withdrawn')),
    appointment_id uuid,
    added_by       uuid        NOT NULL,
    created_at     timestamptz NOT NULL,
    version        bigint      NOT NULL DEFAULT 1,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, clinic_id) REFERENCES scheduling.clinics (tenant_id, id)
);
CREATE UNIQUE INDEX waiting_list_one_per_patient ON scheduling.waiting_list
    (tenant_id, clinic_id, patient_id) WHERE status IN ('waiting', 'offered');
CREATE INDEX waiting_list_first ON scheduling.waiting_list (tenant_id, clinic_id, created_at)
    WHERE status = 'waiting';

-- What booking checks of the registry's patients (death, merge), kept from its events so a
-- booking is not also an audited read in the registry; an unknown patient is asked for.
CREATE TABLE scheduling.known_patients (
    tenant_id   uuid    NOT NULL,
    patient_id  uuid    NOT NULL,
    version     bigint  NOT NULL,
    deceased    boolean NOT NULL,
    merged_into uuid,
    PRIMARY KEY (tenant_id, patient_id)
);

GRANT SELECT, INSERT, UPDATE ON scheduling.clinics, scheduling.slots, scheduling.appointments,
    scheduling.referrals, scheduling.queue_counters, scheduling.tickets, scheduling.waiting_list,
    scheduling.known_patients TO openhmis_app;
GRANT SELECT, INSERT ON scheduling.weekly_schedules, scheduling.holidays, scheduling.leave
    TO openhmis_app;
SELECT platform.enable_tenant_rls(t)
FROM unnest(ARRAY['scheduling.clinics', 'scheduling.weekly_schedules', 'scheduling.holidays',
                  'scheduling.leave', 'scheduling.slots', 'scheduling.appointments',
                  'scheduling.referrals', 'scheduling.queue_counters',
                  'scheduling.tickets', 'scheduling.waiting_list',
                  'scheduling.known_patients']::regclass[]) AS t;

-- The hold job finds expired holds across tenants, then lets each go inside its tenant's
-- transaction: the worker may read just enough to find them.
GRANT SELECT ON scheduling.appointments TO openhmis_worker;
CREATE POLICY hold_job_reads ON scheduling.appointments FOR SELECT TO openhmis_worker
    USING (status = 'held');
