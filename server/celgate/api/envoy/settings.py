"""Settings of the Envoy doors (ext_authz and ext_proc), read from the `envoy:` section of the config file.

The doors translate; they never decide. Everything here says *how* to translate: which JWT claims
name the principal, which header to trust when no JWT is there, what a route that is neither an LLM
API nor MCP is, and how much body to accept before failing closed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

JWT_NAMESPACE = "envoy.filters.http.jwt_authn"


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
    # Routes that are neither an LLM API nor MCP tools/call: "allow" lets them through, "deny" closes
    # them, and any celgate action name (e.g. "prompt") sends them through the engine with that action.
    default_route: str = "allow"
    # Bodies larger than this are denied (fail closed) rather than half-read.
    max_body_bytes: int = 1 << 20
    # Characters of a streamed completion held back so a secret split across events is still caught.
    stream_holdback_chars: int = 128
    # Streamed completions longer than this are cut off with an error event (bounded work per stream).
    max_stream_chars: int = 1 << 20
    # Header carrying the decision id to the upstream and back to a denied client.
    decision_header: str = "x-celgate-decision-id"
    # Dynamic-metadata namespace for access logs (ext_authz puts its metadata under the filter's name).
    metadata_namespace: str = "celgate"
    # Key of the ext_authz -> ext_proc hand-off (`x-celgate-checked`): ext_proc skips re-deciding a body
    # ext_authz allowed unchanged. "" = a random key per process (a hand-off checked by another worker
    # or replica then fails verification and ext_proc simply decides again); set the same secret on
    # every celgate behind one Envoy to skip the second check everywhere.
    handoff_key: str = ""

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
        settings = cls(**values)
        routes = {"allow", "deny", "prompt", "response", "tool_call", "tool_result", "retrieval"}
        if settings.default_route not in routes:
            raise ValueError(f"envoy.default_route: {settings.default_route!r} is not allow, deny or an action")
        if settings.max_body_bytes <= 0 or settings.stream_holdback_chars < 0:
            raise ValueError("envoy: max_body_bytes must be > 0 and stream_holdback_chars >= 0")
        return settings
