-- A team's and a centre's version is their stream's (the one to send in If-Match); before this,
-- joining, leaving, performing and evidence left it behind.

UPDATE teams t SET version = s.version FROM streams s WHERE s.stream_id = 'team-' || t.team_id;
UPDATE centres c SET version = s.version FROM streams s WHERE s.stream_id = 'centre-' || c.branch_id;
