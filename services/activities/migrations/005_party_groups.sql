-- Party groups of each branch (from PartyGroupFormed), the day each group assignment was recorded,
-- and the attendees who sat in on a body they do not belong to (列席: invited).

CREATE TABLE roster_party_groups (
    tenant_id   text NOT NULL,
    group_id    text PRIMARY KEY,
    branch_id   text NOT NULL,
    name        text                       -- null until PartyGroupFormed arrives
);
ALTER TABLE roster_party_groups ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON roster_party_groups
    USING (tenant_id = current_setting('branchwork.tenant_id', true));

-- Groups formed before this table existed are known from the assignments already received.
INSERT INTO roster_party_groups (tenant_id, group_id, branch_id)
SELECT DISTINCT ON (group_id) tenant_id, group_id, branch_id FROM roster_groups
 WHERE group_id IS NOT NULL ORDER BY group_id, seq
ON CONFLICT (group_id) DO NOTHING;

-- Null for assignments received before the date was kept: they count from the beginning.
ALTER TABLE roster_groups ADD COLUMN assigned_on date;

ALTER TABLE activity_participants ADD COLUMN invited boolean NOT NULL DEFAULT false;
