-- A member's dues payments recorded in one branch, kept together as they arrive: {event id: [amount, month…]}.
-- The views read a bureau's members' payments as one row each instead of one row per monthly payment; the
-- rows are made here from the payments already in the views, so no rebuild is needed, and the payments' old
-- table, which nothing reads any more, goes.
CREATE TABLE views.dues_paid (tenant_id text NOT NULL, member_id text NOT NULL, branch_id text NOT NULL,
    payments jsonb NOT NULL, PRIMARY KEY (tenant_id, member_id, branch_id));
CREATE INDEX dues_paid_branch ON views.dues_paid (tenant_id, branch_id);
INSERT INTO views.dues_paid (tenant_id, member_id, branch_id, payments)
    SELECT tenant_id, member_id, branch_id,
           jsonb_object_agg(event_id::text, jsonb_build_array(amount::text) || coalesce(months, '[]'))
    FROM views.dues_payments WHERE member_id IS NOT NULL AND branch_id IS NOT NULL
    GROUP BY tenant_id, member_id, branch_id;
DROP TABLE views.dues_payments;

DO $$
BEGIN
    ALTER TABLE views.dues_paid ENABLE ROW LEVEL SECURITY;
    CREATE POLICY tenant_isolation ON views.dues_paid USING
        (tenant_id = current_setting('branchwork.tenant_id', true));
    EXECUTE format('GRANT SELECT ON views.dues_paid TO %I', current_database() || '_app');
END $$;
