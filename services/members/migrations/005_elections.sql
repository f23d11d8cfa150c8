-- What an election records about its voters and seats: members excused from the count, seats left vacant.
ALTER TABLE elections ADD COLUMN excused jsonb NOT NULL DEFAULT '[]';
ALTER TABLE elections ADD COLUMN vacant_seats integer NOT NULL DEFAULT 0;
