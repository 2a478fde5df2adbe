"""JWT bearer tokens verified against a JWKS (a file or an https URL), with issuer and audience checks.

joserfc does the cryptography and claim checks (it is the library the Envoy tests already sign
tokens with, maintained by the Authlib author, and needs only `cryptography`). Here: where the keys
come from, which claims are required, and how claims become a `Caller`.

The key set is loaded at start-up and refreshed in a background thread (`refresh_seconds`; a file
also when it changes), so verifying never waits on the network; a token signed by a key not yet in
the set is refused until the next refresh, which an unknown `kid` brings forward (at most once
every 30 s).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from celgate.auth.caller import BoundPrincipal, Caller
from celgate.auth.errors import Unauthenticated
from celgate.auth.settings import JwtSettings

log = logging.getLogger("celgate.auth")
_MIN_REFETCH = 30.0
_MAX_JWKS_BYTES = 1 << 20


class JwksError(RuntimeError):
    """The key set could not be read; the message says from where and why (no key material)."""


def _read(location: str) -> bytes:
    if location.startswith(("https://", "http://")):
        with urllib.request.urlopen(location, timeout=5) as r:
            return bytes(r.read(_MAX_JWKS_BYTES + 1))[: _MAX_JWKS_BYTES + 1]
    return Path(location.removeprefix("file://")).read_bytes()


def load_key_set(location: str) -> KeySet:
    try:
        raw = _read(location)
        if len(raw) > _MAX_JWKS_BYTES:
            raise JwksError(f"JWKS {location}: larger than {_MAX_JWKS_BYTES} bytes")
        data = json.loads(raw)
        if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
            raise JwksError(f"JWKS {location}: expected a JSON object with a 'keys' list")
        public = {"keys": [k for k in data["keys"] if isinstance(k, dict) and "d" not in k]}
        return KeySet.import_key_set(public)  # type: ignore[arg-type]
    except JwksError:
        raise
    except (OSError, ValueError, JoseError) as e:
        raise JwksError(f"JWKS {location}: {type(e).__name__}: {e}") from None


class JwksSource:
    """The current key set of one location; `start()` keeps it fresh in a daemon thread."""

    def __init__(self, location: str, refresh_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.location = location
        self.refresh_seconds = refresh_seconds
        self._clock = clock
        self._mtime = self._stat()
        self.key_set = load_key_set(location)  # start-up fails loudly on a bad key set
        self._fetched_at = clock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _stat(self) -> float | None:
        if self.location.startswith(("https://", "http://")):
            return None
        try:
            return Path(self.location.removeprefix("file://")).stat().st_mtime
        except OSError:
            return None

    def refresh(self) -> None:
        try:
            self.key_set = load_key_set(self.location)
            self._mtime = self._stat()
        except JwksError as e:
            log.warning("keeping the previous key set: %s", e)
        self._fetched_at = self._clock()

    def unknown_key(self) -> None:
        """A token named a key we do not have: refresh soon (rate-limited)."""
        if self._clock() - self._fetched_at >= _MIN_REFETCH:
            self._wake.set()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="celgate-jwks", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def _run(self) -> None:
        poll = min(self.refresh_seconds, 2.0) if self._mtime is not None else self.refresh_seconds
        while not self._stop.is_set():
            woken = self._wake.wait(max(poll, 0.05))
            self._wake.clear()
            if self._stop.is_set():
                return
            due = self._clock() - self._fetched_at >= self.refresh_seconds
            if woken or due or (self._mtime is not None and self._stat() != self._mtime):
                self.refresh()


def _claim(claims: Mapping[str, Any], path: str) -> Any:
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _roles(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(value.split())
    if isinstance(value, list):
        return tuple(v for v in value if isinstance(v, str) and v)
    return ()


class JwtVerifier:
    """Verifies a compact JWS against the key set and returns the caller it names and until when (epoch s)."""

    def __init__(self, settings: JwtSettings, source: JwksSource) -> None:
        self.settings = settings
        self.source = source
        self._registry_options = {
            "iss": {"essential": True, "value": settings.issuer},
            "aud": {"essential": True, "values": list(settings.audience)},
            "exp": {"essential": True},
        }

    def verify(self, token: str) -> tuple[Caller, float]:
        s = self.settings
        if token.count(".") != 2:
            raise Unauthenticated("bearer token is neither a known API key nor a signed JWT")
        try:
            decoded = jwt.decode(token, self.source.key_set, algorithms=list(s.algorithms))
        except (JoseError, ValueError) as e:
            if "key" in str(e).lower():
                self.source.unknown_key()
            raise Unauthenticated(f"JWT rejected: {_reason(e)}") from None
        claims = decoded.claims
        try:
            jwt.JWTClaimsRegistry(leeway=s.leeway_seconds, **self._registry_options).validate(claims)  # type: ignore[arg-type]
        except JoseError as e:
            raise Unauthenticated(f"JWT rejected: {_reason(e)}") from None
        ident = _claim(claims, s.id_claim)
        if not isinstance(ident, str) or not ident:
            raise Unauthenticated(f"JWT rejected: no {s.id_claim!r} claim naming the caller")
        roles = _roles(_claim(claims, s.roles_claim))
        tenant = _claim(claims, s.tenant_claim)
        tenant = tenant if isinstance(tenant, str) else ""
        principal = BoundPrincipal(ident, roles, tenant) if s.principal_from_credential else None
        caller = Caller(id=ident, roles=frozenset(roles), anonymous=False, rights=s.rights, principal=principal)
        exp = claims.get("exp")
        return caller, float(exp) if isinstance(exp, int | float) else time.time()


def _reason(e: Exception) -> str:
    text = getattr(e, "description", "") or str(e) or type(e).__name__
    return text.split("\n", 1)[0][:200]
