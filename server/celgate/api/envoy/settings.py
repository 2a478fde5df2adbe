"""Settings of the Envoy doors (ext_authz and ext_proc), read from the `envoy:` section of the config file.

The doors translate; they never decide. Everything here says *how* to translate: which JWT claims
name the principal, which header to trust when no JWT is there, what a route that is neither an LLM
API nor MCP is, and how much body to accept before failing closed.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

JWT_NAMESPACE = "envoy.filters.http.jwt_authn"

# MCP methods that carry no content for a policy to judge (handshake, listings, subscriptions,
# task bookkeeping, client notifications): passed by default. Anything else that is not
# `tools/call` — `resources/read`, `prompts/get`, `tasks/result` (a tool's output by another road),
# the client's answers to sampling/elicitation — meets `default_route`.
MCP_PASS_METHODS = (
    "initialize",
    "ping",
    "server/discover",
    "notifications/initialized",
    "notifications/cancelled",
    "notifications/progress",
    "notifications/roots/list_changed",
    "tools/list",
    "prompts/list",
    "resources/list",
    "resources/templates/list",
    "resources/subscribe",
    "resources/unsubscribe",
    "subscriptions/listen",
    "logging/setLevel",
    "completion/complete",
    "tasks/get",
    "tasks/list",
    "tasks/cancel",
)


@dataclass(frozen=True, slots=True)
class ClaimMapping:
    """Which JWT claims fill `principal`; dotted names reach into nested claims (`realm_access.roles`)."""

    id: str = "sub"
    roles: tuple[str, ...] = ("roles", "groups")
    tenant: str = "tenant"
    # Claims copied into principal.attributes as they are (e.g. email, department); "*" copies all.
    attributes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class EnvoySettings:
    """How Envoy's requests become celgate requests. Defaults suit deploy/envoy/envoy.yaml."""

    # Principal sources, tried in order: the JWT payload jwt_authn verified, a header, the mTLS peer.
    jwt_namespace: str = JWT_NAMESPACE
    # Key of the payload in the namespace (jwt_authn's `payload_in_metadata`); "" = the only entry there.
    jwt_payload_key: str = "jwt_payload"
    claims: ClaimMapping = field(default_factory=ClaimMapping)
    # Trust these headers only when the proxy sets them (strip them from clients at the edge).
    principal_header: str = ""
    roles_header: str = ""
    tenant_header: str = ""
    # Use the peer's mTLS identity (a SPIFFE ID in Istio) when no other source named the principal.
    use_peer_identity: bool = True
    # Routes celgate cannot judge — neither an LLM API it maps, nor MCP `tools/call`, nor listed
    # below: "deny" (the default) refuses them with an error naming the route, any celgate action
    # name (e.g. "prompt") sends them through the engine with only principal and context, and
    # "allow" lets them through unjudged (a bypass: embeddings, batches, legacy completions, ...).
    default_route: str = "deny"
    # Routes passed unjudged by explicit configuration: "METHOD /path" with shell-style wildcards
    # (`GET /v1/models*`, `* /mcp*`); the query string is not part of the match.
    pass_routes: tuple[str, ...] = ()
    # MCP methods passed unjudged (glob patterns allowed, e.g. "notifications/*").
    mcp_pass_methods: tuple[str, ...] = MCP_PASS_METHODS
    # How a denied MCP `tools/call` (or its withheld result) reaches the client: "tool_result" (a
    # result with isError: true and the reason, which an agent loop shows its model) or "error" (a
    # JSON-RPC error, which the SDKs raise as an exception).
    mcp_denials: str = "tool_result"
    # Bodies larger than this are denied (fail closed) rather than half-read.
    max_body_bytes: int = 1 << 20
    # Characters of a streamed completion held back so a secret split across events is still caught.
    stream_holdback_chars: int = 128
    # Streamed completions longer than this are cut off with an error event (bounded work per stream).
    max_stream_chars: int = 1 << 20
    # Header naming the agent session (server-side session memory, provenance across calls); MCP's
    # own `Mcp-Session-Id` is used when this one is absent. "" = only Mcp-Session-Id.
    session_header: str = "x-celgate-session"
    # Header carrying the decision id to the upstream and back to a denied client.
    decision_header: str = "x-celgate-decision-id"
    # Dynamic-metadata namespace for access logs (ext_authz puts its metadata under the filter's name).
    metadata_namespace: str = "celgate"
    # Key of the ext_authz -> ext_proc hand-off (`x-celgate-checked`): ext_proc skips re-deciding a body
    # ext_authz allowed unchanged. "" = a random key per process (a hand-off checked by another worker
    # or replica then fails verification and ext_proc simply decides again); set the same secret on
    # every celgate behind one Envoy to skip the second check everywhere.
    handoff_key: str = ""

    def passes(self, method: str, path: str) -> bool:
        """Whether `pass_routes` lets this request line through unjudged."""
        p = path.split("?", 1)[0]
        for route in self.pass_routes:
            want_method, want_path = route.split()
            if fnmatch.fnmatchcase(method, want_method.upper()) and fnmatch.fnmatchcase(p, want_path):
                return True
        return False

    def passes_mcp(self, rpc_method: str) -> bool:
        """Whether an MCP method (other than tools/call) is passed unjudged."""
        return bool(rpc_method) and any(fnmatch.fnmatchcase(rpc_method, m) for m in self.mcp_pass_methods)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any] | None) -> EnvoySettings:
        """Builds settings from the config file's `envoy:` section; unknown keys are errors, not ignored."""
        if not raw:
            return cls()
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ValueError(f"envoy: unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        values = dict(raw)
        if "claims" in values:
            claims = values["claims"] or {}
            cknown = {f.name for f in fields(ClaimMapping)}
            cunknown = sorted(set(claims) - cknown)
            if cunknown:
                raise ValueError(f"envoy.claims: unknown key(s) {', '.join(cunknown)}")
            c = dict(claims)
            for key in ("roles", "attributes"):
                if key in c and isinstance(c[key], str):
                    c[key] = (c[key],)
                elif key in c:
                    c[key] = tuple(c[key])
            values["claims"] = ClaimMapping(**c)
        for key in ("pass_routes", "mcp_pass_methods"):
            if key in values:
                v = values[key] or ()
                values[key] = (v,) if isinstance(v, str) else tuple(v)
        settings = cls(**values)
        routes = {"allow", "deny", "prompt", "response", "tool_call", "tool_result", "retrieval"}
        if settings.default_route not in routes:
            raise ValueError(f"envoy.default_route: {settings.default_route!r} is not allow, deny or an action")
        for route in settings.pass_routes:
            if len(route.split()) != 2:
                raise ValueError(f"envoy.pass_routes: {route!r} is not 'METHOD /path' (e.g. 'GET /v1/models')")
        if settings.mcp_denials not in ("tool_result", "error"):
            raise ValueError(f"envoy.mcp_denials: {settings.mcp_denials!r} is not tool_result or error")
        if settings.max_body_bytes <= 0 or settings.stream_holdback_chars < 0:
            raise ValueError("envoy: max_body_bytes must be > 0 and stream_holdback_chars >= 0")
        return settings
