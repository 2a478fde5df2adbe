"""A stand-in model provider that speaks the wire formats the official SDKs parse, fully.

OpenAI: chat completions (JSON and SSE chunks), Responses (JSON and the whole typed event stream:
created, output_item/content_part added, output_text deltas, the `*.done` events that repeat the
text, completed), and the side endpoints the SDKs offer (legacy completions, embeddings, input
token counts, models). Anthropic: messages (JSON and the event stream: message_start,
content_block_*, ping, message_delta, message_stop), count_tokens, batches.

Like a real provider it gzips a reply when the request says `accept-encoding: gzip` (so a gateway
that forwards the SDKs' header gets compressed bodies), and it records every request it received so
a test can see exactly what reached the model after celgate.
"""

from __future__ import annotations

import gzip
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CARD = "4111 1111 1111 1111"
CARD_REPLY = f"Sure: the card on file is {CARD}, expiring soon."
# Long enough to split over many stream events; nothing in it for a policy to mind.
LONG_REPLY = "The quick brown fox jumps over the lazy dog. " * 6


def reply_for(text: str) -> str:
    if "card on file" in text:
        return CARD_REPLY
    if "long story" in text:
        return LONG_REPLY
    return "echo: " + text


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def _last_user_text(doc: dict[str, Any]) -> str:
    if isinstance(doc.get("input"), str):
        return doc["input"]
    items = doc.get("messages") or doc.get("input") or []
    for m in reversed(items if isinstance(items, list) else []):
        if isinstance(m, dict) and m.get("role") == "user":
            return _text_of(m.get("content"))
    return ""


def _chunks(text: str, size: int = 3) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ModelServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    # ---- plumbing -----------------------------------------------------------------------------

    def _send(self, status: int, doc: Any) -> None:
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        # A real provider compresses when asked; `x-test-encoding` stands for one that does regardless
        # (gzip really compresses; any other name just labels the body, like a codec celgate lacks).
        forced = self.headers.get("x-test-encoding", "")
        if "gzip" in self.headers.get("accept-encoding", "") or forced == "gzip":
            body = gzip.compress(body)
            self.send_header("content-encoding", "gzip")
        elif forced:
            self.send_header("content-encoding", forced)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _start_stream(self) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()

    def _chunk(self, data: bytes) -> None:
        """One HTTP chunk per event, so secrets land split across events and chunks."""
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _event(self, data: Any, name: str | None = None) -> None:
        head = f"event: {name}\n".encode() if name else b""
        self._chunk(head + b"data: " + (data if isinstance(data, bytes) else json.dumps(data).encode()) + b"\n\n")

    def _end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    # ---- routes -------------------------------------------------------------------------------

    def do_GET(self) -> None:
        self.server.received.append({"method": "GET", "path": self.path, "headers": dict(self.headers), "body": None})
        if self.path.rstrip("/").endswith("/models"):
            self._send(200, {"object": "list", "data": [{"id": "gpt-test", "object": "model", "owned_by": "test"}]})
        else:
            self._send(404, {"error": {"message": f"no route {self.path}", "type": "invalid_request_error"}})

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("content-length", "0")))
        doc = json.loads(raw) if raw else {}
        self.server.received.append({"method": "POST", "path": self.path, "headers": dict(self.headers), "body": doc})
        path = self.path.split("?", 1)[0].rstrip("/")
        text = reply_for(_last_user_text(doc))
        if path.endswith("/chat/completions"):
            self._chat(doc, text)
        elif path.endswith("/responses/input_tokens"):
            self._send(200, {"object": "response.input_tokens", "input_tokens": 7})
        elif path.endswith("/responses"):
            self._responses(doc, text)
        elif path.endswith("/messages/count_tokens"):
            self._send(200, {"input_tokens": 7})
        elif path.endswith("/messages/batches"):
            self._send(200, _batch())
        elif path.endswith("/messages"):
            self._messages(doc, text)
        elif path.endswith("/completions"):
            self._send(
                200,
                {
                    "id": "cmpl-1",
                    "object": "text_completion",
                    "created": 1,
                    "model": doc.get("model"),
                    "choices": [{"index": 0, "text": "echo: " + str(doc.get("prompt")), "finish_reason": "stop"}],
                },
            )
        elif path.endswith("/embeddings"):
            self._send(
                200,
                {
                    "object": "list",
                    "model": doc.get("model"),
                    "data": [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2]}],
                    "usage": {"prompt_tokens": 1, "total_tokens": 1},
                },
            )
        else:
            self._send(404, {"error": {"message": f"no route {self.path}", "type": "invalid_request_error"}})

    # ---- OpenAI chat --------------------------------------------------------------------------

    def _chat(self, doc: dict[str, Any], text: str) -> None:
        base = {"id": "chatcmpl-1", "created": 1, "model": doc.get("model") or "gpt-test"}
        if not doc.get("stream"):
            self._send(
                200,
                {
                    **base,
                    "object": "chat.completion",
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": text},
                            "finish_reason": "stop",
                            "logprobs": None,
                        }
                    ],
                    "usage": {"prompt_tokens": 5, "completion_tokens": 5, "total_tokens": 10},
                },
            )
            return

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            return {
                **base,
                "object": "chat.completion.chunk",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
            }

        self._start_stream()
        self._event(chunk({"role": "assistant", "content": ""}))
        for piece in _chunks(text):
            self._event(chunk({"content": piece}))
        self._event(chunk({}, "stop"))
        self._event(b"[DONE]")
        self._end_stream()

    # ---- OpenAI Responses ---------------------------------------------------------------------

    def _responses(self, doc: dict[str, Any], text: str) -> None:
        def item(body: str, status: str) -> dict[str, Any]:
            return {
                "id": "msg_1",
                "type": "message",
                "status": status,
                "role": "assistant",
                "content": [{"type": "output_text", "text": body, "annotations": []}] if status else [],
            }

        def response(status: str, output: list[dict[str, Any]]) -> dict[str, Any]:
            return {
                "id": "resp_1",
                "object": "response",
                "created_at": 1,
                "status": status,
                "model": doc.get("model") or "gpt-test",
                "output": output,
                "parallel_tool_calls": True,
                "tool_choice": "auto",
                "tools": [],
                "usage": {
                    "input_tokens": 5,
                    "output_tokens": 5,
                    "total_tokens": 10,
                    "input_tokens_details": {"cached_tokens": 0},
                    "output_tokens_details": {"reasoning_tokens": 0},
                },
            }

        if not doc.get("stream"):
            self._send(200, response("completed", [item(text, "completed")]))
            return
        seq = iter(range(1_000_000))

        def ev(kind: str, **fields: Any) -> None:
            self._event({"type": kind, "sequence_number": next(seq), **fields}, kind)

        where = {"item_id": "msg_1", "output_index": 0, "content_index": 0}
        self._start_stream()
        ev("response.created", response=response("in_progress", []))
        ev("response.in_progress", response=response("in_progress", []))
        ev("response.output_item.added", output_index=0, item={**item("", ""), "status": "in_progress"})
        ev("response.content_part.added", **where, part={"type": "output_text", "text": "", "annotations": []})
        for piece in _chunks(text):
            ev("response.output_text.delta", **where, delta=piece, logprobs=[])
        ev("response.output_text.done", **where, text=text, logprobs=[])
        ev("response.content_part.done", **where, part={"type": "output_text", "text": text, "annotations": []})
        ev("response.output_item.done", output_index=0, item=item(text, "completed"))
        ev("response.completed", response=response("completed", [item(text, "completed")]))
        self._end_stream()

    # ---- Anthropic ----------------------------------------------------------------------------

    def _messages(self, doc: dict[str, Any], text: str) -> None:
        message = {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": doc.get("model") or "claude-test",
            "stop_sequence": None,
        }
        if not doc.get("stream"):
            self._send(
                200,
                {
                    **message,
                    "content": [{"type": "text", "text": text}],
                    "stop_reason": "end_turn",
                    "usage": {"input_tokens": 5, "output_tokens": 5},
                },
            )
            return
        self._start_stream()
        start = {**message, "content": [], "stop_reason": None, "usage": {"input_tokens": 5, "output_tokens": 0}}
        self._event({"type": "message_start", "message": start}, "message_start")
        block = {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
        self._event(block, "content_block_start")
        self._event({"type": "ping"}, "ping")
        for piece in _chunks(text):
            delta = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}}
            self._event(delta, "content_block_delta")
        self._event({"type": "content_block_stop", "index": 0}, "content_block_stop")
        self._event(
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": 5},
            },
            "message_delta",
        )
        self._event({"type": "message_stop"}, "message_stop")
        self._end_stream()


def _batch() -> dict[str, Any]:
    return {
        "id": "msgbatch_1",
        "type": "message_batch",
        "processing_status": "in_progress",
        "request_counts": {"processing": 1, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0},
        "created_at": "2026-01-01T00:00:00Z",
        "expires_at": "2026-01-02T00:00:00Z",
        "ended_at": None,
        "cancel_initiated_at": None,
        "archived_at": None,
        "results_url": None,
    }


class ModelServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.received: list[dict[str, Any]] = []

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def last(self, suffix: str) -> dict[str, Any]:
        """The newest request whose path ends with `suffix`."""
        for r in reversed(self.received):
            if r["path"].split("?", 1)[0].rstrip("/").endswith(suffix):
                return r
        raise AssertionError(f"no request to {suffix} reached the model")

    def count(self, suffix: str) -> int:
        return sum(1 for r in self.received if r["path"].split("?", 1)[0].rstrip("/").endswith(suffix))


def start() -> ModelServer:
    server = ModelServer()
    threading.Thread(target=server.serve_forever, name="stand-in-model", daemon=True).start()
    return server
