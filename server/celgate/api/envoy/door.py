"""What both Envoy doors (ext_authz and ext_proc) share: reading a body, building the request,
deciding it through the `Decider`, and the one mapping of a decision to a denial.

Each door only translates Envoy's messages; deciding, dry-run, metrics and the decision log happen
once, in the Decider. Everything a door cannot judge — no policies yet, a truncated, oversized,
compressed or malformed body — is a `Denial`: a policy point that lets through what it could not
judge is not one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from celgate.api.decide import Decider, Unavailable
from celgate.api.envoy import mapping
from celgate.api.envoy.settings import EnvoySettings
from celgate.auth import Forbidden, authorize, current_caller
from celgate.engine import Decision, InvalidRequest

DOOR = "envoy"
PARTIAL_BODY_HEADER = "x-envoy-auth-partial-body"
# On a denial that waits for a human: the approval id. On a retry: the approval it asks to use.
APPROVAL_HEADER = "x-celgate-approval-id"

# Error codes in a denial's body: `policy_denied`, `approval_required`, `invalid_request`
# (unreadable body), `unavailable` (no policies loaded yet, or celgate could not check).
KINDS = {"deny": "policy_denied", "require_approval": "approval_required"}


class Denial(Exception):
    """A request the door refuses: before asking (unreadable), or because the decision said so.

    `decision` is set when a decision refused it, so the answer can carry its id and approval id.
    """

    def __init__(self, status: int, code: str, message: str, decision: Decision | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.decision = decision

    @classmethod
    def of(cls, decision: Decision) -> Denial:
        """The 403 for a decision that is not an allow (deny, or a pending approval)."""
        return cls(403, KINDS.get(decision.effect, "policy_denied"), decision_message(decision), decision)


def decision_message(decision: Decision) -> str:
    if decision.effect == "require_approval":
        base = decision.message or "this request needs a human approval"
        return f"{base} (approval id {decision.approval_id})" if decision.approval_id else base
    return decision.message or "denied by policy"


def decide(decider: Decider, request: dict[str, Any], headers: Mapping[str, str] | None = None) -> Decision:
    """The decision for one request, through the one road; Denial when it cannot be checked.

    `headers` (the proxied request's) carry the caller's or Envoy's W3C trace context."""
    try:
        return decider.decide(request, DOOR, carrier=headers)
    except Unavailable:
        raise Denial(403, "unavailable", "celgate has no policies loaded yet; denying (fail closed)") from None
    except InvalidRequest as exc:
        raise Denial(400, "invalid_request", f"request cannot be checked: {exc}") from None


def read_body(headers: Mapping[str, str], body: bytes, settings: EnvoySettings, *, partial: bool = False) -> bytes:
    """The body, or a Denial when it is not all there or not readable as sent."""
    if partial:
        raise Denial(413, "invalid_request", f"request body exceeds the {settings.max_body_bytes} byte limit")
    if len(body) > settings.max_body_bytes:
        raise Denial(413, "invalid_request", f"request body exceeds the {settings.max_body_bytes} byte limit")
    length = headers.get("content-length")
    if length is not None and length.isdigit() and int(length) != len(body):
        raise Denial(
            413 if int(length) > settings.max_body_bytes else 400,
            "invalid_request",
            f"request body was truncated ({len(body)} of {length} bytes reached the policy check)",
        )
    encoding = headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity") and body:
        raise Denial(
            415, "invalid_request", f"compressed request bodies ({encoding}) cannot be checked; send them uncompressed"
        )
    return body


def is_json(headers: Mapping[str, str]) -> bool:
    """Whether the request says its body is JSON: ext_proc only reads bodies of non-LLM routes that do."""
    return "json" in headers.get("content-type", "").lower()


def check_mcp_content_type(mapped: mapping.Mapped, headers: Mapping[str, str]) -> None:
    """A JSON-RPC body labelled as something else is refused: ext_proc would skip it (no body to
    rewrite, no reply to judge: a tools/call's masked arguments, its result, a tools/list), and a
    server that ignores the label would still run it. MCP requires `application/json`."""
    if mapped.dialect == mapping.MCP and not is_json(headers):
        ctype = headers.get("content-type", "") or "none"
        raise Denial(415, "invalid_request", f"a JSON-RPC request must be sent as application/json (got {ctype[:64]})")


def build_request(
    mapped: mapping.Mapped,
    principal: dict[str, Any],
    method: str,
    path: str,
    authority: str,
    request_id: str,
    settings: EnvoySettings,
    approval_id: str = "",
    session_id: str = "",
) -> dict[str, Any] | None:
    """The engine request for a mapped HTTP request; None when the default route lets it through unjudged.

    `approval_id` (the retry's `x-celgate-approval-id` header) asks to use that approval: the engine
    lets the request through once if it was approved for exactly this request."""
    req = mapped.request
    if req is None:
        if mapped.dialect == mapping.MCP and settings.passes_mcp(mapped.rpc_method or ""):
            return None
        if settings.passes(method, path) or settings.default_route == "allow":
            return None
        if settings.default_route == "deny":
            raise Denial(403, "route_not_judged", route_message(mapped, method, path))
        req = {"action": settings.default_route}
    else:
        req = dict(req)
    return _authorized(_framed(req, principal, method, path, authority, request_id, approval_id, session_id))


def listing_request(
    principal: dict[str, Any],
    method: str,
    path: str,
    authority: str,
    request_id: str,
    approval_id: str = "",
    session_id: str = "",
) -> dict[str, Any]:
    """The request an MCP `tools/list` result is judged as, without its tools yet (ext_proc adds
    them from the result): a `prompt` offering those tools, since that is what the agent does with
    them next, and the one action whose policies already judge offered tools (LLM03 pins).
    `context.mcp.method` tells a policy it is a listing and not a model call. Authorized now,
    while the gRPC call's caller is known. `approval_id`, as for any request: a listing a policy held
    for a human is let through once when retried with the approved id."""
    req = {"action": "prompt", "context": {"mcp": {"method": mapping.TOOLS_LIST}}}
    return _authorized(_framed(req, principal, method, path, authority, request_id, approval_id, session_id))


def _framed(
    req: dict[str, Any],
    principal: dict[str, Any],
    method: str,
    path: str,
    authority: str,
    request_id: str,
    approval_id: str,
    session_id: str,
) -> dict[str, Any]:
    """`req` with what every request through the Envoy door carries: who, where, which session."""
    if principal:
        req["principal"] = principal
    ctx = dict(req.get("context") or {})
    ctx["http"] = {"method": method, "path": path, "host": authority}
    req["context"] = ctx
    if request_id:
        req["request_id"] = request_id
    if approval_id:
        req["approval_id"] = approval_id[:64]
    if session_id:
        req["session"] = {**(req.get("session") or {}), "id": session_id}
    return req


def _authorized(req: dict[str, Any]) -> dict[str, Any]:
    """The request as the proxy (the authenticated caller of this gRPC call) may have it decided."""
    caller = current_caller()
    if caller is None:  # no AuthInterceptor in front of this door: refuse rather than guess
        raise Denial(403, "permission_denied", "celgate could not authenticate the proxy; denying")
    try:
        return dict(authorize(caller, req))
    except Forbidden as e:
        raise Denial(403, "permission_denied", f"celgate refused the proxy: {e.message}") from None


def route_message(mapped: mapping.Mapped, method: str, path: str) -> str:
    """Why a route celgate cannot judge was refused, naming it and the setting that would pass it."""
    route = f"{method} {path.split('?', 1)[0]}"
    if mapped.dialect == mapping.MCP:
        what = f"MCP {mapped.rpc_method!r}" if mapped.rpc_method else "an MCP answer to a server request"
        return (
            f"{what} ({route}) is not something celgate can judge, so the gateway denies it; "
            "an operator can pass it unjudged with envoy.mcp_pass_methods"
        )
    return (
        f"{route} is not a route celgate can judge, so the gateway denies it; "
        "an operator can pass it unjudged with envoy.pass_routes"
    )


def session_of(headers: Mapping[str, str], settings: EnvoySettings) -> str:
    """The agent session a request belongs to: the configured header, else MCP's `Mcp-Session-Id`."""
    if settings.session_header:
        value = headers.get(settings.session_header, "")
        if value:
            return value[:256]
    return headers.get("mcp-session-id", "")[:256]
