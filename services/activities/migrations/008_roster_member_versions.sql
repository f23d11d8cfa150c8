-- A roster read for a few members (outreach, care) depends on those members' own facts and on what the
-- whole bureau shares (branches, party groups, committee terms, rules) — not on the register's other
-- members. Each member's facts get a version of their own, and the bureau's shared facts one apart from
-- the bureau's version (which still moves with everything, for a branch's roster): registering a new
-- member then leaves every other member's kept roster standing. Versions are transaction ids, as in 007.

ALTER TABLE roster_versions ADD COLUMN shared_version bigint NOT NULL DEFAULT 0;

CREATE TABLE roster_member_versions (
    tenant_id  text NOT NULL,
    member_id  text NOT NULL,
    version    bigint NOT NULL,
    PRIMARY KEY (tenant_id, member_id)
);
ALTER TABLE roster_member_versions ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON roster_member_versions
    USING (tenant_id = current_setting('branchwork.tenant_id', true));
