"""What callers ask the activities service to do: command dataclasses and the request schemas that build them."""

from services.activities.commands.activities import *  # noqa: F401,F403
from services.activities.commands.activities import CORRECTABLE  # noqa: F401
from services.activities.commands.records import *  # noqa: F401,F403
from services.activities.commands.records import PLEDGE_KINDS, TEAM_KINDS  # noqa: F401
