"""Reading and recording a session's memory around one decision (the engine's side of sessions/).

Before deciding: the sources, calls and labels recorded for the request's `session.id` are read
back; the labels are merged into the request (the client may add labels, never drop the server's).
After deciding: what the decision point has now seen is recorded — the newest user turn of a
prompt, the result of a tool result that was not denied (as rewritten by redactions), the
documents of a retrieval that were allowed, every tool call the model proposed (it tried, whatever
the answer), and the labels the decision derived.

Store failures follow the store's fail mode: closed (default) denies a sensitive tool call that
could not read its session, and a tool result that could not be recorded (otherwise a later call
would lose its provenance); open decides without the memory.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from celgate.sessions.sources import (
    Call,
    Source,
    conversation_sources,
    request_sources,
    struct_to_dict,
    tool_sources,
)
from celgate.sessions.store import Entry, RecordMemo, SessionStore, SessionStoreError, session_key
from celgate.v1 import decision_pb2 as pb

log = logging.getLogger("celgate.sessions")


class SessionMemory:
    __slots__ = ("calls", "error", "key", "memo", "offset", "sources", "store")

    def __init__(self, store: SessionStore, key: str) -> None:
        self.store = store
        self.key = key
        self.sources: list[Source] = []
        self.calls: list[Call] = []
        self.memo: RecordMemo | None = None  # what the store keeps about this record between reads
        self.offset = 0  # the turn of the oldest kept entry (see Record)
        self.error = ""

    @classmethod
    def open(cls, request: pb.CheckRequest, store: SessionStore | None) -> SessionMemory | None:
        """Reads the session back (None when the request has no `session.id` or there is no store)."""
        sid = request.session.id
        if not sid or store is None:
            return None
        memory = cls(store, session_key(request.principal.tenant, request.principal.id, sid))
        try:
            record = store.load(memory.key, time.time())
        except SessionStoreError as exc:
            memory.error = str(exc)
            return memory
        memory.sources = record.sources
        memory.calls = record.calls
        memory.memo = record.memo
        memory.offset = record.offset
        have = set(request.session.labels)
        missing = [label for label in record.labels if label not in have]
        if missing:
            request.session.labels.extend(missing)
        return memory

    def blocks(self, request: pb.CheckRequest, registry: Mapping[str, Any]) -> str:
        """Why this request must be denied because the memory could not be read ("" when not)."""
        if not self.error or self.store.fail_open or request.action != "tool_call":
            return ""
        entry = registry.get(request.tool.name) if isinstance(registry, Mapping) else None
        if isinstance(entry, Mapping) and entry.get("sensitive") is not True:
            return ""
        return f"{self.error}; a sensitive call cannot be judged without its session"

    def record(self, request: pb.CheckRequest, decision: Any, registry: Mapping[str, Any], session: Any = None) -> str:
        """Records what this decision saw; returns an error when it could not (else "").
        `session`: the decision's SessionContext, whose conversation (kept by the provenance cache,
        built only past what the caller sent before) stands for turning every message into sources
        again when it repeats no source (then it is the same list)."""
        if self.error:
            return self.error
        first = (self.sources[-1].turn + 1) if self.sources else self.offset
        seen = _seen(request, decision, registry, first, session)
        memo = self.memo
        # the record's keys, kept by the store: O(new sources), not O(session)
        known = memo.known([(s.kind, s.trust, s.field, s.text) for s in seen], first, self.offset) if memo else None
        if known is not None:
            entries = [Entry(source=s) for s, k in zip(seen, known, strict=True) if not k]
        else:
            known = {(s.kind, s.trust, s.field, s.text) for s in self.sources}
            entries = [Entry(source=s) for s in seen if (s.kind, s.trust, s.field, s.text) not in known]
        if request.action == "tool_call" and request.tool.name:
            entries.append(Entry(call=Call(0, request.tool.name, struct_to_dict(request.tool.args))))
        try:
            self.store.append(self.key, entries, list(decision.labels), time.time())
        except SessionStoreError as exc:
            log.warning("session not recorded: %s", exc)
            return str(exc)
        return ""


def _seen(
    request: pb.CheckRequest, decision: Any, registry: Mapping[str, Any], first: int, session: Any = None
) -> list[Source] | tuple[Source, ...]:
    action = request.action
    if action in ("prompt", "tool_call", "response"):
        # The conversation the request carries (a gateway sends it whole with every call): record
        # what the memory does not hold yet, so a later call that carries no history still knows.
        if decision.effect == "deny" and action == "prompt":
            return []
        if not request.messages:
            return []
        conv = _cached_conversation(request, session)
        if conv is not None and not conv.repeats:
            return conv.sources  # the same sources (the stores number entries by position, not turn)
        return conversation_sources(request.messages, registry, first)
    if action == "tool_result" and request.tool.result and decision.effect != "deny":
        result = decision.rewritten.get("tool.result", request.tool.result)
        return tool_sources(request.tool.name, result, first, registry, call_args=request.tool.args)
    if action == "retrieval":
        allowed = {d.index for d in decision.documents if d.effect == "allow"} if decision.documents else None
        docs = [d for i, d in enumerate(request.documents) if allowed is None or i in allowed]
        if not docs:
            return []
        only = pb.CheckRequest(action="retrieval", documents=docs)
        return request_sources(only, registry, first)
    return []


# Below this many messages, turning the conversation into sources directly is cheaper than the
# provenance cache's digest, prefix lookup and insert (a fresh two-message prompt paid ~45 µs more
# through the cache); above it the cache's O(new messages) wins, and its entry serves the next check.
_CACHE_FROM_MESSAGES = 16


def _cached_conversation(request: pb.CheckRequest, session: Any) -> Any:
    """The provenance cache's conversation when this decision already built it, or when the
    conversation is long enough for the cache to pay; else None (convert it directly)."""
    if session is None:
        return None
    return session.conversation(build=len(request.messages) >= _CACHE_FROM_MESSAGES)
