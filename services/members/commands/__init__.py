"""What callers ask the members service to do: command dataclasses and the request schemas that build them.

One module per resource, as with the handlers; every name is re-exported here, so callers write
``commands.RegisterMember``.
"""

from services.members.commands.common import *  # noqa: F401,F403
from services.members.commands.committee import *  # noqa: F401,F403
from services.members.commands.dues import *  # noqa: F401,F403
from services.members.commands.register import *  # noqa: F401,F403
from services.members.commands.transfers import *  # noqa: F401,F403
