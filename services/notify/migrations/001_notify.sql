-- Notify's own read models (notifications, deliveries, recipients, webhooks), written with its events,
-- and its projections of the members and activities events the rules read. Every row carries its tenant.

CREATE TABLE notifications (
    tenant_id        text NOT NULL,
    notification_id  text PRIMARY KEY,
    rule             text NOT NULL,
    dedupe_key       text NOT NULL,
    subject          text NOT NULL,
    period           text NOT NULL,
    branch_id        text,
    title            text NOT NULL,
    body             text NOT NULL,
    cause            jsonb NOT NULL,
    details          jsonb NOT NULL,
    due_on           date NOT NULL,
    scheduled_at     timestamptz NOT NULL,
    status           text NOT NULL DEFAULT 'pending',
    read_at          timestamptz,
    read_by          text,
    version          integer NOT NULL,
    -- Exactly once per cause: a redelivered event, a second scheduler run or a second notify
    -- instance that decides the same (rule, subject, period) collides here and writes nothing.
    UNIQUE (tenant_id, dedupe_key)
);
CREATE INDEX notifications_status ON notifications (tenant_id, status, scheduled_at);

CREATE TABLE deliveries (
    tenant_id        text NOT NULL,
    delivery_id      text PRIMARY KEY,
    notification_id  text NOT NULL REFERENCES notifications (notification_id),
    channel          text NOT NULL CHECK (channel IN ('email', 'webhook', 'inbox')),
    audience         text NOT NULL,
    recipient        text,
    target           text NOT NULL,
    note             text,
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_error       text,
    sent_at          timestamptz,
    failed_at        timestamptz
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_inbox ON deliveries (tenant_id, audience) WHERE channel = 'inbox';
CREATE INDEX deliveries_notification ON deliveries (notification_id);

CREATE TABLE recipients (
    tenant_id  text NOT NULL,
    audience   text NOT NULL,
    name       text,
    emails     text[] NOT NULL,
    channels   text[] NOT NULL,
    PRIMARY KEY (tenant_id, audience)
);

CREATE TABLE webhooks (
    tenant_id           text NOT NULL,
    webhook_id          text PRIMARY KEY,
    url                 text NOT NULL,
    rules               text[] NOT NULL,
    secret_fingerprint  text NOT NULL,
    removed             boolean NOT NULL DEFAULT false
);

-- The signing secrets are configuration, not facts: kept here only, never in an event.
CREATE TABLE webhook_secrets (
    tenant_id   text NOT NULL,
    webhook_id  text PRIMARY KEY,
    secret      text NOT NULL
);

CREATE TABLE scheduler_runs (
    id          bigserial PRIMARY KEY,
    tenant_id   text NOT NULL,
    as_of       date NOT NULL,
    ran_at      timestamptz NOT NULL DEFAULT now(),
    scheduled   integer NOT NULL
);
CREATE INDEX scheduler_runs_tenant ON scheduler_runs (tenant_id, ran_at DESC);

-- What the rules read: projections of the members and activities events.

CREATE TABLE rule_sets (
    tenant_id       text NOT NULL,
    rules_version   integer NOT NULL,
    effective_from  date NOT NULL,
    rules           jsonb NOT NULL,
    PRIMARY KEY (tenant_id, rules_version)
);

CREATE TABLE src_bureaus (
    tenant_id  text PRIMARY KEY,
    name       text NOT NULL
);

CREATE TABLE src_branches (
    tenant_id  text NOT NULL,
    branch_id  text PRIMARY KEY,
    name       text NOT NULL,
    closed_on  date
);

CREATE TABLE src_members (
    tenant_id     text NOT NULL,
    member_id     text PRIMARY KEY,
    branch_id     text NOT NULL,
    group_id      text,
    name          text NOT NULL,
    birth_date    date NOT NULL,
    party_member  boolean NOT NULL,
    health        text NOT NULL,
    mobility      text NOT NULL,
    phone         text,
    joined_on     date,
    active        boolean NOT NULL DEFAULT true
);
CREATE INDEX src_members_tenant ON src_members (tenant_id, branch_id);

CREATE TABLE src_terms (
    tenant_id  text NOT NULL,
    term_id    text PRIMARY KEY,
    branch_id  text NOT NULL,
    starts_on  date NOT NULL,
    ends_on    date NOT NULL,
    committee  boolean NOT NULL
);

CREATE TABLE src_posts (
    tenant_id    text NOT NULL,
    term_id      text NOT NULL,
    branch_id    text NOT NULL,
    post         text NOT NULL,
    member_id    text NOT NULL,
    person_name  text NOT NULL,
    filled_on    date NOT NULL,
    vacated_on   date,
    PRIMARY KEY (term_id, post, member_id)
);

CREATE TABLE src_dues_assessed (
    tenant_id       text NOT NULL,
    member_id       text NOT NULL,
    year            integer NOT NULL,
    monthly_amount  numeric(12, 2) NOT NULL,
    PRIMARY KEY (member_id, year)
);

CREATE TABLE src_dues_reductions (
    tenant_id       text NOT NULL,
    member_id       text NOT NULL,
    from_month      text NOT NULL,
    monthly_amount  numeric(12, 2) NOT NULL,
    PRIMARY KEY (member_id, from_month)
);

CREATE TABLE src_dues_paid (
    tenant_id  text NOT NULL,
    member_id  text NOT NULL,
    month      text NOT NULL,
    PRIMARY KEY (member_id, month)
);

CREATE TABLE src_dues_reviews (
    tenant_id    text NOT NULL,
    member_id    text NOT NULL,
    first_month  text NOT NULL,
    raised_on    date NOT NULL,
    PRIMARY KEY (member_id, first_month)
);

CREATE TABLE src_transfers (
    tenant_id         text NOT NULL,
    transfer_id       text NOT NULL,
    side              text NOT NULL CHECK (side IN ('out', 'in')),
    member_id         text,
    member_name       text NOT NULL,
    from_branch_id    text,
    to_branch_id      text,
    to_tenant_id      text,
    issued_on         date NOT NULL,
    valid_until       date NOT NULL,
    received_on       date,
    slip_returned_on  date,
    closed_on         date,
    PRIMARY KEY (tenant_id, transfer_id)
);
CREATE INDEX src_transfers_id ON src_transfers (transfer_id);

-- Facts about a transfer can arrive before the letter they complete (another bureau's stream):
-- they wait here and are applied when the letter's row appears.
CREATE TABLE src_transfer_facts (
    tenant_id    text NOT NULL,
    transfer_id  text NOT NULL,
    fact         text NOT NULL,
    on_date      date NOT NULL,
    member_id    text,
    PRIMARY KEY (transfer_id, fact)
);

CREATE TABLE src_activities (
    tenant_id    text NOT NULL,
    activity_id  text PRIMARY KEY,
    branch_id    text NOT NULL,
    group_id     text,
    kind         text NOT NULL,
    title        text NOT NULL,
    place        text,
    status       text NOT NULL,
    planned_on   date,
    occurred_on  date,
    attendees    text[] NOT NULL DEFAULT '{}'
);
CREATE INDEX src_activities_tenant ON src_activities (tenant_id, branch_id);

CREATE TABLE src_outreach (
    tenant_id    text NOT NULL,
    outreach_id  text PRIMARY KEY,
    branch_id    text NOT NULL,
    member_id    text NOT NULL,
    channel      text NOT NULL,
    occurred_on  date NOT NULL
);
CREATE INDEX src_outreach_tenant ON src_outreach (tenant_id, occurred_on);

CREATE TABLE src_care (
    tenant_id     text NOT NULL,
    care_id       text PRIMARY KEY,
    branch_id     text NOT NULL,
    member_id     text NOT NULL,
    kind          text NOT NULL,
    occurred_on   date NOT NULL,
    holiday       text,
    holiday_date  date
);
CREATE INDEX src_care_tenant ON src_care (tenant_id, kind);

DO $$
DECLARE
    name text;
BEGIN
    FOREACH name IN ARRAY ARRAY['notifications', 'deliveries', 'recipients', 'webhooks', 'webhook_secrets',
        'scheduler_runs', 'rule_sets', 'src_bureaus', 'src_branches', 'src_members', 'src_terms', 'src_posts',
        'src_dues_assessed', 'src_dues_reductions', 'src_dues_paid', 'src_dues_reviews', 'src_transfers', 'src_transfer_facts',
        'src_activities', 'src_outreach', 'src_care']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', name);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I'
                       ' USING (tenant_id = current_setting(''branchwork.tenant_id'', true))', name);
    END LOOP;
END $$;
