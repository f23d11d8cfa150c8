"""The members service's events are its published contracts (``contracts.members``)."""

from contracts.members import *  # noqa: F401,F403 — re-exported for the service's own modules
from contracts.members import registry  # noqa: F401
