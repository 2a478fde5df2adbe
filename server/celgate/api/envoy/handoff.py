"""ext_authz -> ext_proc hand-off: proof that this exact body was already allowed unchanged.

Behind one Envoy both doors see the same request: ext_authz decides it, then ext_proc would decide
it again only to find nothing to rewrite (and charge its quotas twice). When ext_authz allows a
request with no rewrites it adds `x-celgate-checked: <mac>` for the upstream, a keyed BLAKE2b over
the method, path, request id, decision id and the body it judged; ext_proc recomputes the MAC over
the body *it* receives and skips the engine when they match. Any mismatch (another body, another
key, a forged or replayed header) just means ext_proc decides again: the hand-off can only save
work, never let through what was not judged. ext_authz removes a client-sent header it did not issue.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os

from celgate.api.envoy.settings import EnvoySettings

HEADER = "x-celgate-checked"
_PROCESS_KEY = os.urandom(32)


@functools.lru_cache(maxsize=8)
def _key(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest() if secret else _PROCESS_KEY


def mac(settings: EnvoySettings, method: str, path: str, request_id: str, decision_id: str, body: bytes) -> str:
    h = hashlib.blake2b(
        f"{method}\0{path}\0{request_id}\0{decision_id}\0".encode(), key=_key(settings.handoff_key), digest_size=16
    )
    h.update(body)
    return h.hexdigest()


def verify(
    settings: EnvoySettings, token: str, method: str, path: str, request_id: str, decision_id: str, body: bytes
) -> bool:
    """True when `token` is ext_authz's MAC for exactly this request and body."""
    if not token or not decision_id:
        return False
    return hmac.compare_digest(token, mac(settings, method, path, request_id, decision_id, body))
