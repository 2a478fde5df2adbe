"""Reading CEL source as text: which parts are code, and which are string literals or comments.

Compile-time analyses (fusion's variable rewriting, data-path pruning) look for identifiers in
expressions; a name inside a string literal or a `//` comment must not count.
"""

from __future__ import annotations


def code_segments(source: str) -> list[tuple[bool, str]]:
    """Splits CEL source into (is_code, text) runs: string literals and comments are not code."""
    out: list[tuple[bool, str]] = []
    i, start, n = 0, 0, len(source)
    while i < n:
        ch = source[i]
        if ch == "/" and source.startswith("//", i):
            end = source.find("\n", i)
            end = n if end < 0 else end
        elif ch in "\"'":
            quote = source[i : i + 3] if source.startswith(ch * 3, i) else ch
            raw = i > 0 and source[i - 1] in "rR"
            j = i + len(quote)
            while j < n and not source.startswith(quote, j):
                j += 2 if source[j] == "\\" and not raw else 1
            end = min(n, j + len(quote))
        else:
            i += 1
            continue
        out.append((True, source[start:i]))
        out.append((False, source[i:end]))
        i = start = end
    out.append((True, source[start:]))
    return out


def mask_literals(source: str) -> str:
    """The source with string literals blanked (quotes kept) and comments turned into spaces,
    same length, so patterns see only code yet positions still line up."""
    parts = []
    for code, text in code_segments(source):
        if code:
            parts.append(text)
        elif text.startswith("//"):
            parts.append(" " * len(text))
        else:
            parts.append('"' + " " * max(0, len(text) - 2) + '"' if len(text) >= 2 else " " * len(text))
    return "".join(parts)
