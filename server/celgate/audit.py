"""The decision log: one JSON line per decision, written off the hot path.

The `Decider` calls `DecisionLog.record(decision, request, door, latency_s)` once per decision (no
door writes it). It only puts a tuple on a bounded queue; a background thread formats and writes.
A slow or full sink therefore never blocks a decision: when the queue is full the entry is dropped
and counted (`celgate_decision_log_dropped_total`). Content (prompts, replies, tool arguments and results,
documents) is never logged raw: only its length and a keyed hash, or, when configured, the
decision's redacted rewrite. Reason messages and detector findings are not logged either, since a
policy's message may quote the content it matched.

Keyed, not plain, hashes (HMAC-SHA256 with the deployment's `decision_log_key`): a plain sha256 of
low-entropy content (a card number alone, a yes/no answer) can be guessed back by hashing
candidates. Identifiers a caller chooses and that can carry a secret — `principal.id`, tenant,
request id — are logged as keyed hashes too (`h:` and 16 hex digits; an operator holding the key
computes the same hash of a known id to find its decisions, see `Hasher.ident`); a tool name is
logged as written unless it looks like a secret or personal data, then it is hashed. In `redacted`
content mode every PII and secret finding of the rewrite is masked, not only the ones an enforced
rule redacted (an e-mail address the policies only audit is still an e-mail address).
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import os
import queue
import re
import secrets
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

import orjson

from celgate import logsinks, metrics
from celgate.engine import content
from celgate.v1 import decision_pb2 as pb

_STOP = object()


class RotatingSink:
    """Appends lines to a file and rotates it by size (`path.1` … `path.N`)."""

    def __init__(self, path: str, max_bytes: int, backups: int) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.backups = backups
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh: IO[bytes] = open(self.path, "ab")  # noqa: SIM115 - kept open for the process lifetime
        self._size = self._fh.tell()

    def write(self, data: bytes) -> None:
        if self.max_bytes and self._size + len(data) > self.max_bytes and self._size:
            self._rotate()
        self._fh.write(data)
        self._size += len(data)

    def flush(self) -> None:
        self._fh.flush()

    def _rotate(self) -> None:
        self._fh.close()
        for i in range(self.backups - 1, 0, -1):
            src = self.path.with_name(f"{self.path.name}.{i}")
            if src.exists():
                os.replace(src, self.path.with_name(f"{self.path.name}.{i + 1}"))
        if self.backups > 0:
            os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))
        else:
            self.path.unlink(missing_ok=True)
        self._fh = open(self.path, "ab")  # noqa: SIM115
        self._size = 0

    def close(self) -> None:
        self._fh.close()


class StreamSink:
    """Writes to a file descriptor (stdout) in line-aligned chunks of at most PIPE_BUF bytes, so lines
    from several workers sharing one pipe never interleave mid-line."""

    _CHUNK = 4096

    def __init__(self, fd: int) -> None:
        self._fd = fd

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            cut = len(view) if len(view) <= self._CHUNK else bytes(view[: self._CHUNK]).rfind(b"\n") + 1 or self._CHUNK
            written = os.write(self._fd, view[:cut])
            view = view[written:]

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


class Hasher:
    """The decision log's keyed hashes (HMAC-SHA256 with the deployment's key)."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the decision log key must be at least 16 bytes")
        self._content_key = hmac.new(key, b"celgate-decision-log-content-v1", hashlib.sha256).digest()
        self._ident_key = hmac.new(key, b"celgate-decision-log-ident-v1", hashlib.sha256).digest()

    def content(self, text: str) -> str:
        return hmac.new(self._content_key, text.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()

    def ident(self, value: str) -> str:
        """`h:` and 16 hex digits; "" stays "" (absent is not a secret)."""
        if not value:
            return ""
        digest = hmac.new(self._ident_key, value.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()
        return "h:" + digest[:16]


def new_key() -> bytes:
    """A random decision log key, for a deployment that configured none (hashes then compare only
    within this run)."""
    return secrets.token_bytes(32)


def content_fingerprint(request: pb.CheckRequest, hasher: Hasher) -> dict[str, Any]:
    """Length and keyed hash of every content field (`content.every_text`), joined in a fixed order."""
    texts = [t for _, t in content.every_text(request) if t]
    joined = "\x1e".join(texts)
    return {"length": len(joined), "hmac_sha256": hasher.content(joined)}


_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.:/-]{0,63}")
_SCANNED = ("pii", "secrets")


def _detectors() -> Any:
    from celgate.detectors import build

    return build(None)


def tool_name(name: str, hasher: Hasher, detectors: Any) -> str:
    """A tool name as written, unless it could be someone's secret or personal data: hashed then."""
    if _PLAIN_NAME.fullmatch(name) and not detectors.find(name, _SCANNED):
        return name
    return hasher.ident(name)


def mask_all(text: str, detectors: Any) -> str:
    """`text` with every PII and secret finding replaced by its type."""
    findings = detectors.find(text, _SCANNED)
    return detectors.redact(text, findings, "[{type}]")[0] if findings else text


def format_entry(
    decision: Any,
    request: pb.CheckRequest,
    door: str,
    latency_s: float,
    at: float,
    *,
    dry_run: bool,
    redacted: bool,
    trace_id: str = "",
    hasher: Hasher,
    detectors: Any,
) -> dict[str, Any]:
    """One log line for a decision on a parsed request (the Decider logs what the engine decided on)."""
    entry: dict[str, Any] = {
        "decision_id": decision.decision_id,
        "time": datetime.datetime.fromtimestamp(at, datetime.UTC).isoformat(timespec="microseconds"),
        "door": door,
        "action": request.action,
        "principal": {
            "id": hasher.ident(request.principal.id),
            "tenant": hasher.ident(request.principal.tenant),
        },
        "effect": decision.effect,
        "matched_rules": decision.matched_rules(),
        "policy_revision": decision.policy_revision,
        "latency_s": round(latency_s, 7),
        "content": content_fingerprint(request, hasher),
    }
    if trace_id:
        entry["trace_id"] = trace_id
    if request.request_id:
        entry["request_id"] = hasher.ident(request.request_id)
    if request.tool.name:
        entry["tool"] = tool_name(request.tool.name, hasher, detectors)
    if decision.labels:
        entry["labels"] = list(decision.labels)
    if decision.redactions:
        entry["redactions"] = [{"field": r.field, "type": r.type, "rule": r.rule} for r in decision.redactions]
    if redacted and decision.rewritten:
        entry["rewritten"] = {field: mask_all(text, detectors) for field, text in decision.rewritten.items()}
    if dry_run:
        entry["dry_run"] = True
    return entry


class DecisionLog:
    """A bounded queue drained by one writer thread.

    The bound is checked with `qsize()` before `put()`: threads racing past the check can overfill
    it by at most one entry each, which keeps it bounded without a lock on the hot path.
    """

    def __init__(
        self,
        sink: Any,
        *,
        queue_size: int = 10_000,
        dry_run: bool = False,
        redacted: bool = False,
        key: bytes | None = None,
    ) -> None:
        self._sink = sink
        self._hasher = Hasher(key if key is not None else new_key())
        self._detectors: Any = None  # built on the writer thread, on first use
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._max = max(1, queue_size)
        self.dry_run = dry_run
        self.redacted = redacted
        self.dropped = 0
        self._thread = threading.Thread(target=self._run, name="celgate-decision-log", daemon=True)
        self._thread.start()

    def record(self, decision: Any, request: pb.CheckRequest, door: str, latency_s: float, trace_id: str = "") -> None:
        q = self._queue
        if q.qsize() < self._max:
            q.put((decision, request, door, latency_s, time.time(), trace_id))
        else:
            self.dropped += 1
            metrics.log_dropped()

    def record_event(self, entry: dict[str, Any]) -> None:
        """A line that is not a decision (an approver approving or denying), in order with the decisions."""
        self.record(None, entry, entry.get("door", ""), 0.0)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            lines = []
            stop = False
            while True:
                if item is _STOP:
                    stop = True
                else:
                    lines.append(self._line(item))
                if len(lines) >= 512:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            if lines:
                try:
                    self._sink.write(b"".join(lines))
                    self._sink.flush()
                except (OSError, ValueError) as e:
                    self.dropped += len(lines)
                    metrics.log_dropped(len(lines))
                    print(f"celgate: decision log write failed: {e}", file=sys.stderr)
            if stop:
                return

    def _line(self, item: tuple[Any, ...]) -> bytes:
        decision, request, door, latency_s, at, trace_id = item
        if decision is None:  # record_event
            when = datetime.datetime.fromtimestamp(at, datetime.UTC).isoformat(timespec="microseconds")
            return orjson.dumps({"time": when, **request}) + b"\n"
        try:
            if self._detectors is None:
                self._detectors = _detectors()
            entry = format_entry(
                decision,
                request,
                door,
                latency_s,
                at,
                dry_run=self.dry_run,
                redacted=self.redacted,
                trace_id=trace_id,
                hasher=self._hasher,
                detectors=self._detectors,
            )
        except Exception as e:  # a log line must never take the writer down (nor carry content)
            entry = {"decision_id": getattr(decision, "decision_id", ""), "door": door, "log_error": type(e).__name__}
        return orjson.dumps(entry) + b"\n"

    def close(self, timeout: float = 5.0) -> None:
        """Writes what is queued (bounded by `timeout`: a stuck sink is abandoned) and closes the sink."""
        self._queue.put(_STOP)
        self._thread.join(timeout)
        self._sink.close()


def open_log(
    target: str,
    *,
    max_bytes: int = 100 * 1024 * 1024,
    backups: int = 5,
    queue_size: int = 10_000,
    dry_run: bool = False,
    content: str = "hash",
    key: bytes | None = None,
) -> DecisionLog | None:
    """A decision log writing to `stdout`, a file path (rotated by size), an HTTP(S) endpoint
    (NDJSON batches; `CELGATE_DECISION_LOG_TOKEN` in the environment becomes a bearer token), OTLP
    logs (`otlp`, endpoint from the standard `OTEL_EXPORTER_OTLP_*` variables), or None for
    `none`/`off`.

    The caller owns it: it passes it to the `Decider` and closes it on shutdown.
    """
    if target in ("", "none", "off"):
        return None
    sink: Any
    if target == "stdout":
        sink = StreamSink(sys.stdout.fileno())
    elif target == "otlp":
        sink = logsinks.OtlpLogSink()
    elif target.startswith(("http://", "https://")):
        token = os.environ.get("CELGATE_DECISION_LOG_TOKEN", "")
        sink = logsinks.HttpSink(target, headers={"authorization": f"Bearer {token}"} if token else None)
    else:
        sink = RotatingSink(target, max_bytes, backups)
    return DecisionLog(sink, queue_size=queue_size, dry_run=dry_run, redacted=content == "redacted", key=key)
