-- One branch's views read the outreach that reached one of its members wherever it was recorded (facts.py):
-- by member, beside the branch's own (outreach_branch).
CREATE INDEX IF NOT EXISTS outreach_member ON views.outreach (tenant_id, member_id, on_date);
