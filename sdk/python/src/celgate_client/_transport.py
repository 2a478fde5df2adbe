"""HTTP and gRPC transports. Each attempt either returns the CheckResponse as proto JSON (a dict), or
raises one of three things, which is all the retry loop needs to know:

* `Retryable` - the service was not reached or said UNAVAILABLE/503: trying again may help;
* `Unreachable` - no answer in time, or a server-side failure: decide without the service;
* `CelgateError` - the call itself is wrong (4xx, INVALID_ARGUMENT): raise, whatever fail_open says.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import grpc
import grpc.aio
import httpx
from google.protobuf import json_format

from celgate_client._proto.celgate.v1 import decision_pb2 as pb
from celgate_client._proto.celgate.v1 import decision_pb2_grpc as pb_grpc
from celgate_client._tracecontext import trace_headers
from celgate_client.errors import CelgateError, InvalidRequest


class Retryable(Exception):
    """Connection refused/reset, or UNAVAILABLE: the request may not have been decided; try again."""


class Unreachable(Exception):
    """Timed out, or the service failed (5xx, INTERNAL): fall back to fail closed/open."""


# gRPC statuses that mean the caller is misconfigured: failing closed would hide the bug.
_CALLER_ERRORS = {
    grpc.StatusCode.UNAUTHENTICATED,
    grpc.StatusCode.PERMISSION_DENIED,
    grpc.StatusCode.UNIMPLEMENTED,
    grpc.StatusCode.NOT_FOUND,
}


@dataclass(frozen=True)
class TlsFiles:
    """CA and client certificate files for ``https://`` and ``grpcs://`` (all optional)."""

    ca: str | None = None
    cert: str | None = None
    key: str | None = None

    @classmethod
    def of(cls, url: str, ca: str | None, cert: str | None, key: str | None) -> TlsFiles | None:
        if not (ca or cert or key):
            return None
        if bool(cert) != bool(key):
            raise ValueError("tls_cert and tls_key go together (a client certificate and its private key)")
        if not parse_url(url)[2]:
            raise ValueError(f"tls_* options need an https:// or grpcs:// url, got {url!r}")
        return cls(ca, cert, key)

    def ssl_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=self.ca)
        if self.cert:
            ctx.load_cert_chain(self.cert, self.key)
        return ctx

    def grpc_credentials(self) -> grpc.ChannelCredentials:
        def read(path: str | None) -> bytes | None:
            return Path(path).read_bytes() if path else None

        return grpc.ssl_channel_credentials(read(self.ca), read(self.key), read(self.cert))


def _grpc_credentials(tls: TlsFiles | None) -> grpc.ChannelCredentials:
    return tls.grpc_credentials() if tls else grpc.ssl_channel_credentials()


def parse_url(url: str) -> tuple[str, str, bool]:
    """Return (kind, target, secure): kind ``http`` with the base URL, or ``grpc`` with ``host:port``."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        return "http", url.rstrip("/"), scheme == "https"
    if scheme in ("grpc", "grpcs"):
        if not parts.netloc:
            raise ValueError(f"celgate url {url!r} has no host:port")
        return "grpc", parts.netloc, scheme == "grpcs"
    raise ValueError(f"celgate url {url!r}: scheme must be http, https, grpc or grpcs")


def to_proto(request: Mapping[str, Any]) -> pb.CheckRequest:
    try:
        return json_format.ParseDict(request, pb.CheckRequest())
    except json_format.ParseError as e:
        raise InvalidRequest(str(e), code="invalid_request") from e


def from_proto(response: pb.CheckResponse) -> dict[str, Any]:
    return json_format.MessageToDict(response, preserving_proto_field_name=True)


def _grpc_error(e: grpc.RpcError) -> Exception:
    code = e.code() if hasattr(e, "code") else None
    details = (e.details() if hasattr(e, "details") else None) or str(code)
    if code == grpc.StatusCode.UNAVAILABLE:
        return Retryable(f"UNAVAILABLE: {details}")
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        return InvalidRequest(details, code="INVALID_ARGUMENT")
    if code in _CALLER_ERRORS:
        return CelgateError(details, code=code.name)
    name = code.name if code is not None else "UNKNOWN"
    return Unreachable(f"{name}: {details}")


def _http_result(resp: httpx.Response) -> dict[str, Any]:
    if resp.status_code == 200:
        try:
            body = resp.json()
        except ValueError as e:
            raise Unreachable(f"celgate answered 200 with a body that is not JSON: {e}") from e
        if not isinstance(body, dict) or "effect" not in body:
            raise Unreachable("celgate answered 200 without an effect")
        return body
    if resp.status_code == 503:
        raise Retryable(f"HTTP 503: {resp.text[:200]}")
    if 400 <= resp.status_code < 500:
        code, field, message = "", "", resp.text[:500]
        try:
            err = resp.json().get("error", {})
            if isinstance(err, dict):
                code, field = str(err.get("code", "")), str(err.get("field", ""))
                message = str(err.get("message", message))
        except (ValueError, AttributeError):
            pass
        cls = InvalidRequest if resp.status_code in (400, 422) else CelgateError
        raise cls(message or f"HTTP {resp.status_code}", code=code, status=resp.status_code, field=field)
    raise Unreachable(f"HTTP {resp.status_code}: {resp.text[:200]}")


def _metadata(headers: Mapping[str, str]) -> tuple[tuple[str, str], ...] | None:
    """The call's gRPC metadata: the client's headers and the current trace context."""
    return (*headers.items(), *trace_headers().items()) or None


def _status_result(resp: httpx.Response) -> dict[str, Any]:
    if resp.status_code == 200:
        try:
            body = resp.json()
        except ValueError as e:
            raise Unreachable(f"celgate answered 200 with a body that is not JSON: {e}") from e
        if not isinstance(body, dict) or "state" not in body:
            raise Unreachable("celgate answered 200 without a state")
        return body
    if resp.status_code == 503 or resp.status_code >= 500:
        raise Retryable(f"HTTP {resp.status_code}: {resp.text[:200]}")
    message, code = resp.text[:500], ""
    try:
        err = resp.json().get("error", {})
        message, code = str(err.get("message", message)), str(err.get("code", ""))
    except (ValueError, AttributeError):
        pass
    raise CelgateError(message or f"HTTP {resp.status_code}", code=code, status=resp.status_code)


def _status_path(approval_id: str) -> str:
    return "/v1/approvals/" + quote(approval_id, safe="") + "/status"


def _body(request: Mapping[str, Any]) -> bytes:
    return json.dumps(request, separators=(",", ":"), ensure_ascii=False).encode()


class SyncTransport:
    """One connection pool (httpx) or channel (grpc) per client; created on first use."""

    def __init__(self, url: str, headers: Mapping[str, str], tls: TlsFiles | None = None) -> None:
        self.kind, self.target, self.secure = parse_url(url)
        self.headers = dict(headers)
        self.tls = tls
        self._http: httpx.Client | None = None
        self._channel: grpc.Channel | None = None
        self._stub: pb_grpc.DecisionServiceStub | None = None

    def check(self, request: Mapping[str, Any], timeout: float) -> dict[str, Any]:
        if self.kind == "grpc":
            return self._check_grpc(request, timeout)
        return self._check_http(request, timeout)

    def _check_http(self, request: Mapping[str, Any], timeout: float) -> dict[str, Any]:
        if self._http is None:
            # No transport-level retries: the client's loop owns retrying within the deadline.
            self._http = httpx.Client(
                headers={"content-type": "application/json", **self.headers},
                verify=self.tls.ssl_context() if self.tls else True,
            )
        try:
            resp = self._http.post(
                f"{self.target}/v1/check",
                content=_body(request),
                headers=trace_headers() or None,
                timeout=httpx.Timeout(timeout),
            )
        except httpx.TimeoutException as e:
            raise Unreachable(f"timed out: {e!r}") from e
        except httpx.TransportError as e:
            raise Retryable(f"connection failed: {e!r}") from e
        return _http_result(resp)

    def _check_grpc(self, request: Mapping[str, Any], timeout: float) -> dict[str, Any]:
        self._check_grpc_ready()
        assert self._stub is not None
        message = to_proto(request)
        try:
            resp = self._stub.Check(message, timeout=timeout, metadata=_metadata(self.headers))
        except grpc.RpcError as e:
            raise _grpc_error(e) from e
        return from_proto(resp)

    def approval_status(self, approval_id: str, timeout: float) -> dict[str, Any]:
        """One look at how an approval stands; raises Retryable, Unreachable or CelgateError."""
        if self.kind == "grpc":
            self._check_grpc_ready()
            assert self._channel is not None
            stub = pb_grpc.ApprovalServiceStub(self._channel)
            try:
                resp = stub.GetApprovalStatus(
                    pb.GetApprovalStatusRequest(id=approval_id),
                    timeout=timeout,
                    metadata=_metadata(self.headers),
                )
            except grpc.RpcError as e:
                raise _grpc_error(e) from e
            return json_format.MessageToDict(resp, preserving_proto_field_name=True)
        if self._http is None:
            self._http = httpx.Client(headers={"content-type": "application/json", **self.headers})
        try:
            resp = self._http.get(self.target + _status_path(approval_id), timeout=httpx.Timeout(timeout))
        except httpx.TimeoutException as e:
            raise Unreachable(f"timed out: {e!r}") from e
        except httpx.TransportError as e:
            raise Retryable(f"connection failed: {e!r}") from e
        return _status_result(resp)

    def _check_grpc_ready(self) -> None:
        if self._stub is None:
            if self.secure:
                self._channel = grpc.secure_channel(self.target, _grpc_credentials(self.tls))
            else:
                self._channel = grpc.insecure_channel(self.target)
            self._stub = pb_grpc.DecisionServiceStub(self._channel)

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None
        if self._channel is not None:
            self._channel.close()
            self._channel = None
            self._stub = None


class AsyncTransport:
    """The asyncio twin of `SyncTransport`; each attempt is also bounded by ``asyncio.timeout``."""

    def __init__(self, url: str, headers: Mapping[str, str], tls: TlsFiles | None = None) -> None:
        self.kind, self.target, self.secure = parse_url(url)
        self.headers = dict(headers)
        self.tls = tls
        self._http: httpx.AsyncClient | None = None
        self._channel: grpc.aio.Channel | None = None
        self._stub: pb_grpc.DecisionServiceStub | None = None

    async def check(self, request: Mapping[str, Any], timeout: float) -> dict[str, Any]:
        try:
            async with asyncio.timeout(timeout):
                if self.kind == "grpc":
                    return await self._check_grpc(request, timeout)
                return await self._check_http(request, timeout)
        except TimeoutError as e:
            raise Unreachable("timed out") from e

    async def _check_http(self, request: Mapping[str, Any], timeout: float) -> dict[str, Any]:
        if self._http is None:
            self._http = httpx.AsyncClient(
                headers={"content-type": "application/json", **self.headers},
                verify=self.tls.ssl_context() if self.tls else True,
            )
        try:
            resp = await self._http.post(
                f"{self.target}/v1/check",
                content=_body(request),
                headers=trace_headers() or None,
                timeout=httpx.Timeout(timeout),
            )
        except httpx.TimeoutException as e:
            raise Unreachable(f"timed out: {e!r}") from e
        except httpx.TransportError as e:
            raise Retryable(f"connection failed: {e!r}") from e
        return _http_result(resp)

    async def _check_grpc(self, request: Mapping[str, Any], timeout: float) -> dict[str, Any]:
        if self._stub is None:
            if self.secure:
                self._channel = grpc.aio.secure_channel(self.target, _grpc_credentials(self.tls))
            else:
                self._channel = grpc.aio.insecure_channel(self.target)
            self._stub = pb_grpc.DecisionServiceStub(self._channel)
        message = to_proto(request)
        try:
            resp = await self._stub.Check(message, timeout=timeout, metadata=_metadata(self.headers))
        except grpc.RpcError as e:
            raise _grpc_error(e) from e
        return from_proto(resp)

    async def approval_status(self, approval_id: str, timeout: float) -> dict[str, Any]:
        """One look at how an approval stands; raises Retryable, Unreachable or CelgateError."""
        try:
            async with asyncio.timeout(timeout):
                if self.kind == "grpc":
                    if self._stub is None:
                        if self.secure:
                            self._channel = grpc.aio.secure_channel(self.target, _grpc_credentials(self.tls))
                        else:
                            self._channel = grpc.aio.insecure_channel(self.target)
                        self._stub = pb_grpc.DecisionServiceStub(self._channel)
                    assert self._channel is not None
                    stub = pb_grpc.ApprovalServiceStub(self._channel)
                    try:
                        resp = await stub.GetApprovalStatus(
                            pb.GetApprovalStatusRequest(id=approval_id),
                            timeout=timeout,
                            metadata=_metadata(self.headers),
                        )
                    except grpc.RpcError as e:
                        raise _grpc_error(e) from e
                    return json_format.MessageToDict(resp, preserving_proto_field_name=True)
                if self._http is None:
                    self._http = httpx.AsyncClient(headers={"content-type": "application/json", **self.headers})
                try:
                    http_resp = await self._http.get(
                        self.target + _status_path(approval_id), timeout=httpx.Timeout(timeout)
                    )
                except httpx.TimeoutException as e:
                    raise Unreachable(f"timed out: {e!r}") from e
                except httpx.TransportError as e:
                    raise Retryable(f"connection failed: {e!r}") from e
                return _status_result(http_resp)
        except TimeoutError as e:
            raise Unreachable("timed out") from e

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None
        if self._channel is not None:
            await self._channel.close()
            self._channel = None
            self._stub = None
