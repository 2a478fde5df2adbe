"""The SSE hold-back: a secret split across events is masked, clean streams pass byte for byte."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import celgate
from celgate.api.envoy.mapping import ANTHROPIC, OPENAI, OPENAI_RESPONSES
from celgate.api.envoy.sse import SseRedactor, StreamRefused

POLICIES = Path(__file__).parents[2] / "e2e" / "envoy" / "policies"


@pytest.fixture(scope="module")
def engine() -> celgate.Engine:
    return celgate.load(POLICIES)


def _openai_events(text: str, size: int) -> list[bytes]:
    out = []
    for i in range(0, len(text), size):
        doc = {"choices": [{"index": 0, "delta": {"content": text[i : i + size]}}]}
        out.append(b"data: " + json.dumps(doc).encode() + b"\n\n")
    return [*out, b"data: [DONE]\n\n"]


def _redactor(engine: celgate.Engine, dialect: str = OPENAI, holdback: int = 32) -> SseRedactor:
    def check(text: str) -> celgate.Decision:
        return engine.check({"action": "response", "response": {"content": text}})

    return SseRedactor(dialect, check, holdback, 10_000, lambda err: b"data: " + json.dumps(err).encode() + b"\n\n")


def _text(raw: bytes) -> str:
    out = ""
    for e in raw.decode().split("\n\n"):
        data = [line[6:] for line in e.split("\n") if line.startswith("data: {")]
        if data:
            doc = json.loads(data[0])
            out += (
                doc["choices"][0]["delta"].get("content", "")
                if "choices" in doc
                else doc.get("delta", {}).get("text", "")
            )
    return out


@pytest.mark.parametrize("size", [1, 2, 3, 7, 50])
def test_card_split_across_events_is_masked(engine: celgate.Engine, size: int) -> None:
    text = "your card 4111 1111 1111 1111 is fine, and so is the rest of this long reply."
    r = _redactor(engine)
    events = _openai_events(text, size)
    # Arbitrary TCP chunking: split the byte stream at odd places too.
    blob = b"".join(events)
    chunks = [blob[i : i + 11] for i in range(0, len(blob), 11)]
    out = b"".join(r.feed(c, i == len(chunks) - 1) for i, c in enumerate(chunks))
    assert _text(out) == "your card [credit_card] is fine, and so is the rest of this long reply."
    assert out.endswith(b"data: [DONE]\n\n")


def test_clean_stream_is_unchanged(engine: celgate.Engine) -> None:
    events = _openai_events("nothing secret here at all, just words and more words", 4)
    r = _redactor(engine)
    out = b"".join(r.feed(e, i == len(events) - 1) for i, e in enumerate(events))
    assert out == b"".join(events)


def test_anthropic_deltas(engine: celgate.Engine) -> None:
    text = "card: 4111111111111111 done"
    events = [b'event: message_start\ndata: {"type":"message_start"}\n\n']
    for i in range(0, len(text), 4):
        d = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text[i : i + 4]}}
        events.append(b"event: content_block_delta\ndata: " + json.dumps(d).encode() + b"\n\n")
    events.append(b'event: message_stop\ndata: {"type":"message_stop"}\n\n')
    r = _redactor(engine, ANTHROPIC)
    out = b"".join(r.feed(e, i == len(events) - 1) for i, e in enumerate(events))
    assert _text(out) == "card: [credit_card] done"
    assert out.count(b"event: content_block_delta") == len(events) - 2


def test_holdback_releases_early_text(engine: celgate.Engine) -> None:
    r = _redactor(engine, holdback=8)
    first = r.feed(_openai_events("a" * 40, 40)[0], False)
    assert _text(first) == "a" * 40 or first == b""  # one event: released only once it is 8 chars behind
    second = r.feed(_openai_events("b" * 20, 20)[0], False)
    assert "a" * 40 in _text(first + second)


def test_unsupported_shapes_are_refused(engine: celgate.Engine) -> None:
    with pytest.raises(StreamRefused):
        SseRedactor("other", lambda t: None, 8, 100, lambda e: b"")
    r = _redactor(engine)
    doc = {"choices": [{"index": 1, "delta": {"content": "x"}}]}
    with pytest.raises(StreamRefused):
        r.feed(b"data: " + json.dumps(doc).encode() + b"\n\n", False)


def test_too_long_stream_is_cut(engine: celgate.Engine) -> None:
    def check(text: str) -> celgate.Decision:
        return engine.check({"action": "response", "response": {"content": text}})

    r = SseRedactor(OPENAI, check, 8, 50, lambda err: b"ERR " + err["message"].encode())
    out = r.feed(b"".join(_openai_events("x" * 60, 10)[:-1]), False)
    assert out.startswith(b"ERR") and r.closed
    assert r.feed(b"data: [DONE]\n\n", True) == b""


def _responses_events(text: str, size: int) -> list[bytes]:
    """A Responses stream: deltas, then the events that repeat the whole text."""

    def ev(kind: str, **fields: object) -> bytes:
        return f"event: {kind}\ndata: ".encode() + json.dumps({"type": kind, **fields}).encode() + b"\n\n"

    where = {"item_id": "m", "output_index": 0, "content_index": 0}
    item = {"type": "message", "content": [{"type": "output_text", "text": text}]}
    return [
        ev("response.created", response={"output": []}),
        *[ev("response.output_text.delta", **where, delta=text[i : i + size]) for i in range(0, len(text), size)],
        ev("response.output_text.done", **where, text=text),
        ev("response.content_part.done", **where, part={"type": "output_text", "text": text}),
        ev("response.output_item.done", output_index=0, item=item),
        ev("response.completed", response={"output": [item]}),
    ]


@pytest.mark.parametrize("size", [1, 4, 50])
def test_responses_stream_masked_in_deltas_and_every_repeat(engine: celgate.Engine, size: int) -> None:
    text = "card 4111 1111 1111 1111 on file, and the rest of a reply long enough to stream."
    r = _redactor(engine, OPENAI_RESPONSES)
    out = b"".join(r.feed(e, i == len(ev) - 1) for ev in [_responses_events(text, size)] for i, e in enumerate(ev))
    masked = text.replace("4111 1111 1111 1111", "[credit_card]")
    docs = [json.loads(line[6:]) for line in out.decode().split("\n") if line.startswith("data: ")]
    assert "".join(d["delta"] for d in docs if d["type"] == "response.output_text.delta") == masked
    by_type = {d["type"]: d for d in docs}
    assert by_type["response.output_text.done"]["text"] == masked
    assert by_type["response.content_part.done"]["part"]["text"] == masked
    assert by_type["response.output_item.done"]["item"]["content"][0]["text"] == masked
    assert by_type["response.completed"]["response"]["output"][0]["content"][0]["text"] == masked
    assert b"4111" not in out


def test_responses_repeat_without_deltas_carries_nothing_unjudged(engine: celgate.Engine) -> None:
    r = _redactor(engine, OPENAI_RESPONSES)
    done = {"type": "response.output_text.done", "output_index": 0, "content_index": 0, "text": "4111 1111 1111 1111"}
    out = r.feed(b"data: " + json.dumps(done).encode() + b"\n\n", True)
    assert json.loads(out.decode()[6:])["text"] == ""
