"""What the members API tests share: the app on an isolated database and bureaus to work in."""

from __future__ import annotations

import pytest

from tests.fixtures import members_app as app  # noqa: F401 — the app tested
from tests.support import ApiClient, bearer, short_id, token

MEMBER = {"gender": "male", "birth_date": "1948-05-02", "party_member": True, "party_join_date": "1970-07-01",
          "retirement_kind": "retired", "pension_base": "5200.00", "health": "fair", "mobility": "limited",
          "joined_on": "2020-01-01"}


def new_bureau(app, settings) -> ApiClient:
    client = app.test_client()
    reply = client.post("/api/v1/bureaus", json={"name": "测试局", "code": f"t-{short_id()}"},
                        headers=bearer(token(settings, "platform_admin")))
    assert reply.status_code == 201, reply.json
    return ApiClient(client, settings, reply.json["id"])


@pytest.fixture
def bureau(app, members_settings) -> ApiClient:
    return new_bureau(app, members_settings)


def add_branch(api: ApiClient, name: str = "离退休干部党支部", established_on: str = "2010-01-01") -> str:
    return api.created("/branches", {"name": name, "established_on": established_on})


def add_member(api: ApiClient, branch_id: str, name: str, **changes) -> str:
    return api.created("/members", {**MEMBER, "branch_id": branch_id, "name": name, **changes})


def roster_names(api: ApiClient, branch_id: str, on: str) -> list[str]:
    status, reply = api.get(f"/branches/{branch_id}/members", on=on)
    assert status == 200, reply
    return sorted(member["name"] for member in reply["members"])
