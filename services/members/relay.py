"""Entry point: the members service's outbox relay."""

from shared.relay import run_service_relay


def main() -> None:
    run_service_relay("members")
