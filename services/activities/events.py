"""The activities service's events are its published contracts (``contracts.activities``)."""

from contracts.activities import *  # noqa: F401,F403 — re-exported for the service's own modules
from contracts.activities import registry  # noqa: F401
