"""HTTP routes of the approver API (pinned paths) and the inbox page.

    GET  /v1/approvals?state=pending&principal=…&tool=…&limit=…   {"approvals": [Approval, …]} newest first
    GET  /v1/approvals/{id}                                       Approval (the request as an approver sees it)
    POST /v1/approvals/{id}/approve   {"reason": "…"}             Approval, now approved
    POST /v1/approvals/{id}/deny      {"reason": "…"}             Approval, now denied
    GET  /ui/approvals                                            the inbox (static HTML/JS/CSS, no CDN)

Errors are the HTTP door's `{"error": {"code", "message"}}`: 401 no credential, 403 not an approver
(or approving one's own request), 404 unknown id, 409 expired or already decided (the message
names the state and who decided), 400 bad input, 503 store unavailable; 404 for every route when
the server has no approval store (an embedded app).
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response

from celgate.api import schema
from celgate.api.approvals import ApproverDesk
from celgate.approvals import STATES, ApprovalError
from celgate.auth import current_caller

_JSON = "application/json"
_MAX_BODY = 64 * 1024
_QUERY = {"state", "principal", "tool", "limit"}
_UI = "celgate.api.ui"


def _error(status: int, code: str, message: str, field: str = "", headers: dict[str, str] | None = None) -> Response:
    body: dict[str, Any] = {"code": code, "message": message}
    if field:
        body["field"] = field
    return Response(orjson.dumps({"error": body}), status_code=status, media_type=_JSON, headers=headers)


def _failure(e: ApprovalError) -> Response:
    headers = {"www-authenticate": 'Bearer realm="celgate"'} if e.status == 401 else None
    return _error(e.status, e.code, str(e), headers=headers)


def _ok(payload: Any) -> Response:
    return Response(orjson.dumps(payload), media_type=_JSON)


def _responses(ok: str, *extra: int) -> dict[int | str, dict[str, Any]]:
    err = {"content": {_JSON: {"schema": schema.ref("Error")}}}
    out: dict[int | str, dict[str, Any]] = {
        200: {"description": "OK", "content": {_JSON: {"schema": schema.ref(ok)}}},
        400: {"description": "Invalid input: the field and what was expected", **err},
        401: {"description": "No credential: approvers must authenticate", **err},
        403: {"description": "The caller is not an approver, or made this request itself", **err},
        404: {"description": "Unknown approval id, or no approval store on this server", **err},
        503: {"description": "The approval store is unavailable", **err},
    }
    if 409 in extra:  # the POST routes
        out[409] = {"description": "Expired or already decided: the message names the state", **err}
        out[413] = {"description": "Body over 64 KiB", **err}
        out[415] = {"description": "Content-Type is not application/json", **err}
    return out


def add_routes(app: FastAPI, desk: ApproverDesk | None) -> None:
    """Adds the approver API and the inbox to `app`; without a desk (no store) the API answers 404."""

    def unavailable() -> Response:
        return _error(404, "not_found", "approvals are not configured on this server (no approval store)")

    @app.get(
        "/v1/approvals",
        summary="List approvals, newest first (approvers only)",
        response_class=Response,
        responses=_responses("ListApprovalsResponse"),
        openapi_extra={
            "parameters": [
                {"name": "state", "in": "query", "schema": {"type": "string", "enum": list(STATES)}},
                {"name": "principal", "in": "query", "schema": {"type": "string"}},
                {"name": "tool", "in": "query", "schema": {"type": "string"}},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000}},
            ]
        },
    )
    async def list_approvals(request: Request) -> Response:
        if desk is None:
            return unavailable()
        query = request.query_params
        unknown = sorted(set(query) - _QUERY)
        if unknown:
            expected = ", ".join(sorted(_QUERY))
            return _error(400, "invalid_argument", f"unknown query parameter (expected: {expected})", unknown[0])
        state = query.get("state", "")
        if state and state not in STATES:
            return _error(400, "invalid_argument", f"expected one of {', '.join(STATES)}", "state")
        limit_text = query.get("limit", "100")
        if not limit_text.isdigit():
            return _error(400, "invalid_argument", "expected an integer from 1 to 1000", "limit")
        try:
            approvals = desk.list(
                current_caller(),
                state=state,
                principal=query.get("principal", ""),
                tool=query.get("tool", ""),
                limit=int(limit_text),
            )
        except ApprovalError as e:
            return _failure(e)
        return _ok({"approvals": [a.to_dict() for a in approvals]})

    @app.get(
        "/v1/approvals/{approval_id}",
        summary="One approval: the held request (secrets masked, policy redactions applied), why, and its state",
        response_class=Response,
        responses=_responses("Approval"),
    )
    async def get_approval(approval_id: str, request: Request) -> Response:
        if desk is None:
            return unavailable()
        try:
            return _ok(desk.get(current_caller(), approval_id).to_dict())
        except ApprovalError as e:
            return _failure(e)

    @app.get(
        "/v1/approvals/{approval_id}/status",
        summary="How an approval stands, for the caller waiting on it (any authenticated caller; no request content)",
        response_class=Response,
        responses=_responses("GetApprovalStatusResponse"),
    )
    async def approval_status(approval_id: str, request: Request) -> Response:
        if desk is None:
            return unavailable()
        try:
            return _ok(desk.status(current_caller(), approval_id).status())
        except ApprovalError as e:
            return _failure(e)

    async def decide(approval_id: str, request: Request, approve: bool) -> Response:
        if desk is None:
            return unavailable()
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > _MAX_BODY:
                return _error(413, "payload_too_large", f"request body over the {_MAX_BODY} byte limit")
        reason: Any = ""
        if body.strip():
            try:
                parsed = orjson.loads(body)
            except orjson.JSONDecodeError as e:
                return _error(400, "invalid_json", f"malformed JSON: {e}")
            if not isinstance(parsed, dict):
                return _error(400, "invalid_argument", 'expected a JSON object: {"reason": "..."}')
            unknown = sorted(set(parsed) - {"reason"})
            if unknown:
                return _error(400, "invalid_argument", "unknown field (expected only: reason)", unknown[0])
            reason = parsed.get("reason") or ""
            if not isinstance(reason, str):
                return _error(400, "invalid_argument", "expected a string", "reason")
        try:
            approval = desk.decide(current_caller(), approval_id, approve, reason, "http")
        except ApprovalError as e:
            return _failure(e)
        return _ok(approval.to_dict())

    body_doc = {
        "requestBody": {
            "required": True,
            "content": {_JSON: {"schema": schema.ref("DecideApprovalBody")}},
        }
    }

    @app.post(
        "/v1/approvals/{approval_id}/approve",
        summary="Approve a pending approval: the same request, retried with its approval_id, goes through once",
        response_class=Response,
        responses=_responses("Approval", 409),
        openapi_extra=body_doc,
    )
    async def approve(approval_id: str, request: Request) -> Response:
        return await decide(approval_id, request, True)

    @app.post(
        "/v1/approvals/{approval_id}/deny",
        summary="Deny a pending approval: a retry with its approval_id is denied",
        response_class=Response,
        responses=_responses("Approval", 409),
        openapi_extra=body_doc,
    )
    async def deny(approval_id: str, request: Request) -> Response:
        return await decide(approval_id, request, False)

    files = {
        "/ui/approvals": ("inbox.html", "text/html; charset=utf-8"),
        "/ui/approvals/inbox.js": ("inbox.js", "text/javascript; charset=utf-8"),
        "/ui/approvals/inbox.css": ("inbox.css", "text/css; charset=utf-8"),
    }
    headers = {
        # Everything the page needs is served from here: no CDN, no inline script, no framing.
        "content-security-policy": "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
        "x-content-type-options": "nosniff",
        "referrer-policy": "no-referrer",
        "cache-control": "no-store",
    }

    def static(name: str, media_type: str) -> Any:
        content = resources.files(_UI).joinpath(name).read_bytes()

        async def serve() -> Response:
            return Response(content, media_type=media_type, headers=headers)

        return serve

    for path, (name, media_type) in files.items():
        app.add_api_route(path, static(name, media_type), methods=["GET"], include_in_schema=False)
