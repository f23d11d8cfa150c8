"""The activities service: meetings, study, outreach, care and the rest of a branch's recorded work."""
