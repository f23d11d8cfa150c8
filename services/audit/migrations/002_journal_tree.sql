-- Tamper evidence for the journal: an append-only Merkle tree per tenant and the signed heads of it.

-- Node (level, idx) is the hash of the perfect subtree over leaves [idx·2^level, (idx+1)·2^level);
-- level 0 holds the leaf hashes sha256(0x00 ‖ canonical envelope) of journal seq idx + 1.
CREATE TABLE journal_nodes (
    tenant_id  text NOT NULL,
    level      smallint NOT NULL,
    idx        bigint NOT NULL,
    hash       bytea NOT NULL,
    PRIMARY KEY (tenant_id, level, idx)
);

-- How many journal entries the tree holds; entries journalled before the tree existed are added on the next append.
ALTER TABLE journal_heads ADD COLUMN tree_size bigint NOT NULL DEFAULT 0;

CREATE TABLE tree_heads (
    id          bigserial PRIMARY KEY,
    tenant_id   text NOT NULL,
    tree_size   bigint NOT NULL,
    root_hash   char(64) NOT NULL,
    signed_at   timestamptz NOT NULL,
    key_id      text NOT NULL,
    signature   text NOT NULL
);
CREATE INDEX tree_heads_tenant ON tree_heads (tenant_id, id);

ALTER TABLE journal_nodes ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON journal_nodes USING (tenant_id = current_setting('branchwork.tenant_id', true));
ALTER TABLE tree_heads ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tree_heads USING (tenant_id = current_setting('branchwork.tenant_id', true));

-- The journal, its tree and the signed heads only ever grow: not even the owner may change or delete a row.
CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER journal_append_only BEFORE UPDATE OR DELETE ON journal
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER journal_no_truncate BEFORE TRUNCATE ON journal
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER journal_nodes_append_only BEFORE UPDATE OR DELETE ON journal_nodes
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER journal_nodes_no_truncate BEFORE TRUNCATE ON journal_nodes
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER tree_heads_append_only BEFORE UPDATE OR DELETE ON tree_heads
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
