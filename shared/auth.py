"""Bearer tokens: who is asking, for which bureau and branches — taken only from a verified JWT."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import jwt

from shared.errors import Forbidden, Unauthenticated

ROLES = ("platform_admin", "bureau_admin", "secretary", "auditor", "ops")
ALGORITHM = "HS256"
PLATFORM_ROLES = {"platform_admin", "ops"}
"""Roles that act for the platform, not for one bureau: they hold no tenant and see no bureau's records."""
API_AUDIENCE = "branchwork-api"
"""Who a token is for: the four APIs accept only this audience (a web page's own tokens carry another)."""
MAX_LIFETIME_SECONDS = 24 * 3600
CLOCK_SKEW_SECONDS = 60


@dataclass(frozen=True)
class Principal:
    subject: str
    tenant: str | None
    roles: frozenset[str]
    branches: frozenset[str] = field(default_factory=frozenset)
    expires_at: int = 0
    """When the token that vouches for this principal expires (seconds since the epoch)."""

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def primary_role(self) -> str:
        """The role recorded as the actor's: the strongest one held."""
        return next(role for role in ROLES if role in self.roles)

    def require_role(self, *roles: str) -> None:
        if not self.has_role(*roles):
            raise Forbidden(f"this needs one of the roles: {', '.join(roles)}")

    def require_tenant(self, tenant_id: str) -> None:
        """A bureau's data is only ever seen by tokens of that bureau."""
        if self.tenant != tenant_id:
            raise Forbidden("this record belongs to another bureau")

    def can_write_branch(self, branch_id: str) -> bool:
        return self.has_role("bureau_admin") or (self.has_role("secretary") and branch_id in self.branches)

    def require_branch_writer(self, branch_id: str) -> None:
        if not self.can_write_branch(branch_id):
            raise Forbidden("only the bureau's admin or this branch's secretary may record this",)


def issue_token(secret: str, *, subject: str, roles: list[str], tenant: str | None = None,
                branches: list[str] | None = None, issuer: str = "branchwork", audience: str = API_AUDIENCE,
                ttl_seconds: int = 12 * 3600) -> str:
    problem = roles_problem(roles, tenant)
    if problem:
        raise ValueError(problem)
    now = int(time.time())
    claims = {"sub": subject, "roles": list(roles), "tenant": tenant, "branches": list(branches or []),
              "iss": issuer, "aud": audience, "iat": now, "exp": now + ttl_seconds}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def roles_problem(roles: list, tenant: str | None) -> str | None:
    """Why these roles and tenant cannot go together in a token, or None.

    A platform role never shares a token with a bureau role (else whose records would it read?), and
    a bureau role always names a bureau: an empty tenant would be a bureau of its own.
    """
    if not roles or not all(isinstance(role, str) and role in ROLES for role in roles):
        return f"roles must be among {ROLES}"
    platform = set(roles) & PLATFORM_ROLES
    if platform and platform != set(roles):
        return "platform roles (platform_admin, ops) cannot be held with a bureau's roles"
    if not platform and not (isinstance(tenant, str) and tenant.strip()):
        return "every role but platform_admin and ops needs a tenant"
    if platform and tenant is not None:
        return "platform_admin and ops act for the platform and hold no tenant"
    return None


def verify_token(secret: str, token: str, *, issuer: str = "branchwork", audience: str = API_AUDIENCE,
                 max_lifetime_seconds: int = MAX_LIFETIME_SECONDS) -> Principal:
    """The principal of a token signed with ``secret``, by ``issuer``, for ``audience``; else ``Unauthenticated``."""
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], issuer=issuer, audience=audience,
                            leeway=CLOCK_SKEW_SECONDS, options={"require": ["sub", "exp", "iat", "iss", "aud"]})
    except jwt.PyJWTError as error:
        raise Unauthenticated(f"invalid token: {error}") from None
    _check_lifetime(claims, max_lifetime_seconds)
    roles, tenant, branches = claims.get("roles"), claims.get("tenant"), claims.get("branches") or []
    if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
        raise Unauthenticated("invalid token: roles must be a list of names")
    if not (tenant is None or isinstance(tenant, str)) or not isinstance(branches, list) \
            or not all(isinstance(branch, str) for branch in branches):
        raise Unauthenticated("invalid token: tenant and branches must be text")
    if set(roles) <= PLATFORM_ROLES:
        tenant = None  # a platform role never reads a bureau's records, whatever the token names
    problem = roles_problem(roles, tenant)
    if problem:
        raise Unauthenticated(f"invalid token: {problem}")
    return Principal(subject=str(claims["sub"]), tenant=tenant, roles=frozenset(roles), branches=frozenset(branches),
                     expires_at=int(claims["exp"]))


def _check_lifetime(claims: dict, max_lifetime_seconds: int) -> None:
    """A token valid for longer than the platform allows is refused, however well signed (a leaked one lives on)."""
    issued, expires = claims["iat"], claims["exp"]
    if not all(isinstance(value, int | float) for value in (issued, expires)):
        raise Unauthenticated("invalid token: iat and exp must be numbers")
    if expires - issued > max_lifetime_seconds:
        raise Unauthenticated(f"invalid token: valid for longer than {max_lifetime_seconds} seconds")
    if issued > time.time() + CLOCK_SKEW_SECONDS:
        raise Unauthenticated("invalid token: issued in the future")
