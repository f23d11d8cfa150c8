-- A member's payments kept as the JSON text they were written as (json), not parsed (jsonb): a bureau's roll-up
-- reads a thousand members' years of payments, and PostgreSQL turning them back into text cost it more than
-- every other read of the roll-up together. They are still joined key by key as jsonb when a payment arrives.
ALTER TABLE views.dues_paid ALTER COLUMN payments TYPE json USING payments::json;
