-- What the rulebook needs to judge a member as the other services do: their kind (care is for retirees),
-- their Party join date (full members count for the committee), and every stay in a branch (which branch
-- answers for a month's dues). Filled from the members events on a rebuild; new events fill them as they come.
ALTER TABLE src_members ADD COLUMN retirement_kind text NOT NULL DEFAULT 'retired';
ALTER TABLE src_members ADD COLUMN party_join_date date;

CREATE TABLE src_stays (
    tenant_id   text NOT NULL,
    member_id   text NOT NULL,
    branch_id   text NOT NULL,
    from_date   date NOT NULL,
    to_date     date,
    ended_by    text,
    PRIMARY KEY (member_id, from_date, branch_id)
);
CREATE INDEX src_stays_tenant ON src_stays (tenant_id, member_id);
ALTER TABLE src_stays ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON src_stays USING (tenant_id = current_setting('branchwork.tenant_id', true));

-- Months settled by a letter from another bureau count as settled here too (``source`` says how).
ALTER TABLE src_dues_paid ADD COLUMN source text NOT NULL DEFAULT 'paid';
