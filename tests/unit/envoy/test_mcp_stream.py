"""MCP tools/call answers over SSE: the result is judged, what cannot be judged is withheld."""

from __future__ import annotations

import json
from typing import Any

import pytest

from celgate.api.envoy.mcp_stream import McpSseJudge


def _ev(doc: Any, event_id: str = "") -> bytes:
    head = f"id: {event_id}\n" if event_id else ""
    return f"{head}event: message\ndata: {json.dumps(doc)}\n\n".encode()


def _judge(doc: dict[str, Any]) -> dict[str, Any]:
    return {**doc, "result": {"content": [{"type": "text", "text": "judged"}]}}


def test_result_judged_progress_passes_the_rest_is_withheld() -> None:
    j = McpSseJudge(4, _judge, 1 << 20)
    primer = b"id: p1\nretry: 1000\ndata: \n\n"
    progress = _ev({"jsonrpc": "2.0", "method": "notifications/progress", "params": {"progress": 1}})
    log = _ev({"jsonrpc": "2.0", "method": "notifications/message", "params": {"data": "4111 1111 1111 1111"}})
    other = _ev({"jsonrpc": "2.0", "id": 99, "result": {"content": []}})
    result = _ev({"jsonrpc": "2.0", "id": 4, "result": {"content": [{"type": "text", "text": "raw"}]}}, "e9")
    blob = primer + progress + log + other + result
    out = b"".join(j.feed(blob[i : i + 7], i + 7 >= len(blob)) for i in range(0, len(blob), 7))
    assert out.startswith(primer + progress)
    assert b"4111" not in out and b"raw" not in out and b'"id": 99' not in out
    judged = b'{"jsonrpc":"2.0","id":4,"result":{"content":[{"type":"text","text":"judged"}]}}'
    assert out.endswith(b"id: e9\nevent: message\ndata: " + judged + b"\n\n")
    assert j.answered


def test_unterminated_last_event_is_judged_at_the_end() -> None:
    j = McpSseJudge("a", _judge, 1 << 20)
    raw = b'data: {"jsonrpc":"2.0","id":"a","result":{"content":[]}}'
    assert j.feed(raw, False) == b""
    assert b"judged" in j.feed(b"", True) and j.answered


def test_an_event_over_the_limit_fails() -> None:
    j = McpSseJudge(1, _judge, 16)
    with pytest.raises(ValueError):
        j.feed(b"data: " + b"x" * 64, False)
