"""Denials in the client's own language, so SDKs surface the policy's message instead of a parse error.

OpenAI SDKs read `{"error": {"message", "type", "code"}}`, Anthropic SDKs `{"type": "error",
"error": {"type", "message"}}`, MCP clients a JSON-RPC error object with the request's id. Every
body carries the decision id (and the approval id when a human must approve) so a user can quote
it and an operator can find the decision in the log.
"""

from __future__ import annotations

from typing import Any

import orjson

from celgate.api.envoy.mapping import ANTHROPIC, MCP, OPENAI, OPENAI_RESPONSES

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
