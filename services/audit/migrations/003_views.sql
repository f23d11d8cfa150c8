-- The audit views' facts, in their own schema so that a rebuild can fill a fresh copy and swap it in.
-- Keys and columns mirror services/audit/store.py TABLES; every table carries tenant_id under RLS.

CREATE SCHEMA views;

CREATE TABLE views.bureaus (tenant_id text NOT NULL, bureau_id text NOT NULL, name text, code text, event_id uuid,
    PRIMARY KEY (tenant_id, bureau_id));
CREATE TABLE views.rules (tenant_id text NOT NULL, rules_version integer NOT NULL, effective_from date NOT NULL,
    rules jsonb NOT NULL, event_id uuid, PRIMARY KEY (tenant_id, rules_version));
CREATE TABLE views.branches (tenant_id text NOT NULL, branch_id text NOT NULL, name text, established_on date,
    event_id uuid,
    PRIMARY KEY (tenant_id, branch_id));
CREATE TABLE views.branch_closures (tenant_id text NOT NULL, branch_id text NOT NULL, closed_on date, reason text,
    merged_into text, event_id uuid,
    PRIMARY KEY (tenant_id, branch_id));
CREATE TABLE views.party_groups (tenant_id text NOT NULL, branch_id text, group_id text NOT NULL, name text,
    event_id uuid,
    PRIMARY KEY (tenant_id, group_id));
CREATE TABLE views.members (tenant_id text NOT NULL, member_id text NOT NULL, branch_id text, name text,
    gender text, birth_date date, party_member boolean, party_join_date date, retirement_kind text,
    pension_base numeric(12, 2), health text, mobility text, joined_on date, event_id uuid,
    PRIMARY KEY (tenant_id, member_id));
CREATE TABLE views.member_changes (tenant_id text NOT NULL, event_id uuid NOT NULL, member_id text NOT NULL,
    stream_version integer, effective_on date, kind text, branch_id text, data jsonb,
    PRIMARY KEY (tenant_id, event_id));
CREATE INDEX member_changes_member ON views.member_changes (tenant_id, member_id);
CREATE TABLE views.elections (tenant_id text NOT NULL, branch_id text, election_id text NOT NULL, held_on date,
    eligible_voters integer, attendees integer, seats integer, candidates jsonb, elected jsonb, event_id uuid,
    PRIMARY KEY (tenant_id, election_id));
CREATE TABLE views.terms (tenant_id text NOT NULL, branch_id text, term_id text NOT NULL, election_id text,
    starts_on date, ends_on date, committee boolean, event_id uuid,
    PRIMARY KEY (tenant_id, term_id));
CREATE TABLE views.posts (tenant_id text NOT NULL, event_id uuid NOT NULL, branch_id text, term_id text, post text,
    member_id text, action text, on_date date, person_name text, unit text, reason text, stream_version integer,
    PRIMARY KEY (tenant_id, event_id));
CREATE TABLE views.allowances (tenant_id text NOT NULL, event_id uuid NOT NULL, branch_id text, term_id text,
    member_id text, post text, month text, amount numeric(12, 2),
    PRIMARY KEY (tenant_id, event_id));
CREATE TABLE views.transfers (tenant_id text NOT NULL, event_id uuid NOT NULL, transfer_id text, kind text,
    branch_id text, member_id text, on_date date, data jsonb,
    PRIMARY KEY (tenant_id, event_id));
CREATE TABLE views.dues_assessments (tenant_id text NOT NULL, event_id uuid NOT NULL, member_id text,
    branch_id text, year integer, base numeric(12, 2), rate numeric(8, 5), monthly_amount numeric(12, 2),
    stream_version integer,
    PRIMARY KEY (tenant_id, event_id));
CREATE TABLE views.dues_reductions (tenant_id text NOT NULL, event_id uuid NOT NULL, member_id text,
    branch_id text, year integer, from_month text, monthly_amount numeric(12, 2), resolution text,
    stream_version integer,
    PRIMARY KEY (tenant_id, event_id));
CREATE TABLE views.dues_payments (tenant_id text NOT NULL, event_id uuid NOT NULL, member_id text, branch_id text,
    months jsonb, amount numeric(12, 2), paid_on date, payer text,
    PRIMARY KEY (tenant_id, event_id));
CREATE TABLE views.dues_reviews (tenant_id text NOT NULL, event_id uuid NOT NULL, member_id text, branch_id text,
    months_unpaid jsonb, raised_on date,
    PRIMARY KEY (tenant_id, event_id));
CREATE TABLE views.activities (tenant_id text NOT NULL, activity_id text NOT NULL, branch_id text, kind text,
    status text, on_date date, title text, place text, topics jsonb, attendees jsonb, guests jsonb, absentees jsonb,
    hours numeric(6, 2), voting_members integer, voting_present integer, quorate boolean, late boolean,
    late_reasons jsonb, group_id text, note text, stream_version integer NOT NULL, event_id uuid,
    PRIMARY KEY (tenant_id, activity_id));
CREATE INDEX activities_branch ON views.activities (tenant_id, branch_id, on_date);
CREATE TABLE views.talks (tenant_id text NOT NULL, activity_id text NOT NULL, branch_id text, speakers jsonb,
    audience text, topic text, on_date date, audience_size integer, late boolean, stream_version integer NOT NULL,
    event_id uuid,
    PRIMARY KEY (tenant_id, activity_id));
CREATE INDEX talks_branch ON views.talks (tenant_id, branch_id, on_date);
CREATE TABLE views.outreach (tenant_id text NOT NULL, outreach_id text NOT NULL, branch_id text, member_id text,
    channel text, on_date date, topic text, hours numeric(6, 2), late boolean, late_reasons jsonb,
    stream_version integer NOT NULL, event_id uuid,
    PRIMARY KEY (tenant_id, outreach_id));
CREATE INDEX outreach_branch ON views.outreach (tenant_id, branch_id, on_date);
CREATE TABLE views.care (tenant_id text NOT NULL, care_id text NOT NULL, branch_id text, member_id text, kind text,
    on_date date, holiday text, holiday_date date, year integer, late boolean, late_reasons jsonb,
    stream_version integer NOT NULL, event_id uuid,
    PRIMARY KEY (tenant_id, care_id));
CREATE INDEX care_branch ON views.care (tenant_id, branch_id, on_date);
CREATE TABLE views.teams (tenant_id text NOT NULL, team_id text NOT NULL, branch_id text, name text, kind text,
    formed_on date, leader_id text, event_id uuid,
    PRIMARY KEY (tenant_id, team_id));
CREATE TABLE views.team_members (tenant_id text NOT NULL, event_id uuid NOT NULL, team_id text, branch_id text,
    member_id text, action text, on_date date, stream_version integer,
    PRIMARY KEY (tenant_id, event_id));
CREATE TABLE views.performances (tenant_id text NOT NULL, performance_id text NOT NULL, team_id text,
    branch_id text, on_date date, title text, place text, performers jsonb, audience text, late boolean,
    event_id uuid,
    PRIMARY KEY (tenant_id, performance_id));
CREATE TABLE views.pledges (tenant_id text NOT NULL, pledge_id text NOT NULL, branch_id text, member_id text,
    kind text, signed_on date, event_id uuid,
    PRIMARY KEY (tenant_id, pledge_id));
CREATE TABLE views.centre (tenant_id text NOT NULL, event_id uuid NOT NULL, branch_id text, kind text,
    on_date date, place text, checklist jsonb, item text, evidence text, photo_ref text, stream_version integer,
    PRIMARY KEY (tenant_id, event_id));
CREATE TABLE views.periods_closed (tenant_id text NOT NULL, period text NOT NULL, starts_on date, ends_on date,
    closed_on date, event_id uuid, PRIMARY KEY (tenant_id, period));
CREATE TABLE views.member_events (tenant_id text NOT NULL, member_id text NOT NULL, event_id uuid NOT NULL,
    event_type text, role text, branch_id text, occurred_at timestamptz, recorded_at timestamptz, data jsonb,
    PRIMARY KEY (tenant_id, member_id, event_id));
CREATE INDEX member_events_member ON views.member_events (tenant_id, member_id, occurred_at);

-- How far into each tenant's journal the views have read, and the entries they could not apply.
CREATE TABLE views.positions (tenant_id text PRIMARY KEY, seq bigint NOT NULL);
CREATE TABLE views.failures (tenant_id text NOT NULL, seq bigint NOT NULL, event_id uuid NOT NULL,
    event_type text NOT NULL, error text NOT NULL, failed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, seq));

-- Progress of view rebuilds (outside the swapped schema, so it survives the swap).
CREATE TABLE view_rebuilds (id bigserial PRIMARY KEY, started_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz, total bigint NOT NULL, applied bigint NOT NULL DEFAULT 0, status text NOT NULL);

DO $$
DECLARE
    t text;
BEGIN
    FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = 'views' LOOP
        EXECUTE format('ALTER TABLE views.%I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON views.%I USING'
                       ' (tenant_id = current_setting(''branchwork.tenant_id'', true))', t);
    END LOOP;
    EXECUTE format('GRANT USAGE ON SCHEMA views TO %I', current_database() || '_app');
    EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA views TO %I', current_database() || '_app');
    -- Unqualified names find the views after public (new tables still go to public); a rebuild swaps the
    -- views schema under the same name.
    EXECUTE format('ALTER DATABASE %I SET search_path = public, views', current_database());
END $$;
