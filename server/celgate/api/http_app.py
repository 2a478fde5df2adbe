"""The HTTP door (uvicorn): `/v1/check`, `/v1/check/batch`, health, status, metrics.

`/v1/check` is served by a bare ASGI route (`FastCheck`) mounted in front of FastAPI: it reads
the raw body, parses it with orjson, hands the dict to the `Decider` and writes the orjson-encoded
answer in two ASGI messages. Going through FastAPI/Starlette routing, a `Request` object and a
`Response` object cost more than the decision itself (DESIGN "Budgets": a bare ASGI route 8.9x
Cerbos with trivial work, FastAPI reading the raw request 3.1x). The route is added to the OpenAPI
document by hand (so `/docs` shows it and schemathesis fuzzes it); every other route is FastAPI's.
The schema is documented in OpenAPI from the proto descriptors (`api.schema`). Every bad input
gets a 4xx whose body names the field and what was expected: `{"error": {"code", "field",
"message"}}`; no input yields a 500.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
from collections.abc import Awaitable, Callable, Coroutine, Generator, Mapping, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from celgate import __version__, metrics
from celgate.api import approvals_http, schema
from celgate.api.approvals import ApproverDesk, count_pending
from celgate.api.decide import Decider, Unavailable
from celgate.api.state import PolicyState
from celgate.auth import Authenticator, AuthSettings, Caller, Forbidden, Unauthenticated, authorize, current_caller
from celgate.auth.http_gate import HttpGate, UnsupportedMediaType, challenge, require_json
from celgate.engine import InvalidRequest

log = logging.getLogger("celgate.http")
_JSON = "application/json"


class _BodyError(Exception):
    def __init__(self, status: int, code: str, message: str, field: str = "") -> None:
        self.status, self.code, self.message, self.field = status, code, message, field


def error_response(
    status: int, code: str, message: str, field: str = "", headers: dict[str, str] | None = None
) -> Response:
    return Response(_error_body(code, message, field), status_code=status, media_type=_JSON, headers=headers)


async def _read_body(request: Request, limit: int) -> bytes:
    length = request.headers.get("content-length")
    if length is not None:
        if not length.isdigit():
            raise _BodyError(400, "invalid_argument", "Content-Length is not a number")
        if int(length) > limit:
            raise _BodyError(413, "payload_too_large", f"request body over the {limit} byte limit")
        return await request.body()
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _BodyError(413, "payload_too_large", f"request body over the {limit} byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


def _parse(body: bytes) -> Any:
    if not body:
        raise _BodyError(400, "invalid_json", "empty body: expected a JSON object")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as e:
        raise _BodyError(400, "invalid_json", f"malformed JSON: {e}") from None


async def _read_json(request: Request, limit: int) -> Any:
    return _parse(await _read_body(request, limit))


def _error_body(code: str, message: str, field: str = "") -> bytes:
    body: dict[str, Any] = {"code": code, "message": message}
    if field:
        body["field"] = field
    return orjson.dumps({"error": body})


def check_answer(
    decider: Decider, body: bytes, caller: Caller | None, carrier: Mapping[str, str] | None = None
) -> tuple[int, bytes]:
    """Status and JSON body answering one `/v1/check` request body of `caller`."""
    try:
        request = _parse(body)
        if not isinstance(request, dict):
            raise InvalidRequest("", f"expected a JSON object (a CheckRequest), got {_kind(request)}")
        if caller is None:
            raise Forbidden("no authenticated caller")
        decision = decider.decide(authorize(caller, request), "http", carrier=carrier)
    except Forbidden as e:
        return 403, _error_body("permission_denied", e.message, e.field)
    except _BodyError as e:
        metrics.invalid("http")
        return e.status, _error_body(e.code, e.message, e.field)
    except InvalidRequest as e:
        metrics.invalid("http")
        return 400, _error_body("invalid_argument", e.message, e.field)
    except Unavailable as e:
        return 503, _error_body("unavailable", str(e))
    return 200, orjson.dumps(decision.to_dict())


Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
_CONTENT_TYPE = (b"content-type", b"application/json")


def _trace_carrier(headers: list[tuple[bytes, bytes]]) -> dict[str, str] | None:
    """The W3C trace context headers of an ASGI request, if it has any (ASGI lowercases names)."""
    carrier = None
    for key, value in headers:
        if key == b"traceparent" or key == b"tracestate":
            carrier = carrier or {}
            carrier[key.decode()] = value.decode("latin-1")
    return carrier


# Bodies up to this size are decided on the event loop (microseconds: a thread hop would cost more
# than the decision); larger ones, every batch, and every request while a store is remote (a Redis
# round trip) are decided on the `Offload` threads, so one large request cannot delay the others or
# the health probes.
INLINE_BODY_BYTES = 32 * 1024


class Offload:
    """A small, bounded thread pool for decisions that must not run on the event loop."""

    def __init__(self, threads: int = 4) -> None:
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="celgate-http-decide")

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, functools.partial(contextvars.copy_context().run, fn, *args))

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=False)


class FastCheck:
    """The ASGI app uvicorn serves: `/v1/check` here, everything else to FastAPI (`self.app`).

    Attribute look-ups fall through to the FastAPI app (`openapi()`, `routes`, ...).
    """

    def __init__(
        self,
        app: FastAPI,
        decider: Decider,
        max_body_bytes: int,
        gate: HttpGate,
        offload: Offload,
        request_timeout: float,
    ) -> None:
        self.app = app
        self.decider = decider
        self.limit = max_body_bytes
        self.gate = gate
        self.offload = offload
        self.request_timeout = request_timeout
        self.offload_all = decider.stores.remote

    def __getattr__(self, name: str) -> Any:
        return getattr(self.app, name)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            caller = self.gate.authenticate(scope)
            if scope["method"] == "POST" and (scope["path"] == "/v1/check" or self._posts_json(scope)):
                require_json(scope)
        except (Unauthenticated, Forbidden, UnsupportedMediaType) as e:
            status, code, extra = challenge(e)
            await _send(send, status, _error_body(code, e.message), extra)
            return
        if scope["path"] != "/v1/check":
            await self.app(scope, receive, send)
            return
        if scope["method"] != "POST":
            payload = _error_body("method_not_allowed", "Method Not Allowed")
            await _send(send, 405, payload, [(b"allow", b"POST")])
            return
        try:
            body = await read_with_deadline(self._body(scope, receive), self.request_timeout)
            if body is None:  # the client went away before sending its body
                return
            carrier = _trace_carrier(scope["headers"])
            if len(body) <= INLINE_BODY_BYTES and not self.offload_all:
                status, payload = check_answer(self.decider, body, caller, carrier)
            else:
                status, payload = await self.offload.run(check_answer, self.decider, body, caller, carrier)
        except _BodyError as e:
            metrics.invalid("http")
            status, payload = e.status, _error_body(e.code, e.message, e.field)
            if e.status == 408:  # the rest of the body may still arrive: this connection cannot be reused
                await _send(send, status, payload, [(b"connection", b"close")])
                return
        except Exception:  # pragma: no cover - a bug, logged; the client still gets an answer
            log.exception("internal error on /v1/check")
            status, payload = 500, _error_body("internal", "internal error; see the server log")
        await _send(send, status, payload)

    def _posts_json(self, scope: Scope) -> bool:
        """True when a FastAPI route takes this POST (every one takes JSON); a POST nobody takes stays a 405."""
        for route in self.app.routes:
            methods = getattr(route, "methods", None)
            if methods and "POST" in methods and route.matches(scope)[0] == Match.FULL:
                return True
        return False

    async def _body(self, scope: Scope, receive: Receive) -> bytes | None:
        limit = self.limit
        for name, value in scope["headers"]:
            if name == b"content-length":
                if not value.isdigit():
                    raise _BodyError(400, "invalid_argument", "Content-Length is not a number")
                if int(value) > limit:
                    raise _BodyError(413, "payload_too_large", f"request body over the {limit} byte limit")
                break
        message = await receive()
        if message["type"] != "http.request":
            return None
        body: bytes = message.get("body", b"")
        if not message.get("more_body", False):
            if len(body) > limit:
                raise _BodyError(413, "payload_too_large", f"request body over the {limit} byte limit")
            return body
        chunks = [body]
        size = len(body)
        while message.get("more_body", False):  # ends with the body, or at the size limit
            message = await receive()
            if message["type"] != "http.request":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise _BodyError(413, "payload_too_large", f"request body over the {limit} byte limit")
            chunks.append(chunk)
        return b"".join(chunks)


async def read_with_deadline(reading: Coroutine[Any, Any, Any], seconds: float) -> Any:
    """A request body that has not fully arrived `seconds` after its headers is a 408: a client
    trickling bytes holds a connection and a task, never a decision thread.

    `reading` is first run up to its first suspension without a deadline: a body that arrived with
    its headers (nearly every request) is read without ever suspending, so no timer is armed and
    cancelled for it (`asyncio.timeout` cost ~4 % of the HTTP door's time). Only a body still
    arriving is awaited under the deadline.
    """
    try:
        pending = reading.send(None)
    except StopIteration as done:
        return done.value
    try:
        async with asyncio.timeout(seconds):
            return await _Resumed(reading, pending)
    except TimeoutError:
        raise _BodyError(408, "request_timeout", f"request body not received within {seconds:g} s") from None


class _Resumed:
    """Awaits a coroutine already run up to its first suspension (`pending`: what it yielded there).

    Delegates like `await` does: values and exceptions the task sends in (a cancellation from the
    deadline included) go to the coroutine, what it yields goes out to the task.
    """

    __slots__ = ("_coro", "_pending")

    def __init__(self, coro: Coroutine[Any, Any, Any], pending: Any) -> None:
        self._coro = coro
        self._pending = pending

    def __await__(self) -> Generator[Any, Any, Any]:
        coro, pending = self._coro, self._pending
        self._pending = None
        while True:
            try:
                value = yield pending
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as e:  # handed to the coroutine, which decides what it means
                try:
                    pending = coro.throw(e)
                except StopIteration as done:
                    return done.value
            else:
                try:
                    pending = coro.send(value)
                except StopIteration as done:
                    return done.value


async def _send(send: Send, status: int, payload: bytes, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    head = [_CONTENT_TYPE, (b"content-length", b"%d" % len(payload)), *(headers or ())]
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": payload})


def _check_path_item() -> dict[str, Any]:
    """OpenAPI for `POST /v1/check`, which `FastCheck` serves outside FastAPI's routing."""
    responses = {str(code): value for code, value in _responses("CheckResponse").items()}
    for value in responses.values():
        value.setdefault("description", "")
    return {
        "post": {
            "summary": "Decide one request",
            "operationId": "check_v1_check_post",
            **_openapi("CheckRequest", "CheckResponse"),
            "responses": responses,
        }
    }


def _openapi(request_schema: str, response_schema: str) -> dict[str, Any]:
    return {
        "requestBody": {"required": True, "content": {_JSON: {"schema": schema.ref(request_schema)}}},
    }


def _responses(ok: str) -> dict[int | str, dict[str, Any]]:
    err = {"content": {_JSON: {"schema": schema.ref("Error")}}}
    return {
        200: {"description": "The decision", "content": {_JSON: {"schema": schema.ref(ok)}}},
        400: {"description": "Invalid request: the field and what was expected", **err},
        401: {"description": "No credential, or one that does not verify", **err},
        403: {"description": "The caller may not decide this request (principal, tenant, action, explain)", **err},
        413: {"description": "Body over the configured limit", **err},
        415: {"description": "Content-Type is not application/json", **err},
        503: {"description": "No policy revision is active yet", **err},
    }


def create_app(
    decider: Decider,
    state: PolicyState,
    *,
    max_body_bytes: int = 4 << 20,
    max_batch: int = 1000,
    authenticator: Authenticator | None = None,
    request_timeout: float = 30.0,
    offload: Offload | None = None,
) -> FastCheck:
    """The HTTP door's ASGI app: `FastCheck` in front of the FastAPI app; both decide through `decider`.

    `state` answers the health and status routes. Every route but the probes is authenticated by
    `authenticator`; without one, every caller is anonymous with every right (an embedded app;
    `celgate serve` always passes the configured one).
    """
    gate = HttpGate(authenticator or Authenticator(AuthSettings(), allow_anonymous=True))
    offload = offload or Offload()
    # /docs works offline: Swagger UI's assets are served from the fastapi-offline package, not a CDN.
    app = FastAPIOffline(
        title="celgate",
        version=__version__,
        description="Policy decision point for LLM workloads. Request and response bodies are the proto3 JSON "
        "mapping of celgate.v1 (proto field names or lowerCamelCase).",
        docs_url="/docs",
        openapi_url="/openapi.json",
        redoc_url=None,
    )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, str(exc.detail), headers=exc.headers)

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> Response:  # pragma: no cover - a bug, logged
        log.exception("internal error on %s", request.url.path)
        return error_response(500, "internal", "internal error; see the server log")

    @app.post(
        "/v1/check/batch",
        summary="Decide several independent requests against the same policy revision",
        openapi_extra=_openapi("CheckBatchRequest", "CheckBatchResponse"),
        responses=_responses("CheckBatchResponse"),
        response_class=Response,
    )
    async def check_batch(request: Request) -> Response:
        try:
            body = await read_with_deadline(_read_json(request, max_body_bytes), request_timeout)
            if not isinstance(body, dict):
                raise InvalidRequest("", f"expected a JSON object (a CheckBatchRequest), got {_kind(body)}")
            unknown = sorted(set(body) - {"requests"})
            if unknown:
                raise InvalidRequest(unknown[0], "unknown field (expected only: requests)")
            requests = body.get("requests", [])
            if not isinstance(requests, list):
                raise InvalidRequest("requests", f"expected a list of CheckRequest objects, got {_kind(requests)}")
            if len(requests) > max_batch:
                raise InvalidRequest("requests", f"expected at most {max_batch} requests, got {len(requests)}")
            for index, item in enumerate(requests):
                if not isinstance(item, dict):
                    raise InvalidRequest(f"requests[{index}]", f"expected a CheckRequest object, got {_kind(item)}")
            caller = current_caller()
            if caller is None:
                raise Forbidden("no authenticated caller")
            authorized = []
            for index, item in enumerate(requests):
                try:
                    authorized.append(authorize(caller, item))
                except Forbidden as e:
                    raise Forbidden(f"requests[{index}]: {e.message}", f"requests[{index}].{e.field}") from None
            decisions = await offload.run(
                functools.partial(decider.decide_batch, authorized, "http", carrier=dict(request.headers))
            )
        except Forbidden as e:
            return error_response(403, "permission_denied", e.message, e.field)
        except _BodyError as e:
            metrics.invalid("http")
            return error_response(e.status, e.code, e.message, e.field)
        except InvalidRequest as e:
            metrics.invalid("http")
            return error_response(400, "invalid_argument", e.message, e.field)
        except Unavailable as e:
            return error_response(503, "unavailable", str(e))
        return Response(orjson.dumps({"responses": [d.to_dict() for d in decisions]}), media_type=_JSON)

    json_any = {"content": {_JSON: {"schema": {"type": "object"}}}}

    @app.get("/healthz", summary="Liveness: the process answers", response_class=Response, responses={200: json_any})
    async def healthz() -> Response:
        return Response(b'{"status":"ok"}', media_type=_JSON)

    @app.get(
        "/readyz",
        summary="Readiness: a policy revision is active (open to probes: nothing but ready or not)",
        response_class=Response,
        responses={200: json_any, 503: {"description": "Not ready; /v1/status says why", **json_any}},
    )
    async def readyz() -> Response:
        readiness = state.readiness()
        return Response(orjson.dumps(readiness), status_code=200 if readiness["ready"] else 503, media_type=_JSON)

    @app.get(
        "/v1/status",
        summary="Active revision, when it was loaded, and why the newest was rejected",
        response_class=Response,
        responses={200: json_any},
    )
    async def status() -> Response:
        return Response(orjson.dumps(state.status()), media_type=_JSON)

    @app.get(
        "/metrics",
        summary="Prometheus metrics (all workers)",
        response_class=Response,
        responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
    )
    async def prometheus() -> Response:
        if decider.stores.approvals is not None:
            count_pending(decider.stores.approvals)
        data, content_type = metrics.render()
        return Response(data, media_type=content_type)

    approvals = decider.stores.approvals
    approvals_http.add_routes(app, ApproverDesk(approvals, decider.log) if approvals is not None else None)

    base_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = base_openapi()
            doc["paths"] = {"/v1/check": _check_path_item(), **doc.get("paths", {})}
            doc.setdefault("components", {}).setdefault("schemas", {}).update(schema.components())
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return FastCheck(app, decider, max_body_bytes, gate, offload, request_timeout)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "boolean", int: "integer", float: "number", str: "string", list: "list", dict: "object"}.get(
        type(value), type(value).__name__
    )
