-- Months a letter from another bureau settled on the receiving side ("dues paid up to", carried), and what an
-- election records about its voters and seats (members excused from the count, seats left vacant).
CREATE TABLE views.dues_carried (tenant_id text NOT NULL, event_id uuid NOT NULL, member_id text, branch_id text,
    transfer_id text, months jsonb, paid_until text,
    PRIMARY KEY (tenant_id, event_id));
ALTER TABLE views.elections ADD COLUMN excused jsonb;
ALTER TABLE views.elections ADD COLUMN vacant_seats integer;

DO $$
BEGIN
    ALTER TABLE views.dues_carried ENABLE ROW LEVEL SECURITY;
    CREATE POLICY tenant_isolation ON views.dues_carried USING
        (tenant_id = current_setting('branchwork.tenant_id', true));
    EXECUTE format('GRANT SELECT ON views.dues_carried TO %I', current_database() || '_app');
END $$;
