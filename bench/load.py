"""HTTP clients that work the platform as bureaus do: each in a bureau and a branch of its own.

Set-up (not timed): a bureau, a branch, its members, the year's dues assessed, and the activities
roster caught up with the register. The timed mix is what a branch secretary records: members
registered, meetings and study with their attendees, outreach to those who cannot come, care, dues.
Every command carries an Idempotency-Key, as the phone pages send it.
"""

from __future__ import annotations

import http.client
import json
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta

from contracts.rulebook.dues import needs_exception
from shared.auth import issue_token
from bench.stack import Stack

MEMBERS_PER_BRANCH = 12
MIX = (("register_member", 15), ("record_activity", 25), ("record_outreach", 25), ("record_care", 20),
       ("pay_dues", 15))
ACTIVITY_KINDS = ("study", "theme_day", "party_lecture", "briefing")


class Http:
    """One keep-alive connection per service: what a busy client holds."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self._connections: dict[str, http.client.HTTPConnection] = {}

    def request(self, method: str, service: str, path: str, token: str, body: dict | None = None,
                params: str = "") -> tuple[int, dict]:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        if method == "POST":
            headers["Idempotency-Key"] = str(uuid.uuid4())
        payload = None if body is None else json.dumps(body).encode()
        for attempt in (1, 2):
            connection = self._connection(service)
            try:
                connection.request(method, f"/api/v1{path}{params}", body=payload, headers=headers)
                response = connection.getresponse()
                data = response.read()
                return response.status, (json.loads(data) if data else {})
            except (http.client.HTTPException, ConnectionError):
                self._connections.pop(service).close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _connection(self, service: str) -> http.client.HTTPConnection:
        if service not in self._connections:
            port = self.stack.settings[service].http_port
            self._connections[service] = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        return self._connections[service]

    def close(self) -> None:
        for connection in self._connections.values():
            connection.close()


class CommandRefused(Exception):
    pass


@dataclass
class Branch:
    """One client's bureau and branch, with the members the roster already knows and dues still owed."""

    stack: Stack
    label: str
    http: Http = None
    bureau_id: str = ""
    branch_id: str = ""
    members: list[str] = field(default_factory=list)
    dues_owed: list[tuple[str, str]] = field(default_factory=list)
    admin: str = ""
    counter: int = 0

    def __post_init__(self) -> None:
        self.http = self.http or Http(self.stack)
        self.random = random.Random(self.label)

    def token(self, role: str, tenant: str | None = None) -> str:
        settings = self.stack.settings["members"]
        return issue_token(settings.jwt_secret, subject=f"bench-{self.label}", roles=[role], tenant=tenant,
                           issuer=settings.jwt_issuer, ttl_seconds=6 * 3600)

    def command(self, service: str, path: str, body: dict) -> dict:
        status, reply = self.http.request("POST", service, path, self.admin, body)
        if status not in (200, 201):
            raise CommandRefused(f"{service} {path} -> {status}: {json.dumps(reply, ensure_ascii=False)[:300]}")
        return reply

    def set_up(self, year: int) -> Branch:
        code = f"bench-{uuid.uuid4().hex[:12]}"
        platform = self.token("platform_admin")
        status, reply = self.http.request("POST", "members", "/bureaus", platform,
                                          {"name": f"基准测试局{self.label}", "code": code})
        if status != 201:
            raise CommandRefused(f"bureau -> {status}: {reply}")
        self.bureau_id = reply["id"]
        self.admin = self.token("bureau_admin", self.bureau_id)
        self.branch_id = self.command("members", "/branches", {"name": f"基准测试支部{self.label}",
                                                               "established_on": "2015-01-01"})["id"]
        self.members = [self.command("members", "/members", self.member_body())["id"]
                        for _ in range(MEMBERS_PER_BRANCH)]
        for assessed in (year - 1, year):
            self.command("members", f"/branches/{self.branch_id}/dues/assessments", {"year": assessed})
        last_month = date.today().month - 1 if year == date.today().year else 12
        self.dues_owed = [(member, f"{y}-{m:02d}") for y, months in ((year - 1, 12), (year, last_month))
                          for m in range(1, months + 1) for member in self.members]
        self.random.shuffle(self.dues_owed)
        self.dues_owed.sort(key=lambda owed: owed[1])  # the oldest month first, as a treasurer collects
        return self

    def wait_for_roster(self, timeout: float = 120.0) -> None:
        """Activities are recorded against the activities service's roster, fed by the register's events."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status, reply = self.http.request("GET", "activities", f"/branches/{self.branch_id}/roster", self.admin,
                                              params=f"?on={date.today().isoformat()}")
            if status == 200 and {m["member_id"] for m in reply["members"]} >= set(self.members):
                return
            time.sleep(0.2)
        raise TimeoutError(f"the activities roster did not receive branch {self.label} in {timeout:.0f}s")

    # --- the mix ---------------------------------------------------------------------------------------

    def member_body(self) -> dict:
        self.counter += 1
        return {"branch_id": self.branch_id, "name": f"成员{self.label}-{self.counter}", "gender": "female",
                "birth_date": "1950-05-04", "party_member": True, "party_join_date": "1975-07-01",
                "retirement_kind": "retired", "pension_base": "4800.00", "health": "good", "mobility": "mobile",
                "joined_on": "2015-01-01"}

    def past_day(self) -> date:
        return date.today() - timedelta(days=self.random.randint(3, 300))

    def register_member(self) -> dict:
        return self.command("members", "/members", self.member_body())

    def record_activity(self) -> dict:
        kind = self.random.choice(ACTIVITY_KINDS)
        attendees = self.random.sample(self.members, k=min(8, len(self.members)))
        return self.command("activities", "/activities", {
            "branch_id": self.branch_id, "kind": kind, "occurred_on": self.past_day().isoformat(),
            "title": "集体学习：党的二十大精神", "attendees": attendees, "hours": "2", "place": "局三楼党员活动中心",
            "topics": ["党的二十大精神"]})

    def record_outreach(self) -> dict:
        return self.command("activities", "/outreach", {
            "member_id": self.random.choice(self.members), "channel": self.random.choice(("visit", "phone")),
            "occurred_on": self.past_day().isoformat(), "topic": "走访谈心、通报学习内容"})

    def record_care(self) -> dict:
        return self.command("activities", "/care", {
            "member_id": self.random.choice(self.members), "kind": "health_check",
            "occurred_on": self.past_day().isoformat(), "note": "年度体检"})

    def pay_dues(self) -> dict:
        if not self.dues_owed:
            return self.record_outreach()
        member, month = self.dues_owed.pop(0)
        body = {"months": [month], "paid_on": date.today().isoformat()}
        if needs_exception(month, date.today()):  # a back payment the branch has agreed to take
            body["exception"] = {"resolution": "支部委员会同意补交", "decided_on": date.today().isoformat()}
        return self.command("members", f"/members/{member}/dues/payments", body)

    def next_command(self):
        names, weights = zip(*MIX)
        return getattr(self, self.random.choices(names, weights)[0])


@dataclass
class LoadResult:
    commands: int
    refused: int
    seconds: float
    latencies: list[float]
    errors: list[str]

    @property
    def rate(self) -> float:
        return self.commands / self.seconds


def set_up_branches(stack: Stack, count: int, label: str) -> list[Branch]:
    year = date.today().year
    branches = [Branch(stack, f"{label}{index}") for index in range(count)]
    threads = [threading.Thread(target=branch.set_up, args=(year,)) for branch in branches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for branch in branches:
        if not branch.members:
            raise RuntimeError(f"set-up of branch {branch.label} failed")
        branch.wait_for_roster()
    return branches


def run_mix(branches: list[Branch], seconds: float, stop: threading.Event | None = None) -> LoadResult:
    """Each branch's client sends commands back to back for ``seconds`` (or until ``stop``)."""
    stop = stop or threading.Event()
    lock = threading.Lock()
    latencies: list[float] = []
    errors: list[str] = []
    counts = {"ok": 0, "refused": 0}

    def client(branch: Branch) -> None:
        while not stop.is_set():
            started = time.perf_counter()
            try:
                branch.next_command()()
                outcome = "ok"
            except CommandRefused as error:
                outcome = "refused"
                with lock:
                    errors.append(str(error))
            with lock:
                counts[outcome] += 1
                latencies.append(time.perf_counter() - started)

    threads = [threading.Thread(target=client, args=(branch,)) for branch in branches]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    stop.wait(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return LoadResult(counts["ok"], counts["refused"], elapsed, latencies, errors[:20])
