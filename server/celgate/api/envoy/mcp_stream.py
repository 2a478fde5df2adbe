"""An MCP `tools/call` answered as SSE (streamable HTTP's default): judged event by event.

The official MCP servers answer a POST with `text/event-stream` whenever they may send something
before the result (progress, log messages, requests to the client). The result is one event among
them; this reader finds it — the JSON-RPC response with the call's id — and hands it to the door's
judge, which returns what to send instead (the result masked, or a denial). The other events:

- events with no data (the server's resumability primers, comments) pass as they are;
- `notifications/progress` passes (a number and a short status line from the server);
- anything else (log messages, requests to the client, unparseable data) is withheld: celgate has
  no policy road for it, and passing it would be the bypass issue #17 closed.

Everything is held until a complete event has arrived, so a result split over chunks is judged whole.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import orjson

log = logging.getLogger("celgate.envoy")

Judge = Callable[[dict[str, Any]], dict[str, Any]]  # the JSON-RPC answer -> what the client gets instead
PASSED_NOTIFICATIONS = frozenset({"notifications/progress"})


def _split(buffer: bytes) -> tuple[list[bytes], bytes]:
    events = []
    buf = buffer.replace(b"\r\n", b"\n")
    while True:
        i = buf.find(b"\n\n")
        if i < 0:
            return events, buf
        events.append(buf[: i + 2])
        buf = buf[i + 2 :]


class McpSseJudge:
    """Feed it the SSE body of one tools/call answer; it returns the bytes safe to send on."""

    def __init__(self, rpc_id: Any, judge: Judge, max_bytes: int) -> None:
        self._rpc_id = rpc_id
        self._judge = judge
        self._max_bytes = max_bytes
        self._pending = b""
        self.answered = False  # the call's answer has been judged and sent

    def feed(self, chunk: bytes, end: bool) -> bytes:
        events, self._pending = _split(self._pending + chunk)
        if end and self._pending.strip():
            events.append(self._pending + b"\n\n")
            self._pending = b""
        if len(self._pending) > self._max_bytes:
            raise ValueError(f"an MCP event exceeds {self._max_bytes} bytes")
        return b"".join(self._event(raw) for raw in events)

    def _event(self, raw: bytes) -> bytes:
        lines = raw.rstrip(b"\n").split(b"\n")
        data = [line[5:].removeprefix(b" ") for line in lines if line.startswith(b"data:")]
        payload = b"\n".join(data)
        if not payload.strip():
            return raw  # priming event (id/retry only) or comment
        try:
            doc = orjson.loads(payload)
        except orjson.JSONDecodeError:
            log.warning("MCP stream: withheld an event that is not JSON")
            return b""
        if isinstance(doc, dict) and "method" not in doc and doc.get("id") == self._rpc_id:
            self.answered = True
            head = b"".join(line + b"\n" for line in lines if not line.startswith(b"data:"))
            return head + b"data: " + orjson.dumps(self._judge(doc)) + b"\n\n"
        if isinstance(doc, dict) and doc.get("method") in PASSED_NOTIFICATIONS:
            return raw
        method = doc.get("method") if isinstance(doc, dict) else None
        log.warning("MCP stream: withheld a %s message celgate cannot judge", method or "non-result")
        return b""
