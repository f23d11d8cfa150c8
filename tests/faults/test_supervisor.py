"""The local platform keeps itself running: a service or worker that dies is restarted by the supervisor
(as Kubernetes would), its restarts shown by `services.sh status` (`make status`) and in the logs; a
process stopped on purpose stays stopped."""

from __future__ import annotations

import re
import time


def test_a_service_that_died_is_restarted_and_its_restart_shows_in_status_and_logs(platform):
    before = platform.restarts("audit")
    old_pid = platform.sigkill("audit")
    new_pid = platform.wait_restarted("audit", old_pid)
    platform.wait_ready()
    status = platform.status()
    assert re.search(rf"audit\s+running \(pid {new_pid}\)\s+restarts {before + 1}, last ", status), status
    supervisor_log = (platform.run_dir / "logs" / "supervisor.log").read_text()
    assert f"audit (pid {old_pid}) died" in supervisor_log and f"restarted audit: pid {new_pid}" in supervisor_log
    assert "supervisor restarted audit" in (platform.run_dir / "logs" / "audit.log").read_text()


def test_a_worker_dying_again_soon_waits_longer_before_its_restart(platform):
    first = platform.wait_restarted("members-daily", platform.sigkill("members-daily"))
    killed_again_at = time.monotonic()
    platform.wait_restarted("members-daily", platform.sigkill("members-daily"), timeout=30)
    # The first restart comes after 1 s, the second within a minute of it after 2 s.
    assert time.monotonic() - killed_again_at >= 2.0
    assert platform.pid("members-daily") != first


def test_a_process_stopped_on_purpose_stays_stopped_until_started(platform):
    before = platform.restarts("notify-scheduler")
    platform.script("services", "stop", "notify-scheduler")
    time.sleep(4)  # the supervisor looks every second
    assert platform.pid("notify-scheduler") is None and platform.restarts("notify-scheduler") == before
    assert re.search(r"notify-scheduler\s+stopped", platform.status())
    platform.script("services", "start")
    assert platform.alive(platform.pid("notify-scheduler")) and platform.restarts("notify-scheduler") == before
