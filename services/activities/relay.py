"""Entry point: the activities service's outbox relay."""

from shared.relay import run_service_relay


def main() -> None:
    run_service_relay("activities")
