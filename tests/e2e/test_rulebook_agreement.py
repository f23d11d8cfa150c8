"""One generated history driven through the running platform's HTTP APIs — members joining, moving between
branches, transferring to another bureau, dying, leaving the Party; study and outreach — and activities'
coverage of each branch and month compared with the audit's."""

from __future__ import annotations

import time

from contracts import activities as A
from contracts import members as M
from hypothesis import HealthCheck, given, settings

from tests.histories import BRANCHES, MONTHS, ESTABLISHED, History, histories
from tests.support import wait_for

HISTORIES = histories(local_rules=False).filter(lambda h: len(h.people) >= 3 and len(h.of(A.ActivityRecorded)) >= 2)


class Replay:
    """The history recorded through the APIs, as a branch secretary and the bureau's admin would."""

    def __init__(self, platform, history: History) -> None:
        self.platform, self.history = platform, history
        self.bureau, self.elsewhere = platform.new_bureau(), platform.new_bureau()
        self.ids: dict[str, str] = {}
        self.far_branch = self._branch(self.elsewhere, "外局支部")
        for i, branch in enumerate(BRANCHES):
            self.ids[branch] = self._branch(self.bureau, f"支部{i}")

    def post(self, service: str, path: str, body: dict, bureau: dict | None = None) -> dict:
        response = self.platform.post(service, f"/api/v1{path}", body, (bureau or self.bureau)["admin"])
        assert response.status_code in (200, 201), (path, body, response.text)
        return response.json()

    def _branch(self, bureau: dict, name: str) -> str:
        return self.post("members", "/branches", {"name": name, "established_on": ESTABLISHED.isoformat()},
                         bureau)["id"]

    def register(self) -> None:
        for _, event, _, _ in self.history.facts:
            if isinstance(event, M.MemberRegistered):
                body = {"branch_id": self.ids[event.branch_id], "name": event.name, "gender": "male",
                        "birth_date": event.birth_date.isoformat(), "party_member": event.party_member,
                        "party_join_date": event.party_join_date and event.party_join_date.isoformat(),
                        "retirement_kind": event.retirement_kind, "pension_base": "4800.00",
                        "health": event.health, "mobility": "mobile", "joined_on": event.joined_on.isoformat()}
                self.ids[event.member_id] = self.post("members", "/members", body)["id"]
            else:
                self._life(event)

    def _life(self, event) -> None:
        member = self.ids.get(getattr(event, "member_id", None))
        if isinstance(event, M.MemberMoved):
            self._move(member, self.ids[event.to_branch_id], event.moved_on, self.bureau)
        elif isinstance(event, M.MemberTransferredOut):
            self._move(member, self.far_branch, event.left_on, self.elsewhere)
        elif isinstance(event, M.MemberDied):
            self.post("members", f"/members/{member}/actions/record-death", {"died_on": event.died_on.isoformat()})
        elif isinstance(event, M.MemberLeftParty):
            self.post("members", f"/members/{member}/actions/remove-from-party",
                      {"left_on": event.left_on.isoformat(), "decision": event.decision})
        elif isinstance(event, M.MemberHealthChanged):
            self.post("members", f"/members/{member}/actions/change-health",
                      {"health": event.health, "mobility": event.mobility, "changed_on": event.changed_on.isoformat()})

    def _move(self, member: str, branch: str, day, receiving: dict) -> None:
        """A letter and its receipt on the same day; across bureaus the receiving bureau takes the member in."""
        body = {"member_id": member, "to_branch_id": branch, "issued_on": day.isoformat()}
        if receiving is not self.bureau:
            body["to_bureau_id"] = receiving["id"]
        letter = self.post("members", "/transfers", body)["id"]
        if receiving is not self.bureau:
            wait_for(lambda: self.platform.get("members", f"/api/v1/transfers/{letter}", receiving["admin"])
                     .status_code == 200, timeout=30, message="the letter reaches the other bureau")
        self.post("members", f"/transfers/{letter}/actions/receive", {"on": day.isoformat()}, receiving)
        if receiving is not self.bureau:
            wait_for(lambda: self.platform.get("members", f"/api/v1/members/{member}", self.bureau["admin"])
                     .json().get("status") == "transferred_out", timeout=30, message="the member leaves this bureau")

    def record_work(self) -> None:
        everyone = [self.ids[p.member_id] for p in self.history.people]
        wait_for(lambda: all(self._known(m) for m in everyone), timeout=60, message="activities knows everyone")
        for _, event, _, _ in self.history.facts:
            if isinstance(event, A.ActivityRecorded):
                body = {"branch_id": self.ids[event.branch_id], "kind": event.kind, "title": event.title,
                        "occurred_on": event.occurred_on.isoformat(),
                        "attendees": [self.ids[m] for m in event.attendees]}
                if event.hours:
                    body["hours"] = str(event.hours)
                self.post("activities", "/activities", body)
            elif isinstance(event, A.OutreachRecorded):
                body = {"member_id": self.ids[event.member_id], "channel": event.channel, "topic": event.topic,
                        "occurred_on": event.occurred_on.isoformat(), "branch_id": self.ids[event.branch_id]}
                if event.hours:
                    body["hours"] = str(event.hours)
                self.post("activities", "/outreach", body)

    def _known(self, member: str) -> bool:
        """Activities' roster has the member's last recorded placement (their whole history has arrived)."""
        person = next(p for p in self.history.people if self.ids[p.member_id] == member)
        day, kind, branch = person.placements[-1]
        if branch is None:
            day, _, branch = person.placements[-2] if len(person.placements) > 1 else person.placements[0]
        response = self.platform.get("activities", f"/api/v1/branches/{self.ids[branch]}/roster",
                                     self.bureau["admin"], on=day.isoformat())
        found = response.status_code == 200 and member in {m["member_id"] for m in response.json()["members"]}
        if kind in ("died", "transferred_out", "left_party"):
            after = self.platform.get("activities", f"/api/v1/branches/{self.ids[branch]}/roster",
                                      self.bureau["admin"], on=person.placements[-1][0].isoformat())
            found = found and member not in {m["member_id"] for m in after.json()["members"]}
        return found

    def disagreements(self) -> list:
        found, self.judged = [], 0
        for branch in BRANCHES:
            for month in MONTHS:
                ours = self.platform.get("activities", f"/api/v1/branches/{self.ids[branch]}/coverage",
                                         self.bureau["admin"], period=month).json()
                card = self.platform.get("audit", f"/api/v1/branches/{self.ids[branch]}/scorecard",
                                         self.bureau["auditor"], period=month).json()
                [part] = card["figures"]["coverage"]["periods"]
                mine = (ours["due"], sorted(m["member_id"] for m in ours["uncovered"]))
                self.judged += ours["due"]
                theirs = (part["members"], sorted(m["member_id"] for m in part["not_covered"]))
                if mine != theirs:
                    found.append((branch, month, mine, theirs))
        return found


@settings(max_examples=2, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])
@given(HISTORIES)
def test_activities_and_the_audit_agree_on_coverage_of_a_history_recorded_through_the_apis(platform, history):
    replay = Replay(platform, history)
    replay.register()
    replay.record_work()
    deadline = time.monotonic() + 60  # the audit's views follow the journal: give them time to catch up
    while (found := replay.disagreements()) and time.monotonic() < deadline:
        time.sleep(1)
    assert found == [], "activities and the audit disagree (branch, month, activities', audit's)"
    assert replay.judged > 0  # the history had Party members to judge, not only empty branches
