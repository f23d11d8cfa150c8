-- How each stay in a branch ended (moved, transferred_out, died, left_party): the rulebook's answer to
-- which branch owes a month's dues depends on it (a move hands the month over; a death does not).
ALTER TABLE memberships ADD COLUMN ended_by text;
UPDATE memberships s SET ended_by = 'moved' WHERE s.to_date IS NOT NULL AND EXISTS (
    SELECT 1 FROM memberships n WHERE n.member_id = s.member_id AND n.from_date = s.to_date
    AND n.branch_id <> s.branch_id);
UPDATE memberships s SET ended_by = CASE m.status WHEN 'deceased' THEN 'died' ELSE m.status END
    FROM members m WHERE m.member_id = s.member_id AND s.to_date IS NOT NULL AND s.ended_by IS NULL
    AND m.status IN ('deceased', 'left_party', 'transferred_out');

-- Months a letter from another bureau settled ("dues paid up to"): carried, naming the letter.
CREATE TABLE dues_carried (
    tenant_id    text NOT NULL,
    member_id    text NOT NULL,
    branch_id    text NOT NULL,
    month        text NOT NULL,
    transfer_id  text NOT NULL,
    PRIMARY KEY (member_id, month)
);
ALTER TABLE dues_carried ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON dues_carried USING (tenant_id = current_setting('branchwork.tenant_id', true));

