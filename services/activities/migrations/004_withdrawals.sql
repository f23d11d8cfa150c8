-- Outreach and care records can be withdrawn (entered in error): kept, marked, no longer counted.

ALTER TABLE outreach ADD COLUMN withdrawn_on date, ADD COLUMN withdraw_reason text;
ALTER TABLE care ADD COLUMN withdrawn_on date, ADD COLUMN withdraw_reason text;

DROP INDEX care_one_newspaper_a_year;
CREATE UNIQUE INDEX care_one_newspaper_a_year ON care (member_id, year)
    WHERE kind = 'newspaper' AND withdrawn_on IS NULL;
