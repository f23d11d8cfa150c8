-- A member's timeline rows are found by the primary key (tenant, member, event) and put in order when read (a
-- member has some hundreds): the index by time only made every row written cost one more index entry, and the
-- views write two or three such rows for every journal entry.
DROP INDEX IF EXISTS views.member_events_member;
