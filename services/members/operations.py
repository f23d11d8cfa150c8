"""What operators need of the members service: its consumers and how its read models are rebuilt."""

from __future__ import annotations

from shared.operations import ServiceOperations
from shared.rebuild import ReadModel, StoreFeed
from services.members import projections
from services.members.events import registry

OPERATIONS = ServiceOperations(
    publishes=True,
    consumers={"members-transfer-saga": ("members",)},
    read_model=ReadModel(tables=projections.TABLES),
    feed=lambda: StoreFeed(registry, projections.project),
)
