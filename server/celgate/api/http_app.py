"""The HTTP door (FastAPI on uvicorn): `/v1/check`, `/v1/check/batch`, health, status, metrics.

The hot path reads the raw body, parses it with orjson and hands the dict to the engine: a pydantic
request model would cost more than the decision (DESIGN "Budgets"). The schema is documented in
OpenAPI from the proto descriptors (`api.schema`). Every bad input gets a 4xx whose body names the
field and what was expected: `{"error": {"code", "field", "message"}}`; no input yields a 500.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from celgate import __version__, metrics
from celgate.api import schema
from celgate.api.decide import Decider, Unavailable
from celgate.engine import InvalidRequest
from celgate.service.state import PolicyState

log = logging.getLogger("celgate.http")
_JSON = "application/json"


class _BodyError(Exception):
    def __init__(self, status: int, code: str, message: str, field: str = "") -> None:
        self.status, self.code, self.message, self.field = status, code, message, field


def error_response(
    status: int, code: str, message: str, field: str = "", headers: dict[str, str] | None = None
) -> Response:
    body: dict[str, Any] = {"code": code, "message": message}
    if field:
        body["field"] = field
    return Response(orjson.dumps({"error": body}), status_code=status, media_type=_JSON, headers=headers)


async def _read_json(request: Request, limit: int) -> Any:
    length = request.headers.get("content-length")
    if length is not None:
        if not length.isdigit():
            raise _BodyError(400, "invalid_argument", "Content-Length is not a number")
        if int(length) > limit:
            raise _BodyError(413, "payload_too_large", f"request body over the {limit} byte limit")
        body = await request.body()
    else:
        chunks = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _BodyError(413, "payload_too_large", f"request body over the {limit} byte limit")
            chunks.append(chunk)
        body = b"".join(chunks)
    if not body:
        raise _BodyError(400, "invalid_json", "empty body: expected a JSON object")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as e:
        raise _BodyError(400, "invalid_json", f"malformed JSON: {e}") from None


def _openapi(request_schema: str, response_schema: str) -> dict[str, Any]:
    return {
        "requestBody": {"required": True, "content": {_JSON: {"schema": schema.ref(request_schema)}}},
    }


def _responses(ok: str) -> dict[int | str, dict[str, Any]]:
    err = {"content": {_JSON: {"schema": schema.ref("Error")}}}
    return {
        200: {"description": "The decision", "content": {_JSON: {"schema": schema.ref(ok)}}},
        400: {"description": "Invalid request: the field and what was expected", **err},
        413: {"description": "Body over the configured limit", **err},
        503: {"description": "No policy revision is active yet", **err},
    }


def create_app(state: PolicyState, *, dry_run: bool = False, max_body_bytes: int = 4 << 20, max_batch: int = 1000):
    decider = Decider(state, dry_run=dry_run)
    app = FastAPI(
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
        "/v1/check",
        summary="Decide one request",
        openapi_extra=_openapi("CheckRequest", "CheckResponse"),
        responses=_responses("CheckResponse"),
        response_class=Response,
    )
    async def check(request: Request) -> Response:
        try:
            body = await _read_json(request, max_body_bytes)
            if not isinstance(body, dict):
                raise InvalidRequest("", f"expected a JSON object (a CheckRequest), got {_kind(body)}")
            decision = decider.decide(body, "http")
        except _BodyError as e:
            metrics.invalid("http")
            return error_response(e.status, e.code, e.message, e.field)
        except InvalidRequest as e:
            metrics.invalid("http")
            return error_response(400, "invalid_argument", e.message, e.field)
        except Unavailable as e:
            return error_response(503, "unavailable", str(e))
        return Response(orjson.dumps(decision.to_dict()), media_type=_JSON)

    @app.post(
        "/v1/check/batch",
        summary="Decide several independent requests against the same policy revision",
        openapi_extra=_openapi("CheckBatchRequest", "CheckBatchResponse"),
        responses=_responses("CheckBatchResponse"),
        response_class=Response,
    )
    async def check_batch(request: Request) -> Response:
        try:
            body = await _read_json(request, max_body_bytes)
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
            decisions = decider.decide_batch(requests, "http")
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

    @app.get(
        "/healthz", summary="Liveness: the process answers", response_class=Response, responses={200: json_any}
    )
    async def healthz() -> Response:
        return Response(b'{"status":"ok"}', media_type=_JSON)

    @app.get(
        "/readyz",
        summary="Readiness: a policy revision is active",
        response_class=Response,
        responses={200: json_any, 503: {"description": "Not ready; last_error says why", **json_any}},
    )
    async def readyz() -> Response:
        status = state.status()
        return Response(orjson.dumps(status), status_code=200 if status["ready"] else 503, media_type=_JSON)

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
        data, content_type = metrics.render()
        return Response(data, media_type=content_type)

    base_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = base_openapi()
            doc.setdefault("components", {}).setdefault("schemas", {}).update(schema.components())
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "boolean", int: "integer", float: "number", str: "string", list: "list", dict: "object"}.get(
        type(value), type(value).__name__
    )
