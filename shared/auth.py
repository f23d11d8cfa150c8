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
ROLE_WORDS = {"platform_admin": "平台管理员", "bureau_admin": "局管理员", "secretary": "支部书记", "auditor": "审计员",
              "ops": "运维人员"}
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
            raise Forbidden("需要以下角色之一：" + "、".join(ROLE_WORDS.get(role, role) for role in roles))

    def require_tenant(self, tenant_id: str) -> None:
        """A bureau's data is only ever seen by tokens of that bureau."""
        if self.tenant != tenant_id:
            raise Forbidden("这条记录属于其他局")

    def can_write_branch(self, branch_id: str) -> bool:
        return self.has_role("bureau_admin") or (self.has_role("secretary") and branch_id in self.branches)

    def require_branch_writer(self, branch_id: str) -> None:
        if not self.can_write_branch(branch_id):
            raise Forbidden("只有本局管理员或本支部书记可以记录",)


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
        return "角色须为以下之一：" + "、".join(ROLE_WORDS[role] for role in ROLES)
    platform = set(roles) & PLATFORM_ROLES
    if platform and platform != set(roles):
        return "平台角色（平台管理员、运维人员）不能与局的角色同在一个令牌中"
    if not platform and not (isinstance(tenant, str) and tenant.strip()):
        return "除平台管理员和运维人员外，每个角色都须指明所属的局"
    if platform and tenant is not None:
        return "平台管理员和运维人员代表平台，不属于任何局"
    return None


def verify_token(secret: str, token: str, *, issuer: str = "branchwork", audience: str = API_AUDIENCE,
                 max_lifetime_seconds: int = MAX_LIFETIME_SECONDS) -> Principal:
    """The principal of a token signed with ``secret``, by ``issuer``, for ``audience``; else ``Unauthenticated``."""
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], issuer=issuer, audience=audience,
                            leeway=CLOCK_SKEW_SECONDS, options={"require": ["sub", "exp", "iat", "iss", "aud"]})
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("令牌已过期，请重新领取") from None
    except jwt.InvalidAudienceError:
        raise Unauthenticated("令牌不是签发给这里使用的") from None
    except jwt.PyJWTError:
        raise Unauthenticated("令牌无效：签名、签发方或内容不对") from None
    _check_lifetime(claims, max_lifetime_seconds)
    roles, tenant, branches = claims.get("roles"), claims.get("tenant"), claims.get("branches") or []
    if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
        raise Unauthenticated("令牌无效：角色须为名称列表")
    if not (tenant is None or isinstance(tenant, str)) or not isinstance(branches, list) \
            or not all(isinstance(branch, str) for branch in branches):
        raise Unauthenticated("令牌无效：局和支部须为文字")
    if set(roles) <= PLATFORM_ROLES:
        tenant = None  # a platform role never reads a bureau's records, whatever the token names
    problem = roles_problem(roles, tenant)
    if problem:
        raise Unauthenticated(f"令牌无效：{problem}")
    return Principal(subject=str(claims["sub"]), tenant=tenant, roles=frozenset(roles), branches=frozenset(branches),
                     expires_at=int(claims["exp"]))


def _check_lifetime(claims: dict, max_lifetime_seconds: int) -> None:
    """A token valid for longer than the platform allows is refused, however well signed (a leaked one lives on)."""
    issued, expires = claims["iat"], claims["exp"]
    if not all(isinstance(value, int | float) for value in (issued, expires)):
        raise Unauthenticated("令牌无效：签发和到期时间须为数字")
    if expires - issued > max_lifetime_seconds:
        raise Unauthenticated(f"令牌无效：有效期超过平台允许的 {max_lifetime_seconds} 秒")
    if issued > time.time() + CLOCK_SKEW_SECONDS:
        raise Unauthenticated("令牌无效：签发时间在将来")
