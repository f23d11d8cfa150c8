"""Cross-bureau probes generated from each service's URL map: every API route with an id in its path, called with
the ids of bureau A's records by bureau B's tokens of every role, answers 403 or 404 and shows none of A's data.

Nothing here lists routes by hand: a route added tomorrow is probed the day it lands. Request bodies are built
from each operation's OpenAPI schema, so a write is refused for whose record it names — not for a missing field.
"""

from __future__ import annotations

import importlib
from datetime import date

import pytest

from services.registry import SERVICES as SERVICES_REGISTRY
from shared.config import Settings
from tests.e2e.test_activities_slice import days_ago, register_branch_with_members, roster_names
from tests.support import bearer, wait_for

SERVICES = ("members", "activities", "notify", "audit")
ROLES = ("bureau_admin", "secretary", "auditor", "platform_admin", "ops")
ALLOWED = {403, 404}
# The platform's own registry of bureaus: its admin creates and lists them (their names and codes, nothing inside).
PLATFORM_ADMIN_READS = {("members", "GET", "/api/v1/bureaus/<uuid:bureau_id>")}


def api_routes(service: str, env: dict) -> list[tuple[str, str, list[str]]]:
    """(method, rule, id arguments) of every API route of ``service`` that names a record in its path."""
    built = SERVICES_REGISTRY.service(service, Settings.from_env(service, env))
    app = importlib.import_module(f"services.{service}.app").create_app(built)
    try:
        routes = []
        for rule in app.url_map.iter_rules():
            if not rule.rule.startswith("/api/") or not rule.arguments:
                continue
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                routes.append((method, rule.rule, sorted(rule.arguments)))
        return routes
    finally:
        app.extensions["branchwork"].pool.close()


@pytest.fixture(scope="module")
def bureau_a(platform):
    """A bureau with a branch, members, an activity, a pledge, a team and a webhook: the records to probe."""
    bureau = platform.new_bureau()
    branch, people = register_branch_with_members(platform, bureau, "甲局第一支部", ["甲局张三", "甲局李四"])
    wait_for(lambda: len(roster_names(platform, bureau, branch, days_ago(1))) == 2, timeout=30,
             message="bureau A's members in the activities roster")
    admin = bureau["admin"]
    members = list(people.values())
    activity = platform.post("activities", "/api/v1/activities", {
        "branch_id": branch, "kind": "study", "occurred_on": days_ago(3), "title": "甲局集体学习", "hours": "2",
        "attendees": members}, admin).json()["id"]
    pledge = platform.post("activities", "/api/v1/pledges", {
        "member_id": members[0], "kind": "no_religion", "signed_on": days_ago(5), "statement": "甲局承诺"},
        admin).json()["id"]
    team = platform.post("activities", "/api/v1/teams", {"branch_id": branch, "name": "甲局合唱队", "kind": "choir",
                                                      "formed_on": days_ago(30)},
                         admin)
    webhook = platform.post("notify", "/api/v1/webhooks", {"url": "https://a-bureau.example.org/hook",
                                                           "secret": "bureau-a-secret-16+"}, admin).json()["id"]
    ids = {"branch_id": branch, "member_id": members[0], "activity_id": activity, "pledge_id": pledge,
           "webhook_id": webhook, "bureau_id": bureau["id"], "team_id": team.json().get("id", branch)}
    names = ["甲局第一支部", "甲局张三", "甲局李四", "甲局集体学习", "甲局承诺", "甲局合唱队", "a-bureau.example.org",
             *[value for key, value in ids.items() if key != "bureau_id"]]
    return {"ids": ids, "names": names, "bureau": bureau}


@pytest.fixture(scope="module")
def tokens_of_b(platform):
    bureau = platform.new_bureau()
    branch = platform.post("members", "/api/v1/branches", {"name": "乙局支部", "established_on": "2015-01-01"},
                           bureau["admin"]).json()["id"]
    tokens = {role: platform.token(role, tenant=bureau["id"], branches=[branch] if role == "secretary" else None)
              for role in ROLES if role not in ("platform_admin", "ops")}
    return {**tokens, "platform_admin": platform.token("platform_admin"), "ops": platform.token("ops")}


def example(schema: dict, spec: dict, name: str, ids: dict):
    """A value that passes ``schema``: ids of bureau A's records where a field names one."""
    if "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    for combined in ("allOf", "oneOf", "anyOf"):
        if combined in schema:
            return example(schema[combined][0], spec, name, ids)
    if "enum" in schema:
        return schema["enum"][0]
    kind, form = schema.get("type"), schema.get("format")
    if kind == "object" or "properties" in schema:
        writable = {prop: sub for prop, sub in schema.get("properties", {}).items() if not sub.get("readOnly")}
        # Required fields; a patch with none required gets its first field (an empty one changes nothing).
        chosen = [prop for prop in writable if prop in schema.get("required", [])] or list(writable)[:1]
        return {prop: example(writable[prop], spec, prop, ids) for prop in chosen}
    if kind == "array":
        return [example(schema.get("items", {}), spec, name, ids) for _ in range(max(schema.get("minItems", 0), 1))]
    if kind in ("integer", "number"):
        return schema.get("minimum", 1) if name != "year" else date.today().year
    if kind == "boolean":
        return False
    return _text(form, name, ids)


def _text(form: str | None, name: str, ids: dict) -> str:
    if form == "uuid" or name.endswith("_id"):
        return ids.get(name, ids["member_id"])
    by_form = {"date": days_ago(1), "date-time": f"{days_ago(1)}T08:00:00+08:00", "email": "probe@example.org",
               "url": "https://probe.example.org/hook", "uri": "https://probe.example.org/hook"}
    by_name = {"period": date.today().strftime("%Y-%m"), "secret": "a-probe-secret-16+", "amount": "1.00",
               "hours": "1", "phone": "13800000000"}
    if "month" in name:
        return date.today().strftime("%Y-%m")
    return by_form.get(form) or by_name.get(name) or "乙局探测"


def body_for(spec: dict, rule: str, method: str, ids: dict) -> dict | None:
    operation = spec["paths"].get(_openapi_path(rule), {}).get(method.lower(), {})
    content = operation.get("requestBody", {}).get("content", {}).get("application/json")
    return example(content["schema"], spec, "body", ids) if content else None


def _openapi_path(rule: str) -> str:
    import re
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule)


def test_every_route_with_an_id_refuses_another_bureaus_tokens_of_every_role(platform, stack_env, bureau_a,
                                                                             tokens_of_b):
    ids, probed, failures = bureau_a["ids"], 0, []
    for service in SERVICES:
        spec = platform.http.get(platform.url(service, "/openapi.json"), timeout=10).json()
        for method, rule, arguments in api_routes(service, stack_env):
            path = rule
            for argument in arguments:
                path = path.replace(f"<uuid:{argument}>", ids.get(argument, ids["member_id"]))
            body = body_for(spec, rule, method, ids)
            for role, value in tokens_of_b.items():
                if role == "platform_admin" and (service, method, rule) in PLATFORM_ADMIN_READS:
                    continue
                response = platform.http.request(method, platform.url(service, path), json=body, timeout=10,
                                                 headers={**bearer(value), "If-Match": "1"})
                probed += 1
                leaked = [name for name in bureau_a["names"] if name in response.text and name not in path]
                if response.status_code not in ALLOWED or leaked:
                    failures.append((service, method, rule, role, response.status_code, leaked, response.text[:200]))
    assert probed > 200 and not failures, "\n".join(map(str, failures))
