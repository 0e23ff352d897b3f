-- The discharge desk knows whether the stay's discharge summary is written (issue 19): kept
-- from encounters' DischargeSummaryWritten, the first time it was.
ALTER TABLE admissions.admissions ADD COLUMN discharge_summary_at timestamptz;
