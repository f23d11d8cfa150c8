-- Outreach and care records can be withdrawn (entered in error): they stay on record but no longer count.
ALTER TABLE views.outreach ADD COLUMN withdrawn boolean NOT NULL DEFAULT false;
ALTER TABLE views.care ADD COLUMN withdrawn boolean NOT NULL DEFAULT false;

-- public before views: an unqualified CREATE (schema_migrations, a later migration's table) must land in public.
DO $$
BEGIN
    EXECUTE format('ALTER DATABASE %I SET search_path = public, views', current_database());
END $$;
