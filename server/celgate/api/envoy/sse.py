"""Streamed (SSE) completions, checked event by event with a hold-back window.

A card number can arrive as `4111 1111` in one event and `1111 1111` in the next: judging each
event alone would pass both halves. The redactor keeps the whole streamed text, re-checks it as
events arrive, and releases only text that is at least `holdback` characters behind the newest
character and not inside a redaction span; the rest waits for more context or the end of the stream.

Supported: OpenAI chat `choices[0].delta.content`, Anthropic `content_block_delta` text deltas, and
OpenAI Responses `response.output_text.delta` (all text parts judged as one reply). What is released
for an event whose text was rewritten carries the rewritten text in the first such event and empty
deltas in the others (event count and order are kept). Responses events that repeat the text
(`response.output_text.done`, `content_part.done`, `output_item.done`, `response.completed`) are
rewritten to exactly what was sent for their part, so an unmasked copy never follows the masked
deltas. A denial mid-stream ends the content with an error event in the client's format (the status
line is already sent). Not supported, and refused by the door rather than passed: `n > 1` streamed
choices, and streams longer than `max_stream_chars`.
Bound: each check reads the whole text so far, so work per stream is O(chars x events); the
character cap keeps it finite.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from celgate.api.envoy.door import Denial
from celgate.api.envoy.mapping import ANTHROPIC, OPENAI, OPENAI_RESPONSES

Checker = Callable[[str], Any]  # text -> Decision for action `response` with that content


class StreamRefused(Exception):
    """The stream cannot be judged event by event (unsupported shape); the door ends it closed."""


@dataclass(slots=True)
class _Event:
    raw: bytes  # the event as received, terminator included
    data: Any = None  # parsed JSON of its data line, when it carries text
    start: int = -1  # offset of its text in the streamed content (-1: carries none)
    end: int = -1
    key: tuple[int, int] = (0, 0)  # Responses: (output_index, content_index) of its text part
    repeats: Any = None  # Responses: a `*.done`/`response.completed` event repeating text (parsed)


# Responses events that repeat text already streamed as deltas; celgate rewrites them from what it sent.
_RESPONSES_REPEATS = frozenset(
    {
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
        "response.incomplete",
        "response.failed",
    }
)


def _split(buffer: bytes) -> tuple[list[bytes], bytes]:
    """Complete events (each with its blank-line terminator) and the unfinished remainder."""
    events = []
    buf = buffer.replace(b"\r\n", b"\n")
    while True:
        i = buf.find(b"\n\n")
        if i < 0:
            return events, buf
        events.append(buf[: i + 2])
        buf = buf[i + 2 :]


def _data(raw: bytes) -> bytes | None:
    lines = [line[5:].lstrip(b" ") for line in raw.split(b"\n") if line.startswith(b"data:")]
    return b"\n".join(lines) if lines else None


class SseRedactor:
    """Feeds raw SSE bytes in, gets bytes safe to send out. One instance per stream; not thread-safe."""

    def __init__(
        self, dialect: str, check: Checker, holdback: int, max_chars: int, error_event: Callable[[Any], bytes]
    ) -> None:
        if dialect not in (OPENAI, ANTHROPIC, OPENAI_RESPONSES):
            raise StreamRefused(f"streamed {dialect} responses cannot be checked")
        self.dialect = dialect
        self._check = check
        self._holdback = holdback
        self._max_chars = max_chars
        self._error_event = error_event
        self._pending = b""
        self._held: list[_Event] = []
        self._text = ""  # everything streamed so far, as the model wrote it
        self._released = 0  # characters of _text already sent (in redacted form)
        self._sent = ""  # what the client got for _text[:_released]
        self.closed = False  # a denial ended the stream: everything after is dropped
        self._emitted: dict[tuple[int, int], str] = {}  # Responses: text sent per part, as sent

    def _text_of(self, data: Any) -> str | None:
        if self.dialect == OPENAI_RESPONSES:
            if isinstance(data, dict) and data.get("type") == "response.output_text.delta":
                return data["delta"] if isinstance(data.get("delta"), str) else None
            return None
        if self.dialect == OPENAI:
            choices = data.get("choices") if isinstance(data, dict) else None
            if not choices:
                return None
            for c in choices:
                if isinstance(c, dict) and c.get("index", 0) != 0 and (c.get("delta") or {}).get("content"):
                    raise StreamRefused("streamed completions with n > 1 cannot be checked")
            delta = choices[0].get("delta") if isinstance(choices[0], dict) else None
            text = delta.get("content") if isinstance(delta, dict) else None
            return text if isinstance(text, str) else None
        if isinstance(data, dict) and data.get("type") == "content_block_delta":
            delta = data.get("delta") or {}
            if delta.get("type") == "text_delta" and isinstance(delta.get("text"), str):
                return delta["text"]
        return None

    def _set_text(self, event: _Event, text: str) -> bytes:
        data = event.data
        if self.dialect == OPENAI:
            data["choices"][0]["delta"]["content"] = text
        elif self.dialect == OPENAI_RESPONSES:
            data["delta"] = text
        else:
            data["delta"]["text"] = text
        head = b"".join(line + b"\n" for line in event.raw.split(b"\n") if line and not line.startswith(b"data:"))
        return head + b"data: " + orjson.dumps(data) + b"\n\n"

    def feed(self, chunk: bytes, end: bool) -> bytes:
        if self.closed:
            return b""
        events, self._pending = _split(self._pending + chunk)
        if end and self._pending.strip():
            events.append(self._pending + b"\n\n")
            self._pending = b""
        for raw in events:
            ev = _Event(raw)
            payload = _data(raw)
            if payload is not None and payload.strip() and payload.strip() != b"[DONE]":
                try:
                    data = orjson.loads(payload)
                except orjson.JSONDecodeError:
                    data = None
                text = self._text_of(data) if data is not None else None
                if text is not None:
                    ev.data, ev.start = data, len(self._text)
                    self._text += text
                    ev.end = len(self._text)
                    if self.dialect == OPENAI_RESPONSES:
                        ev.key = (_int(data.get("output_index")), _int(data.get("content_index")))
                elif (
                    self.dialect == OPENAI_RESPONSES
                    and isinstance(data, dict)
                    and data.get("type") in _RESPONSES_REPEATS
                ):
                    ev.repeats = data
            self._held.append(ev)
        if len(self._text) > self._max_chars:
            return self._close(
                {
                    "code": "invalid_request",
                    "message": f"streamed completion exceeds {self._max_chars} characters; cut off",
                }
            )
        return self._release(end)

    def _close(self, error: dict[str, Any]) -> bytes:
        self.closed = True
        self._held.clear()
        return self._error_event(error)

    def _release(self, end: bool) -> bytes:
        if not self._held:
            return b""
        target = len(self._text) if end else len(self._text) - self._holdback
        text_events = [e for e in self._held if e.start >= 0]
        if not text_events or (not end and text_events[0].end > target):
            # Nothing with text may go yet; events before the first held text event can.
            return self._flush_until(text_events[0] if text_events else None, end)
        decision = self._check(self._text)
        if decision.effect != "allow":
            denial = Denial.of(decision)
            return self._close({"code": denial.code, "message": denial.message, "decision_id": decision.decision_id})
        spans = [(r.start, r.end) for r in decision.redactions if r.field == "response.content"]
        # The release point: the end of a text event, at most `target`, and never inside a span.
        cut = -1
        for e in text_events:
            if e.end > target:
                break
            if not any(s < e.end < t for s, t in spans):
                cut = e.end
        if cut < 0:
            return self._flush_until(text_events[0], end)
        if any(s < cut and t > self._released for s, t in spans):
            prefix = self._check(self._text[:cut])
            redacted = prefix.rewritten.get("response.content", self._text[:cut])
        else:
            redacted = self._sent + self._text[self._released : cut]
        # If a late span reached into text already sent, that part is gone; the rest is still masked.
        new = redacted[len(self._sent) :]
        changed = new != self._text[self._released : cut]
        out: list[bytes] = []
        first = True
        while self._held:
            e = self._held[0]
            if e.start >= 0 and e.end > cut:
                break
            self._held.pop(0)
            if e.start >= 0 and changed:
                out.append(self._out(e, new if first else ""))
                first = False
            else:
                out.append(self._out(e))
        self._released, self._sent = cut, redacted
        if end:
            out.append(self._flush_until(None, True))
        return b"".join(out)

    def _flush_until(self, stop: _Event | None, end: bool) -> bytes:
        out = []
        while self._held and self._held[0] is not stop and (self._held[0].start < 0 or end):
            out.append(self._out(self._held.pop(0)))
        return b"".join(out)

    def _out(self, e: _Event, text: str | None = None) -> bytes:
        """The bytes of an event as released (`text`: its rewritten text); Responses events that
        repeat the text get what was actually sent for their part, so no unmasked copy slips out."""
        if self.dialect != OPENAI_RESPONSES:
            return e.raw if text is None else self._set_text(e, text)
        if e.start >= 0:
            sent = self._text[e.start : e.end] if text is None else text
            self._emitted[e.key] = self._emitted.get(e.key, "") + sent
            return e.raw if text is None else self._set_text(e, text)
        if e.repeats is None:
            return e.raw
        data = e.repeats
        kind = data.get("type")
        oi, ci = _int(data.get("output_index")), _int(data.get("content_index"))
        if kind == "response.output_text.done":
            data["text"] = self._emitted.get((oi, ci), "")
        elif kind == "response.content_part.done" and isinstance(data.get("part"), dict):
            if data["part"].get("type") == "output_text":
                data["part"]["text"] = self._emitted.get((oi, ci), "")
        elif kind == "response.output_item.done":
            self._fix_item(oi, data.get("item"))
        elif isinstance(data.get("response"), dict):
            for index, item in enumerate(data["response"].get("output") or []):
                self._fix_item(index, item)
        head = b"".join(line + b"\n" for line in e.raw.split(b"\n") if line and not line.startswith(b"data:"))
        return head + b"data: " + orjson.dumps(data) + b"\n\n"

    def _fix_item(self, output_index: int, item: Any) -> None:
        if not isinstance(item, dict) or not isinstance(item.get("content"), list):
            return
        for ci, part in enumerate(item["content"]):
            if isinstance(part, dict) and part.get("type") == "output_text":
                part["text"] = self._emitted.get((output_index, ci), "")


def _int(value: Any) -> int:
    return value if isinstance(value, int) else 0
