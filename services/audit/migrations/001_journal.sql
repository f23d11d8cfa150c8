-- The journal: every event of every service, verbatim with its hashes, in arrival order per tenant.

CREATE TABLE journal (
    tenant_id       text NOT NULL,
    seq             bigint NOT NULL,
    event_id        uuid NOT NULL UNIQUE,
    event_type      text NOT NULL,
    stream_id       text NOT NULL,
    stream_version  integer NOT NULL,
    branch_id       text,
    actor_user      text NOT NULL,
    occurred_at     timestamptz NOT NULL,
    recorded_at     timestamptz NOT NULL,
    received_at     timestamptz NOT NULL DEFAULT now(),
    hash            char(64) NOT NULL,
    envelope        text NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);
CREATE INDEX journal_stream ON journal (tenant_id, stream_id, stream_version);
CREATE INDEX journal_type ON journal (tenant_id, event_type, recorded_at);
CREATE INDEX journal_branch ON journal (tenant_id, branch_id, recorded_at);

-- The journal's length per tenant; its row lock hands out sequence numbers without gaps.
CREATE TABLE journal_heads (
    tenant_id  text PRIMARY KEY,
    size       bigint NOT NULL
);

ALTER TABLE journal ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON journal USING (tenant_id = current_setting('branchwork.tenant_id', true));
ALTER TABLE journal_heads ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON journal_heads USING (tenant_id = current_setting('branchwork.tenant_id', true));
