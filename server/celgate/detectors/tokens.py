"""A cheap token estimate for budgets (no tokenizer vocabulary shipped).

``tokens()`` = ceil(ascii / 4 + non_ascii * 0.8), at least 1 for non-empty text:
English-like ASCII averages about 4 characters per token in BPE tokenizers (cl100k, o200k,
Claude); CJK is about one token per character; other scripts (Cyrillic, Greek, accented Latin)
are 1.5-3 characters per token, and emoji 2-3 tokens. The non-ASCII weight 0.8 is a compromise
that over-estimates alphabetic non-Latin scripts (safe for budgets) and under-estimates emoji.
Expect +/- 30 % against a real tokenizer; use it for limits, not billing.
"""

from __future__ import annotations

import math


def estimate_tokens(text: str) -> int:
    if not text:
        return 0
    if text.isascii():
        return max(1, math.ceil(len(text) / 4))
    n_ascii = len(text.encode("ascii", "ignore"))
    return max(1, math.ceil(n_ascii / 4 + (len(text) - n_ascii) * 0.8))
