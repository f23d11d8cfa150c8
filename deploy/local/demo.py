"""Load demo data through the services' public API, as bureaus would have entered it over a year.

Two bureaus, their branches and members, and a year of their work. Each record is entered close to the
day it happened — a meeting on its evening, a payment on the day it was paid — so that only what is
meant to be late (the August group meeting entered after the month was closed) carries the 补录 flag.
To enter a record "on" an earlier day, the services' own API code runs in this process against the
stack's databases with the clock set to that moment: the same validation, rules, events and outbox as
over HTTP, nothing special in the services. The relays and consumers of the running stack carry the
events on.

Every command carries a fixed Idempotency-Key, so a retried command records once; and once the demo bureaus
are on the platform's register (each later ``make up``), the demo says so and adds nothing (``make reset``
starts afresh).
After the register, each ``demo_<service>.py`` beside this file gets ``plan(context, schedule)`` to add
that service's records to the schedule, which then runs in date order.
"""

from __future__ import annotations

import heapq
import importlib
import itertools
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from shared.auth import issue_token
from shared.config import Settings

SUBJECT = "demo-loader"
BEIJING = ZoneInfo("Asia/Shanghai")

BUREAUS = [
    {"name": "市自然资源局", "code": "zrzy", "branches": [
        {"name": "市自然资源局离退休干部党支部", "established_on": "2012-06-18", "members": [
            ("王德明", "male", "1941-03-12", "1961-07-01", "lixiu", "6800.00", "poor", "homebound"),
            ("李淑芬", "female", "1950-10-02", "1975-05-04", "retired", "5000.00", "fair", "limited"),
            ("赵国庆", "male", "1949-10-01", "1972-07-01", "retired", "5600.00", "good", "mobile"),
            ("陈秀英", "female", "1953-02-18", "1980-06-30", "retired", "4300.00", "good", "mobile"),
            ("孙志刚", "male", "1955-08-08", "1978-12-26", "retired", "4800.00", "fair", "mobile"),
            ("周建华", "male", "1946-12-01", "1968-03-15", "retired", "5200.00", "poor", "limited"),
            ("吴丽娟", "female", "1957-04-20", "1985-07-01", "retired", "3900.00", "good", "mobile"),
            ("郑海涛", "male", "1980-05-16", "2003-06-01", "in_service", "9000.00", "good", "mobile"),
        ]},
        {"name": "市自然资源局第二离退休干部党支部", "established_on": "2019-03-01", "members": [
            ("冯玉兰", "female", "1952-01-23", "1976-09-09", "retired", "4600.00", "good", "mobile"),
            ("何振华", "male", "1948-06-06", "1969-10-01", "retired", "5100.00", "fair", "limited"),
            ("高建军", "male", "1951-11-11", "1974-04-01", "retired", "4700.00", "good", "mobile"),
        ]},
    ], "wording": {
        "report_leadership": "在市委的正确领导下，在市委组织部、市直机关工委、市离退休干部党工委的帮助指导下，"
                             "以“一完善六强化”为抓手",
        "report_superior": "市委",
        "report_key_year": "市自然资源管理体制改革筑基垒台、立柱架梁"}},
    {"name": "市交通运输局", "code": "jtys", "branches": [
        {"name": "市交通运输局离退休干部党支部", "established_on": "2015-09-10", "members": [
            ("马文斌", "male", "1944-07-07", "1966-05-01", "lixiu", "7200.00", "fair", "limited"),
            ("罗春梅", "female", "1954-03-08", "1979-07-01", "retired", "4200.00", "good", "mobile"),
            ("梁志强", "male", "1956-09-30", "1983-01-10", "retired", "4900.00", "good", "mobile"),
            ("宋桂芝", "female", "1947-05-05", "1970-08-01", "retired", "5300.00", "poor", "homebound"),
        ]},
    ], "wording": {"report_leadership": "在市委的正确领导下，在市委组织部、市直机关工委的帮助指导下",
                   "report_superior": "市委", "report_key_year": "全市交通运输高质量发展"}},
]


def evening(day: date, hour: int = 20) -> datetime:
    """When a secretary enters the day's record: that evening, Beijing time."""
    return datetime.combine(day, time(hour), BEIJING)


class Refused(Exception):
    pass


class Platform:
    """The services' API code in this process, each request answered as at the moment given."""

    def __init__(self, services: tuple[str, ...] = ("members", "activities", "notify")) -> None:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self.settings = Settings.from_env("members")
        self.apps = {service: importlib.import_module(f"services.{service}.app").create_app()
                     for service in services}
        self.clients = {service: app.test_client() for service, app in self.apps.items()}
        self.refused = 0
        self.earlier = 0

    def token(self, role: str, tenant: str | None = None) -> str:
        return issue_token(self.settings.jwt_secret, subject=SUBJECT, roles=[role], tenant=tenant,
                           issuer=self.settings.jwt_issuer)

    def send(self, method: str, service: str, path: str, body: dict | None, *, role: str, tenant: str | None,
             key: str | None, at: datetime) -> dict | None:
        """Answer one request as the service would have at ``at``; a refusal is reported, not fatal."""
        self.apps[service].extensions["branchwork"].clock = lambda: at
        headers = {"Authorization": f"Bearer {self.token(role, tenant)}"}
        if key:
            headers["Idempotency-Key"] = key
        response = self.clients[service].open(f"/api/v1{path}", method=method, json=body, headers=headers)
        if response.status_code < 400:
            return response.get_json()
        error = (response.get_json() or {}).get("error") or {}
        if error.get("code") == "idempotency_key_reused":
            self.earlier += 1  # recorded by an earlier version of this demo, differently: left as it was
            return None
        self.refused += 1
        print(f"demo: {service} {path} [{key}] refused ({response.status_code}): "
              f"{response.get_data(as_text=True)[:300]}", file=sys.stderr)
        return None

    def must(self, *args, **kwargs) -> dict:
        """A command the rest of the demo depends on (a bureau, a branch, a member): it has to succeed."""
        answer = self.send(*args, **kwargs)
        if answer is None:
            sys.exit(f"demo: {args[2]} failed; see above")
        return answer

    def close(self) -> None:
        for app in self.apps.values():
            app.extensions["branchwork"].pool.close()


@dataclass(order=True)
class Entry:
    at: datetime
    order: int
    service: str = field(compare=False)
    path: str | Callable[[], str | None] = field(compare=False)
    body: dict | Callable[[], dict] = field(compare=False)
    key: str = field(compare=False)
    tenant: str | None = field(compare=False)
    role: str = field(compare=False, default="bureau_admin")
    method: str = field(compare=False, default="POST")
    then: Callable[[dict], None] | None = field(compare=False, default=None)


class Schedule:
    """The year's records in the order they were entered; each is entered at its own moment, never in the future."""

    def __init__(self, platform: Platform, now: datetime, adopted: datetime) -> None:
        self.platform = platform
        self.now = now
        self.adopted = adopted
        self.entries: list[Entry] = []
        self.counter = itertools.count()

    def add(self, at: datetime, service: str, path, body, key: str, tenant: str | None, **extra) -> None:
        heapq.heappush(self.entries, Entry(min(at, self.now), next(self.counter), service, path, body, key, tenant,
                                           **extra))

    def wait(self, at: datetime, step: Callable[[], None]) -> None:
        """Something to do before anything entered after ``at`` (wait for what the stack carries to arrive)."""
        heapq.heappush(self.entries, Entry(min(at, self.now), next(self.counter), "", "", {}, "", None, then=step))

    def run(self) -> None:
        while self.entries:
            entry = heapq.heappop(self.entries)
            if not entry.service:
                entry.then({})
                continue
            path = entry.path() if callable(entry.path) else entry.path
            if path is None:
                continue  # what it depended on was refused
            body = entry.body() if callable(entry.body) else entry.body
            answer = self.platform.send(entry.method, entry.service, path, body, role=entry.role,
                                        tenant=entry.tenant, key=entry.key, at=entry.at)
            if answer is not None and entry.then:
                entry.then(answer)


def register(platform: Platform, adopted: datetime) -> list[dict]:
    """The bureaus, branches and members, as entered when each bureau took the platform up."""
    loaded = []
    for bureau in BUREAUS:
        created = platform.must("POST", "members", "/bureaus", {"name": bureau["name"], "code": bureau["code"]},
                                role="platform_admin", tenant=None, key=f"demo-bureau-{bureau['code']}", at=adopted)
        platform.must("PATCH", "members", f"/bureaus/{created['id']}/rules",
                      {"effective_from": adopted.date().isoformat(), "rules": bureau["wording"]}, role="bureau_admin",
                      tenant=created["id"], key=f"demo-wording-{bureau['code']}", at=adopted)
        branches = [load_branch(platform, created["id"], bureau["code"], index, branch, adopted)
                    for index, branch in enumerate(bureau["branches"])]
        loaded.append({"id": created["id"], "name": bureau["name"], "code": bureau["code"], "branches": branches})
    return loaded


def already_loaded(platform: Platform, now: datetime) -> list[dict]:
    """The demo bureaus an earlier run registered (the platform's directory lists them by code)."""
    listed = platform.send("GET", "members", "/bureaus", None, role="platform_admin", tenant=None, key=None, at=now)
    codes = {bureau["code"] for bureau in BUREAUS}
    return [bureau for bureau in listed or [] if bureau["code"] in codes]


def load_branch(platform: Platform, bureau_id: str, code: str, index: int, branch: dict, at: datetime) -> dict:
    body = {"name": branch["name"], "established_on": branch["established_on"]}
    branch_id = platform.must("POST", "members", "/branches", body, role="bureau_admin", tenant=bureau_id,
                              key=f"demo-branch-{code}-{index}", at=at)["id"]
    members = []
    for m_index, member in enumerate(branch["members"]):
        body = member_body(branch_id, member, branch["established_on"])
        registered = platform.must("POST", "members", "/members", body, role="bureau_admin", tenant=bureau_id,
                                   key=f"demo-member-{code}-{index}-{m_index}", at=at)
        members.append({"id": registered["id"], "name": member[0], "health": member[6], "mobility": member[7],
                        "birth_date": member[2]})
    return {"id": branch_id, "name": branch["name"], "members": members}


class RegisterWork:
    """A year of the register's own work: an election, allowances, dues, a completed and a pending transfer."""

    def __init__(self, schedule: Schedule, bureaus: list[dict]) -> None:
        self.schedule = schedule
        self.bureaus = {bureau["code"]: bureau for bureau in bureaus}

    def plan(self, year: int, last_month: int) -> None:
        zrzy, jtys = self.bureaus["zrzy"], self.bureaus["jtys"]
        self.transfer_within(zrzy, year)
        self.election(zrzy, year)
        for bureau in (zrzy, jtys):
            self.dues(bureau, year, last_month)
        self.pending_transfer(jtys, zrzy, year, last_month)

    def add(self, day: date, bureau: dict, path, body, key: str, **extra) -> None:
        self.schedule.add(evening(day), "members", path, body, key, bureau["id"], **extra)

    def transfer_within(self, bureau: dict, year: int) -> None:
        """高建军 moved from the second branch to the first before the year began."""
        second, first = bureau["branches"][1], bureau["branches"][0]
        member = next(m for m in second["members"] if m["name"] == "高建军")
        letter: dict = {}
        self.add(date(year - 1, 12, 10), bureau, "/transfers", {"member_id": member["id"], "to_branch_id": first["id"],
                 "issued_on": f"{year - 1}-12-10"}, "demo-transfer-within", then=letter.update)
        self.add(date(year - 1, 12, 15), bureau,
                 lambda: letter.get("id") and f"/transfers/{letter['id']}/actions/receive",
                 {"on": f"{year - 1}-12-15"}, "demo-transfer-within-receive")
        self.add(date(year - 1, 12, 28), bureau,
                 lambda: letter.get("id") and f"/transfers/{letter['id']}/actions/return-slip",
                 {"on": f"{year - 1}-12-28"}, "demo-transfer-within-slip")
        second["members"].remove(member)
        first["members"].append(member)

    def election(self, bureau: dict, year: int) -> None:
        """The first branch's election of the previous autumn: a retired secretary, an in-service deputy."""
        branch = bureau["branches"][0]
        people = {m["name"]: m["id"] for m in branch["members"]}
        candidates = [("赵国庆", 8, None), ("郑海涛", 8, "局办公室"), ("陈秀英", 7, None), ("孙志刚", 1, None)]
        body = {"held_on": f"{year - 1}-10-20", "eligible_voters": 8, "attendees": 8, "seats": 3,
                "candidates": [{"member_id": people[n], "name": n, "votes": v, **({"unit": u} if u else {})}
                               for n, v, u in candidates],
                "posts": [{"post": "secretary", "member_id": people["赵国庆"]},
                          {"post": "deputy_secretary", "member_id": people["郑海涛"]},
                          {"post": "member", "member_id": people["陈秀英"]}]}
        self.add(date(year - 1, 10, 20), bureau, f"/branches/{branch['id']}/elections", body, "demo-election")
        for month in range(1, 11):
            self.add(date(year, month, 25), bureau, f"/branches/{branch['id']}/committee/allowances",
                     {"member_id": people["赵国庆"], "month": f"{year}-{month:02d}", "amount": "300.00"},
                     f"demo-allowance-{month}")

    def dues(self, bureau: dict, year: int, last_month: int) -> None:
        """Everyone pays monthly but two: one pays through a relative, one has stopped paying since April."""
        for b_index, branch in enumerate(bureau["branches"]):
            self.add(date(year, 1, 3), bureau, f"/branches/{branch['id']}/dues/assessments", {"year": year},
                     f"demo-dues-{bureau['code']}-{b_index}")
            for member in branch["members"]:
                stop = 4 if member["name"] == "宋桂芝" else last_month
                payer = {"payer": "relative", "payer_name": "王小红"} if member["name"] == "王德明" else {}
                for month in range(1, stop + 1):
                    self.add(date(year, month, 10), bureau, f"/members/{member['id']}/dues/payments",
                             {"months": [f"{year}-{month:02d}"], "paid_on": f"{year}-{month:02d}-10", **payer},
                             f"demo-pay-{member['id']}-{month}")
        first = bureau["branches"][0]["id"]
        self.schedule.add(self.schedule.now, "members", f"/branches/{first}/dues/actions/review-arrears", {},
                          f"demo-review-{bureau['code']}-{self.schedule.now.date()}", bureau["id"])

    def pending_transfer(self, source: dict, target: dict, year: int, last_month: int) -> None:
        """梁志强 is moving to the other bureau: the letter is out, not yet received."""
        member = next(m for m in source["branches"][0]["members"] if m["name"] == "梁志强")
        self.add(date(year, last_month, 20), source, "/transfers",
                 {"member_id": member["id"], "to_branch_id": target["branches"][1]["id"], "to_bureau_id": target["id"],
                  "issued_on": f"{year}-{last_month:02d}-20"}, "demo-transfer-pending")


def member_body(branch_id: str, member: tuple, established_on: str) -> dict:
    name, gender, birth, joined_party, kind, pension, health, mobility = member
    return {"branch_id": branch_id, "name": name, "gender": gender, "birth_date": birth, "party_member": True,
            "party_join_date": joined_party, "retirement_kind": kind, "pension_base": pension, "health": health,
            "mobility": mobility, "joined_on": max(established_on, "2019-01-01")}


def main() -> None:
    now = datetime.now(BEIJING)
    year = now.year
    platform = Platform()
    try:
        earlier = already_loaded(platform, now)
        if earlier:
            print("demo data already loaded (make reset starts afresh):")
            for bureau in earlier:
                print(f"  {bureau['name']}: bureau id {bureau['id']}")
            return
        adopted = datetime(year - 1, 10, 8, 9, tzinfo=BEIJING)  # the bureaus took the platform up last autumn
        context = {"subject": SUBJECT, "bureaus": register(platform, adopted), "year": year, "now": now,
                   "adopted": adopted, "platform": platform}
        schedule = Schedule(platform, now, adopted)
        RegisterWork(schedule, context["bureaus"]).plan(year, now.month - 1 or 1)
        for path in sorted(Path(__file__).parent.glob("demo_*.py")):
            importlib.import_module(path.stem).plan(context, schedule)
        schedule.run()
        for path in sorted(Path(__file__).parent.glob("demo_*.py")):
            finish = getattr(importlib.import_module(path.stem), "finish", None)
            if finish:
                finish(context)
    finally:
        platform.close()
    earlier = f", {platform.earlier} kept as an earlier version of the demo recorded them" if platform.earlier else ""
    print(f"demo data loaded for {year} ({platform.refused} record(s) refused{earlier}):")
    for bureau in context["bureaus"]:
        print(f"  {bureau['name']}: bureau id {bureau['id']}")
        print(f"    .venv/bin/branchwork token --role bureau_admin --tenant {bureau['id']}")


if __name__ == "__main__":
    main()
