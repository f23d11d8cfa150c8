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


@dataclass(frozen=True)
class Principal:
    subject: str
    tenant: str | None
    roles: frozenset[str]
    branches: frozenset[str] = field(default_factory=frozenset)

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
                branches: list[str] | None = None, issuer: str = "branchwork", ttl_seconds: int = 12 * 3600) -> str:
    unknown = set(roles) - set(ROLES)
    if unknown or not roles:
        raise ValueError(f"roles must be among {ROLES}, got {roles}")
    if tenant is None and not set(roles) <= PLATFORM_ROLES:
        raise ValueError("every role but platform_admin and ops needs a tenant")
    if tenant is not None and set(roles) <= PLATFORM_ROLES:
        raise ValueError("platform_admin and ops act for the platform and hold no tenant")
    now = int(time.time())
    claims = {"sub": subject, "roles": list(roles), "tenant": tenant, "branches": list(branches or []),
              "iss": issuer, "iat": now, "exp": now + ttl_seconds}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify_token(secret: str, token: str, *, issuer: str = "branchwork") -> Principal:
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], issuer=issuer,
                            options={"require": ["sub", "exp", "iss", "roles"]})
    except jwt.PyJWTError as error:
        raise Unauthenticated(f"invalid token: {error}") from None
    roles = claims.get("roles")
    if not isinstance(roles, list) or not roles or not all(isinstance(role, str) and role in ROLES for role in roles):
        raise Unauthenticated("invalid token: unknown roles")
    tenant, branches = claims.get("tenant"), claims.get("branches") or []
    if not (tenant is None or isinstance(tenant, str)) or not isinstance(branches, list) \
            or not all(isinstance(branch, str) for branch in branches):
        raise Unauthenticated("invalid token: tenant and branches must be text")
    if set(roles) <= PLATFORM_ROLES:
        tenant = None  # a platform role never reads a bureau's records, whatever the token names
    return Principal(subject=str(claims["sub"]), tenant=tenant, roles=frozenset(roles), branches=frozenset(branches))
