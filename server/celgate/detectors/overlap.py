"""Word n-gram overlap: how much of ``other`` (say, the system prompt) appears in this text.

``overlap(other)`` = |distinct n-grams of ``other`` also present in this text| / |distinct
n-grams of ``other``|, in [0, 1]. Words are runs of letters/digits (case-folded); each Han,
Hiragana, Katakana or Hangul character is a word of its own, so CJK text without spaces still
works. ``n`` defaults to 5 (configurable as ``detectors.overlap.ngram``); when ``other`` has
fewer than ``n`` words, n shrinks to its word count so short prompts still compare. Empty
``other`` gives 0.0. Paraphrase defeats it: it measures verbatim leakage.
"""

from __future__ import annotations

from celgate.detectors._re import compile_re

_WORD = compile_re(r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}]|[\pL\pN_]+")
MAX_WORDS = 500_000


def words(text: str, max_chars: int) -> list[str]:
    """Case-folded words, bounded by ``max_chars`` of input and ``MAX_WORDS`` of output."""
    text = text[:max_chars]
    if not text.isascii():  # lone surrogates cannot be UTF-8 encoded for RE2: replace them
        text = text.encode("utf-8", "replace").decode("utf-8")
    return [w.casefold() for w in _WORD.findall(text)[:MAX_WORDS]]


def ngrams(ws: list[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(ws[i : i + n]) for i in range(len(ws) - n + 1)}


def overlap(text: str, other: str, n: int = 5, max_chars: int = 4_000_000) -> float:
    ow = words(other, max_chars)
    if not ow:
        return 0.0
    n = min(n, len(ow))
    theirs = ngrams(ow, n)
    mine = ngrams(words(text, max_chars), n)
    if not mine:
        return 0.0
    return round(len(theirs & mine) / len(theirs), 4)
