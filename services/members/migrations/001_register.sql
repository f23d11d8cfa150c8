-- Read models of the register: bureaus, branches, members. Every row carries its tenant.

CREATE TABLE bureaus (
    tenant_id   text NOT NULL,
    bureau_id   text PRIMARY KEY,
    name        text NOT NULL,
    code        text NOT NULL UNIQUE,
    version     integer NOT NULL
);

CREATE TABLE branches (
    tenant_id       text NOT NULL,
    branch_id       text PRIMARY KEY,
    name            text NOT NULL,
    established_on  date NOT NULL,
    closed_on       date,
    version         integer NOT NULL
);
CREATE INDEX branches_tenant ON branches (tenant_id, name);

CREATE TABLE members (
    tenant_id        text NOT NULL,
    member_id        text PRIMARY KEY,
    branch_id        text NOT NULL REFERENCES branches (branch_id),
    name             text NOT NULL,
    gender           text NOT NULL,
    birth_date       date NOT NULL,
    party_member     boolean NOT NULL,
    party_join_date  date,
    retirement_kind  text NOT NULL,
    pension_base     numeric(12, 2),
    health           text NOT NULL,
    mobility         text NOT NULL,
    phone            text,
    address          text,
    joined_on        date NOT NULL,
    version          integer NOT NULL
);
CREATE INDEX members_branch ON members (tenant_id, branch_id);

ALTER TABLE bureaus ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON bureaus USING (tenant_id = current_setting('branchwork.tenant_id', true));
ALTER TABLE branches ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON branches USING (tenant_id = current_setting('branchwork.tenant_id', true));
ALTER TABLE members ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON members USING (tenant_id = current_setting('branchwork.tenant_id', true));
