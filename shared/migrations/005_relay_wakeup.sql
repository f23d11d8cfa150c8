-- Whether the outbox relay is asleep, waiting for a NOTIFY. A NOTIFY takes a lock that every notifying
-- transaction of the database holds until its commit is flushed, so commits that notify are flushed one
-- at a time instead of together: a writer notifies only when the relay is asleep. While it has work the
-- relay polls the outbox instead; after a quiet spell it sets this flag, looks once more, and sleeps.

CREATE TABLE relay_wakeup (
    only_row   boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    listening  boolean NOT NULL
);
INSERT INTO relay_wakeup (listening) VALUES (true);
