-- The service's own read models, written in the same transaction as the events they reflect.

CREATE TABLE activities (
    tenant_id       text NOT NULL,
    activity_id     text PRIMARY KEY,
    branch_id       text NOT NULL,
    kind            text NOT NULL,
    status          text NOT NULL CHECK (status IN ('planned', 'recorded', 'cancelled')),
    planned_on      date,
    occurred_on     date,
    title           text NOT NULL,
    place           text,
    topics          jsonb NOT NULL DEFAULT '[]',
    guests          jsonb NOT NULL DEFAULT '[]',
    minutes         text,
    hours           numeric(5, 2),
    group_id        text,
    voting_members  integer,
    voting_present  integer,
    quorate         boolean,
    late            boolean NOT NULL DEFAULT false,
    late_reasons    jsonb NOT NULL DEFAULT '[]',
    talk            jsonb,
    cancel_reason   text,
    corrections     integer NOT NULL DEFAULT 0,
    version         integer NOT NULL,
    recorded_at     timestamptz NOT NULL
);
CREATE INDEX activities_branch ON activities (tenant_id, branch_id, occurred_on);

CREATE TABLE activity_participants (
    tenant_id    text NOT NULL,
    activity_id  text NOT NULL REFERENCES activities (activity_id),
    member_id    text NOT NULL,
    presence     text NOT NULL CHECK (presence IN ('attended', 'absent')),
    reason       text,
    PRIMARY KEY (activity_id, member_id)
);
CREATE INDEX activity_participants_member ON activity_participants (tenant_id, member_id);

CREATE TABLE outreach (
    tenant_id     text NOT NULL,
    outreach_id   text PRIMARY KEY,
    branch_id     text NOT NULL,
    member_id     text NOT NULL,
    channel       text NOT NULL,
    occurred_on   date NOT NULL,
    topic         text NOT NULL,
    note          text,
    hours         numeric(5, 2),
    late          boolean NOT NULL,
    late_reasons  jsonb NOT NULL,
    recorded_at   timestamptz NOT NULL
);
CREATE INDEX outreach_branch ON outreach (tenant_id, branch_id, occurred_on);
CREATE INDEX outreach_member ON outreach (tenant_id, member_id, occurred_on);

CREATE TABLE care (
    tenant_id     text NOT NULL,
    care_id       text PRIMARY KEY,
    branch_id     text NOT NULL,
    member_id     text NOT NULL,
    kind          text NOT NULL,
    occurred_on   date NOT NULL,
    note          text,
    holiday       text,
    holiday_date  date,
    year          integer,
    late          boolean NOT NULL,
    late_reasons  jsonb NOT NULL,
    recorded_at   timestamptz NOT NULL
);
CREATE INDEX care_branch ON care (tenant_id, branch_id, occurred_on);
CREATE UNIQUE INDEX care_one_newspaper_a_year ON care (member_id, year) WHERE kind = 'newspaper';

CREATE TABLE teams (
    tenant_id   text NOT NULL,
    team_id     text PRIMARY KEY,
    branch_id   text NOT NULL,
    name        text NOT NULL,
    kind        text NOT NULL,
    formed_on   date NOT NULL,
    leader_id   text,
    version     integer NOT NULL
);
CREATE INDEX teams_branch ON teams (tenant_id, branch_id);

CREATE TABLE team_members (
    tenant_id   text NOT NULL,
    team_id     text NOT NULL REFERENCES teams (team_id),
    member_id   text NOT NULL,
    joined_on   date NOT NULL,
    left_on     date,
    PRIMARY KEY (team_id, member_id, joined_on)
);

CREATE TABLE team_performances (
    tenant_id       text NOT NULL,
    performance_id  text PRIMARY KEY,
    team_id         text NOT NULL REFERENCES teams (team_id),
    branch_id       text NOT NULL,
    occurred_on     date NOT NULL,
    title           text NOT NULL,
    place           text,
    performers      jsonb NOT NULL,
    audience        text,
    late            boolean NOT NULL,
    late_reasons    jsonb NOT NULL
);

CREATE TABLE centres (
    tenant_id   text NOT NULL,
    branch_id   text PRIMARY KEY,
    place       text NOT NULL,
    set_up_on   date NOT NULL,
    moved_on    date,
    checklist   jsonb NOT NULL,
    version     integer NOT NULL
);

CREATE TABLE centre_history (
    tenant_id     text NOT NULL,
    branch_id     text NOT NULL,
    seq           integer NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('set_up', 'moved', 'evidenced')),
    on_date       date NOT NULL,
    place         text,
    from_place    text,
    item          text,
    evidence      text,
    photo_ref     text,
    PRIMARY KEY (branch_id, seq)
);

CREATE TABLE closed_periods (
    tenant_id   text NOT NULL,
    period      text NOT NULL,
    starts_on   date NOT NULL,
    ends_on     date NOT NULL,
    closed_on   date NOT NULL,
    closed_at   timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, period)
);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['activities', 'activity_participants', 'outreach', 'care', 'teams', 'team_members',
                             'team_performances', 'centres', 'centre_history', 'closed_periods']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = current_setting(''branchwork.tenant_id'', true))', t);
    END LOOP;
END $$;
