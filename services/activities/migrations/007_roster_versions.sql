-- Each bureau's roster changes with every members event the roster consumer applies; the id of the
-- transaction that changed it last names that state, so a command can tell whether a roster it read
-- before is still the roster (queries.load_roster keeps the last few in memory). A transaction id is
-- never reused, so a version cannot come back with other contents.

CREATE TABLE roster_versions (
    tenant_id  text PRIMARY KEY,
    version    bigint NOT NULL
);
ALTER TABLE roster_versions ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON roster_versions
    USING (tenant_id = current_setting('branchwork.tenant_id', true));
