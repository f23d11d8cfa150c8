"""A bureau with one branch of five retirees and an elected secretary, set up over the running stack's APIs:
what the secretaries' pages and the dashboard are tried on (end-to-end and in a browser)."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from collections.abc import Iterator

from werkzeug.serving import make_server

from tests.support import wait_for

PEOPLE = [  # name, gender, birth date, health, mobility
    ("赵国庆", "male", "1949-10-01", "good", "mobile"),
    ("王德明", "male", "1941-03-12", "poor", "homebound"),
    ("李淑芬", "female", "1950-10-02", "fair", "limited"),
    ("陈秀英", "female", "1953-02-18", "good", "mobile"),
    ("孙志刚", "male", "1955-08-08", "fair", "mobile"),
]
SECRETARY = "赵国庆"


@dataclass
class SeededBranch:
    bureau: dict
    branch_id: str
    branch_name: str
    members: dict[str, str] = field(default_factory=dict)

    @property
    def secretary_id(self) -> str:
        return self.members[SECRETARY]


def seed_branch(platform, name: str = "离退休干部党支部") -> SeededBranch:
    """A fresh bureau and branch, five members registered two years ago, 赵国庆 elected secretary last year."""
    bureau = platform.new_bureau()
    started = (date.today() - timedelta(days=730)).isoformat()
    branch = platform.post("members", "/api/v1/branches", {"name": name, "established_on": started}, bureau["admin"])
    assert branch.status_code == 201, branch.text
    seeded = SeededBranch(bureau, branch.json()["id"], name)
    for person, gender, born, health, mobility in PEOPLE:
        body = {"name": person, "gender": gender, "birth_date": born, "party_member": True,
                "party_join_date": "1975-07-01", "retirement_kind": "retired", "pension_base": "4800.00",
                "health": health, "mobility": mobility, "branch_id": seeded.branch_id, "joined_on": started}
        created = platform.post("members", "/api/v1/members", body, bureau["admin"])
        assert created.status_code == 201, created.text
        seeded.members[person] = created.json()["id"]
    _elect(platform, seeded, (date.today() - timedelta(days=300)).isoformat())
    wait_for(lambda: _roster_ready(platform, seeded), timeout=60,
             message="activities knows the branch and its secretary")
    return seeded


def _elect(platform, seeded: SeededBranch, held_on: str) -> None:
    other = next(name for name in seeded.members if name != SECRETARY)
    body = {"held_on": held_on, "eligible_voters": 5, "attendees": 5, "seats": 1,
            "candidates": [{"member_id": seeded.members[SECRETARY], "name": SECRETARY, "votes": 4},
                           {"member_id": seeded.members[other], "name": other, "votes": 1}],
            "posts": [{"post": "secretary", "member_id": seeded.members[SECRETARY]}]}
    elected = platform.post("members", f"/api/v1/branches/{seeded.branch_id}/elections", body, seeded.bureau["admin"])
    assert elected.status_code == 201, elected.text


def _roster_ready(platform, seeded: SeededBranch) -> bool:
    answer = platform.get("activities", f"/api/v1/branches/{seeded.branch_id}/roster", seeded.bureau["admin"])
    if answer.status_code != 200:
        return False
    members = answer.json()["members"]
    return len(members) == len(PEOPLE) and any(m["post"] == "secretary" for m in members)


def secretary_token(platform, seeded: SeededBranch) -> str:
    """The secretary's own token: their member id as the subject, their branch in the token."""
    return platform.token("secretary", tenant=seeded.bureau["id"], branches=[seeded.branch_id],
                          subject=seeded.secretary_id)


@contextmanager
def serving(app) -> Iterator[str]:
    """A Flask app on a free local port for the length of the block (a browser needs a real server)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
