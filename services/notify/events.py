"""The notify service's events are its published contracts (``contracts.notify``)."""

from contracts.notify import *  # noqa: F401,F403 — re-exported for the service's own modules
from contracts.notify import registry  # noqa: F401
