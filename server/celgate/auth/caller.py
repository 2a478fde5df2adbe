"""Who is asking: the authenticated `Caller` and the `Rights` that bound what it may ask.

Doors authenticate a connection or request into a `Caller` (see `auth.authenticator`), attach it to
the request context (`auth.context`), and check each decision request against the caller's rights
(`auth.rights`) before the Decider sees it. Both types are frozen: a caller is resolved once per
credential and shared between requests and threads.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field

ACTIONS = frozenset({"prompt", "response", "tool_call", "tool_result", "retrieval"})
APPROVER = "approver"


@functools.cache
def _matcher(patterns: tuple[str, ...]) -> Callable[[str], bool]:
    """One test for a tuple of globs, built once: "*" is True, plain names a set look-up, else one regex."""
    if "*" in patterns:
        return lambda value: True
    if not any(c in p for p in patterns for c in "*?["):
        names = frozenset(patterns)
        return names.__contains__
    regex = re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns))
    return lambda value: regex.match(value) is not None


def _matches(patterns: tuple[str, ...], value: str) -> bool:
    return _matcher(patterns)(value)


@dataclass(frozen=True, slots=True)
class Rights:
    """What a caller may decide for and read. Patterns are shell globs (`checkout-*`), `*` is anything.

    `principals`/`tenants` bound the request's `principal.id`/`principal.tenant`, `principal_roles`
    every role the caller asserts for its principal, `actions` the request's action. `explain` lets
    the caller see every rule's name, timing and error; `status` and `metrics` open `/v1/status` and
    `/metrics`.
    """

    principals: tuple[str, ...] = ("*",)
    tenants: tuple[str, ...] = ("*",)
    principal_roles: tuple[str, ...] = ("*",)
    actions: frozenset[str] = ACTIONS
    explain: bool = False
    status: bool = False
    metrics: bool = False

    # Derived once (a Rights is built at start-up and read on every decision).
    any_scope: bool = field(init=False, repr=False, compare=False)
    any_request: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # any_scope: every principal, tenant, role and action; any_request: that, and explain too
        # (the hot path then skips every check).
        scope = (
            "*" in self.principals and "*" in self.tenants and "*" in self.principal_roles and self.actions >= ACTIONS
        )
        object.__setattr__(self, "any_scope", scope)
        object.__setattr__(self, "any_request", scope and self.explain)

    def may_decide_for_principal(self, principal_id: str) -> bool:
        return _matches(self.principals, principal_id)

    def may_decide_for_tenant(self, tenant: str) -> bool:
        return _matches(self.tenants, tenant)

    def may_assert_role(self, role: str) -> bool:
        return _matches(self.principal_roles, role)


ALL_RIGHTS = Rights(explain=True, status=True, metrics=True)


@dataclass(frozen=True, slots=True)
class BoundPrincipal:
    """The principal a verified credential speaks for; replaces the body's `principal` id, roles and tenant."""

    id: str
    roles: tuple[str, ...] = ()
    tenant: str = ""


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated caller (or the anonymous one, where anonymous callers are allowed).

    `roles` are the caller's own roles (`approver` lets it decide approvals), not the roles of the
    principal it decides for. `principal`, when set, is the principal taken from the credential:
    the body cannot choose another one.
    """

    id: str
    roles: frozenset[str] = frozenset()
    anonymous: bool = False
    rights: Rights = field(default_factory=Rights)
    principal: BoundPrincipal | None = None

    @property
    def is_approver(self) -> bool:
        return APPROVER in self.roles


ANONYMOUS = Caller(id="anonymous", anonymous=True, rights=ALL_RIGHTS)
