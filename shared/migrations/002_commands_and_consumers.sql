-- Idempotency keys of commands, and the bookkeeping of consumers (processed events, dead letters).

CREATE TABLE idempotency_keys (
    subject       text NOT NULL,
    key           text NOT NULL,
    request_hash  char(64) NOT NULL,
    status_code   integer,
    response      jsonb,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (subject, key)
);

CREATE TABLE processed_events (
    consumer      text NOT NULL,
    event_id      uuid NOT NULL,
    processed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);

CREATE TABLE dead_letters (
    id            bigserial PRIMARY KEY,
    consumer      text NOT NULL,
    topic         text NOT NULL,
    partition     integer NOT NULL,
    "offset"      bigint NOT NULL,
    event_id      uuid,
    tenant_id     text,
    payload       text NOT NULL,
    error         text NOT NULL,
    attempts      integer NOT NULL,
    recorded_at   timestamptz NOT NULL DEFAULT now(),
    replayed_at   timestamptz,
    UNIQUE (consumer, topic, partition, "offset")
);
