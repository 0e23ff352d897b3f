-- Prescriptions that ended because their stay ended remember it, and the stop time they had,
-- so undoing the discharge resumes exactly those, as they were.
ALTER TABLE encounters.prescriptions
    ADD COLUMN ended_with_stay boolean NOT NULL DEFAULT false,
    ADD COLUMN stop_time_before_stay_ended timestamptz;
