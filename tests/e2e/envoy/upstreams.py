"""Stand-ins for what Envoy fronts in the e2e tests: an OpenAI-compatible model (incl. SSE) and an MCP server.

Both record the bodies they receive, so a test can see exactly what reached the model after celgate.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CARD_REPLY = "Sure: the card on file is 4111 1111 1111 1111, expiring soon."


def _reply_for(messages: list[dict[str, Any]]) -> str:
    last = messages[-1]["content"] if messages else ""
    if isinstance(last, list):
        last = " ".join(p.get("text", "") for p in last if isinstance(p, dict))
    if "card on file" in last:
        return CARD_REPLY
    return "echo: " + last


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, doc: Any, ctype: str = "application/json") -> None:
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("content-type", ctype)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self.server.received.append({"path": self.path, "body": None})
        self._send(200, {"ok": True, "path": self.path})

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", "0"))
        raw = self.rfile.read(length)
        doc = json.loads(raw) if raw else None
        self.server.received.append({"path": self.path, "body": doc, "headers": dict(self.headers)})
        if self.server.kind == "mcp":
            self._mcp(doc)
        elif self.path.endswith("/messages"):
            text = _reply_for(doc.get("messages", []))
            self._send(
                200,
                {
                    "id": "msg_1",
                    "type": "message",
                    "role": "assistant",
                    "model": doc.get("model"),
                    "content": [{"type": "text", "text": text}],
                    "stop_reason": "end_turn",
                },
            )
        elif doc.get("stream"):
            self._stream(_reply_for(doc.get("messages", [])))
        else:
            text = _reply_for(doc.get("messages", []))
            self._send(
                200,
                {
                    "id": "chatcmpl-1",
                    "object": "chat.completion",
                    "model": doc.get("model"),
                    "choices": [
                        {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
                    ],
                },
            )

    def _mcp(self, doc: dict[str, Any]) -> None:
        if doc.get("method") == "tools/call":
            name = doc["params"]["name"]
            args = doc["params"].get("arguments", {})
            result = {"content": [{"type": "text", "text": f"ran {name} with {json.dumps(args)}"}]}
            self._send(200, {"jsonrpc": "2.0", "id": doc.get("id"), "result": result})
        elif doc.get("method") == "tools/list":  # a listing without tools: judged (and passed) as such
            self._send(200, {"jsonrpc": "2.0", "id": doc.get("id"), "result": {"tools": []}})
        else:
            self._send(200, {"jsonrpc": "2.0", "id": doc.get("id"), "result": {}})

    def _stream(self, text: str) -> None:
        """Three characters per event, one HTTP chunk per event: secrets land split across events."""
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()

        def chunk(data: bytes) -> None:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

        def event(delta: dict[str, Any], finish: str | None = None) -> bytes:
            doc = {
                "id": "chatcmpl-1",
                "object": "chat.completion.chunk",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
            return b"data: " + json.dumps(doc).encode() + b"\n\n"

        chunk(event({"role": "assistant", "content": ""}))
        for i in range(0, len(text), 3):
            chunk(event({"content": text[i : i + 3]}))
        chunk(event({}, "stop"))
        chunk(b"data: [DONE]\n\n")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, kind: str) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.kind = kind
        self.received: list[dict[str, Any]] = []


def start(kind: str) -> _Server:
    """Starts a stand-in ("model" or "mcp") on a free loopback port, serving from a daemon thread."""
    server = _Server(kind)
    threading.Thread(target=server.serve_forever, name=f"stand-in-{kind}", daemon=True).start()
    return server
