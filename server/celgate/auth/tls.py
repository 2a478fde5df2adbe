"""TLS for both doors, from certificate files that are re-read when they change (no restart to rotate).

* gRPC: `grpc.dynamic_ssl_server_credentials` asks `GrpcCertificates.fetch` before every new
  connection's handshake; it returns a new configuration when a file changed (checked at most once
  every `reload_seconds`), else None (keep the current one).
* HTTP: uvicorn serves one `ssl.SSLContext`; its `sni_callback` hands every new connection the
  newest inner context (`HttpCertificates.context`), rebuilt when a file changed. A connection keeps
  the context it was accepted with.

A client CA turns on mutual TLS: the peer's certificate is verified against it, and its names (SANs,
then CN; see `peer_names`) identify the caller. A file that cannot be read or parsed on reload is
logged and the previous certificates stay in use; at start-up it is an error.
"""

from __future__ import annotations

import logging
import os
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc

from celgate.auth.authenticator import peer_names

log = logging.getLogger("celgate.auth")


class TlsError(RuntimeError):
    """A certificate, key or CA file that cannot be used; the message names the file."""


@dataclass(frozen=True, slots=True)
class TlsFiles:
    cert: str
    key: str
    client_ca: str = ""
    require_client_cert: bool = True
    reload_seconds: float = 5.0

    @property
    def mutual(self) -> bool:
        return bool(self.client_ca)

    def paths(self) -> tuple[str, ...]:
        return (self.cert, self.key, self.client_ca) if self.client_ca else (self.cert, self.key)


class _Watched:
    """Stamps of the files, and a rate-limited "did any of them change?"."""

    def __init__(self, files: TlsFiles, clock: Callable[[], float] = time.monotonic) -> None:
        self.files = files
        self._clock = clock
        self._stamp = self.stamp()
        self._checked = clock()

    def stamp(self) -> tuple[tuple[float, int], ...]:
        out = []
        for path in self.files.paths():
            try:
                st = os.stat(path)
                out.append((st.st_mtime, st.st_size))
            except OSError:
                out.append((0.0, -1))
        return tuple(out)

    def changed(self) -> bool:
        now = self._clock()
        if now - self._checked < self.files.reload_seconds:
            return False
        self._checked = now
        stamp = self.stamp()
        if stamp == self._stamp:
            return False
        self._stamp = stamp
        return True

    def retry(self) -> None:
        """The files could not be used (e.g. a cert replaced before its key): look again next time."""
        self._stamp = ()


def _read(path: str, what: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise TlsError(f"{what} {path}: {e.strerror}") from None


class GrpcCertificates:
    """Server credentials for the gRPC port that pick up new certificate files on the next connection."""

    def __init__(self, files: TlsFiles) -> None:
        self.files = files
        self._watch = _Watched(files)
        self._lock = threading.Lock()
        self.initial = self._config()

    def _config(self) -> Any:
        f = self.files
        cert, key = _read(f.cert, "tls-cert"), _read(f.key, "tls-key")
        ca = _read(f.client_ca, "tls-client-ca") if f.client_ca else None
        try:
            return grpc.ssl_server_certificate_configuration([(key, cert)], root_certificates=ca)
        except Exception as e:  # grpc raises plain errors for bad PEM
            raise TlsError(f"tls-cert/tls-key: {e}") from None

    def fetch(self) -> Any:
        """Called by gRPC before each handshake: a new configuration when the files changed, else None."""
        if not self._lock.acquire(blocking=False):
            return None
        try:
            if not self._watch.changed():
                return None
            try:
                config = self._config()
            except TlsError as e:
                log.error("keeping the current gRPC certificates: %s", e)
                self._watch.retry()
                return None
            log.info("gRPC certificates reloaded from %s", self.files.cert)
            return config
        finally:
            self._lock.release()

    def credentials(self) -> grpc.ServerCredentials:
        # With a client CA the gRPC port always requires a verified client certificate: grpcio's Python
        # API has no "request but do not require" (False means "do not ask"). `tls-client-auth: optional`
        # relaxes the HTTP port only, so probes and bearer-key callers can reach it without one.
        return grpc.dynamic_ssl_server_credentials(
            self.initial, self.fetch, require_client_authentication=self.files.mutual
        )


def build_context(files: TlsFiles) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_alpn_protocols(["http/1.1"])
    try:
        ctx.load_cert_chain(files.cert, files.key)
    except (OSError, ssl.SSLError) as e:
        raise TlsError(f"tls-cert {files.cert} / tls-key {files.key}: {e}") from None
    if files.client_ca:
        try:
            ctx.load_verify_locations(cafile=files.client_ca)
        except (OSError, ssl.SSLError) as e:
            raise TlsError(f"tls-client-ca {files.client_ca}: {e}") from None
        ctx.verify_mode = ssl.CERT_REQUIRED if files.require_client_cert else ssl.CERT_OPTIONAL
    return ctx


class HttpCertificates:
    """The SSLContext uvicorn listens with; each handshake is moved onto the newest inner context."""

    def __init__(self, files: TlsFiles) -> None:
        self.files = files
        self._watch = _Watched(files)
        self._lock = threading.Lock()
        self.current = build_context(files)
        self.outer = build_context(files)
        self.outer.sni_callback = self._on_hello

    def _on_hello(self, sslobj: ssl.SSLObject, server_name: str | None, outer: ssl.SSLContext) -> None:
        if self._watch.changed():
            with self._lock:
                try:
                    self.current = build_context(self.files)
                    log.info("HTTPS certificates reloaded from %s", self.files.cert)
                except TlsError as e:
                    log.error("keeping the current HTTPS certificates: %s", e)
                    self._watch.retry()
        sslobj.context = self.current

    def context_factory(self, config: Any, default: Callable[[], ssl.SSLContext]) -> ssl.SSLContext:
        """uvicorn's `ssl_context_factory`."""
        return self.outer


def http_peer_names(ssl_object: ssl.SSLObject | ssl.SSLSocket | None) -> tuple[str, ...]:
    """The verified client certificate's names (SANs, then CN), or () without one."""
    if ssl_object is None:
        return ()
    cert = ssl_object.getpeercert()
    if not cert:
        return ()
    alt = [value for kind, value in cert.get("subjectAltName", ()) if kind in ("URI", "DNS", "email")]
    cn = [value for rdn in cert.get("subject", ()) for key, value in rdn if key == "commonName"]
    return peer_names(cn, alt)


def grpc_peer_names(auth_context: dict[str, list[bytes]]) -> tuple[str, ...]:
    """The verified client certificate's names from a gRPC call's auth context, or () without one."""
    if not auth_context.get("x509_pem_cert") and not auth_context.get("x509_common_name"):
        return ()
    alt = [v.decode("utf-8", "replace") for v in auth_context.get("x509_subject_alternative_name", ())]
    cn = [v.decode("utf-8", "replace") for v in auth_context.get("x509_common_name", ())]
    return peer_names(cn, alt)
