"""Faults of the Kafka cluster under load: the leader of a partition in use killed, the controller quorum lost."""

from __future__ import annotations

import time

from kafka.partitioner.default import murmur2

from tests.support import wait_for

NODE_DOWN_SECONDS = 5.0
QUORUM_LOST_SECONDS = 15.0


def partition_in_use(platform, service: str) -> int:
    """The partition of the stream the platform wrote last: where the relay is publishing right now."""
    with platform.owner(service) as conn:
        stream = conn.execute("SELECT stream_id FROM events ORDER BY position DESC LIMIT 1").fetchone()["stream_id"]
    partitions = len([key for key in platform.describe([platform.settings[service].topic()])])
    return (murmur2(stream.encode()) & 0x7FFFFFFF) % partitions


def unpublished(platform) -> int:
    total = 0
    for service in ("members", "activities", "notify"):
        with platform.owner(service) as conn:
            total += conn.execute("SELECT count(*) AS n FROM outbox WHERE published_at IS NULL").fetchone()["n"]
    return total


def test_the_leader_of_a_partition_in_use_killed_and_restarted_later_loses_nothing(platform, scenario):
    topic = platform.settings["members"].topic()
    with scenario.under_load():
        partition = partition_in_use(platform, "members")
        leader = platform.describe([topic])[(topic, partition)]["leader"]
        killed_at = time.monotonic()
        platform.kill_node(leader)
        marks = scenario.census.mark()
        recovery = scenario.recovered(marks, since=killed_at)
        # The cluster carries on without it: a new leader, two replicas in sync (min.insync.replicas=2). The
        # controller fences the dead broker only when its session times out, which can come after the
        # pipeline has already caught up on what was recorded before the kill.
        def failed_over():
            after = platform.describe([topic])[(topic, partition)]
            return after["leader"] not in (leader, -1) and leader not in after["isr"] and len(after["isr"]) == 2
        wait_for(failed_over, timeout=60, interval=0.5, message=f"a new leader of {topic}[{partition}] in sync")
        time.sleep(NODE_DOWN_SECONDS)
        platform.start_node(leader)
        wait_for(lambda: platform.fully_replicated([topic]), timeout=120, interval=1,
                 message="the restarted node back in every partition's in-sync replicas")
    scenario.finish(1, f"kill -9 the leader of {topic}[{partition}] (node {leader}), restart it later", recovery,
                    note=f"failover without it: {recovery:.1f} s from the kill until everything recorded before it"
                         " was journalled and applied; the node rejoined every in-sync replica set after its restart")


def test_losing_the_controller_majority_keeps_commands_in_the_outbox_until_the_quorum_returns(platform, scenario):
    with scenario.under_load() as load:
        active = platform.quorum_leader()
        lost = sorted([active, next(node for node in range(1, platform.nodes + 1) if node != active)])
        for node in lost:
            platform.kill_node(node)
        lost_at = time.monotonic()
        time.sleep(QUORUM_LOST_SECONDS)
        held = unpublished(platform)
        accepted_meanwhile = load.accepted_since(lost_at)
        assert accepted_meanwhile > 0, "the API kept accepting commands without a quorum"
        assert held > 0, "nothing can be published without a quorum: the outbox holds the events"
        back_at = time.monotonic()  # the operator starts the two nodes again
        platform.script("kafka", "start")
        recovery = scenario.recovered(scenario.census.mark(), since=back_at)
        wait_for(lambda: platform.fully_replicated([platform.settings["members"].topic()]), timeout=120, interval=1,
                 message="every node back in sync")
    scenario.finish(2, f"lose the controller majority (nodes {lost[0]} and {lost[1]}, SIGKILL) for"
                       f" {QUORUM_LOST_SECONDS:.0f} s", recovery,
                    note=f"{accepted_meanwhile} commands accepted without a quorum, {held} events held in the"
                         f" outboxes; {recovery:.1f} s from starting the two nodes again until all were journalled"
                         " and applied")
