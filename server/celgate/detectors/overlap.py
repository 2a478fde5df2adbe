"""Word n-gram overlap: how much of ``other`` (say, the system prompt) appears in this text.

``overlap(other)`` = |distinct n-grams of ``other`` also present in this text| / |distinct
n-grams of ``other``|, in [0, 1]. Words are runs of letters/digits (case-folded); each Han,
Hiragana, Katakana or Hangul character is a word of its own, so CJK text without spaces still
works. ``n`` defaults to 5 (configurable as ``detectors.overlap.ngram``); when ``other`` has
fewer than ``n`` words, n shrinks to its word count so short prompts still compare. Empty
``other`` gives 0.0. Paraphrase defeats it: it measures verbatim leakage.
"""

from __future__ import annotations

import functools
import string

from celgate.detectors._re import compile_re

_WORD = compile_re(r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}]|[\pL\pN_]+")
MAX_WORDS = 500_000
# ASCII text needs no regex: every character that is not a letter, digit or "_" becomes a space.
_ASCII_WORD_CHARS = set(string.ascii_letters + string.digits + "_")
_ASCII_SEPARATORS = str.maketrans({chr(c): " " for c in range(128) if chr(c) not in _ASCII_WORD_CHARS})


def words(text: str, max_chars: int) -> list[str]:
    """Case-folded words, bounded by ``max_chars`` of input and ``MAX_WORDS`` of output."""
    text = text[:max_chars]
    if text.isascii():
        return text.lower().translate(_ASCII_SEPARATORS).split()[:MAX_WORDS]
    # Lone surrogates cannot be UTF-8 encoded for RE2: replace them.
    text = text.encode("utf-8", "replace").decode("utf-8")
    return [w.casefold() for w in _WORD.findall(text)[:MAX_WORDS]]


def ngrams(ws: list[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(ws[i : i + n]) for i in range(len(ws) - n + 1)}


@functools.lru_cache(maxsize=256)
def _reference(other: str, n: int, max_chars: int) -> tuple[int, frozenset[tuple[str, ...]]]:
    """The other text's n-grams: it is usually a system prompt, the same across many requests."""
    ow = words(other, max_chars)
    n = min(n, len(ow))
    return n, frozenset(ngrams(ow, n)) if ow else frozenset()


def overlap(text: str, other: str, n: int = 5, max_chars: int = 4_000_000) -> float:
    n, theirs = _reference(other, n, max_chars) if len(other) <= 65_536 else _reference.__wrapped__(other, n, max_chars)
    if not theirs:
        return 0.0
    mine = ngrams(words(text, max_chars), n)
    if not mine:
        return 0.0
    return round(len(theirs & mine) / len(theirs), 4)
