"""Load demo data through the public API, as a bureau would: two bureaus, their branches and members.

Every command carries a fixed Idempotency-Key, so running it again (each 'make up') changes nothing.
After the register, each ``demo_<service>.py`` beside this file gets ``load(context)`` with the ids
created here, to add that service's records.
"""

from __future__ import annotations

import importlib
import sys
from datetime import date
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


class RegisterWork:
    """A year of the register's own work: an election, allowances, dues, a completed and a pending transfer."""

    def __init__(self, loader: Loader, bureaus: list[dict]) -> None:
        self.loader = loader
        self.bureaus = {bureau["code"]: bureau for bureau in bureaus}

    def load(self, year: int, last_month: int) -> None:
        zrzy, jtys = self.bureaus["zrzy"], self.bureaus["jtys"]
        self.transfer_within(zrzy, year)
        self.election(zrzy, year)
        for bureau in (zrzy, jtys):
            self.dues(bureau, year, last_month)
        self.pending_transfer(jtys, zrzy, year, last_month)

    def admin(self, bureau: dict) -> str:
        return self.loader.token("bureau_admin", bureau["id"])

    def transfer_within(self, bureau: dict, year: int) -> None:
        """高建军 moved from the second branch to the first before the year began."""
        second, first = bureau["branches"][1], bureau["branches"][0]
        member = next(m for m in second["members"] if m["name"] == "高建军")
        letter = self.loader.command("/transfers", {"member_id": member["id"], "to_branch_id": first["id"],
                                     "issued_on": f"{year - 1}-12-10"}, self.admin(bureau), "demo-transfer-within")
        self.loader.command(f"/transfers/{letter['id']}/actions/receive", {"on": f"{year - 1}-12-15"},
                            self.admin(bureau), "demo-transfer-within-receive")
        self.loader.command(f"/transfers/{letter['id']}/actions/return-slip", {"on": f"{year - 1}-12-28"},
                            self.admin(bureau), "demo-transfer-within-slip")
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
        self.loader.command(f"/branches/{branch['id']}/elections", body, self.admin(bureau), "demo-election")
        for month in range(1, 11):
            self.loader.command(f"/branches/{branch['id']}/committee/allowances",
                                {"member_id": people["赵国庆"], "month": f"{year}-{month:02d}", "amount": "300.00"},
                                self.admin(bureau), f"demo-allowance-{month}")

    def dues(self, bureau: dict, year: int, last_month: int) -> None:
        """Everyone pays monthly but two: one pays through a relative, one has stopped paying since April."""
        for b_index, branch in enumerate(bureau["branches"]):
            self.loader.command(f"/branches/{branch['id']}/dues/assessments", {"year": year}, self.admin(bureau),
                                f"demo-dues-{bureau['code']}-{b_index}")
            for member in branch["members"]:
                stop = 4 if member["name"] == "宋桂芝" else last_month
                payer = {"payer": "relative", "payer_name": "王小红"} if member["name"] == "王德明" else {}
                for month in range(1, stop + 1):
                    self.loader.command(f"/members/{member['id']}/dues/payments",
                                        {"months": [f"{year}-{month:02d}"], "paid_on": f"{year}-{month:02d}-10",
                                         **payer}, self.admin(bureau), f"demo-pay-{member['id']}-{month}")
        self.loader.command(f"/branches/{bureau['branches'][0]['id']}/dues/actions/review-arrears", {},
                            self.admin(bureau), f"demo-review-{bureau['code']}-{date.today()}")

    def pending_transfer(self, source: dict, target: dict, year: int, last_month: int) -> None:
        """梁志强 is moving to the other bureau: the letter is out, not yet received."""
        member = next(m for m in source["branches"][0]["members"] if m["name"] == "梁志强")
        self.loader.command("/transfers", {"member_id": member["id"], "to_branch_id": target["branches"][1]["id"],
                                           "to_bureau_id": target["id"], "issued_on": f"{year}-{last_month:02d}-20"},
                            self.admin(source), "demo-transfer-pending")


def member_body(branch_id: str, member: tuple, established_on: str) -> dict:
    name, gender, birth, joined_party, kind, pension, health, mobility = member
    return {"branch_id": branch_id, "name": name, "gender": gender, "birth_date": birth, "party_member": True,
            "party_join_date": joined_party, "retirement_kind": kind, "pension_base": pension, "health": health,
            "mobility": mobility, "joined_on": max(established_on, "2019-01-01")}


def main() -> None:
    loader = Loader(Settings.from_env("members"))
    context = {"subject": SUBJECT, "bureaus": loader.load(), "year": date.today().year}
    RegisterWork(loader, context["bureaus"]).load(context["year"], date.today().month - 1 or 1)
    for path in sorted(Path(__file__).parent.glob("demo_*.py")):
        module = importlib.import_module(path.stem)
        module.load(context)
    print("demo data loaded:")
    for bureau in context["bureaus"]:
        print(f"  {bureau['name']}: bureau id {bureau['id']}")
        print(f"    .venv/bin/branchwork token --role bureau_admin --tenant {bureau['id']}")


if __name__ == "__main__":
    main()
