"""Denials in the client's own language, so SDKs surface the policy's message instead of a parse error.

OpenAI SDKs read `{"error": {"message", "type", "code"}}`, Anthropic SDKs `{"type": "error",
"error": {"type", "message"}}`, MCP clients a JSON-RPC error object with the request's id. Every
body carries the decision id (and the approval id when a human must approve) so a user can quote
it and an operator can find the decision in the log.
"""

from __future__ import annotations

import itertools
import logging
import os
from typing import Any

import orjson

from celgate.api.envoy.mapping import ANTHROPIC, MCP, OPENAI, OPENAI_RESPONSES

log = logging.getLogger("celgate.envoy")

# JSON-RPC server-error range (-32000..-32099): policy denial and pending approval.
RPC_DENIED = -32001
RPC_APPROVAL = -32002
RPC_INVALID = -32600


def error_body(
    dialect: str,
    *,
    code: str,
    message: str,
    decision_id: str = "",
    approval_id: str = "",
    rpc_id: Any = None,
) -> bytes:
    """The 403 body for one dialect; `code` is one of the codes of `door.KINDS` or `invalid_request`/`unavailable`."""
    extra: dict[str, Any] = {}
    if decision_id:
        extra["decision_id"] = decision_id
    if approval_id:
        extra["approval_id"] = approval_id
    if dialect == MCP:
        rpc_code = {"approval_required": RPC_APPROVAL, "invalid_request": RPC_INVALID}.get(code, RPC_DENIED)
        return orjson.dumps(
            {
                "jsonrpc": "2.0",
                "id": rpc_id,
                "error": {"code": rpc_code, "message": message, "data": {"code": code, **extra}},
            }
        )
    if dialect == ANTHROPIC:
        kind = "invalid_request_error" if code == "invalid_request" else "permission_error"
        return orjson.dumps({"type": "error", "error": {"type": kind, "message": message, "code": code, **extra}})
    if dialect in (OPENAI, OPENAI_RESPONSES):
        kind = "invalid_request_error" if code == "invalid_request" else "permission_error"
        return orjson.dumps({"error": {"message": message, "type": kind, "code": code, "param": None, **extra}})
    # Anything else gets the OpenAI shape: the most widely parsed JSON error in this ecosystem.
    return orjson.dumps({"error": {"message": message, "type": "permission_error", "code": code, **extra}})


def mcp_denial(
    rpc_id: Any,
    *,
    code: str,
    message: str,
    decision_id: str = "",
    approval_id: str = "",
    as_result: bool = True,
) -> dict[str, Any]:
    """A denied MCP `tools/call` as the JSON-RPC answer to that call.

    `as_result`: a tool result with `isError: true` whose text is the reason — what the MCP SDKs hand
    an agent loop as an ordinary result, so the model learns why instead of the loop aborting — with
    the codes and ids in `_meta`. Otherwise a JSON-RPC error, which the SDKs raise.
    """
    extra: dict[str, Any] = {"code": code}
    if decision_id:
        extra["decision_id"] = decision_id
    if approval_id:
        extra["approval_id"] = approval_id
    if not as_result:
        rpc_code = {"approval_required": RPC_APPROVAL, "invalid_request": RPC_INVALID}.get(code, RPC_DENIED)
        return {"jsonrpc": "2.0", "id": rpc_id, "error": {"code": rpc_code, "message": message, "data": extra}}
    ids = f" (decision {decision_id})" if decision_id else ""
    text = f"celgate denied this tool call: {message}{ids}"
    if code == "approval_required":
        text = f"celgate: this tool call needs a human approval: {message}{ids}"
    return {
        "jsonrpc": "2.0",
        "id": rpc_id,
        "result": {
            "content": [{"type": "text", "text": text}],
            "isError": True,
            "resultType": "complete",
            "_meta": {"celgate": extra},
        },
    }


_DOOR_PREFIX = "door-" + os.urandom(4).hex()
_door_ids = itertools.count(1)


def door_decision_id(code: str, message: str) -> str:
    """An id for an answer the door gave without a policy decision (unreadable body, a route celgate
    cannot judge, a reply it cannot read): the client still gets an id to quote, and this log line
    is where an operator finds it."""
    decision_id = f"{_DOOR_PREFIX}-{next(_door_ids):012d}"
    log.warning("envoy: refused without a policy decision [%s] %s: %s", decision_id, code, message)
    return decision_id
