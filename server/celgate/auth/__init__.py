"""Who may ask celgate, and for whom: callers, credentials (API keys, JWTs, client certificates), rights.

    from celgate.auth import Caller, current_caller
    caller = current_caller()          # inside a door's handler: the authenticated caller
    "approver" in caller.roles         # may decide approvals

Layering: `auth` sits below `api` (doors use it) and above `engine`; it never decides policy.
"""

from __future__ import annotations

from celgate.auth.authenticator import Authenticator
from celgate.auth.caller import ALL_RIGHTS, ANONYMOUS, APPROVER, BoundPrincipal, Caller, Rights
from celgate.auth.context import current_caller, set_caller
from celgate.auth.errors import Forbidden, Unauthenticated
from celgate.auth.rights import authorize
from celgate.auth.settings import AuthConfigError, AuthSettings

__all__ = [
    "ALL_RIGHTS",
    "ANONYMOUS",
    "APPROVER",
    "AuthConfigError",
    "AuthSettings",
    "Authenticator",
    "BoundPrincipal",
    "Caller",
    "Forbidden",
    "Rights",
    "Unauthenticated",
    "authorize",
    "current_caller",
    "set_caller",
]
