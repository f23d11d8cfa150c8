"""Load demo data through the public API, as a bureau would: two bureaus, their branches and members.

Every command carries a fixed Idempotency-Key, so running it again (each 'make up') changes nothing.
After the register, each ``demo_<service>.py`` beside this file gets ``load(context)`` with the ids
created here, to add that service's records.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import requests

from shared.auth import issue_token
from shared.config import Settings

SUBJECT = "demo-loader"

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
    ]},
    {"name": "市交通运输局", "code": "jtys", "branches": [
        {"name": "市交通运输局离退休干部党支部", "established_on": "2015-09-10", "members": [
            ("马文斌", "male", "1944-07-07", "1966-05-01", "lixiu", "7200.00", "fair", "limited"),
            ("罗春梅", "female", "1954-03-08", "1979-07-01", "retired", "4200.00", "good", "mobile"),
            ("梁志强", "male", "1956-09-30", "1983-01-10", "retired", "4900.00", "good", "mobile"),
            ("宋桂芝", "female", "1947-05-05", "1970-08-01", "retired", "5300.00", "poor", "homebound"),
        ]},
    ]},
]


class Loader:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.base = f"http://127.0.0.1:{settings.http_port}/api/v1"
        self.http = requests.Session()

    def token(self, role: str, tenant: str | None = None) -> str:
        return issue_token(self.settings.jwt_secret, subject=SUBJECT, roles=[role], tenant=tenant,
                           issuer=self.settings.jwt_issuer)

    def command(self, path: str, body: dict, token: str, key: str) -> dict:
        response = self.http.post(f"{self.base}{path}", json=body, timeout=30,
                                  headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key})
        if response.status_code not in (200, 201):
            sys.exit(f"demo: {path} failed with {response.status_code}: {response.text}")
        return response.json()

    def load(self) -> list[dict]:
        """Register the bureaus, branches and members; return them with their ids (the demo context)."""
        loaded = []
        for bureau in BUREAUS:
            created = self.command("/bureaus", {"name": bureau["name"], "code": bureau["code"]},
                                   self.token("platform_admin"), f"demo-bureau-{bureau['code']}")
            admin = self.token("bureau_admin", created["id"])
            branches = [self.load_branch(admin, bureau["code"], index, branch)
                        for index, branch in enumerate(bureau["branches"])]
            loaded.append({"id": created["id"], "name": bureau["name"], "code": bureau["code"], "branches": branches})
        return loaded

    def load_branch(self, admin: str, code: str, index: int, branch: dict) -> dict:
        body = {"name": branch["name"], "established_on": branch["established_on"]}
        branch_id = self.command("/branches", body, admin, f"demo-branch-{code}-{index}")["id"]
        members = []
        for m_index, member in enumerate(branch["members"]):
            registered = self.command("/members", member_body(branch_id, member, branch["established_on"]), admin,
                                      f"demo-member-{code}-{index}-{m_index}")
            members.append({"id": registered["id"], "name": member[0], "health": member[6], "mobility": member[7]})
        return {"id": branch_id, "name": branch["name"], "members": members}


def member_body(branch_id: str, member: tuple, established_on: str) -> dict:
    name, gender, birth, joined_party, kind, pension, health, mobility = member
    return {"branch_id": branch_id, "name": name, "gender": gender, "birth_date": birth, "party_member": True,
            "party_join_date": joined_party, "retirement_kind": kind, "pension_base": pension, "health": health,
            "mobility": mobility, "joined_on": max(established_on, "2019-01-01")}


def main() -> None:
    context = {"subject": SUBJECT, "bureaus": Loader(Settings.from_env("members")).load()}
    for path in sorted(Path(__file__).parent.glob("demo_*.py")):
        module = importlib.import_module(path.stem)
        module.load(context)
    print("demo data loaded:")
    for bureau in context["bureaus"]:
        print(f"  {bureau['name']}: bureau id {bureau['id']}")
        print(f"    .venv/bin/branchwork token --role bureau_admin --tenant {bureau['id']}")


if __name__ == "__main__":
    main()
