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
        verify_token(SECRET, issue_token(SECRET, subject="x", roles=["platform_admin"], ttl_seconds=-120))
    with pytest.raises(Unauthenticated):
        verify_token(SECRET, "garbage")


def test_only_a_platform_admin_goes_without_a_tenant():
    issue_token(SECRET, subject="root", roles=["platform_admin"])
    with pytest.raises(ValueError):
        issue_token(SECRET, subject="x", roles=["bureau_admin"])
    with pytest.raises(ValueError):
        issue_token(SECRET, subject="x", roles=["emperor"], tenant="t")


def _signed(claims: dict, secret: str = SECRET, algorithm: str = "HS256") -> str:
    import time

    import jwt
    now = int(time.time())
    return jwt.encode({"sub": "x", "iss": "branchwork", "aud": "branchwork-api", "iat": now, "exp": now + 60,
                       **claims}, secret, algorithm=algorithm)


def test_a_token_without_expiry_or_with_the_none_algorithm_is_refused():
    import jwt
    without_exp = jwt.encode({"sub": "x", "iss": "branchwork", "roles": ["platform_admin"]}, SECRET, algorithm="HS256")
    unsigned = jwt.encode({"sub": "x", "iss": "branchwork", "roles": ["platform_admin"], "exp": 2**31},
                          None, algorithm="none")
    for token in (without_exp, unsigned, _signed({"roles": ["platform_admin"], "iss": "elsewhere"})):
        with pytest.raises(Unauthenticated):
            verify_token(SECRET, token)


def test_a_platform_role_never_carries_a_bureau_even_when_its_token_names_one():
    ops = verify_token(SECRET, _signed({"roles": ["ops"], "tenant": "bureau-1"}))
    root = verify_token(SECRET, _signed({"roles": ["platform_admin"], "tenant": "bureau-1"}))
    assert ops.tenant is None and root.tenant is None
    with pytest.raises(ValueError):
        issue_token(SECRET, subject="x", roles=["ops"], tenant="bureau-1")


def test_claims_of_the_wrong_type_are_a_401_not_a_crash():
    for claims in ({"roles": ["bureau_admin"], "tenant": ["bureau-1", "bureau-2"]},
                   {"roles": ["bureau_admin"], "tenant": "t", "branches": "b1"},
                   {"roles": [["bureau_admin"]], "tenant": "t"},
                   {"roles": "bureau_admin", "tenant": "t"}):
        with pytest.raises(Unauthenticated):
            verify_token(SECRET, _signed(claims))


def test_a_token_valid_for_longer_than_the_maximum_lifetime_is_refused():
    import time
    now = int(time.time())
    century = _signed({"roles": ["bureau_admin"], "tenant": "t", "iat": now, "exp": now + 100 * 365 * 86400})
    with pytest.raises(Unauthenticated, match="有效期超过"):
        verify_token(SECRET, century)
    with pytest.raises(Unauthenticated, match="有效期超过"):
        verify_token(SECRET, _signed({"roles": ["bureau_admin"], "tenant": "t", "exp": now + 7200}),
                     max_lifetime_seconds=3600)
    verify_token(SECRET, _signed({"roles": ["bureau_admin"], "tenant": "t", "exp": now + 3000}),
                 max_lifetime_seconds=3600)
    with pytest.raises(Unauthenticated):
        verify_token(SECRET, _signed({"roles": ["bureau_admin"], "tenant": "t", "iat": None}))


def test_a_token_for_another_audience_or_without_one_is_refused():
    with pytest.raises(Unauthenticated):
        verify_token(SECRET, _signed({"roles": ["auditor"], "tenant": "t", "aud": "branchwork-audit-dashboard"}))
    with pytest.raises(Unauthenticated):
        verify_token(SECRET, _signed({"roles": ["auditor"], "tenant": "t", "aud": None}))
    dashboard = issue_token(SECRET, subject="a", roles=["auditor"], tenant="t", audience="branchwork-audit-dashboard")
    with pytest.raises(Unauthenticated):
        verify_token(SECRET, dashboard)
    assert verify_token(SECRET, dashboard, audience="branchwork-audit-dashboard").tenant == "t"


def test_platform_roles_are_never_mixed_with_a_bureaus_roles():
    for roles in (["ops", "auditor"], ["platform_admin", "bureau_admin"], ["ops", "secretary"]):
        with pytest.raises(Unauthenticated, match="平台角色"):
            verify_token(SECRET, _signed({"roles": roles, "tenant": "bureau-1"}))
        with pytest.raises(ValueError):
            issue_token(SECRET, subject="x", roles=roles, tenant="bureau-1")


def test_a_bureau_role_with_an_empty_or_missing_tenant_is_a_401():
    for tenant in ("", "   ", None):
        with pytest.raises(Unauthenticated, match="须指明所属的局"):
            verify_token(SECRET, _signed({"roles": ["bureau_admin"], "tenant": tenant}))
    with pytest.raises(Unauthenticated, match="须指明所属的局"):
        verify_token(SECRET, _signed({"roles": ["secretary"]}))
    with pytest.raises(ValueError):
        issue_token(SECRET, subject="x", roles=["bureau_admin"], tenant="")
