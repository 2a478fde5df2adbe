"""Turns what a connection or request presents (a bearer credential, a client certificate) into a Caller.

One `Authenticator` per worker, built from the `auth:` settings. A bearer credential is an API key
(looked up by its SHA-256) or a JWT (verified by `auth.jwt`); a client certificate that the TLS
layer already verified against the client CA names a configured caller by CN or SAN, and otherwise
becomes a caller of that name with default rights (the CA vouched for it). Without any credential
the caller is anonymous where anonymous callers are allowed (no credentials configured: loopback
only; or `--insecure-allow-anonymous`), and refused otherwise.

Verified bearer credentials are cached (token -> caller) for `cache_seconds`, never beyond a JWT's
expiry, so a busy caller pays for the hash or the signature check once, not per decision.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from celgate.auth import keys
from celgate.auth.caller import ANONYMOUS, Caller, Rights
from celgate.auth.errors import Unauthenticated
from celgate.auth.settings import AuthSettings, CallerSpec

if TYPE_CHECKING:  # imported when JWTs are configured: joserfc and cryptography are ~11 MiB per worker
    from celgate.auth.jwt import JwksSource, JwtVerifier

_CACHE_MAX = 10_000
NO_CREDENTIAL = "no credential: send `Authorization: Bearer <API key or JWT>` or a client certificate"


def _caller_of(spec: CallerSpec) -> Caller:
    return Caller(id=spec.id, roles=spec.roles, anonymous=False, rights=spec.rights, principal=spec.principal)


class Authenticator:
    def __init__(
        self,
        settings: AuthSettings,
        *,
        allow_anonymous: bool,
        jwks: JwksSource | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.anonymous: Caller | None = (
            Caller(id=ANONYMOUS.id, anonymous=True, rights=settings.anonymous_rights) if allow_anonymous else None
        )
        self._by_hash = {h: _caller_of(c) for c in settings.callers for h in c.key_hashes}
        self._by_peer = {name: _caller_of(c) for c in settings.callers for name in c.mtls}
        self._jwt: JwtVerifier | None = None
        if settings.jwt is not None:
            from celgate.auth.jwt import JwksSource, JwtVerifier

            source = jwks or JwksSource(settings.jwt.jwks, settings.jwt.refresh_seconds)
            self._jwt = JwtVerifier(settings.jwt, source)
        self._clock = clock
        self._cache: dict[str, tuple[Caller, float]] = {}
        self._peer_cache: dict[tuple[str, ...], Caller] = {}
        self._lock = threading.Lock()

    def start(self) -> None:
        """Starts the JWKS refresher, if any (call once the process is set up)."""
        if self._jwt is not None:
            self._jwt.source.start()

    def stop(self) -> None:
        if self._jwt is not None:
            self._jwt.source.stop()

    def authenticate(self, authorization: str | None, peer: tuple[str, ...] | None = None) -> Caller:
        """The caller for an `Authorization` header value and the verified client certificate's names."""
        if authorization:
            return self.bearer(authorization)
        if peer:
            return self.certificate(peer)
        if self.anonymous is not None:
            return self.anonymous
        raise Unauthenticated(NO_CREDENTIAL)

    def bearer(self, authorization: str) -> Caller:
        hit = self._cache.get(authorization)
        now = self._clock()
        if hit is not None and hit[1] > now:
            return hit[0]
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthenticated("unsupported Authorization header: expected `Bearer <API key or JWT>`")
        caller = self._by_hash.get(keys.hash_key(token))
        until = now + self.settings.cache_seconds
        if caller is None:
            if self._jwt is None or token.startswith(keys.PREFIX):
                raise Unauthenticated("unknown API key")
            caller, expires = self._jwt.verify(token)
            until = min(until, expires)
        with self._lock:
            if len(self._cache) >= _CACHE_MAX:
                self._cache.clear()
            self._cache[authorization] = (caller, until)
        return caller

    def certificate(self, names: tuple[str, ...]) -> Caller:
        """A client certificate the TLS layer verified: a configured caller by CN/SAN, or one named after it."""
        caller = self._peer_cache.get(names)
        if caller is not None:
            return caller
        for name in names:
            configured = self._by_peer.get(name)
            if configured is not None:
                caller = configured
                break
        else:
            caller = Caller(id=names[0], anonymous=False, rights=Rights())
        with self._lock:
            if len(self._peer_cache) >= _CACHE_MAX:
                self._peer_cache.clear()
            self._peer_cache[names] = caller
        return caller


def peer_names(common_names: Iterable[str], alt_names: Iterable[str]) -> tuple[str, ...]:
    """A certificate's names in matching order: SANs first (URI/DNS, e.g. a SPIFFE ID), then the CN."""
    return tuple(dict.fromkeys([*alt_names, *common_names]))
