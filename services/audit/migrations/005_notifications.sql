-- What the platform told whom: notify's notifications and the outcome of each delivery, for the views.
-- Filled from the journal (`branchwork rebuild audit` reads the notify events journalled before).

CREATE TABLE views.notifications (tenant_id text NOT NULL, notification_id text NOT NULL, branch_id text,
    rule text, title text, subject text, period text, due_on date, scheduled_at timestamptz, members jsonb,
    deliveries jsonb, event_id uuid,
    PRIMARY KEY (tenant_id, notification_id));
CREATE INDEX notifications_branch ON views.notifications (tenant_id, branch_id, scheduled_at);
CREATE INDEX notifications_members ON views.notifications USING gin (members);

CREATE TABLE views.notification_deliveries (tenant_id text NOT NULL, event_id uuid NOT NULL,
    notification_id text NOT NULL, delivery_id text NOT NULL, outcome text NOT NULL, channel text, attempt integer,
    error text, at timestamptz, stream_version integer,
    PRIMARY KEY (tenant_id, event_id, delivery_id));
CREATE INDEX notification_deliveries_notification ON views.notification_deliveries (tenant_id, notification_id);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['notifications', 'notification_deliveries'] LOOP
        EXECUTE format('ALTER TABLE views.%I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON views.%I USING'
                       ' (tenant_id = current_setting(''branchwork.tenant_id'', true))', t);
        EXECUTE format('GRANT SELECT ON views.%I TO %I', t, current_database() || '_app');
    END LOOP;
END $$;
