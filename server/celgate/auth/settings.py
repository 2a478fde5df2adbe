"""The `auth:` section of the service config: who may call, with which credential, and what they may do.

    auth:
      callers:
        - id: checkout-agent
          key_sha256: 9f2c...            # `celgate keygen` prints a key and this hash
          rights: {principals: ["checkout-*"], tenants: [acme], actions: [prompt, tool_call]}
        - id: envoy
          mtls: [spiffe://cluster.local/ns/gateway/sa/envoy]   # CN or SAN of its client certificate
        - id: alice
          key_sha256: 41ab...
          roles: [approver]
      jwt:
        jwks: https://id.example.com/.well-known/jwks.json   # or a file path
        issuer: https://id.example.com/
        audience: celgate
        claims: {id: sub, roles: roles, tenant: tenant}
        principal_from_credential: true
        rights: {explain: false}
      anonymous_rights: {status: true, metrics: true}   # only with --insecure-allow-anonymous

Parsed once at start-up into frozen objects; every error names the setting and what was expected.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from celgate.auth import keys
from celgate.auth.caller import ACTIONS, ALL_RIGHTS, BoundPrincipal, Rights


class AuthConfigError(ValueError):
    """A setting of the `auth:` section that cannot be used."""


@dataclass(frozen=True, slots=True)
class CallerSpec:
    id: str
    key_hashes: tuple[str, ...] = ()
    mtls: tuple[str, ...] = ()
    roles: frozenset[str] = frozenset()
    rights: Rights = field(default_factory=Rights)
    principal: BoundPrincipal | None = None


DEFAULT_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "ES256", "ES384")


@dataclass(frozen=True, slots=True)
class JwtSettings:
    jwks: str
    issuer: str
    audience: tuple[str, ...]
    algorithms: tuple[str, ...] = ()
    id_claim: str = "sub"
    roles_claim: str = "roles"
    tenant_claim: str = "tenant"
    principal_from_credential: bool = True
    rights: Rights = field(default_factory=Rights)
    leeway_seconds: int = 30
    refresh_seconds: float = 300.0


@dataclass(frozen=True, slots=True)
class AuthSettings:
    callers: tuple[CallerSpec, ...] = ()
    jwt: JwtSettings | None = None
    anonymous_rights: Rights = ALL_RIGHTS
    cache_seconds: float = 60.0

    @property
    def has_credentials(self) -> bool:
        return bool(self.callers or self.jwt)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> AuthSettings:
        if not data:
            return cls()
        _known(data, "auth", {"callers", "jwt", "anonymous_rights", "cache_seconds"})
        raw_callers = data.get("callers") or []
        if not isinstance(raw_callers, list):
            raise AuthConfigError("auth.callers: expected a list of callers")
        callers = tuple(_caller(c, f"auth.callers[{i}]") for i, c in enumerate(raw_callers))
        seen: dict[str, str] = {}
        for c in callers:
            for h in c.key_hashes:
                if h in seen:
                    raise AuthConfigError(f"auth.callers: callers {seen[h]!r} and {c.id!r} share a key hash")
                seen[h] = c.id
        jwt = _jwt(data["jwt"]) if data.get("jwt") else None
        anonymous = _rights(data["anonymous_rights"], "auth.anonymous_rights") if "anonymous_rights" in data else None
        cache = _number(data.get("cache_seconds", 60.0), "auth.cache_seconds")
        return cls(callers, jwt, anonymous or ALL_RIGHTS, cache)


def _known(data: Any, where: str, known: set[str]) -> None:
    if not isinstance(data, Mapping):
        raise AuthConfigError(f"{where}: expected a mapping, got {type(data).__name__}")
    unknown = sorted(set(map(str, data)) - known)
    if unknown:
        raise AuthConfigError(f"{where}: unknown setting {unknown[0]!r} (known: {', '.join(sorted(known))})")


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise AuthConfigError(f"{where}: expected a string or a list of non-empty strings, got {value!r}")
    return tuple(value)


def _bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise AuthConfigError(f"{where}: expected true or false, got {value!r}")
    return value


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise AuthConfigError(f"{where}: expected a non-negative number, got {value!r}")
    return float(value)


def _rights(data: Any, where: str) -> Rights:
    if data is None:
        return Rights()
    _known(data, where, {"principals", "tenants", "principal_roles", "actions", "explain", "status", "metrics"})
    actions = frozenset(_strings(data["actions"], f"{where}.actions")) if "actions" in data else ACTIONS
    bad = sorted(actions - ACTIONS - {"*"})
    if bad:
        raise AuthConfigError(f"{where}.actions: unknown action {bad[0]!r} (known: {', '.join(sorted(ACTIONS))})")
    if "*" in actions:
        actions = ACTIONS
    return Rights(
        principals=_strings(data.get("principals", "*"), f"{where}.principals"),
        tenants=_strings(data.get("tenants", "*"), f"{where}.tenants"),
        principal_roles=_strings(data.get("principal_roles", "*"), f"{where}.principal_roles"),
        actions=actions,
        explain=_bool(data.get("explain", False), f"{where}.explain"),
        status=_bool(data.get("status", False), f"{where}.status"),
        metrics=_bool(data.get("metrics", False), f"{where}.metrics"),
    )


def _caller(data: Any, where: str) -> CallerSpec:
    _known(
        data,
        where,
        {"id", "key_sha256", "mtls", "roles", "rights", "principal_from_credential", "principal"},
    )
    ident = data.get("id")
    if not isinstance(ident, str) or not ident:
        raise AuthConfigError(f"{where}.id: expected a non-empty string")
    hashes = _strings(data.get("key_sha256", []), f"{where}.key_sha256") if data.get("key_sha256") else ()
    for h in hashes:
        if not keys.is_hash(h):
            raise AuthConfigError(
                f"{where}.key_sha256: expected the 64 lower-case hex digits `celgate keygen` prints "
                "(the hash of the key, never the key itself)"
            )
    mtls = _strings(data.get("mtls", []), f"{where}.mtls") if data.get("mtls") else ()
    if not hashes and not mtls:
        raise AuthConfigError(f"{where} ({ident}): needs a credential: key_sha256 or mtls")
    roles = frozenset(_strings(data.get("roles", []), f"{where}.roles")) if data.get("roles") else frozenset()
    principal = None
    if data.get("principal") is not None:
        p = data["principal"]
        _known(p, f"{where}.principal", {"id", "roles", "tenant"})
        principal = BoundPrincipal(
            id=str(p.get("id", ident)),
            roles=_strings(p.get("roles", []), f"{where}.principal.roles") if p.get("roles") else (),
            tenant=str(p.get("tenant", "")),
        )
    elif _bool(data.get("principal_from_credential", False), f"{where}.principal_from_credential"):
        principal = BoundPrincipal(id=ident)
    return CallerSpec(ident, hashes, mtls, roles, _rights(data.get("rights"), f"{where}.rights"), principal)


def _jwt(data: Any) -> JwtSettings:
    where = "auth.jwt"
    _known(
        data,
        where,
        {"jwks", "issuer", "audience", "algorithms", "claims", "principal_from_credential", "rights",
         "leeway_seconds", "refresh_seconds"},
    )  # fmt: skip
    for name in ("jwks", "issuer", "audience"):
        if not data.get(name):
            raise AuthConfigError(f"{where}.{name}: required (tokens are checked against a JWKS, issuer and audience)")
    claims = data.get("claims") or {}
    _known(claims, f"{where}.claims", {"id", "roles", "tenant"})
    algorithms = _strings(data.get("algorithms", list(DEFAULT_ALGORITHMS)), f"{where}.algorithms")
    if any(a.lower() == "none" or a.startswith("HS") for a in algorithms):
        raise AuthConfigError(f"{where}.algorithms: only asymmetric algorithms are accepted (a JWKS holds public keys)")
    return JwtSettings(
        jwks=str(data["jwks"]),
        issuer=str(data["issuer"]),
        audience=_strings(data["audience"], f"{where}.audience"),
        algorithms=algorithms,
        id_claim=str(claims.get("id", "sub")),
        roles_claim=str(claims.get("roles", "roles")),
        tenant_claim=str(claims.get("tenant", "tenant")),
        principal_from_credential=_bool(
            data.get("principal_from_credential", True), f"{where}.principal_from_credential"
        ),
        rights=_rights(data.get("rights"), f"{where}.rights"),
        leeway_seconds=int(_number(data.get("leeway_seconds", 30), f"{where}.leeway_seconds")),
        refresh_seconds=_number(data.get("refresh_seconds", 300.0), f"{where}.refresh_seconds"),
    )
