"""PostgreSQL restarted (fast shutdown) under load: the API answers 503 with Retry-After meanwhile, never a
500; clients retrying with the same Idempotency-Key get each command recorded once; nothing half-written."""

from __future__ import annotations

import time

DOWN_SECONDS = 10.0


def test_postgres_restarted_under_load_answers_503_with_retry_after_and_writes_each_command_once(platform, scenario):
    with scenario.under_load() as load:
        platform.stop_postgres()
        stopped_at = time.monotonic()
        time.sleep(DOWN_SECONDS)
        back_at = time.monotonic()
        platform.start_postgres()
        down_for = time.monotonic() - stopped_at
        recovery = scenario.recovered(scenario.census.mark(), since=back_at)
    commands = load.commands()
    answered_503 = sum(1 for c in commands if c.unavailable)
    assert answered_503 > 0, "clients met the restart: 503s with Retry-After"
    scenario.finish(3, f"restart PostgreSQL (fast shutdown, down {down_for:.0f} s)", recovery,
                    note=f"{answered_503} requests answered 503 with Retry-After and retried with the same"
                         f" Idempotency-Key (none 500); {recovery:.1f} s from starting it again until everything"
                         " was journalled and applied")
