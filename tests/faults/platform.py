"""The fault platform as its tests drive it: addresses, stack scripts, processes, brokers and databases.

Started by ``deploy/local/faults.sh`` in a run folder of its own, on a three-node KRaft cluster.
Every failure here is real: a broker or a worker killed with SIGKILL, PostgreSQL stopped with a
fast shutdown, the SMTP server's process stopped.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import requests
from kafka.admin import KafkaAdminClient
from kafka.errors import KafkaConnectionError, KafkaTimeoutError
from psycopg.conninfo import make_conninfo

from services.notify.settings import NotifySettings
from shared import db
from shared.config import Settings
from tests.support import REPO_ROOT, wait_for

SERVICES = ("members", "activities", "notify", "audit")
PUBLISHING = ("members", "activities", "notify")
DEPLOY = REPO_ROOT / "deploy" / "local"


class FaultPlatform:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.run_dir = Path(env["BRANCHWORK_RUN_DIR"])
        self.settings = {service: Settings.from_env(service, env) for service in SERVICES}
        self.notify = NotifySettings.from_env(env)
        self.urls = {service: f"http://127.0.0.1:{self.settings[service].http_port}" for service in SERVICES}
        self.bootstrap = self.settings["members"].kafka_bootstrap
        self.nodes = int(env.get("BRANCHWORK_KAFKA_NODES", "1"))

    # ------------------------------------------------------------ scripts and processes

    def script(self, name: str, *args: str, timeout: float = 240) -> str:
        """Run ``deploy/local/<name>.sh`` against the fault platform; return what it printed."""
        done = subprocess.run(["bash", str(DEPLOY / f"{name}.sh"), *args], env=self.env, capture_output=True,
                              text=True, timeout=timeout)
        if done.returncode != 0:
            raise AssertionError(f"{name}.sh {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def status(self) -> str:
        """What `make status` shows of the services (it exits 1 while one is stopped: that is an answer too)."""
        return subprocess.run(["bash", str(DEPLOY / "services.sh"), "status"], env=self.env, capture_output=True,
                              text=True, timeout=60).stdout

    def pid(self, name: str) -> int | None:
        path = self.run_dir / "pids" / f"{name}.pid"
        try:
            return int(path.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None

    def alive(self, pid: int | None) -> bool:
        if pid is None:
            return False
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, IndexError):
            return False
        return state != "Z"

    def sigkill(self, name: str) -> int:
        """SIGKILL the process called ``name`` (a service, a relay, a worker, a broker); return its pid."""
        pid = self.pid(name)
        assert self.alive(pid), f"{name} is not running"
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: not self.alive(pid), timeout=10, message=f"{name} (pid {pid}) gone")
        return pid

    def wait_restarted(self, name: str, old_pid: int, timeout: float = 60) -> int:
        """Wait until the supervisor has started ``name`` again; return the new pid."""
        return wait_for(lambda: (lambda pid: pid if pid != old_pid and self.alive(pid) else None)(self.pid(name)),
                        timeout=timeout, interval=0.2, message=f"the supervisor restarted {name}")

    def restarts(self, name: str) -> int:
        path = self.run_dir / "restarts" / name
        return len(path.read_text().splitlines()) if path.exists() else 0

    def workers(self) -> list[str]:
        """Every worker process, from ``branchwork workers`` (as services.sh starts them)."""
        out = subprocess.run([str(REPO_ROOT / ".venv" / "bin" / "branchwork"), "workers"], env=self.env,
                             capture_output=True, text=True, check=True).stdout
        return [line.split(":", 1)[1] for line in out.split()]

    def restore(self) -> None:
        """Start whatever a failed scenario left stopped: brokers, PostgreSQL, services and workers."""
        for name, args in (("postgres", ("start",)), ("kafka", ("start",)), ("services", ("start",))):
            try:
                self.script(name, *args, timeout=600)
            except AssertionError as error:  # the scenario's own failure is the one to report
                print(f"restoring the platform: {error}")

    # ------------------------------------------------------------ Kafka

    def admin(self) -> KafkaAdminClient:
        return KafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=10000)

    def describe(self, topics: list[str]) -> dict[tuple[str, int], dict]:
        """(topic, partition) → {leader, replicas, isr} as the cluster's metadata says now.

        A node just killed may still be the one the client asks first: it is asked again, of another."""
        for attempt in range(10):
            admin = None
            try:
                admin = self.admin()
                described = admin.describe_topics(topics)
                break
            except (KafkaConnectionError, KafkaTimeoutError):
                if attempt == 9:
                    raise
                time.sleep(0.5)
            finally:
                if admin is not None:
                    admin.close()
        return {(topic["name"], part["partition_index"]): {"leader": part["leader_id"],
                                                          "replicas": list(part["replica_nodes"]),
                                                          "isr": list(part["isr_nodes"])}
                for topic in described for part in topic["partitions"]}

    def quorum_leader(self) -> int:
        admin = self.admin()
        try:
            quorum = admin.describe_metadata_quorum()
        finally:
            admin.close()
        return quorum["topics"][0]["partitions"][0]["leader_id"]

    def kill_node(self, node: int) -> int:
        return self.sigkill(f"kafka-{node}")

    def start_node(self, node: int) -> None:
        self.script("kafka", "start", str(node))

    def fully_replicated(self, topics: list[str]) -> bool:
        return all(len(part["isr"]) == len(part["replicas"]) == self.nodes
                   for part in self.describe(topics).values())

    # ------------------------------------------------------------ PostgreSQL

    def stop_postgres(self) -> None:
        """``pg_ctl stop -m fast``: sessions are ended, open transactions rolled back."""
        self.script("postgres", "stop")

    def start_postgres(self) -> None:
        self.script("postgres", "start")

    def owner(self, service: str):
        """A connection of the service's owner role (what its workers use), autocommit."""
        return db.connect(self.settings[service].owner_dsn, autocommit=True)

    def superuser(self, service: str):
        settings = self.settings[service]
        return db.connect(make_conninfo(settings.admin_dsn, dbname=settings.database), autocommit=True)

    def wait_ready(self, timeout: float = 90) -> None:
        """Every HTTP service answers /readyz (its database and Kafka reachable)."""
        def ready() -> bool:
            try:
                return all(requests.get(f"{url}/readyz", timeout=5).status_code == 200 for url in self.urls.values())
            except requests.RequestException:
                return False
        wait_for(ready, timeout=timeout, interval=1, message="every service ready")

