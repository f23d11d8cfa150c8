-- The local roster: what the activities service knows of the register, built only from the members
-- service's events. Facts are kept as they arrive (keyed by the event that stated them) and folded
-- when read, so the tables converge whatever order the events of different streams arrive in.

CREATE TABLE roster_rules (
    tenant_id       text NOT NULL,
    bureau_id       text NOT NULL,
    rules_version   integer NOT NULL,          -- 0: the defaults a bureau starts with
    effective_from  date,                      -- null: from the beginning
    rules           jsonb NOT NULL,
    PRIMARY KEY (bureau_id, rules_version)
);

CREATE TABLE roster_branches (
    tenant_id       text NOT NULL,
    branch_id       text PRIMARY KEY,
    name            text,                      -- null until BranchEstablished arrives
    established_on  date,
    closed_on       date,
    merged_into     text
);
CREATE INDEX roster_branches_tenant ON roster_branches (tenant_id);

CREATE TABLE roster_members (
    tenant_id        text NOT NULL,
    member_id        text PRIMARY KEY,
    name             text NOT NULL,
    gender           text NOT NULL,
    birth_date       date NOT NULL,
    party_member     boolean NOT NULL,
    party_join_date  date,
    retirement_kind  text NOT NULL,
    registered_seq   integer NOT NULL
);

-- Changed profile fields, applied over the registration in stream order when read.
CREATE TABLE roster_profile_changes (
    tenant_id   text NOT NULL,
    event_id    uuid PRIMARY KEY,
    member_id   text NOT NULL,
    seq         integer NOT NULL,
    changes     jsonb NOT NULL
);
CREATE INDEX roster_profile_changes_member ON roster_profile_changes (member_id);

-- Where a member belongs from a date: joined / moved (branch_id set) or left the register.
CREATE TABLE roster_placements (
    tenant_id     text NOT NULL,
    event_id      uuid PRIMARY KEY,
    member_id     text NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('joined', 'moved', 'transferred_out', 'died', 'left_party')),
    effective_on  date NOT NULL,
    branch_id     text,
    seq           integer NOT NULL
);
CREATE INDEX roster_placements_member ON roster_placements (member_id);
CREATE INDEX roster_placements_branch ON roster_placements (tenant_id, branch_id);

CREATE TABLE roster_health (
    tenant_id   text NOT NULL,
    event_id    uuid PRIMARY KEY,
    member_id   text NOT NULL,
    changed_on  date NOT NULL,
    health      text NOT NULL,
    mobility    text NOT NULL,
    seq         integer NOT NULL
);
CREATE INDEX roster_health_member ON roster_health (member_id);

CREATE TABLE roster_groups (
    tenant_id   text NOT NULL,
    event_id    uuid PRIMARY KEY,
    member_id   text NOT NULL,
    branch_id   text NOT NULL,
    group_id    text,
    seq         integer NOT NULL
);
CREATE INDEX roster_groups_member ON roster_groups (member_id);

CREATE TABLE roster_terms (
    tenant_id   text NOT NULL,
    term_id     text PRIMARY KEY,
    branch_id   text NOT NULL,
    starts_on   date NOT NULL,
    ends_on     date NOT NULL,
    committee   boolean NOT NULL
);

-- Committee posts filled and vacated (for the 56-hour study yardstick of committee members).
CREATE TABLE roster_posts (
    tenant_id   text NOT NULL,
    event_id    uuid PRIMARY KEY,
    branch_id   text NOT NULL,
    term_id     text NOT NULL,
    post        text NOT NULL,
    member_id   text NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('filled', 'vacated')),
    on_date     date NOT NULL
);
CREATE INDEX roster_posts_member ON roster_posts (member_id);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['roster_rules', 'roster_branches', 'roster_members', 'roster_profile_changes',
                             'roster_placements', 'roster_health', 'roster_groups', 'roster_terms', 'roster_posts']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = current_setting(''branchwork.tenant_id'', true))', t);
    END LOOP;
END $$;
