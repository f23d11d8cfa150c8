-- Figures for /metrics. The API role sees no bureau's rows outside a bureau's request, so the owner
-- sums them for it: totals over every bureau only, never a row.
CREATE FUNCTION ops_journal_figures() RETURNS TABLE (entries bigint, unsigned bigint, last_signed_at timestamptz,
                                                     views_behind bigint, views_failures bigint)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, views
    AS $$
    SELECT coalesce(sum(h.size), 0)::bigint,
           coalesce(sum(h.size - coalesce(t.tree_size, 0)), 0)::bigint,
           max(t.signed_at),
           coalesce(sum(h.size - coalesce(p.seq, 0)), 0)::bigint,
           (SELECT count(*) FROM views.failures)
    FROM journal_heads h
    LEFT JOIN LATERAL (SELECT tree_size, signed_at FROM tree_heads WHERE tenant_id = h.tenant_id
                       ORDER BY id DESC LIMIT 1) t ON true
    LEFT JOIN views.positions p ON p.tenant_id = h.tenant_id
    $$;
REVOKE ALL ON FUNCTION ops_journal_figures() FROM PUBLIC;
DO $$ BEGIN
    EXECUTE format('GRANT EXECUTE ON FUNCTION ops_journal_figures() TO %I', current_database() || '_app');
END $$;
