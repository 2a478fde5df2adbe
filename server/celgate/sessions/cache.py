"""Provenance kept between checks, so a history re-sent with every check is indexed once.

A gateway sends the whole conversation with every tool call; a session with server memory reads its
recorded sources back with every check. Both mean check k+1 sees check k's sources plus a few new
ones. Two bounded LRU caches, keyed by a caller scope (tenant, principal, session id: one principal
never reads another's entries):

* conversation: messages -> sources. A prefix is recognised by the SHA-256 of its messages'
  deterministic wire form (one C-speed serialisation of the request); only the messages after the
  longest prefix this scope sent before are turned into sources.
* index: sources -> `ProvenanceIndex`. A hash chain over the sources (kind, trust, text, turn,
  tool, field) finds the longest prefix indexed before, which is extended
  (`ProvenanceIndex.extend`) with the new sources only.

Cost per check with N sources, of which k are new: O(k) Python, plus O(N) C-speed work (serialise
and hash the request, copy the corpus and the source list) and a light O(N) pass (the hash chain:
each text's hash is computed once per string object). Before, every check rebuilt the index in
O(N) Python. An entry that was extended is dropped (a few entries per live session); each cache
is bounded in entries and in characters (counted per entry, so texts two entries share count
twice: the bound is conservative).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from celgate.sessions.provenance import ProvenanceIndex
from celgate.sessions.sources import Call, Source, call_texts, message_sources, struct_to_dict

MAX_ENTRIES = 512
MAX_INDEXED_CHARS = 8 << 20  # per cache; with the session store, inside the 150 MB worker budget


@dataclass(frozen=True, slots=True)
class Conversation:
    """The sources of a conversation prefix, and what is needed to go on from it."""

    sources: tuple[Source, ...]
    calls: Mapping[str, tuple[str, tuple[str, ...]]]  # tool call id -> (tool, argument texts)
    seen: frozenset[tuple[str, str, str, str]]  # (kind, trust, field, text) of the sources
    turn: int  # of the next message
    calls_made: tuple[Call, ...]  # every tool call of the assistant turns, in order
    chars: int = 0  # characters of the sources' texts (the cache's memory bound)
    # Sources left out as a repeat of an earlier one of the conversation: with none, `sources` is
    # every source of the messages in order (what `conversation_sources` gives, turns from 0).
    repeats: int = 0


EMPTY_CONVERSATION = Conversation((), {}, frozenset(), 0, ())


_MESSAGES_TAG = 0x22  # CheckRequest.messages: field 4, length-delimited
_PER_SCOPE = 4  # conversation prefixes remembered per scope (a retry branches off an older one)


def _varint_len(n: int) -> int:
    size = 1
    while n >= 0x80:
        n >>= 7
        size += 1
    return size


def _record_len(size: int) -> int:
    return 1 + _varint_len(size) + size


def _head_len(request: Any) -> int:
    """Bytes before the messages in the request's wire form (fields 1-3: action, principal, model)."""
    head = 0
    if request.action:
        head += _record_len(len(request.action.encode("utf-8")))
    for name in ("principal", "model"):
        if request.HasField(name):
            head += _record_len(getattr(request, name).ByteSize())
    return head


@dataclass(frozen=True, slots=True, eq=False)
class _Prefix:
    size: int  # bytes of the first `count` messages in wire form
    digest: bytes  # SHA-256 of those bytes: collision-proof, and fast where the CPU has SHA extensions
    count: int
    conversation: Conversation


class ProvenanceCache:
    def __init__(self, max_entries: int = MAX_ENTRIES, max_chars: int = MAX_INDEXED_CHARS) -> None:
        self.max_entries = max_entries
        self.max_chars = max_chars
        self._conversations: OrderedDict[tuple[str, int], list[_Prefix]] = OrderedDict()
        self._indexes: OrderedDict[tuple[str, int], tuple[int, ProvenanceIndex]] = OrderedDict()
        self._chars = 0  # indexed characters held by the index cache
        self._conversation_chars = 0  # source characters held by the conversation cache
        self._lock = threading.Lock()

    # --- conversations ---------------------------------------------------------------------
    def conversation(self, scope: str, request: Any, registry: Mapping[str, Any]) -> Conversation:
        """The sources of the request's messages (turns from 0), deduplicated, built only past the
        longest conversation prefix this scope has sent before. A prefix is recognised by the
        SHA-256 digest of its messages' deterministic wire form (one C-speed serialisation of the
        request): no Python work per re-sent message."""
        messages = request.messages
        if not messages:
            return EMPTY_CONVERSATION
        key = (scope, id(registry))
        wire = memoryview(request.SerializeToString(deterministic=True))
        head = _head_len(request)
        if head >= len(wire) or wire[head] != _MESSAGES_TAG:
            return _extend(EMPTY_CONVERSATION, messages, registry)  # not the layout we know: no caching
        base: _Prefix | None = None
        hasher = hashlib.sha256()
        with self._lock:
            candidates = list(self._conversations.get(key, ()))
        for cand in reversed(candidates):
            if cand.count <= len(messages) and head + cand.size <= len(wire):
                h = hashlib.sha256(wire[head : head + cand.size])
                if h.digest() == cand.digest:
                    base, hasher = cand, h
                    break
        if base is not None and base.count == len(messages):
            return base.conversation
        start = base.count if base is not None else 0
        size = start_size = base.size if base is not None else 0
        new = list(messages[start:])
        size += sum(_record_len(m.ByteSize()) for m in new)
        conv = _extend(base.conversation if base is not None else EMPTY_CONVERSATION, new, registry)
        if head + size > len(wire):
            return conv
        hasher.update(wire[head + start_size : head + size])  # the verified prefix, then the new messages
        entry = _Prefix(size, hasher.digest(), len(messages), conv)
        with self._lock:
            held = self._conversations.pop(key, [])
            kept = [p for p in held if p is not base][-(_PER_SCOPE - 1) :]
            still = {id(p) for p in kept}
            self._conversation_chars += conv.chars - sum(p.conversation.chars for p in held if id(p) not in still)
            self._conversations[key] = [*kept, entry]
            while self._conversations and (
                len(self._conversations) > self.max_entries or self._conversation_chars > self.max_chars
            ):
                _, dropped = self._conversations.popitem(last=False)
                self._conversation_chars -= sum(p.conversation.chars for p in dropped)
        return conv

    # --- indexes ---------------------------------------------------------------------------
    def index(self, scope: str, sources: Sequence[Source]) -> ProvenanceIndex:
        """An index over `sources`, extended from the longest prefix of them this scope has
        indexed before."""
        sources = list(sources)
        if not sources:
            return ProvenanceIndex(())
        chain: list[int] = []
        h = hash(scope)
        for s in sources:
            h = hash((h, s))
            chain.append(h)
        start, base = 0, None
        with self._lock:
            for k in range(len(chain), 0, -1):
                hit = self._indexes.get((scope, chain[k - 1]))
                if hit is not None and hit[0] == k and hit[1].sources[-1] == sources[k - 1]:
                    start, base = k, hit[1]
                    self._indexes.move_to_end((scope, chain[k - 1]))
                    break
        if base is not None and start == len(sources):
            return base
        index = base.extend(sources[start:]) if base is not None else ProvenanceIndex(sources)
        with self._lock:
            if base is not None:
                old = self._indexes.pop((scope, chain[start - 1]), None)
                if old is not None:
                    self._chars -= old[1].indexed_chars
            key = (scope, chain[-1])
            previous = self._indexes.pop(key, None)
            if previous is not None:
                self._chars -= previous[1].indexed_chars
            self._indexes[key] = (len(sources), index)
            self._chars += index.indexed_chars
            while self._indexes and (len(self._indexes) > self.max_entries or self._chars > self.max_chars):
                _, (_, dropped) = self._indexes.popitem(last=False)
                self._chars -= dropped.indexed_chars
        return index

    def __len__(self) -> int:
        return len(self._indexes)


def _extend(base: Conversation, new: Sequence[Any], registry: Mapping[str, Any]) -> Conversation:
    """`base` followed by the messages `new` (turns go on from base.turn)."""
    calls = dict(base.calls)
    seen = set(base.seen)
    out = list(base.sources)
    made = list(base.calls_made)
    repeats = base.repeats
    for turn, m in enumerate(new, base.turn):
        if m.role == "assistant":
            made.extend(Call(turn, c.name, struct_to_dict(c.args)) for c in m.tool_calls)
        for s in message_sources(m, registry, turn, calls, call_texts):
            key = (s.kind, s.trust, s.field, s.text)
            if key not in seen:
                seen.add(key)
                out.append(s)
            else:
                repeats += 1
    chars = base.chars + sum(len(s.text) for s in out[len(base.sources) :])
    return Conversation(tuple(out), calls, frozenset(seen), base.turn + len(new), tuple(made), chars, repeats)
