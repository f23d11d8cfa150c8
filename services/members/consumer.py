"""Entry points: the members service's long-running workers, one process each."""

from __future__ import annotations

from contracts.rulebook.calendar import on_local_days
from shared.config import Settings
from shared.consumer import ConsumerRunner
from services.members.daily import DailyDuties
from services.members.saga import SAGA_EVENTS, TransferSaga


def transfer_saga(settings: Settings) -> ConsumerRunner:
    return ConsumerRunner(settings, "members-transfer-saga", [settings.topic()], TransferSaga(settings).apply,
                          event_types=SAGA_EVENTS)


WORKERS = {name: on_local_days(factory) for name, factory in {
    "members-transfer-saga": lambda settings: transfer_saga(settings).run,
    "members-daily": lambda settings: DailyDuties(settings).run,
}.items()}
