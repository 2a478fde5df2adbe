"""Frozen reference (commit a5e7835, before the #15 detector fast paths): a differential oracle for
test_det_fastpath.py; never imported by the server.

RE2 helpers: linear-time matching on UTF-8 bytes with code point offsets.

Why bytes: the ``re2`` wrapper accepts ``str`` and returns code point offsets (verified in the
tests), but it converts offsets for every candidate match in Python, which costs several
microseconds per match. We match on the UTF-8 encoding through the low-level ``Match`` call
and convert only the offsets of *accepted* findings. For ASCII text (the common case, detected
in O(1) by ``str.isascii``) byte offsets already are code point offsets.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import re2

_UNANCHORED = re2._Anchor.UNANCHORED
_ANCHOR_START = re2._Anchor.ANCHOR_START
_NULL = (-1, -1)


def compile_re(pattern: str, *, case_insensitive: bool = False) -> re2._Regexp:
    """Compile with a memory budget large enough that big alternations stay on the DFA."""
    opts = re2.Options()
    opts.max_mem = 64 << 20
    opts.case_sensitive = not case_insensitive
    opts.log_errors = False
    try:
        return re2.compile(pattern, opts)
    except re2.error as exc:  # pragma: no cover - message re-raised with context
        raise ValueError(f"invalid RE2 pattern {pattern!r}: {exc}") from exc


def spans(rx: re2._Regexp, data: bytes, pos: int = 0, end: int | None = None) -> Iterator[list]:
    """Yield raw group spans (byte offsets) for successive non-overlapping matches."""
    raw = rx._regexp
    end = len(data) if end is None else end
    while pos <= end:
        sp = raw.Match(_UNANCHORED, data, pos, end)
        if sp[0] == _NULL:
            return
        yield sp
        s, e = sp[0]
        pos = e if e > s else e + 1


def match_at(rx: re2._Regexp, data: bytes, pos: int, end: int) -> list | None:
    """Anchored match at ``pos`` (used to re-try a narrower pattern inside a rejected span)."""
    sp = rx._regexp.Match(_ANCHOR_START, data, pos, end)
    return None if sp[0] == _NULL else sp


def group_names(rx: re2._Regexp) -> dict[int, str]:
    """Group index -> name, for dispatching on which alternative of an alternation matched."""
    return {i: n for n, i in rx.groupindex.items()}


_NAMED_GROUP = re2.compile(r"\(\?P<[A-Za-z_][A-Za-z0-9_]*>")


def strip_groups(pattern: str) -> str:
    """The pattern with its named groups made non-capturing (same language, same priorities)."""
    return _NAMED_GROUP.sub("(?:", pattern)


class Alternation:
    """A leftmost-first alternation of named patterns, matched in two steps.

    RE2 finds submatches with its NFA (or BitState), whose cost grows with the program size,
    so a big alternation with a named group per alternative is 2-4x slower than the same
    alternation without groups, which runs on the DFA alone. Here a group-free *finder* locates
    each match; the alternative that produced it is the first one (in priority order) that
    matches anchored at the same start in the full text, which is exactly RE2's leftmost-first
    choice. Candidates are narrowed by their first byte (``PossibleMatchRange`` of each
    alternative, a guaranteed superset), and only alternatives with inner groups run a (small)
    submatch program.
    """

    __slots__ = ("_by_byte", "_finder", "_grouped", "_kinds", "group_index", "names")

    def __init__(self, alts: Sequence[tuple[str, str]], *, case_insensitive: bool = False) -> None:
        self.names = tuple(n for n, _ in alts)
        self._finder = compile_re(
            "|".join(f"(?:{strip_groups(p)})" for _, p in alts), case_insensitive=case_insensitive
        )._regexp
        if self._finder.NumberOfCapturingGroups():
            raise ValueError("Alternation patterns may only use named groups")
        kinds = [compile_re(strip_groups(p), case_insensitive=case_insensitive)._regexp for _, p in alts]
        self._kinds = kinds
        grouped = [compile_re(p, case_insensitive=case_insensitive) if "(?P<" in p else None for _, p in alts]
        self._grouped = [g._regexp if g is not None else None for g in grouped]
        # Per alternative: group name -> index in that alternative's own submatch spans.
        self.group_index = [dict(g.groupindex) if g is not None else {} for g in grouped]
        by_byte: list[list[int]] = [[] for _ in range(256)]
        for i, rx in enumerate(kinds):
            ok, lo, hi = rx.PossibleMatchRange(1)
            first, last = (lo[0], hi[0]) if ok and lo and hi else (0, 255)
            for b in range(first, last + 1):
                by_byte[b].append(i)
        self._by_byte = [tuple(x) for x in by_byte]

    def search(self, data: bytes, pos: int, end: int) -> tuple[int, int]:
        """Span of the next match at or after ``pos`` (``(-1, -1)`` if none); DFA only."""
        return self._finder.Match(_UNANCHORED, data, pos, end)[0]

    def kind(self, data: bytes, s: int, end: int) -> int:
        """Index of the alternative that won the match starting at ``s``."""
        for i in self._by_byte[data[s]] if s < len(data) else range(len(self._kinds)):
            if self._kinds[i].Match(_ANCHOR_START, data, s, end)[0][0] >= 0:
                return i
        raise AssertionError("finder match not reproduced by any alternative")  # pragma: no cover

    def groups(self, i: int, data: bytes, s: int, end: int) -> list:
        """Submatch spans of alternative ``i`` anchored at ``s`` (its own group numbering)."""
        g = self._grouped[i]
        if g is None:
            return [self._kinds[i].Match(_ANCHOR_START, data, s, end)[0]]
        return g.Match(_ANCHOR_START, data, s, end)


class Text:
    """A text prepared for scanning: its UTF-8 bytes and a byte->code point converter."""

    __slots__ = ("_cp_b", "_cp_c", "ascii", "data", "full_len", "text")

    def __init__(self, text: str, max_chars: int) -> None:
        self.full_len = len(text)
        if len(text) > max_chars:
            text = text[:max_chars]
        self.text = text
        self.ascii = text.isascii()
        try:
            self.data = text.encode("utf-8")
        except UnicodeEncodeError:
            # Lone surrogates: replace each with "?" (one code point each, so offsets hold)
            # so RE2 always sees valid UTF-8.
            self.data = text.encode("utf-8", "replace")
        self._cp_b = 0
        self._cp_c = 0

    def cp(self, b: int) -> int:
        """Code point offset of byte offset ``b``; cost is proportional to the distance from the
        previous call, so a scan converting its findings in (nearly) ascending order is linear."""
        if self.ascii:
            return b
        if b >= self._cp_b:
            self._cp_c += len(self.data[self._cp_b : b].decode("utf-8", "replace"))
        else:  # move back: cost is the distance moved, not the offset
            self._cp_c -= len(self.data[b : self._cp_b].decode("utf-8", "replace"))
        self._cp_b = b
        return self._cp_c

    def s(self, b0: int, b1: int) -> str:
        """Decoded slice between two byte offsets."""
        if self.ascii:
            return self.text[b0:b1]
        return self.data[b0:b1].decode("utf-8", "replace")


UNSCANNED = "unscanned"
CHECK_EVERY = 256  # candidates between clock reads in Python validation loops


def unscanned(t: Text, stopped_at_byte: int | None = None) -> list:
    """Fail closed: a finding covering text a detector did not look at (size or time budget)."""
    from celgate.detectors.base import Finding

    start = len(t.text) if stopped_at_byte is None else t.cp(stopped_at_byte)
    if start >= t.full_len:
        return []
    return [Finding(UNSCANNED, start, t.full_len, 1.0)]
