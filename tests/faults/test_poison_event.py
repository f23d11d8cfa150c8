"""A poison event mid-stream: one member's registration that the activities roster cannot apply (a faulty
migration limited its names to 10 characters, where the register takes 100). It is dead-lettered — to the
``.dlq`` topic and the ``dead_letters`` table — while the events after it are applied; after the fix (the
limit dropped), the replay applies it."""

from __future__ import annotations

import subprocess
import time
from contextlib import contextmanager

import requests

from tests.faults.load import Command, member_body, send
from tests.support import REPO_ROOT, envelopes_of, read_topic, wait_for

CONSUMER = "activities-roster"
LIMIT = "roster_members_name_length"
# A Uyghur name, 12 characters with its middle dot: within what the register accepts (100).
LONG_NAME = "阿卜杜热合曼·买买提依明"


def dead_letter(platform, event_id: str) -> dict | None:
    with platform.owner("activities") as conn:
        return conn.execute("SELECT * FROM dead_letters WHERE consumer = %s AND event_id = %s",
                            (CONSUMER, event_id)).fetchone()


def fix(platform) -> None:
    with platform.owner("activities") as conn:
        conn.execute(f"ALTER TABLE roster_members DROP CONSTRAINT IF EXISTS {LIMIT}")


def replay_dead_letters(platform) -> subprocess.CompletedProcess:
    return subprocess.run([str(REPO_ROOT / ".venv" / "bin" / "branchwork"), "replay-dead-letters", "activities",
                           CONSUMER], env=platform.env, capture_output=True, text=True, timeout=120)


@contextmanager
def fixed_afterwards(platform):
    """A scenario that fails half-way leaves no defect and no parked event behind for the next one."""
    try:
        yield
    except BaseException:
        fix(platform)
        replay_dead_letters(platform)
        raise


def test_a_poison_event_is_dead_lettered_the_rest_applied_and_it_is_replayed_after_the_fix(platform, scenario,
                                                                                            bureaus):
    bureau = bureaus[0]
    with scenario.under_load() as load, fixed_afterwards(platform):
        with platform.owner("activities") as conn:  # the fault: a migration that limits names too tightly
            conn.execute(f"ALTER TABLE roster_members ADD CONSTRAINT {LIMIT} CHECK (char_length(name) <= 10) NOT VALID")
        poison = Command("members", "register member", "POST", "/members", member_body(bureau.branches[0], LONG_NAME))
        send(requests.Session(), platform, bureau.admin, poison)
        load.clients[0].done.append(poison)
        assert poison.accepted, poison.reply
        with platform.owner("members") as conn:
            event_id = conn.execute("SELECT event_id::text FROM events WHERE correlation_id = %s",
                                    (poison.correlation_id,)).fetchone()["event_id"]
        parked = wait_for(lambda: dead_letter(platform, event_id), timeout=120, interval=0.5,
                          message="the poison event dead-lettered")
        assert "CheckViolation" in parked["error"] and parked["attempts"] == 3
        dlq = read_topic(platform.bootstrap, platform.settings["members"].topic() + ".dlq",
                         lambda got: event_id in {e.event_id for e in envelopes_of(got)}, timeout=60)
        assert event_id in {e.event_id for e in envelopes_of(dlq)}
        time.sleep(5)  # the stream goes on past it under the load
        fix(platform)  # then the replay ops would run
        replayed_at = time.monotonic()
        replay = replay_dead_letters(platform)
        assert replay.returncode == 0 and "1 dead letter(s) applied again" in replay.stdout, replay
        recovery = scenario.recovered(scenario.census.mark(), since=replayed_at)
        assert dead_letter(platform, event_id)["replayed_at"] is not None
        with platform.owner("activities") as conn:
            assert conn.execute("SELECT name FROM roster_members WHERE member_id = %s",
                                (poison.reply["id"],)).fetchone()["name"] == LONG_NAME
    applied_meanwhile = sum(1 for c in load.commands() if c.accepted and c.service == "members"
                            and c.sent_at > poison.sent_at)
    scenario.finish(5, "a poison event mid-stream (dead-lettered, the rest applied, replayed after the fix)", recovery,
                    note=f"the registration the roster could not apply went to {CONSUMER}'s dead letters and"
                         f" {platform.settings['members'].topic()}.dlq; {applied_meanwhile} members commands after it"
                         " were applied; the replay after the fix applied it once")
