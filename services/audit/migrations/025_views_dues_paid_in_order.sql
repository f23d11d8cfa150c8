-- A member's payments in one branch also kept as a list in the order of their event ids, without the ids
-- ([[amount, month, …], …]), worked out by PostgreSQL whenever the payments change: a bureau's roll-up reads a
-- thousand members' years of payments and needs only what each paid for which month, and which payment came
-- last where a month was paid twice. A third of the text to send and parse, and no object keyed by an id.
-- The function lives outside the views schema, which a rebuild replaces whole.
CREATE FUNCTION payments_in_order(payments json) RETURNS json LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(json_agg(value ORDER BY key COLLATE "C"), '[]') FROM json_each(payments)
$$;

ALTER TABLE views.dues_paid ADD COLUMN paid json GENERATED ALWAYS AS (payments_in_order(payments)) STORED;
