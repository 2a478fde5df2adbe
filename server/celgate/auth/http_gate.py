"""Authentication on the HTTP port: every route but the probes needs a caller, status and metrics a right.

The HTTP door calls `HttpGate.authenticate(scope)` before routing. `/healthz` and `/readyz` stay open
(probes carry no credentials); everything else needs a caller (`Authorization: Bearer ...` or a
verified client certificate), `/v1/status` and `/metrics` the caller's `status`/`metrics` right. A
POST must say `Content-Type: application/json` (`require_json`): the only cross-origin requests a browser sends
without asking the server first are GETs and POSTs of `text/plain`, form-encoded or multipart
bodies (an HTML form, a `no-cors` fetch), so any web page could otherwise post decisions where the
caller is anonymous (the loopback default) or a client certificate sits in the browser. They get 415.

With mutual TLS the client certificate is read once per connection (`PeerCertProtocol`), not per
request, and handed to the gate in the ASGI scope.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from celgate.auth.authenticator import Authenticator
from celgate.auth.caller import Caller
from celgate.auth.context import set_caller
from celgate.auth.errors import Forbidden, Unauthenticated
from celgate.auth.tls import http_peer_names

# Probes carry no credentials; the approvals inbox page and its script and style carry no data
# (the page asks the approver for a key and calls the authenticated API with it).
OPEN_PATHS = frozenset({"/healthz", "/readyz", "/ui/approvals", "/ui/approvals/inbox.js", "/ui/approvals/inbox.css"})
RIGHT_OF_PATH = {"/v1/status": "status", "/metrics": "metrics"}
PEER_KEY = "celgate.peer"
CALLER_KEY = "celgate.caller"


class UnsupportedMediaType(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _is_json(value: bytes) -> bool:
    media = value.split(b";", 1)[0].strip().lower()
    return media == b"application/json" or (media.startswith(b"application/") and media.endswith(b"+json"))


class HttpGate:
    def __init__(self, authenticator: Authenticator) -> None:
        self.authenticator = authenticator

    def authenticate(self, scope: MutableMapping[str, Any]) -> Caller | None:
        """The caller of this request (also set as the current caller), None for an open path.

        Raises `Unauthenticated` or `Forbidden`.
        """
        path = scope["path"]
        if path in OPEN_PATHS:
            return None
        authorization = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value.decode("latin-1")
                break
        caller = self.authenticator.authenticate(authorization, scope.get(PEER_KEY))
        right = RIGHT_OF_PATH.get(path)
        if right is not None and not getattr(caller.rights, right):
            raise Forbidden(f"caller {caller.id!r} may not read {path} (needs the {right!r} right)")
        set_caller(caller)
        state = scope.get("state")
        if isinstance(state, dict):
            state[CALLER_KEY] = caller  # `request.state` in FastAPI routes, for code that prefers it
        return caller


def require_json(scope: MutableMapping[str, Any]) -> None:
    """`UnsupportedMediaType` unless the request says `Content-Type: application/json` (doors call it
    for every route that takes a POST body)."""
    content_type = None
    for name, value in scope["headers"]:
        if name == b"content-type":
            content_type = value
            break
    if content_type is None or not _is_json(content_type):
        shown = content_type.decode("latin-1")[:80] if content_type else "none"
        raise UnsupportedMediaType(f"expected Content-Type: application/json, got {shown}")


def challenge(error: Exception) -> tuple[int, str, list[tuple[bytes, bytes]]]:
    """Status, error code and extra ASGI headers for a refusal raised by `HttpGate.authenticate`/`require_json`."""
    if isinstance(error, Unauthenticated):
        return 401, "unauthenticated", [(b"www-authenticate", b'Bearer realm="celgate"')]
    if isinstance(error, Forbidden):
        return 403, "permission_denied", []
    return 415, "unsupported_media_type", []


class PeerCertProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, plus the verified client certificate's names in each request's scope."""

    _peer: tuple[str, ...] = ()

    def connection_made(self, transport: Any) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._peer = http_peer_names(transport.get_extra_info("ssl_object"))

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.scope[PEER_KEY] = self._peer  # type: ignore[literal-required]
