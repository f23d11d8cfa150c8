"""Demo data of the notify service: who each demo bureau's notifications reach, then one run of the rules.

The bureau's organisation department and each branch's secretary get an e-mail address (the local
stack's mailbox, ``notify-mailbox``, receives everything: read ``.run/mailbox/*.eml``); a few members
who read e-mail get their own, the others are reached through their secretary. Recipients are
resolved when a notification is scheduled, so notifications the scheduler made from the register
before this ran reach the in-app inbox only. Every command has a fixed Idempotency-Key.
"""

from __future__ import annotations

import sys

import requests

from shared.auth import issue_token
from shared.config import Settings

MEMBERS_WITH_EMAIL = {"赵国庆", "陈秀英", "吴丽娟", "罗春梅", "梁志强"}


class Client:
    def __init__(self, subject: str) -> None:
        self.settings = Settings.from_env("notify")
        self.base = f"http://127.0.0.1:{self.settings.http_port}/api/v1"
        self.subject = subject
        self.http = requests.Session()

    def send(self, method: str, tenant: str, path: str, body: dict, key: str) -> dict:
        token = issue_token(self.settings.jwt_secret, subject=self.subject, roles=["bureau_admin"], tenant=tenant,
                            issuer=self.settings.jwt_issuer)
        response = self.http.request(method, f"{self.base}{path}", json=body, timeout=60, headers={
            "Authorization": f"Bearer {token}", "Idempotency-Key": f"demo-notify-{key}"})
        if response.status_code >= 400:
            sys.exit(f"demo_notify: {path} failed with {response.status_code}: {response.text}")
        return response.json()


def load(context: dict) -> None:
    client = Client(context["subject"])
    for bureau in context["bureaus"]:
        code = bureau["code"]
        client.send("PUT", bureau["id"], "/recipients/bureau",
                    {"name": f"{bureau['name']}机关党委组织部", "emails": [f"zuzhibu@{code}.example.org"],
                     "channels": ["inbox", "email"]},
                    f"{code}-bureau")
        for index, branch in enumerate(bureau["branches"]):
            client.send("PUT", bureau["id"], f"/recipients/branches/{branch['id']}/secretary",
                        {"name": None, "emails": [f"shuji-{index + 1}@{code}.example.org"],
                         "channels": ["inbox", "email"]}, f"{code}-secretary-{index}")
            for m_index, member in enumerate(branch["members"]):
                if member["name"] in MEMBERS_WITH_EMAIL:
                    client.send("PUT", bureau["id"], f"/recipients/members/{member['id']}",
                                {"name": None, "emails": [f"member-{index + 1}-{m_index + 1}@{code}.example.org"],
                                 "channels": ["inbox", "email"]},
                                f"{code}-member-{member['id']}")
        run = client.send("POST", bureau["id"], "/scheduler/runs", {}, f"{code}-run-{context.get('year')}")
        print(f"notify demo: {bureau['name']} recipients set; {len(run['scheduled'])} notification(s) scheduled now")
