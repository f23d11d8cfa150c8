-- A webhook's whole URL is configuration kept beside its secret; the views (like the events from
-- schema version 2 on) hold only its scheme, host and path, and no unsalted fingerprint of the secret.

ALTER TABLE webhook_secrets ADD COLUMN url text;
UPDATE webhook_secrets s SET url = w.url FROM webhooks w WHERE w.webhook_id = s.webhook_id;

CREATE FUNCTION pg_temp.public_url(url text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT regexp_replace(url, '^([A-Za-z][A-Za-z0-9+.-]*://)([^/?#]*@)?([^/?#]*)([^?#]*).*$', '\1\3\4')
$$;
UPDATE webhooks SET url = pg_temp.public_url(url);
UPDATE deliveries SET target = pg_temp.public_url(target) WHERE channel = 'webhook';
ALTER TABLE webhooks DROP COLUMN secret_fingerprint;
