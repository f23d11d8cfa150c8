"""The running stack as the benchmark sees it: its processes' CPU, its consumers' lag, its addresses.

CPU comes from /proc (psutil): every process named by a pid file under ``.run/pids`` with its children
(gunicorn's workers), and PostgreSQL's postmaster with every backend — a backend that exits during a
measurement is still counted, through the postmaster's accumulated children's times.
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import psycopg
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

from shared.config import Settings
from tests.support import REPO_ROOT, stack_environment

SERVICES = ("members", "activities", "notify", "audit")
PUBLISHING = ("members", "activities", "notify")


@dataclass
class Stack:
    """Where the running stack is: settings per service, HTTP base URLs, run folder."""

    env: dict[str, str]
    run_dir: Path
    settings: dict[str, Settings] = field(default_factory=dict)

    @classmethod
    def discover(cls) -> Stack:
        env = stack_environment()
        run_dir = Path(env.get("BRANCHWORK_RUN_DIR", REPO_ROOT / ".run"))
        return cls(env, run_dir, {name: Settings.from_env(name, env) for name in SERVICES})

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.settings[service].http_port}/api/v1"

    @property
    def admin_dsn(self) -> str:
        return self.settings["members"].admin_dsn

    @property
    def bootstrap(self) -> str:
        return self.settings["members"].kafka_bootstrap


# --- CPU --------------------------------------------------------------------------------------------

def _pid_files(run_dir: Path) -> dict[str, int]:
    pids = {}
    for path in sorted((run_dir / "pids").glob("*.pid")):
        try:
            pids[path.stem] = int(path.read_text().strip())
        except (OSError, ValueError):
            continue
    return pids


def _postmaster(admin_dsn: str) -> psutil.Process:
    with psycopg.connect(admin_dsn) as conn:  # the backend's parent, asked while the backend still exists
        backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        return psutil.Process(psutil.Process(backend).ppid())


_DATABASE = re.compile(r"postgres: (?:\S+) (\S+) ")


def _backend_label(process: psutil.Process) -> str:
    """``postgres (branchwork_members)`` for a backend, ``postgres (server)`` for the server's own workers."""
    try:
        title = " ".join(process.cmdline())
    except psutil.Error:
        return "postgres (server)"
    match = _DATABASE.match(title)
    if match and match.group(1).startswith("branchwork_"):
        return f"postgres ({match.group(1).removeprefix('branchwork_')} db)"
    return "postgres (server)"


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


class CpuMeter:
    """Seconds of CPU per named process of the stack between ``start`` and ``stop``."""

    def __init__(self, stack: Stack, extra: dict[str, int] | None = None) -> None:
        self.stack = stack
        self.extra = extra or {}
        self._before: dict[tuple[str, int], float] = {}
        self._pg_children_before = 0.0

    def _sample(self) -> tuple[dict[tuple[str, int], float], float]:
        seen: dict[tuple[str, int], float] = {}
        for name, pid in {**_pid_files(self.stack.run_dir), **self.extra}.items():
            try:
                root = psutil.Process(pid)
                for process in [root, *root.children(recursive=True)]:
                    seen[(name, process.pid)] = _cpu(process)
            except psutil.Error:
                continue
        postmaster = _postmaster(self.stack.admin_dsn)
        seen[("postgres (server)", postmaster.pid)] = _cpu(postmaster)
        for child in postmaster.children():
            try:
                seen[(_backend_label(child), child.pid)] = _cpu(child)
            except psutil.Error:
                continue
        times = postmaster.cpu_times()
        return seen, times.children_user + times.children_system

    def start(self) -> None:
        self._before, self._pg_children_before = self._sample()

    def stop(self) -> dict[str, float]:
        """CPU seconds per process name since ``start`` (exited backends under ``postgres (exited backends)``)."""
        after, pg_children = self._sample()
        used: dict[str, float] = {}
        for key, seconds in after.items():
            used[key[0]] = used.get(key[0], 0.0) + seconds - self._before.get(key, 0.0)
        used["postgres (exited backends)"] = pg_children - self._pg_children_before
        return {name: round(seconds, 4) for name, seconds in sorted(used.items()) if seconds > 0.0005}


def own_cpu() -> float:
    return _cpu(psutil.Process())


# --- lag ----------------------------------------------------------------------------------------------

class Lag:
    """How far each consumer group, each relay and the audit views are behind, in records."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        prefix = stack.settings["members"].topic_prefix
        self.topics = [stack.settings["members"].topic(s) for s in PUBLISHING]
        self.admin = KafkaAdminClient(bootstrap_servers=stack.bootstrap)
        self.client = KafkaConsumer(bootstrap_servers=stack.bootstrap, enable_auto_commit=False)
        self.partitions = [TopicPartition(t, p) for t in self.topics
                           for p in sorted(self.client.partitions_for_topic(t) or ())]
        self.connections = {service: psycopg.connect(stack.settings[service].owner_dsn, autocommit=True)
                            for service in SERVICES}
        self.groups = sorted(g["group_id"] for g in self.admin.list_groups()
                             if g["group_id"].startswith(prefix + ".") and g["protocol_type"] == "consumer")

    def ends(self) -> dict[TopicPartition, int]:
        return self.client.end_offsets(self.partitions)

    def committed(self) -> dict[str, dict[TopicPartition, int]]:
        """Every group's committed offsets on the platform's topics, in one request."""
        offsets = self.admin.list_group_offsets(self.groups) if self.groups else {}
        return {group: {tp: meta.offset for tp, meta in by_partition.items() if tp.topic in self.topics}
                for group, by_partition in offsets.items()}

    def behind(self, ends: dict[TopicPartition, int] | None = None) -> dict[str, int]:
        """Records each group has yet to commit (on the topics it reads), each relay's and the views' backlog."""
        ends = ends or self.ends()
        result = {}
        for group, committed in self.committed().items():
            read_topics = {tp.topic for tp in committed}
            result[group.split(".", 1)[1]] = sum(max(end - committed.get(tp, 0), 0)
                                                 for tp, end in ends.items() if tp.topic in read_topics)
        result.update(self.outboxes())
        result["audit-views"] = self.views_behind()
        return result

    def outboxes(self) -> dict[str, int]:
        return {f"{service}-relay": self.connections[service].execute(
            "SELECT count(*) FROM outbox WHERE published_at IS NULL").fetchone()[0] for service in PUBLISHING}

    def views_behind(self) -> int:
        return self.connections["audit"].execute(
            "SELECT coalesce(sum(h.size - coalesce(p.seq, 0)), 0)::bigint FROM journal_heads h"
            " LEFT JOIN views.positions p ON p.tenant_id = h.tenant_id").fetchone()[0]

    def drain_times(self, timeout: float) -> dict[str, float | None]:
        """Seconds until each part has caught up with what was written before this call (None: not in time)."""
        started = time.monotonic()
        pending = set(self.behind())
        caught: dict[str, float | None] = {name: None for name in pending}
        while pending and time.monotonic() - started < timeout:
            now = self.behind()
            for name in list(pending):
                if now.get(name, 0) == 0:
                    caught[name] = round(time.monotonic() - started, 2)
                    pending.discard(name)
            time.sleep(0.05)
        return caught

    def close(self) -> None:
        for conn in self.connections.values():
            conn.close()
        self.admin.close()
        self.client.close()


# --- the machine ------------------------------------------------------------------------------------

def machine(stack: Stack) -> dict:
    """What the figures were measured on: they mean little without it."""
    with psycopg.connect(stack.admin_dsn) as conn:
        pg = conn.execute("SHOW server_version").fetchone()[0]
        settings = dict(conn.execute("SELECT name, setting FROM pg_settings WHERE name IN"
                                     " ('fsync', 'synchronous_commit', 'shared_buffers', 'max_connections')"))
    cpu = platform.processor() or _cpu_model()
    return {"host": platform.node(), "cpu": cpu, "cores": os.cpu_count(), "memory_gb": round(
        psutil.virtual_memory().total / 2**30, 1), "load_average": os.getloadavg(), "python": platform.python_version(),
        "postgresql": pg, "postgresql_settings": settings, "kernel": platform.release(),
        "kafka_partitions": _kafka_partitions(stack.bootstrap),
        "commit": _git("rev-parse", "--short", "HEAD"), "branch": _git("rev-parse", "--abbrev-ref", "HEAD")}


def _kafka_partitions(bootstrap: str) -> int:
    """Every partition the broker holds: a broker left with thousands (topics of past test runs) spends about
    twice the CPU a command on the same load, which the platform's figures then carry."""
    client = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        return sum(len(client.partitions_for_topic(topic) or ()) for topic in client.topics())
    finally:
        client.close()


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
