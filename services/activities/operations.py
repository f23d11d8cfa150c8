"""What operators need of the activities service: its consumers and how its read models are rebuilt.

The roster (``roster_*``) is fed by the members topic, not by this store: its position is the
``activities-roster`` group's offsets, and a rebuild leaves it as it is.
"""

from __future__ import annotations

from shared.operations import ServiceOperations
from shared.rebuild import ReadModel, StoreFeed
from services.activities import projections
from services.activities.consumer import ROSTER_CONSUMER
from services.activities.events import registry

OPERATIONS = ServiceOperations(
    publishes=True,
    consumers={ROSTER_CONSUMER: ("members",)},
    read_model=ReadModel(tables=projections.TABLES),
    feed=lambda: StoreFeed(registry, projections.project),
)
