-- The append-only event store, its stream heads and the transactional outbox.

CREATE TABLE events (
    position        bigserial PRIMARY KEY,
    event_id        uuid NOT NULL UNIQUE,
    event_type      text NOT NULL,
    schema_version  integer NOT NULL CHECK (schema_version >= 1),
    stream_id       text NOT NULL,
    stream_version  integer NOT NULL CHECK (stream_version >= 1),
    tenant_id       text,
    branch_id       text,
    occurred_at     timestamptz NOT NULL,
    recorded_at     timestamptz NOT NULL,
    actor           jsonb NOT NULL,
    correlation_id  text,
    causation_id    text,
    data            jsonb NOT NULL,
    prev_hash       char(64) NOT NULL,
    hash            char(64) NOT NULL,
    UNIQUE (stream_id, stream_version)
);
CREATE INDEX events_tenant_type ON events (tenant_id, event_type);

-- One row per stream: its current version and the hash of its last event. Taking this row's
-- lock serialises writers of one stream, and the head hash lets verify() notice a deleted tail.
CREATE TABLE streams (
    stream_id   text PRIMARY KEY,
    tenant_id   text,
    version     integer NOT NULL,
    head_hash   char(64) NOT NULL
);

CREATE TABLE outbox (
    id              bigserial PRIMARY KEY,
    event_position  bigint NOT NULL REFERENCES events (position),
    topic           text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    published_at    timestamptz
);
CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;

-- Recorded events are facts: no UPDATE or DELETE, whoever asks.
CREATE FUNCTION refuse_event_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION refuse_event_change();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_event_change();

ALTER TABLE events ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON events
    USING (tenant_id = current_setting('branchwork.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('branchwork.tenant_id', true));
ALTER TABLE streams ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON streams
    USING (tenant_id = current_setting('branchwork.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('branchwork.tenant_id', true));
