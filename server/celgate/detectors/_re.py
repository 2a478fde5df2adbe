"""RE2 helpers: linear-time matching on UTF-8 bytes with code point offsets.

Why bytes: the ``re2`` wrapper accepts ``str`` and returns code point offsets (verified in the
tests), but it converts offsets for every candidate match in Python, which costs several
microseconds per match. We match on the UTF-8 encoding through the low-level ``Match`` call
and convert only the offsets of *accepted* findings. For ASCII text (the common case, detected
in O(1) by ``str.isascii``) byte offsets already are code point offsets.
"""

from __future__ import annotations

from collections.abc import Iterator

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
