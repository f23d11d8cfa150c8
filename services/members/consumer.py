"""Entry points: the members service's consumer, wiring ``shared.consumer`` to the transfer saga."""

from __future__ import annotations

from shared.bootstrap import Service
from shared.consumer import ConsumerRunner
from services.members.saga import SAGA_EVENTS, TransferSaga


def transfer_saga(service: Service) -> ConsumerRunner:
    settings = service.settings
    return ConsumerRunner(settings, "members-transfer-saga", [settings.topic()], TransferSaga(service).apply,
                          event_types=SAGA_EVENTS)
