"""HTTP API of the activities service: parse, authorise, call a handler, shape the response."""

from services.activities.api.activities import blueprint as activities
from services.activities.api.branches import branches, periods
from services.activities.api.people import care, outreach, pledges, teams

BLUEPRINTS = [activities, outreach, care, teams, pledges, branches, periods]
