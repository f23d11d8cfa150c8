-- Completeness of filtered history: each journal entry names the previous entry of its branch and of its
-- stream, and its leaf commits to both (entry format 2). Entries journalled before this migration keep their
-- format-1 leaves (the envelope alone) and verify exactly as before; a bundle covers them by a contiguous
-- range of leaves instead of a chain (see docs/audit.md, "Completeness").
ALTER TABLE journal ADD COLUMN entry_format smallint NOT NULL DEFAULT 1;
ALTER TABLE journal ADD COLUMN branch_prev_seq bigint;
ALTER TABLE journal ADD COLUMN stream_prev_seq bigint;
CREATE INDEX journal_seq_received ON journal (tenant_id, received_at, seq);

-- The last entry of every branch ('' for bureau-level events) and stream: the next entry's back-link, and
-- the index whose root each signed head commits to. Kept in step under the journal head's row lock.
CREATE TABLE journal_keys (
    tenant_id  text NOT NULL,
    kind       text NOT NULL CHECK (kind IN ('branch', 'stream')),
    key        text NOT NULL,
    last_seq   bigint NOT NULL,
    PRIMARY KEY (tenant_id, kind, key)
);
INSERT INTO journal_keys (tenant_id, kind, key, last_seq)
    SELECT tenant_id, 'branch', coalesce(branch_id, ''), max(seq) FROM journal GROUP BY tenant_id, coalesce(branch_id, '');
INSERT INTO journal_keys (tenant_id, kind, key, last_seq)
    SELECT tenant_id, 'stream', stream_id, max(seq) FROM journal GROUP BY tenant_id, stream_id;
ALTER TABLE journal_keys ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON journal_keys USING (tenant_id = current_setting('branchwork.tenant_id', true));

-- Heads signed from now on are also C2SP checkpoints (origin, size, root, time and index lines) signed as a
-- note, with the raw public key kept beside them; heads signed before keep only their JSON signature.
ALTER TABLE tree_heads ADD COLUMN checkpoint text;
ALTER TABLE tree_heads ADD COLUMN public_key text;
CREATE INDEX tree_heads_signed ON tree_heads (tenant_id, signed_at);

-- Witnesses' cosignatures (c2sp.org/tlog-cosignature, Ed25519 cosignature/v1) of a kept head, verified on arrival.
CREATE TABLE tree_head_cosignatures (
    id            bigserial PRIMARY KEY,
    tenant_id     text NOT NULL,
    head_id       bigint NOT NULL REFERENCES tree_heads (id),
    witness_key   text NOT NULL,
    signature     text NOT NULL,
    cosigned_at   timestamptz NOT NULL,
    received_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (head_id, witness_key)
);
ALTER TABLE tree_head_cosignatures ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tree_head_cosignatures
    USING (tenant_id = current_setting('branchwork.tenant_id', true));
CREATE TRIGGER tree_head_cosignatures_append_only BEFORE UPDATE OR DELETE ON tree_head_cosignatures
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER tree_head_cosignatures_no_truncate BEFORE TRUNCATE ON tree_head_cosignatures
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER tree_heads_no_truncate BEFORE TRUNCATE ON tree_heads
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
