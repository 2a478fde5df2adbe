"""Tracing a tool call's argument values to the sources that hold them.

Index (built once per set of sources; each source's analysis is cached by its text):
  * one corpus of every source's normalised text, each padded with spaces and ended by a newline,
    so a search for " value " finds whole-token matches that never cross two sources;
  * entity -> sources and number -> sources maps.
Cost: building is O(total characters) once per source text (NFKC, one RE2 pass per entity kind);
tracing one leaf value is one `str.find` scan of the corpus (C speed, O(corpus)) plus one dict
lookup per entity or number inside it; matches per leaf are capped. Nested values are walked to
a bounded depth and leaf count. `extend` makes the index of these sources plus new ones in
O(new) (plus a C-speed copy of the corpus), and the new index searches only the corpus added
since for a value its base already traced (sessions/cache.py keeps them between checks).

A value is *trusted* when a trusted source holds it whole. Otherwise it has an *untrusted origin*
when an untrusted source holds it whole, or holds an entity inside it (an address, a link, an
account number) that no trusted source holds. A value no source holds, whole or by its entities,
is *model-made*.
"""

from __future__ import annotations

import bisect
import functools
import threading
from collections.abc import Container, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from celgate.sessions.sources import TRUSTED, UNTRUSTED, Source, arg_texts
from celgate.sessions.text import MAX_TEXT_CHARS, canonical_number, entities, normalise, numbers

MAX_LEAVES = 256  # leaves traced per value
MAX_HITS = 64  # sources reported per leaf
MAX_DEPTH = 16
MAX_FOUND = 1024  # searches remembered per index (and handed on to an extended one)
MIN_TEXT_CHARS = 3  # shorter non-numeric values ("a", "ok") say nothing about where they came from
_NAMING = ("file:", "url:", "domain:")  # entities that name one document: a file, a page


@dataclass(frozen=True, slots=True)
class Analysis:
    normalised: str
    entities: tuple[str, ...]
    numbers: tuple[str, ...]


@functools.lru_cache(maxsize=4096)
def analyse(text: str) -> Analysis:
    """A source's searchable form; cached so a conversation re-sent with every check is analysed once."""
    cut = text[:MAX_TEXT_CHARS]
    return Analysis(normalise(cut), tuple(entities(cut)), tuple(numbers(cut)))


def _arg_entities(text: str) -> tuple[str, ...]:
    """Entities of an argument value (short ones cached: an agent re-sends the same values)."""
    return _short_entities(text) if len(text) <= 4096 else tuple(entities(text))


@functools.lru_cache(maxsize=8192)
def _short_entities(text: str) -> tuple[str, ...]:
    return tuple(entities(text))


@dataclass(frozen=True, slots=True)
class Part:
    """One traced part of a value: the whole leaf (`exact`, `normalised`, `number`) or an entity."""

    value: str
    match: str  # exact | normalised | number | entity
    sources: tuple[int, ...]


def leaves(value: Any, depth: int = 0) -> Iterator[Any]:
    """Strings and numbers inside a value (list elements, nested objects), bounded."""
    if depth > MAX_DEPTH:
        return
    if isinstance(value, Mapping):
        for v in value.values():
            yield from leaves(v, depth + 1)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from leaves(v, depth + 1)
    elif isinstance(value, str | int | float) and not isinstance(value, bool):
        yield value


class _Line:
    """The append-only maps a line of index snapshots shares: entity or number -> the positions of
    the sources holding it, ascending. A snapshot of n sources reads the positions below n, so
    extending the newest snapshot never changes what an older one answers."""

    __slots__ = ("entities", "lock", "numbers", "size")

    def __init__(self) -> None:
        self.entities: dict[str, list[int]] = {}
        self.numbers: dict[str, list[int]] = {}
        self.size = 0
        self.lock = threading.Lock()


def _below(positions: list[int] | None, n: int, low: int = 0) -> tuple[int, ...]:
    """The positions in [low, n), ascending."""
    if not positions:
        return ()
    if positions[-1] < n and positions[0] >= low:
        return tuple(positions)
    start = bisect.bisect_left(positions, low) if low else 0
    return tuple(positions[start : bisect.bisect_left(positions, n)])


class ProvenanceIndex:
    """An index over `sources[low:]`: positions below `low` are sources their session has dropped
    (kept in place, never a hit, until the index is rebuilt), so a session at its entry bound drops
    its oldest sources without re-indexing the rest. An overlay (`overlay`) reads its base's line
    below `_base_n` and keeps the sources added on top in a line of its own."""

    def __init__(self, sources: Sequence[Source]) -> None:
        self.sources: list[Source] = []
        self.low = 0
        self._starts: list[int] = []
        self._corpus = ""
        self._line = _Line()
        self._base: _Line | None = None  # an overlay's base line, read below _base_n
        self._base_n = 0
        self._named_cache: dict[int, bool] = {}
        self._traced: dict[Any, list[Part]] = {}
        self._found: dict[str, tuple[tuple[int, ...], int]] = {}  # needle -> (hits, corpus length searched)
        self._add(list(sources))

    @property
    def kept(self) -> list[Source]:
        """The sources this index answers for (those from `low` on)."""
        return self.sources[self.low :] if self.low else self.sources

    def _copy(self) -> ProvenanceIndex:
        new = ProvenanceIndex.__new__(ProvenanceIndex)
        new.sources = self.sources
        new.low = self.low
        new._starts = self._starts
        new._corpus = self._corpus
        new._line = self._line
        new._base = self._base
        new._base_n = self._base_n
        new._named_cache = {}
        new._traced = {}
        new._found = dict(self._found)
        return new

    def from_position(self, low: int) -> ProvenanceIndex:
        """This index with the sources below position `low` dropped (a view: nothing re-indexed)."""
        if low == self.low:
            return self
        new = self._copy()
        new.low = low
        return new

    def prefix(self, n: int) -> ProvenanceIndex:
        """The index of the first `n` sources (an older snapshot of the same line)."""
        if n >= len(self.sources):
            return self
        new = self._copy()
        new.sources = self.sources[:n]
        new._starts = self._starts[:n]
        new._corpus = self._corpus[: self._starts[n]]
        new._found = {}
        if self._base is not None and n <= self._base_n:
            new._line, new._base, new._base_n = self._base, None, 0
        return new

    def overlay(self, more: Sequence[Source]) -> ProvenanceIndex:
        """An index of these sources followed by `more` that leaves this one's line untouched, so
        this one stays the newest of its line (a session's recorded index, extended per check by
        what the request carries, goes on growing with what is recorded)."""
        more = list(more)
        if not more:
            return self
        if self._base is not None:
            return ProvenanceIndex([*self.kept, *more])
        new = self._copy()
        new.sources = list(self.sources)
        new._starts = list(self._starts)
        new._base, new._base_n = self._line, len(self.sources)
        new._line = _Line()
        new._add(more)
        return new

    def _add(self, more: list[Source]) -> None:
        """Appends `more` to this snapshot, which is the newest of its line (or alone on it)."""
        line = self._line
        chunks: list[str] = []
        pos = len(self._corpus)
        for i, s in enumerate(more, len(self.sources)):
            a = analyse(s.text)
            chunk = " " + a.normalised + " \n"
            self._starts.append(pos)
            chunks.append(chunk)
            pos += len(chunk)
            for e in a.entities:
                line.entities.setdefault(e, []).append(i)
            for n in a.numbers:
                line.numbers.setdefault(n, []).append(i)
        self.sources.extend(more)
        self._corpus += "".join(chunks)
        line.size = len(self.sources)

    def extend(self, more: Sequence[Source]) -> ProvenanceIndex:
        """An index of these sources followed by `more`; this one is unchanged. Costs O(len(more))
        analysis and map updates plus a copy of the corpus and of the source list (C speed), when
        this is the newest snapshot of its line; otherwise (a branch: a retry that changed the last
        turn) the new index is built whole."""
        more = list(more)
        if not more:
            return self
        if not self.sources:
            return ProvenanceIndex(more)
        new = self._copy()
        new.sources = list(self.sources)
        new._starts = list(self._starts)
        line = self._line
        with line.lock:
            if line.size == len(self.sources):
                new._add(more)
                return new
        return ProvenanceIndex([*self.kept, *more])

    def _entity_hits(self, key: str) -> tuple[int, ...]:
        hits = _below(self._line.entities.get(key), len(self.sources), self.low)
        if self._base is not None:
            return _below(self._base.entities.get(key), self._base_n, self.low) + hits
        return hits

    def _number_hits(self, key: str) -> tuple[int, ...]:
        hits = _below(self._line.numbers.get(key), len(self.sources), self.low)
        if self._base is not None:
            return _below(self._base.numbers.get(key), self._base_n, self.low) + hits
        return hits

    def named(self, i: int) -> bool:
        """Source `i` was named by the user's request (computed on first use: most checks never ask)."""
        hit = self._named_cache.get(i)
        if hit is None:
            hit = self._named_cache[i] = self._named(self.sources[i])
        return hit

    def __len__(self) -> int:
        return len(self.sources) - self.low

    @property
    def indexed_chars(self) -> int:
        return len(self._corpus)

    def _named(self, source: Source) -> bool:
        """The call that produced `source` read a file or a web page the user typed: the user
        pointed at this very source. A search query, a date, a number or a person the user typed
        does not name what comes back (the events of a day, the mail from someone)."""
        if source.kind != "tool" or not source.call_args:
            return False
        for arg in arg_texts(source):
            keys = _arg_entities(arg)
            mail_domains = {"domain:" + k.rsplit("@", 1)[-1] for k in keys if k.startswith("email:")}
            for key in keys:
                if not key.startswith(_NAMING) or key in mail_domains:
                    continue
                if any(self.sources[i].kind == "user" for i in self._entity_hits(key)):
                    return True
        return False

    def _find(self, needle: str) -> tuple[int, ...]:
        """The sources whose normalised text holds `needle` (at most MAX_HITS). An extended index
        inherits what its base found and scans only the corpus added since: a re-sent history is
        searched once per value, not once per check."""
        corpus = self._corpus
        low = self.low
        floor = self._starts[low] if low < len(self._starts) else len(corpus)  # where kept sources start
        known = self._found.get(needle)
        if known is not None and (not known[0] or known[0][0] >= low):  # else a dropped source held it
            hits, upto = known
            if upto == len(corpus) or len(hits) >= MAX_HITS:
                return hits
            found, upto = list(hits), max(upto, floor)
        else:
            found, upto = [], floor
        start = corpus.find(needle, upto)
        while start >= 0 and len(found) < MAX_HITS:
            i = bisect.bisect_right(self._starts, start) - 1
            found.append(i)
            nxt = self._starts[i + 1] if i + 1 < len(self._starts) else len(corpus)
            start = corpus.find(needle, nxt)
        result = tuple(found)
        if len(self._found) >= MAX_FOUND:
            self._found.clear()
        self._found[needle] = (result, len(corpus))
        return result

    def trace_leaf(self, leaf: Any) -> list[Part]:
        key = (type(leaf), leaf)
        hit = self._traced.get(key)
        if hit is None:
            if len(self._traced) > 4096:
                self._traced.clear()
            hit = self._traced[key] = self._trace_leaf(leaf)
        return hit

    def _trace_leaf(self, leaf: Any) -> list[Part]:
        text = leaf if isinstance(leaf, str) else (str(int(leaf)) if float(leaf).is_integer() else str(leaf))
        text = text[:MAX_TEXT_CHARS]
        parts: list[Part] = []
        number = canonical_number(text)
        if number is not None:
            found = self._number_hits(number)
            if found:
                parts.append(Part(text, "number", found))
            if sum(c.isdigit() for c in text) < 6:
                return parts
        norm = normalise(text)
        if number is None and len(norm) >= MIN_TEXT_CHARS:
            found = self._find(" " + norm + " ")
            if found:
                exact = tuple(i for i in found if text in self.sources[i].text)
                rest = tuple(i for i in found if i not in exact)
                if exact:
                    parts.append(Part(text, "exact", exact))
                if rest:
                    parts.append(Part(text, "normalised", rest))
        for key in _arg_entities(text):
            found = self._entity_hits(key)
            parts.append(Part(key.split(":", 1)[1], "entity", found))
        return parts

    def trace(self, value: Any) -> list[list[Part]]:
        """The parts of every leaf of `value` (a leaf with no source has no found part)."""
        out = []
        for n, leaf in enumerate(leaves(value)):
            if n >= MAX_LEAVES:
                break
            out.append(self.trace_leaf(leaf))
        return out

    # --- verdicts ---------------------------------------------------------------------------
    def _trusted(self, indices: Sequence[int]) -> bool:
        return any(self.sources[i].trust == TRUSTED for i in indices)

    def leaf_untrusted(
        self, parts: list[Part], endorsed: Container[int] = frozenset(), before: int | None = None
    ) -> bool:
        """`endorsed`: untrusted sources whose content counts as the user's (see `user_named_origin`);
        `before`: only sources seen before this turn count (judging an earlier call)."""
        if before is not None:
            parts = [
                Part(p.value, p.match, tuple(i for i in p.sources if self.sources[i].turn < before)) for p in parts
            ]

        def bad(indices: Sequence[int]) -> bool:
            if not indices or self._trusted(indices):
                return False
            return not all(i in endorsed for i in indices)

        whole = [i for p in parts if p.match != "entity" for i in p.sources]
        if whole and self._trusted(whole):
            return False
        if any(bad(p.sources) for p in parts if p.match == "entity"):
            return True
        return bad(whole)

    def untrusted_origin(self, value: Any, endorsed: Container[int] = frozenset(), before: int | None = None) -> bool:
        return any(self.leaf_untrusted(parts, endorsed, before) for parts in self.trace(value))

    def held_by(self, value: Any, bad: frozenset[int]) -> bool:
        """Some leaf of `value`, whole or by an entity in it, is held by a source in `bad`, and no
        trusted source outside `bad` holds that leaf whole (or that entity)."""
        for parts in self.trace(value):
            whole = [i for p in parts if p.match != "entity" for i in p.sources]
            if any(self.sources[i].trust == TRUSTED and i not in bad for i in whole):
                continue
            for p in parts:
                if not any(i in bad for i in p.sources):
                    continue
                if p.match == "entity" and any(self.sources[i].trust == TRUSTED and i not in bad for i in p.sources):
                    continue
                return True
        return False

    def untrusted_entities(self, value: Any) -> list[str]:
        out: dict[str, None] = {}
        for parts in self.trace(value):
            for p in parts:
                if p.match == "entity" and p.sources and not self._trusted(p.sources):
                    out[p.value] = None
        return list(out)

    def user_typed(self, value: Any) -> bool:
        """True when a user or system turn holds every leaf of the value (whole or by its entities)."""
        traced = self.trace(value)
        if not traced:
            return False
        for parts in traced:
            if not any(self.sources[i].kind in ("user", "system") for p in parts for i in p.sources):
                return False
        return True

    def model_made(self, value: Any) -> bool:
        """True when no source holds any leaf of the value, whole or by an entity inside it."""
        traced = self.trace(value)
        return bool(traced) and not any(p.sources for parts in traced for p in parts)

    def earliest(self, value: Any, before: int) -> int | None:
        """The earliest turn of a source, before turn `before`, holding a part of `value` (None: no
        such source). While no source up to that one is dropped, what `untrusted_origin(value,
        before=before)` answers cannot change."""
        turns = [
            t for parts in self.trace(value) for p in parts for i in p.sources if (t := self.sources[i].turn) < before
        ]
        return min(turns) if turns else None

    def provenance(self, value: Any, turn_offset: int = 0) -> list[dict[str, Any]]:
        """One entry per (traced part, source), deduplicated, in source order."""
        seen: dict[tuple[int, str, str], dict[str, Any]] = {}
        for parts in self.trace(value):
            for p in parts:
                for i in p.sources:
                    key = (i, p.match, p.value)
                    if key in seen:
                        continue
                    seen[key] = self.describe(i, p.match, p.value, turn_offset)
        return [seen[k] for k in sorted(seen, key=lambda k: k[0])]

    def describe(self, i: int, match: str, value: str, turn_offset: int = 0) -> dict[str, Any]:
        """Source `i` as policies see it (the fields of celgate.v1.Source); `turn_offset`: the turn
        of its session's oldest kept entry (turns are counted from there)."""
        s = self.sources[i]
        return {
            "kind": s.kind,
            "trust": s.trust,
            "tool": s.tool,
            "turn": s.turn - turn_offset,
            "field": s.field,
            "match": match,
            "value": value,
            "named_by_user": self.named(i),
        }


EMPTY = ProvenanceIndex(())

__all__ = ["EMPTY", "TRUSTED", "UNTRUSTED", "Part", "ProvenanceIndex", "analyse", "leaves"]
