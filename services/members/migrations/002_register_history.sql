-- Read models for rules, groups, membership history, committee, transfers and dues.

CREATE TABLE bureau_rules (
    tenant_id       text NOT NULL,
    version         integer NOT NULL,
    effective_from  date NOT NULL,
    rules           jsonb NOT NULL,
    PRIMARY KEY (tenant_id, version)
);

ALTER TABLE branches ADD COLUMN merged_into text;
ALTER TABLE branches ADD COLUMN close_reason text;

CREATE TABLE party_groups (
    tenant_id  text NOT NULL,
    group_id   text PRIMARY KEY,
    branch_id  text NOT NULL REFERENCES branches (branch_id),
    name       text NOT NULL
);

ALTER TABLE members ADD COLUMN status text NOT NULL DEFAULT 'active';
ALTER TABLE members ADD COLUMN left_on date;
ALTER TABLE members ADD COLUMN group_id text;
ALTER TABLE members ADD COLUMN transfer_id text;
ALTER TABLE members ADD COLUMN origins jsonb NOT NULL DEFAULT '[]';
CREATE INDEX members_person ON members (tenant_id, name, birth_date);

-- One row per stay in a branch: [from_date, to_date). A member has exactly one open row while on the register.
CREATE TABLE memberships (
    tenant_id   text NOT NULL,
    member_id   text NOT NULL,
    branch_id   text NOT NULL,
    from_date   date NOT NULL,
    to_date     date,
    PRIMARY KEY (member_id, branch_id, from_date),
    CHECK (to_date IS NULL OR to_date >= from_date)
);
CREATE UNIQUE INDEX memberships_one_open ON memberships (member_id) WHERE to_date IS NULL;
CREATE INDEX memberships_branch ON memberships (tenant_id, branch_id, from_date);

CREATE TABLE committee_terms (
    tenant_id    text NOT NULL,
    term_id      text PRIMARY KEY,
    branch_id    text NOT NULL,
    election_id  text NOT NULL,
    starts_on    date NOT NULL,
    ends_on      date NOT NULL,
    committee    boolean NOT NULL
);
CREATE INDEX committee_terms_branch ON committee_terms (tenant_id, branch_id, starts_on);

CREATE TABLE elections (
    tenant_id        text NOT NULL,
    election_id      text PRIMARY KEY,
    branch_id        text NOT NULL,
    held_on          date NOT NULL,
    eligible_voters  integer NOT NULL,
    attendees        integer NOT NULL,
    seats            integer NOT NULL,
    candidates       jsonb NOT NULL,
    elected          jsonb NOT NULL
);

CREATE TABLE committee_posts (
    tenant_id    text NOT NULL,
    term_id      text NOT NULL,
    branch_id    text NOT NULL,
    post         text NOT NULL,
    member_id    text NOT NULL,
    person_name  text NOT NULL,
    unit         text,
    filled_on    date NOT NULL,
    vacated_on   date,
    vacate_reason text,
    PRIMARY KEY (term_id, post, member_id, filled_on)
);

CREATE TABLE allowances (
    tenant_id  text NOT NULL,
    branch_id  text NOT NULL,
    term_id    text NOT NULL,
    member_id  text NOT NULL,
    post       text NOT NULL,
    month      text NOT NULL,
    amount     numeric(12, 2) NOT NULL,
    PRIMARY KEY (member_id, month)
);

CREATE TABLE transfers (
    tenant_id         text NOT NULL,
    transfer_id       text NOT NULL,
    direction         text NOT NULL CHECK (direction IN ('out', 'in', 'within')),
    member_id         text,
    member_name       text NOT NULL,
    member            jsonb,
    from_tenant_id    text NOT NULL,
    from_branch_id    text NOT NULL,
    to_tenant_id      text NOT NULL,
    to_branch_id      text NOT NULL,
    dues_paid_until   text,
    issued_on         date NOT NULL,
    valid_until       date NOT NULL,
    status            text NOT NULL,
    received_on       date,
    received_member_id text,
    slip_returned_on  date,
    closed_on         date,
    PRIMARY KEY (tenant_id, transfer_id)
);

CREATE TABLE dues_assessments (
    tenant_id       text NOT NULL,
    member_id       text NOT NULL,
    branch_id       text NOT NULL,
    year            integer NOT NULL,
    base            numeric(12, 2) NOT NULL,
    rate            numeric(6, 4) NOT NULL,
    monthly_amount  numeric(12, 2) NOT NULL,
    PRIMARY KEY (member_id, year)
);

CREATE TABLE dues_reductions (
    tenant_id       text NOT NULL,
    member_id       text NOT NULL,
    branch_id       text NOT NULL,
    from_month      text NOT NULL,
    monthly_amount  numeric(12, 2) NOT NULL,
    resolution      text NOT NULL,
    PRIMARY KEY (member_id, from_month)
);

CREATE TABLE dues_payments (
    tenant_id   text NOT NULL,
    member_id   text NOT NULL,
    branch_id   text NOT NULL,
    month       text NOT NULL,
    amount      numeric(12, 2) NOT NULL,
    paid_on     date NOT NULL,
    payer       text NOT NULL,
    payer_name  text,
    PRIMARY KEY (member_id, month)
);

CREATE TABLE dues_reviews (
    tenant_id      text NOT NULL,
    member_id      text NOT NULL,
    branch_id      text NOT NULL,
    since_month    text NOT NULL,
    months_unpaid  jsonb NOT NULL,
    raised_on      date NOT NULL,
    PRIMARY KEY (member_id, since_month)
);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['bureau_rules', 'party_groups', 'memberships', 'committee_terms', 'elections',
                             'committee_posts', 'allowances', 'transfers', 'dues_assessments', 'dues_reductions',
                             'dues_payments', 'dues_reviews']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING '
                       '(tenant_id = current_setting(''branchwork.tenant_id'', true))', t);
    END LOOP;
END $$;
