-- Browser sessions of the web pages (shared/websession.py). The key is the SHA-256 of the cookie's
-- session id and the payload is encrypted, so a copy of this table signs nobody in. Not bureau data
-- in the clear: a session is found by its id before anyone knows the bureau, so no row-level policy.

CREATE TABLE web_sessions (
    id_hash     char(64) PRIMARY KEY,
    sealed      bytea NOT NULL,
    expires_at  timestamptz NOT NULL
);
CREATE INDEX web_sessions_expiry ON web_sessions (expires_at);
