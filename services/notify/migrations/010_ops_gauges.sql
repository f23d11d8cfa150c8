-- Counts for /metrics. The API role sees no bureau's rows outside a bureau's request, so the owner
-- counts deliveries for it: counts by channel and status only, never a row.
CREATE FUNCTION ops_delivery_counts() RETURNS TABLE (channel text, status text, value bigint)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
    AS $$ SELECT channel, status, count(*) FROM deliveries GROUP BY channel, status $$;
REVOKE ALL ON FUNCTION ops_delivery_counts() FROM PUBLIC;
DO $$ BEGIN
    EXECUTE format('GRANT EXECUTE ON FUNCTION ops_delivery_counts() TO %I', current_database() || '_app');
END $$;
