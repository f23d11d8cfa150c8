-- One branch's views read, of the rest of the bureau, only the rows naming one of its members, past or present
-- (services/audit/facts.py): dues records by member, activities by attendee. Without these, each such read
-- filtered every row of the bureau (a bureau's years of dues assessments, its activities).
CREATE INDEX IF NOT EXISTS dues_assessments_member ON views.dues_assessments (tenant_id, member_id);
CREATE INDEX IF NOT EXISTS dues_assessments_branch ON views.dues_assessments (tenant_id, branch_id);
CREATE INDEX IF NOT EXISTS activities_attendees ON views.activities USING gin (attendees);
