"""Checks one decision request against its caller's rights, and binds the principal to the credential.

Called by every door after it has built the request and before the Decider sees it. Works on both
request forms the Decider takes (a proto-JSON dict from HTTP/Envoy, a `CheckRequest` from gRPC) and
returns the request to decide: the same object, or — when the caller's credential names its
principal — one whose `principal.id`, `roles` and `tenant` come from the credential, whatever the
body said. The common cases (a caller that may decide any request, or any but with explain) cost
an attribute read or two.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from celgate.auth.caller import BoundPrincipal, Caller
from celgate.auth.errors import Forbidden


def authorize(caller: Caller, request: Any) -> Any:
    """The request to decide for `caller`, or `Forbidden` naming the field outside its rights."""
    rights = caller.rights
    if caller.principal is None and rights.any_scope:
        if rights.explain:
            return request
        explain = request.get("explain") if isinstance(request, Mapping) else request.explain
        if explain in (None, False, 0, "", "false"):
            return request
    if isinstance(request, Mapping):
        return _authorize_dict(caller, request)
    return _authorize_proto(caller, request)


def _check(caller: Caller, action: Any, pid: Any, tenant: Any, roles: Any, explain: Any) -> None:
    rights = caller.rights
    if explain not in (None, False, 0, "", "false") and not rights.explain:
        raise Forbidden(f"caller {caller.id!r} may not ask for explain", "explain")
    if rights.any_scope:
        return
    who = f"caller {caller.id!r}"
    if isinstance(action, str) and action not in rights.actions:
        raise Forbidden(f"{who} may not decide {action} requests", "action")
    if caller.principal is not None:
        return  # the principal comes from the credential below; the body's is not used
    if not isinstance(pid, str) or not rights.may_decide_for_principal(pid):
        raise Forbidden(f"{who} may not decide for principal {_show(pid)}", "principal.id")
    if not isinstance(tenant, str) or not rights.may_decide_for_tenant(tenant):
        raise Forbidden(f"{who} may not decide for tenant {_show(tenant)}", "principal.tenant")
    if "*" not in rights.principal_roles:
        for role in roles if isinstance(roles, list | tuple) else ():
            if not isinstance(role, str) or not rights.may_assert_role(role):
                raise Forbidden(f"{who} may not assert principal role {_show(role)}", "principal.roles")


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _authorize_dict(caller: Caller, request: Mapping[str, Any]) -> Mapping[str, Any]:
    principal = request.get("principal")
    if not isinstance(principal, Mapping):
        principal = {}
    _check(
        caller,
        request.get("action"),
        principal.get("id", ""),
        principal.get("tenant", ""),
        principal.get("roles", ()),
        request.get("explain"),
    )
    bound = caller.principal
    if bound is None:
        return request
    out = dict(request)
    out["principal"] = _bound_dict(bound, principal)
    return out


def _bound_dict(bound: BoundPrincipal, body: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"id": bound.id, "roles": list(bound.roles)}
    if bound.tenant:
        out["tenant"] = bound.tenant
    attributes = body.get("attributes")
    if attributes is not None:
        out["attributes"] = attributes
    return out


def _authorize_proto(caller: Caller, request: Any) -> Any:
    p = request.principal
    _check(caller, request.action, p.id, p.tenant, list(p.roles), request.explain)
    bound = caller.principal
    if bound is not None:
        p.id = bound.id
        del p.roles[:]
        p.roles.extend(bound.roles)
        p.tenant = bound.tenant
    return request
