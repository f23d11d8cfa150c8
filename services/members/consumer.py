"""Entry points: the members service's long-running workers, one process each."""

from __future__ import annotations

from shared.config import Settings
from shared.consumer import ConsumerRunner
from services.members.daily import DailyDuties
from services.members.saga import SAGA_EVENTS, TransferSaga


def transfer_saga(settings: Settings) -> ConsumerRunner:
    return ConsumerRunner(settings, "members-transfer-saga", [settings.topic()], TransferSaga(settings).apply,
                          event_types=SAGA_EVENTS)


WORKERS = {
    "members-transfer-saga": lambda settings: transfer_saga(settings).run,
    "members-daily": lambda settings: DailyDuties(settings).run,
}
