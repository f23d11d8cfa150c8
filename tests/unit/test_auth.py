"""Bearer tokens: the claims that decide who may do what, and what a forged or expired token gets."""

from __future__ import annotations

import pytest

from shared.auth import issue_token, verify_token
from shared.errors import Forbidden, Unauthenticated

SECRET = "unit-test-secret"


def test_a_token_carries_tenant_roles_and_branches():
    token = issue_token(SECRET, subject="li", roles=["secretary"], tenant="bureau-1", branches=["b1"])
    principal = verify_token(SECRET, token)
    assert (principal.subject, principal.tenant, principal.roles, principal.branches) == (
        "li", "bureau-1", frozenset({"secretary"}), frozenset({"b1"}))
    assert principal.can_write_branch("b1") and not principal.can_write_branch("b2")


def test_a_bureau_admin_writes_every_branch_of_the_bureau_and_an_auditor_none():
    admin = verify_token(SECRET, issue_token(SECRET, subject="a", roles=["bureau_admin"], tenant="t"))
    auditor = verify_token(SECRET, issue_token(SECRET, subject="b", roles=["auditor"], tenant="t"))
    assert admin.can_write_branch("any") and not auditor.can_write_branch("any")
    with pytest.raises(Forbidden):
        auditor.require_branch_writer("any")
    with pytest.raises(Forbidden):
        admin.require_tenant("another-bureau")


def test_a_token_signed_with_another_key_or_expired_is_refused():
    with pytest.raises(Unauthenticated):
        verify_token(SECRET, issue_token("other", subject="x", roles=["platform_admin"]))
    with pytest.raises(Unauthenticated):
        verify_token(SECRET, issue_token(SECRET, subject="x", roles=["platform_admin"], ttl_seconds=-10))
    with pytest.raises(Unauthenticated):
        verify_token(SECRET, "garbage")


def test_only_a_platform_admin_goes_without_a_tenant():
    issue_token(SECRET, subject="root", roles=["platform_admin"])
    with pytest.raises(ValueError):
        issue_token(SECRET, subject="x", roles=["bureau_admin"])
    with pytest.raises(ValueError):
        issue_token(SECRET, subject="x", roles=["emperor"], tenant="t")
