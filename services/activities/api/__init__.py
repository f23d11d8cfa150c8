"""HTTP API of the activities service: parse, authorise, call a handler, shape the response."""

from services.activities.api.activities import blueprint as activities
from services.activities.api.branches import branches
from services.activities.api.centre import centre
from services.activities.api.people import care, outreach, pledges, teams
from services.activities.api.periods import periods

BLUEPRINTS = [activities, outreach, care, teams, pledges, branches, centre, periods]
