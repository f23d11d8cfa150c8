-- Pledges (承诺书) are sensitive personal data, kept apart from every other record. Their events carry
-- only ids, kind and date; the statement lives here. Besides the bureau, a row is visible only to a
-- transaction that the API has marked as a permitted pledge reader (after checking the bureau's
-- rules), so a query elsewhere in the service cannot read one by mistake.

CREATE TABLE pledges (
    tenant_id     text NOT NULL,
    pledge_id     text PRIMARY KEY,
    branch_id     text NOT NULL,
    member_id     text NOT NULL,
    kind          text NOT NULL,
    signed_on     date NOT NULL,
    statement     text,
    document_ref  text,
    recorded_at   timestamptz NOT NULL
);

ALTER TABLE pledges ENABLE ROW LEVEL SECURITY;
ALTER TABLE pledges FORCE ROW LEVEL SECURITY;
CREATE POLICY pledge_insert ON pledges FOR INSERT
    WITH CHECK (tenant_id = current_setting('branchwork.tenant_id', true));
CREATE POLICY pledge_read ON pledges FOR SELECT
    USING (tenant_id = current_setting('branchwork.tenant_id', true)
           AND current_setting('branchwork.pledge_reader', true) = 'on');

-- Every read of a pledge, as recorded by its PledgeRead event.
CREATE TABLE pledge_reads (
    tenant_id    text NOT NULL,
    pledge_id    text NOT NULL,
    seq          integer NOT NULL,
    reader       text NOT NULL,
    reader_role  text NOT NULL,
    read_at      timestamptz NOT NULL,
    PRIMARY KEY (pledge_id, seq)
);
ALTER TABLE pledge_reads ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON pledge_reads USING (tenant_id = current_setting('branchwork.tenant_id', true));
