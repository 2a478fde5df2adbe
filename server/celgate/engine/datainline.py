"""Per-revision precomputation of what `data` decides: constant paths become CEL literals.

`data` changes only with the revision, yet the C++ runtime copies every bound Python value into
its own values afresh for each request (about 14 ns per byte of JSON, see docs/performance.md).
Most of what policies read from `data` are knobs and short lists reached by a literal path
(`data.owasp.llm01.user_threshold`, `data.owasp.llm07.canaries.exists(...)`); those are written
into the expression at compile time instead, so a request binds only what is left (the maps
indexed by request values, `data.tools[tool.name]`, which `datapaths` cuts per request).

An inlined value is wrapped in `dyn(...)`: the type checker sees exactly the type it saw for the
path into `data` (a map of string to dyn), so an expression type-checks, and evaluates, as before.
Only null, booleans, 64-bit integers, finite doubles, strings and (nested) lists of those are
inlined, and only when the whole path resolves; a path to a map, a missing key (a run-time error
the author should still see), a path inside `has(...)`, and any expression that binds a variable
named `data` (a comprehension or `cel.bind`) are left alone. The compiler falls back to the
original expression whenever the rewritten one does not compile.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from celgate.engine.celtext import code_segments, mask_literals

_CHAIN = re.compile(r"(?<![.\w])data((?:\s*\.\s*[A-Za-z_]\w*)+)")
_SELECTOR = re.compile(r"\s*\.\s*([A-Za-z_]\w*)")
_HAS_OPEN = re.compile(r"\bhas\s*\(\s*$")
_BINDS_DATA = re.compile(
    r"(?:\.\s*(?:all|exists|exists_one|filter|map|transformList|transformMap)\s*\(|cel\s*\.\s*bind\s*\()\s*data\s*,"
)
_INT64 = 1 << 63
MAX_LITERAL_CHARS = 2048  # a longer value stays bound: a list literal is rebuilt on every evaluation
MAX_LIST_ITEMS = 128


def literal(value: Any, depth: int = 0) -> str | None:
    """CEL source for `value` giving the very value the binding makes of it, or None."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    kind = type(value)
    if kind is int:
        return str(value) if -_INT64 < value < _INT64 else None
    if kind is float:
        if not math.isfinite(value):
            return None
        text = repr(value)
        return text if any(c in text for c in ".eE") else text + ".0"
    if kind is str:
        return _string(value)
    if kind in (list, tuple) and depth < 4 and len(value) <= MAX_LIST_ITEMS:
        items = [literal(v, depth + 1) for v in value]
        if any(i is None for i in items):
            return None
        return "[" + ", ".join(items) + "]"  # type: ignore[arg-type]
    return None


def _string(value: str) -> str | None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: not a CEL string
        return None
    out = ['"']
    for ch in value:
        code = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\u{code:04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def inline_data(source: str, data: Mapping[str, Any]) -> str:
    """`source` with every constant `data` path written as a literal (unchanged when none is)."""
    if "data" not in source or _BINDS_DATA.search(mask_literals(source)):
        return source
    parts = []
    for code, text in code_segments(source):
        parts.append(_CHAIN.sub(lambda m, text=text: _replace(m, text, data), text) if code else text)
    return "".join(parts)


def _replace(match: re.Match[str], text: str, data: Mapping[str, Any]) -> str:
    whole = match.group(0)
    if _HAS_OPEN.search(text, 0, match.start()):
        return whole  # has(data.x.y) tests presence: it needs the select, not a value
    chain = match.group(1)
    node: Any = data
    end = 0
    for sel in _SELECTOR.finditer(chain):
        if not isinstance(node, Mapping):
            break  # a method or a field of a list or scalar: the prefix so far is the value
        if sel.group(1) not in node:
            return whole  # a missing key is a run-time error the expression must keep
        node = node[sel.group(1)]
        end = sel.end()
    if isinstance(node, Mapping):
        return whole  # maps stay bound (datapaths cuts those keyed by the request)
    value = literal(node)
    if value is None or len(value) > MAX_LITERAL_CHARS:
        return whole
    return f"dyn({value})" + chain[end:]
