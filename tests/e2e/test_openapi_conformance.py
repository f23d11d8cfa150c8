"""The four OpenAPI documents describe what the services answer: schemathesis generates requests for every
operation of each (a few examples each, derandomised so every run is the same), sends them to the running
stack with a bureau admin's token, and checks that no answer is a server error and that every answer — the
error body included — conforms to the documented schema and content type."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import content_type_conformance, not_a_server_error, response_schema_conformance

from tests.support import bearer

CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
EXAMPLES = settings(max_examples=3, derandomize=True, deadline=None, database=None,
                    phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def admin(platform) -> dict[str, str]:
    """A fresh bureau's admin: the role that may call most operations, in a bureau no other test reads."""
    return bearer(platform.new_bureau()["admin"])


def document(service: str):
    def load(platform):
        schema = schemathesis.openapi.from_url(platform.url(service, "/openapi.json"))
        # Reads and writes both; the ops listing and the dashboard pages are outside the documents' scope.
        return schema.exclude(path_regex=r"^/api/v1/ops/")
    load.__name__ = f"{service}_document"
    return pytest.fixture(scope="module", name=f"{service}_document")(load)


members_document = document("members")
activities_document = document("activities")
notify_document = document("notify")
audit_document = document("audit")

members = schemathesis.pytest.from_fixture("members_document")
activities = schemathesis.pytest.from_fixture("activities_document")
notify = schemathesis.pytest.from_fixture("notify_document")
audit = schemathesis.pytest.from_fixture("audit_document")


def call(case, platform, service: str, admin: dict) -> None:
    case.call_and_validate(base_url=platform.urls[service], headers=admin, checks=CHECKS, timeout=15)


@members.parametrize()
@EXAMPLES
def test_members_answers_as_documented(case, platform, admin):
    call(case, platform, "members", admin)


@activities.parametrize()
@EXAMPLES
def test_activities_answers_as_documented(case, platform, admin):
    call(case, platform, "activities", admin)


@notify.parametrize()
@EXAMPLES
def test_notify_answers_as_documented(case, platform, admin):
    call(case, platform, "notify", admin)


@audit.parametrize()
@EXAMPLES
def test_audit_answers_as_documented(case, platform, admin):
    call(case, platform, "audit", admin)
