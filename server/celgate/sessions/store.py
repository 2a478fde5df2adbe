"""Session memory: what each session has seen, remembered server-side by `session.id`.

A door that sees one call at a time (Envoy's MCP `tools/call`, the SDK's `guard_tool` without the
history) still gets provenance: the engine records the sources of every check that carries a
`session.id` (the latest user turn, an allowed tool result, allowed documents), the tool calls the
model proposed, and the labels the server derived, and reads them back on the next check.

Bounds (each configurable): `max_entries` per session (oldest dropped first), `max_entry_chars`
per recorded text (longer ones are cut), `ttl_seconds` after the last write, and, in memory,
`max_sessions` (least recently used dropped). Sessions are keyed by tenant, principal and id, so
one principal cannot read or poison another's session by guessing its id. An unknown or expired
id is simply an empty session.

Labels only grow: the client may add labels, never remove ones the server recorded.
"""

from __future__ import annotations

import hashlib
import threading
from abc import ABC, abstractmethod
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from celgate.sessions.sources import Call, Source, arg_texts


class SessionStoreError(RuntimeError):
    """The store cannot answer (e.g. Redis is down); the configured fail mode applies."""


@dataclass(frozen=True)
class Limits:
    max_entries: int = 1000  # turns remembered per session; the oldest go first
    max_entry_chars: int = 64 * 1024  # one recorded text is cut here
    max_bytes: int = 4 << 20  # of recorded entries per session; the oldest go first
    ttl_seconds: float = 3600.0  # after the last write
    max_sessions: int = 10_000  # in-memory store only (least recently used go first)
    # In-memory store only: every session's entries together, as estimated Python memory (least
    # recently used sessions go first). Without it the bound was max_sessions x max_bytes (40 GB).
    max_memory_bytes: int = 16 << 20
    max_labels: int = 64


class RecordMemo:
    """What is known about a session's kept record, grown as entries are appended and shrunk as the
    oldest are dropped (a new memo only when the session starts over): a read of the record then
    costs O(what changed), not O(session).

    `keys`: (kind, trust, field, text) of each kept source -> the turns holding it (an int, or a
    list in the rare case of two). A caller whose snapshot's sources end before turn `upto` asks
    `known(keys, upto, offset)`, so a source another check recorded after the snapshot never
    counts; a snapshot older than the kept record's oldest entry (`offset`) gets None.
    `scratch`: the engine's own per-record state (e.g. the recorded sources' index, which earlier
    calls acted on untrusted values), under `lock`; sessions/ never reads it.
    """

    __slots__ = ("keys", "lock", "offset", "scratch")

    def __init__(self, offset: int = 0) -> None:
        self.keys: dict[tuple[str, str, str, str], int | list[int]] = {}
        self.scratch: dict[str, Any] = {}
        self.lock = threading.Lock()
        self.offset = offset  # the kept record's oldest turn

    def known(self, keys: list[tuple[str, str, str, str]], upto: int, offset: int) -> list[bool] | None:
        """For each key, whether a source of the snapshot (kept from turn `offset`, ending before turn
        `upto`) has it; None when entries of the snapshot have been dropped since (then the caller
        looks for itself: a concurrent check, rare)."""
        with self.lock:
            if offset < self.offset:
                return None
            get = self.keys.get
            out = []
            for key in keys:
                turns = get(key)
                out.append(turns is not None and (turns if type(turns) is int else turns[0]) < upto)
            return out

    def _add(self, key: tuple[str, str, str, str], turn: int) -> None:
        have = self.keys.get(key)
        if have is None:
            self.keys[key] = turn
        elif type(have) is int:
            self.keys[key] = [have, turn]
        else:
            have.append(turn)

    def _drop(self, key: tuple[str, str, str, str]) -> None:
        """Forgets the oldest turn holding `key` (its source was dropped)."""
        have = self.keys.get(key)
        if type(have) is int:
            del self.keys[key]
        elif have is not None:
            del have[0]
            if len(have) == 1:
                self.keys[key] = have[0]


@dataclass
class Record:
    """One session as read back: sources and calls in the order seen, labels. Turns count entries
    from the session's first; `offset` is the turn of its oldest kept entry (what policies see as
    turn 0: `turn - offset` is the entry's position in the session as kept). `memo` is shared by
    every read of the same kept record (None: nothing kept between reads)."""

    sources: list[Source] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    memo: RecordMemo | None = field(default=None, compare=False, repr=False)
    offset: int = 0


@dataclass(frozen=True)
class Entry:
    """One recorded item: a source or a call (exactly one is set)."""

    source: Source | None = None
    call: Call | None = None

    def to_json(self) -> dict[str, Any]:
        if self.source is not None:
            s = self.source
            return {"s": [s.kind, s.trust, s.text, s.tool, s.field, list(arg_texts(s))]}
        assert self.call is not None
        return {"c": [self.call.name, self.call.args]}

    @staticmethod
    def from_json(value: Any, turn: int) -> Entry | None:
        if not isinstance(value, dict):
            return None
        if isinstance(value.get("s"), list) and len(value["s"]) == 6:
            kind, trust, text, tool, fld, args = value["s"]
            return Entry(
                source=Source(str(kind), str(trust), str(text), turn, str(tool), str(fld), call_args=tuple(args))
            )
        if isinstance(value.get("c"), list) and len(value["c"]) == 2:
            name, args = value["c"]
            return Entry(call=Call(turn, str(name), args if isinstance(args, dict) else {}))
        return None


def session_key(tenant: str, principal: str, session_id: str) -> str:
    """Bounded, collision-free key for (tenant, principal, id); raw ids never reach logs or Redis."""
    raw = "\x1f".join((tenant, principal, session_id)).encode("utf-8", "surrogatepass")
    return hashlib.sha256(raw).hexdigest()


def cut(entry: Entry, limits: Limits) -> Entry:
    """The entry as stored: text cut to the bound, call arguments as plain text (a recorded source
    must not keep the request it came from alive)."""
    s = entry.source
    if s is None or (len(s.text) <= limits.max_entry_chars and type(s.call_args) is tuple and not s.named_by_user):
        return entry  # already what is stored (frozen): no copy
    text = s.text[: limits.max_entry_chars]
    return Entry(source=Source(s.kind, s.trust, text, s.turn, s.tool, s.field, call_args=arg_texts(s)))


def build_record(entries: list[Entry], labels: list[str], *, offset: int = 0, memo: bool = False) -> Record:
    """The record of `entries` (the first numbered `offset`); `memo`: keep a RecordMemo with it (a
    store that keeps the record between reads, and grows it with `_extend` and `_drop`)."""
    record = Record(labels=labels, memo=RecordMemo(offset) if memo else None, offset=offset)
    _extend(record, entries, 0)
    return record


def _extend(record: Record, entries: list[Entry], first: int) -> None:
    """Adds entries[first:] to `record`, each numbered by its position in the session."""
    _grow(record, entries[first:] if first else entries, record.offset + first)


def _grow(record: Record, entries: list[Entry], turn: int) -> int:
    """Adds `entries` to `record`, numbered from `turn`; returns the characters of their texts."""
    sources = record.sources
    memo = record.memo
    chars = 0
    for e in entries:
        if e.source is not None:
            s = e.source
            if memo is not None:
                memo._add((s.kind, s.trust, s.field, s.text), turn)
            sources.append(Source(s.kind, s.trust, s.text, turn, s.tool, s.field, call_args=s.call_args))
            chars += len(s.text)
        elif e.call is not None:
            record.calls.append(Call(turn, e.call.name, e.call.args))
        turn += 1
    return chars


def _drop(record: Record, offset: int) -> int:
    """Drops the record's entries before turn `offset` (the oldest, dropped from the session): the
    others keep their turns, so nothing is rebuilt. Returns the characters of the dropped texts."""
    sources, calls, memo = record.sources, record.calls, record.memo
    n = 0
    while n < len(sources) and sources[n].turn < offset:
        n += 1
    if memo is not None:
        with memo.lock:
            memo.offset = offset
            for s in sources[:n]:
                memo._drop((s.kind, s.trust, s.field, s.text))
    chars = sum(len(s.text) for s in sources[:n])
    del sources[:n]
    n = 0
    while n < len(calls) and calls[n].turn < offset:
        n += 1
    del calls[:n]
    record.offset = offset
    return chars


class SessionStore(ABC):
    limits: Limits
    # When the store cannot answer: False (default) denies sensitive tool calls and tool results
    # that could not be recorded; True decides without the session's memory.
    fail_open: bool = False

    @abstractmethod
    def load(self, key: str, now: float) -> Record:
        """The session's record (empty when unknown or expired). Raises SessionStoreError."""

    @abstractmethod
    def append(self, key: str, entries: list[Entry], labels: list[str], now: float) -> None:
        """Adds entries and labels atomically; concurrent appends from replicas both land."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Releases connections."""


def entry_size(entry: Entry) -> int:
    if entry.source is not None:
        return len(entry.source.text) + 64
    return 64 + sum(len(str(v)) for v in entry.call.args.values()) if entry.call is not None else 64


# What an entry costs in a worker's memory beyond the text `entry_size` counts: the Entry, its
# Source or Call, their tuples and dicts. Measured with tracemalloc on recorded prompts and calls:
# ~370 bytes per entry in all where entry_size counts ~100.
_PY_OVERHEAD = 320
# What the record kept for reading back costs per entry (its Source or Call with the session's turn,
# its list slot, and a source's key in the memo: ~180 bytes an entry measured with tracemalloc on
# half sources, half calls); the texts are shared, not copied.
_RECORD_OVERHEAD = 180
# What the engine keeps in the record's memo on top (the recorded sources' provenance index: their
# normalised text, counted as the text again, plus ~440 bytes a source of entity and number maps,
# measured with tracemalloc on 2,000 100-character tool results with an address and a link each).
_INDEX_OVERHEAD = 440


class _Session:
    __slots__ = ("bytes", "dropped", "entries", "expires", "labels", "record")

    def __init__(self) -> None:
        self.entries: list[Entry] = []
        self.dropped = 0  # entries dropped from the front so far: entries[i] is turn dropped + i
        self.labels: dict[str, None] = {}
        self.expires = 0.0
        self.bytes = 0
        # The entries as read back (turns renumbered), built on the first load after a write: a
        # session is read on every check and written far less, and building it is O(entries) of
        # frozen dataclasses (a 50-entry session cost ~76 us per check, a 200-entry one ~250 us).
        self.record: Record | None = None

    @property
    def memory(self) -> int:
        """What the store-wide bound counts for this session: its text plus `_PY_OVERHEAD` an entry
        (and, while its read-back record is kept, `_RECORD_OVERHEAD` and `_INDEX_OVERHEAD` an entry
        and the text again: the memo's index, counted whether or not the engine has built it)."""
        n = len(self.entries)
        kept = (_RECORD_OVERHEAD + _INDEX_OVERHEAD) * n + self.bytes if self.record is not None else 0
        return self.bytes + _PY_OVERHEAD * n + kept


class MemorySessionStore(SessionStore):
    """In-process sessions: nothing to start; per worker (use Redis when workers or replicas share)."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self._sessions: OrderedDict[str, _Session] = OrderedDict()
        self._lock = threading.Lock()
        self.memory = 0  # estimated bytes held by every session's entries

    def load(self, key: str, now: float) -> Record:
        with self._lock:
            s = self._sessions.get(key)
            if s is None or s.expires <= now:
                if s is not None:
                    self._forget(key)
                return Record()
            self._sessions.move_to_end(key)
            record = s.record
            if record is None:
                before = s.memory
                record = s.record = build_record(s.entries, list(s.labels), offset=s.dropped, memo=True)
                self.memory += s.memory - before
                self._bound()
            # Fresh lists (callers may keep or extend them); the sources and calls are frozen.
            return Record(list(record.sources), list(record.calls), list(record.labels), record.memo, record.offset)

    def append(self, key: str, entries: list[Entry], labels: list[str], now: float) -> None:
        limits = self.limits
        with self._lock:
            s = self._sessions.get(key)
            if s is None or s.expires <= now:
                if s is not None:
                    self._forget(key)
                s = self._sessions[key] = _Session()
            self._sessions.move_to_end(key)
            before = s.memory
            first = len(s.entries)
            for e in entries:
                e = cut(e, limits)
                s.entries.append(e)
                s.bytes += entry_size(e)
            drop = 0
            while drop < len(s.entries) and (len(s.entries) - drop > limits.max_entries or s.bytes > limits.max_bytes):
                s.bytes -= entry_size(s.entries[drop])
                drop += 1
            if drop:
                del s.entries[:drop]
                s.dropped += drop
                first = max(0, first - drop)
                if s.record is not None:  # its oldest entries go; the others keep their turns
                    _drop(s.record, s.dropped)
            for label in labels:
                if len(s.labels) < limits.max_labels:
                    s.labels[label] = None
            if s.record is not None:  # the kept record grows by what was appended, as build_record would
                _extend(s.record, s.entries, first)
                s.record.labels = list(s.labels)
            self.memory += s.memory - before
            s.expires = now + limits.ttl_seconds
            self._bound()

    def _bound(self) -> None:
        limits = self.limits
        while len(self._sessions) > limits.max_sessions or (
            self.memory > limits.max_memory_bytes and len(self._sessions) > 1
        ):
            # the least recently used; never the one just written or read (moved to the end)
            self._forget(next(iter(self._sessions)))

    def _forget(self, key: str) -> None:
        self.memory -= self._sessions.pop(key).memory


def open_session_store(url: str, limits: Limits | None = None) -> SessionStore:
    if url in ("", "memory", "memory://"):
        return MemorySessionStore(limits)
    if url.startswith(("redis://", "rediss://", "unix://")):
        from celgate.sessions.redis_store import RedisSessionStore

        return RedisSessionStore(url, limits)
    raise ValueError(f"unknown session store {url!r}; expected 'memory' or 'redis://host:port/db'")
