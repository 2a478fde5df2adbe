"""Builds a worker's authentication from the service settings, and refuses unsafe combinations.

The one rule that makes the quickstart safe: with no credentials configured (no callers, no JWKS,
no client CA) every caller is anonymous with every right, so celgate then listens on loopback
addresses only. Listening beyond loopback without authentication needs `--insecure-allow-anonymous`
and is otherwise refused at start-up with a message that says what to configure.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from celgate.auth.authenticator import Authenticator
from celgate.auth.settings import AuthConfigError, AuthSettings
from celgate.auth.tls import TlsFiles


@dataclass(frozen=True, slots=True)
class AuthSetup:
    """Everything a worker needs to authenticate callers on both doors."""

    settings: AuthSettings
    tls: TlsFiles | None
    allow_anonymous: bool
    loopback_only: bool

    def authenticator(self) -> Authenticator:
        return Authenticator(self.settings, allow_anonymous=self.allow_anonymous)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def plan(
    auth: Mapping[str, Any] | None,
    *,
    hosts: Sequence[tuple[str, str]],
    tls_cert: str = "",
    tls_key: str = "",
    tls_client_ca: str = "",
    tls_client_auth: str = "require",
    tls_reload_seconds: float = 5.0,
    insecure_allow_anonymous: bool = False,
) -> AuthSetup:
    """`hosts` are (flag name, host) pairs of the listen addresses. Raises `AuthConfigError`."""
    settings = AuthSettings.from_dict(auth)
    if bool(tls_cert) != bool(tls_key):
        raise AuthConfigError("tls-cert and tls-key: set both (the server certificate and its private key) or neither")
    if tls_client_ca and not tls_cert:
        raise AuthConfigError("tls-client-ca: mutual TLS needs tls-cert and tls-key too")
    if tls_client_auth not in ("require", "optional"):
        raise AuthConfigError(f"tls-client-auth {tls_client_auth!r}: expected require or optional")
    if tls_reload_seconds < 0:
        raise AuthConfigError("tls-reload-seconds: expected a non-negative number of seconds")
    tls = (
        TlsFiles(tls_cert, tls_key, tls_client_ca, tls_client_auth == "require", tls_reload_seconds)
        if tls_cert
        else None
    )
    authenticated = settings.has_credentials or bool(tls_client_ca)
    loopback_only = all(is_loopback(host) for _, host in hosts)
    if not authenticated and not insecure_allow_anonymous and not loopback_only:
        where = ", ".join(f"{name} {host}" for name, host in hosts if not is_loopback(host))
        raise AuthConfigError(
            f"refusing to listen beyond loopback ({where}) without authentication: anyone who can reach the port "
            "could decide for any principal, spend anyone's quota and read the policies. Configure callers "
            "(auth.callers with key_sha256 from `celgate keygen`), auth.jwt, or --tls-client-ca; or pass "
            "--insecure-allow-anonymous if something in front of celgate already authenticates (docs/service.md)"
        )
    return AuthSetup(settings, tls, insecure_allow_anonymous or not authenticated, loopback_only)
