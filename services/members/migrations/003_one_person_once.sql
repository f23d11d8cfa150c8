-- A person (name and birth date) is on a bureau's register at most once: a second registration
-- of someone already there, or racing with their own transfer, is refused by the database too.
CREATE UNIQUE INDEX members_person_once ON members (tenant_id, name, birth_date) WHERE status = 'active';
