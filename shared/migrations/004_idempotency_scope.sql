-- Idempotency keys belong to one caller and one operation: (bureau, subject, method, path, key), under
-- row-level security like every bureau's data, and expire. Keys recorded under the old scope (subject
-- only) cannot be told apart by bureau or operation, so they are dropped rather than honoured.

DROP TABLE idempotency_keys;
CREATE TABLE idempotency_keys (
    tenant_id     text NOT NULL,  -- '' for platform callers, who hold no bureau
    subject       text NOT NULL,
    method        text NOT NULL,
    path          text NOT NULL,
    key           text NOT NULL,
    request_hash  char(64) NOT NULL,
    status_code   integer,
    response      jsonb,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, subject, method, path, key)
);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (tenant_id, expires_at);
ALTER TABLE idempotency_keys ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON idempotency_keys
    USING (tenant_id = current_setting('branchwork.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('branchwork.tenant_id', true));
