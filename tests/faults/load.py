"""A steady write load: four clients, each the admin of a bureau of its own, sending a realistic mix of
commands across the services (and some reads), at a steady pace, while a fault happens.

Every command carries an ``Idempotency-Key`` and an ``X-Correlation-Id``. A 503 is retried after its
``Retry-After``, a refused or timed-out connection after a second — always with the same key, as a
careful client does — so each command ends accepted (2xx) or refused (4xx), and the events it recorded
are found in its service's store by its correlation id.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, UTC
from zoneinfo import ZoneInfo

import requests

from tests.support import bearer, new_id, short_id, token, wait_for

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "建国秀英桂兰德明淑芬永福玉珍志强凤英文华海燕振华春梅国庆"
HEALTH = (("good", "mobile"), ("fair", "limited"), ("poor", "limited"), ("poor", "homebound"))
GIVE_UP_AFTER = 300.0  # seconds a command keeps being retried before the client gives up on it


@dataclass
class Command:
    """One request of the load, and how it ended."""

    service: str
    kind: str
    method: str
    path: str
    body: dict | None = None
    write: bool = True
    key: str = field(default_factory=new_id)
    correlation_id: str = field(default_factory=new_id)
    status: int | None = None
    reply: dict | None = None
    unavailable: int = 0          # 503s answered, each with a Retry-After
    unavailable_without_retry_after: int = 0
    unreachable: int = 0          # connections refused or timed out (a service restarting)
    sent_at: float = 0.0

    @property
    def accepted(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def server_error(self) -> bool:
        return self.status is not None and self.status >= 500


@dataclass
class Member:
    member_id: str
    branch_id: str
    health: tuple[str, str]
    unpaid: list[str] = field(default_factory=list)  # months of this year not yet paid, oldest first


class Bureau:
    """One client's bureau: two branches, their members known to every service, contacts by e-mail."""

    def __init__(self, platform, index: int) -> None:
        self.platform = platform
        self.index = index
        self.members: list[Member] = []   # every member, those the load registered too
        self.known: list[Member] = []     # those set up before the load: every service knows them
        self.branches: list[str] = []
        self.bureau_id = ""
        self.admin = self.auditor = ""

    def set_up(self, members_per_branch: int = 6) -> None:
        platform = self.platform
        code = f"faults-{self.index}-{short_id()}"
        created = self._post("members", "/bureaus", {"name": f"故障演练局{self.index}", "code": code},
                             token(platform.settings["members"], "platform_admin"))
        self.bureau_id = created["id"]
        self.admin = token(platform.settings["members"], "bureau_admin", tenant=self.bureau_id)
        self.auditor = token(platform.settings["members"], "auditor", tenant=self.bureau_id)
        year = today().year
        for number in (1, 2):
            branch = self._post("members", "/branches", {"name": f"离退休干部第{number}党支部",
                                                         "established_on": "2015-01-01"})["id"]
            self.branches.append(branch)
            for _ in range(members_per_branch):
                body = member_body(branch)
                member = self._post("members", "/members", body)["id"]
                self.members.append(Member(member, branch, (body["health"], body["mobility"]),
                                           [f"{year}-{m:02d}" for m in range(1, today().month + 1)]))
            self._post("members", f"/branches/{branch}/dues/assessments", {"year": year})
        self.known = list(self.members)
        for number, branch in enumerate(self.branches, start=1):
            wait_for(lambda b=branch: self._roster_size(b) == members_per_branch, timeout=120, interval=1,
                     message="activities knows the bureau's members")
            # Notify takes a secretary's contact for a branch it knows of (from the members' events).
            contact = {"name": f"第{number}支部书记", "emails": [f"secretary-{branch[:8]}@example.org"],
                       "channels": ["inbox", "email"]}
            wait_for(lambda b=branch, body=contact: self._put("notify", f"/recipients/branches/{b}/secretary", body),
                     timeout=120, interval=1, message="notify knows the bureau's branches")

    def _roster_size(self, branch: str) -> int:
        response = requests.get(f"{self.platform.urls['activities']}/api/v1/branches/{branch}/roster",
                                headers=bearer(self.admin), timeout=30)
        return len(response.json()["members"]) if response.status_code == 200 else -1

    def _post(self, service: str, path: str, body: dict, auth: str | None = None) -> dict:
        response = requests.post(f"{self.platform.urls[service]}/api/v1{path}", json=body,
                                 headers=bearer(auth or self.admin), timeout=60)
        assert response.status_code in (200, 201), f"{path}: {response.status_code} {response.text}"
        return response.json()

    def _put(self, service: str, path: str, body: dict) -> dict | None:
        """The reply of a PUT, or None while the service does not know the record yet (404)."""
        response = requests.put(f"{self.platform.urls[service]}/api/v1{path}", json=body,
                                headers=bearer(self.admin), timeout=60)
        if response.status_code == 404:
            return None
        assert response.status_code == 200, f"{path}: {response.status_code} {response.text}"
        return response.json()


def today() -> date:
    return datetime.now(UTC).date()


def bureau_tomorrow() -> date:
    """Tomorrow in the bureaus' time zone: an activity planned for it is reminded of today."""
    return datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).date() + timedelta(days=1)


def member_body(branch: str, name: str | None = None) -> dict:
    health, mobility = random.choice(HEALTH)
    born = date(random.randint(1938, 1962), random.randint(1, 12), random.randint(1, 28))
    return {"branch_id": branch, "name": name or random.choice(SURNAMES) + "".join(random.sample(GIVEN, 2)),
            "gender": random.choice(("male", "female")), "birth_date": born.isoformat(), "party_member": True,
            "party_join_date": "1975-07-01", "retirement_kind": random.choice(("retired", "lixiu")),
            "pension_base": random.choice(("4200.00", "5600.00")), "health": health, "mobility": mobility,
            "joined_on": "2016-01-01"}


class Client(threading.Thread):
    """Sends the mix for one bureau at ``rate`` requests a second until stopped."""

    def __init__(self, platform, bureau: Bureau, rate: float, seed: int) -> None:
        super().__init__(name=f"load-{bureau.index}", daemon=True)
        self.platform = platform
        self.bureau = bureau
        self.rate = rate
        self.random = random.Random(seed)
        self.http = requests.Session()
        self.stopping = threading.Event()
        self.done: list[Command] = []
        self.mix = [(self.register_member, 20), (self.change_health, 8), (self.pay_dues, 8),
                    (self.record_study, 12), (self.record_outreach, 10), (self.record_care, 5),
                    (self.plan_meeting, 5), (self.set_member_email, 5), (self.read, 20)]

    def run(self) -> None:
        pace = 1.0 / self.rate
        next_at = time.monotonic()
        while not self.stopping.is_set():
            command = self.next_command()
            self.send(command)
            self.done.append(command)
            if command.accepted:
                self.learn(command)
            next_at = max(next_at + pace, time.monotonic() - pace)
            self.stopping.wait(max(0.0, next_at - time.monotonic()))

    def next_command(self) -> Command:
        builders, weights = zip(*self.mix)
        return self.random.choices(builders, weights)[0]()

    # ------------------------------------------------------------ sending

    def send(self, command: Command) -> None:
        auth = self.bureau.auditor if command.kind == "read history" else self.bureau.admin
        send(self.http, self.platform, auth, command)

    def learn(self, command: Command) -> None:
        if command.kind == "register member":
            body = command.body
            health = (body["health"], body["mobility"])
            self.bureau.members.append(Member(command.reply["id"], body["branch_id"], health))

    # ------------------------------------------------------------ the mix

    def _known(self, branch: str | None = None) -> list[Member]:
        """Members every service knew before the load began (activities refuses one it does not know yet)."""
        return [m for m in self.bureau.known if branch is None or m.branch_id == branch]

    def _days_ago(self, most: int) -> str:
        return (today() - timedelta(days=self.random.randint(1, most))).isoformat()

    def register_member(self) -> Command:
        return Command("members", "register member", "POST", "/members",
                       member_body(self.random.choice(self.bureau.branches)))

    def change_health(self) -> Command:
        """A change (the same health again records nothing, and is no command of a realistic client)."""
        member = self.random.choice(self.bureau.members)
        health, mobility = member.health = self.random.choice([h for h in HEALTH if h != member.health])
        return Command("members", "change health", "POST", f"/members/{member.member_id}/actions/change-health",
                       {"health": health, "mobility": mobility, "changed_on": today().isoformat()})

    def pay_dues(self) -> Command:
        owing = [m for m in self.bureau.known if m.unpaid]
        if not owing:
            return self.record_outreach()
        member = self.random.choice(owing)
        month = member.unpaid.pop(0)  # taken even if refused: a month is offered once
        return Command("members", "pay dues", "POST", f"/members/{member.member_id}/dues/payments",
                       {"months": [month], "paid_on": today().isoformat()})

    def record_study(self) -> Command:
        branch = self.random.choice(self.bureau.branches)
        attendees = [m.member_id for m in self._known(branch)]
        return Command("activities", "record study", "POST", "/activities", {
            "branch_id": branch, "kind": "study", "occurred_on": self._days_ago(20), "hours": "2",
            "title": f"集体学习 {short_id()}", "place": "局老干部活动室", "topics": ["学习党的二十大精神"],
            "attendees": self.random.sample(attendees, k=max(1, len(attendees) - 1))})

    def record_outreach(self) -> Command:
        member = self.random.choice(self._known())
        return Command("activities", "record outreach", "POST", "/outreach", {
            "member_id": member.member_id, "channel": self.random.choice(("phone", "visit", "home_study")),
            "occurred_on": self._days_ago(10), "topic": "送学上门：传达局情况通报", "branch_id": member.branch_id})

    def record_care(self) -> Command:
        member = self.random.choice(self._known())
        return Command("activities", "record care", "POST", "/care", {
            "member_id": member.member_id, "kind": "hospital_visit", "occurred_on": self._days_ago(10),
            "note": "住院慰问", "branch_id": member.branch_id})

    def plan_meeting(self) -> Command:
        return Command("activities", "plan meeting", "POST", "/activities", {
            "branch_id": self.random.choice(self.bureau.branches), "kind": "party_lecture", "status": "planned",
            "occurred_on": bureau_tomorrow().isoformat(), "title": f"党课 {short_id()}", "place": "活动中心三楼"})

    def set_member_email(self) -> Command:
        member = self.random.choice(self._known())
        return Command("notify", "set member e-mail", "PUT", f"/recipients/members/{member.member_id}",
                       {"name": None, "emails": [f"m-{short_id()}@example.org"], "channels": ["email"]})

    def read(self) -> Command:
        branch = self.random.choice(self.bureau.branches)
        member = self.random.choice(self.bureau.members)
        return self.random.choice([
            Command("members", "read members", "GET", f"/members?branch_id={branch}", write=False),
            Command("activities", "read roster", "GET", f"/branches/{branch}/roster", write=False),
            Command("notify", "read notifications", "GET", "/notifications", write=False),
            Command("audit", "read history", "GET", f"/events?stream_id=member-{member.member_id}", write=False)])


def send(http: requests.Session, platform, auth: str, command: Command) -> None:
    """Send until answered with anything but a 503 (or given up on), with the same key every time."""
    headers = {**bearer(auth), "X-Correlation-Id": command.correlation_id}
    if command.write:
        headers["Idempotency-Key"] = command.key
    url = f"{platform.urls[command.service]}/api/v1{command.path}"
    command.sent_at = time.monotonic()
    while time.monotonic() - command.sent_at < GIVE_UP_AFTER:
        try:
            response = http.request(command.method, url, json=command.body, headers=headers, timeout=30)
        except requests.RequestException:
            command.unreachable += 1
            time.sleep(1.0)
            continue
        if response.status_code != 503:
            command.status = response.status_code
            command.reply = _json(response)
            return
        command.unavailable += 1
        retry_after = response.headers.get("Retry-After")
        if retry_after is None:
            command.unavailable_without_retry_after += 1
        time.sleep(min(float(retry_after or 1), 5.0))


def _json(response) -> dict | None:
    try:
        return response.json()
    except ValueError:
        return None


class Load:
    """Four clients at a steady pace; ``stop`` lets each finish (and settle) the command in hand."""

    def __init__(self, platform, bureaus: list[Bureau], rate: float) -> None:
        self.clients = [Client(platform, bureau, rate, seed=index) for index, bureau in enumerate(bureaus)]
        self._seen: dict[Client, int] = {}

    def __enter__(self) -> Load:
        for client in self.clients:
            client.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> list[Command]:
        for client in self.clients:
            client.stopping.set()
        for client in self.clients:
            client.join(timeout=GIVE_UP_AFTER + 60)
        return self.commands()

    def commands(self) -> list[Command]:
        return list(itertools.chain.from_iterable(client.done for client in self.clients))

    def accepted_since(self, moment: float) -> int:
        return sum(1 for command in self.commands() if command.accepted and command.write and command.sent_at >= moment)
