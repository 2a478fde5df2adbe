"""Which parts of `data` an action's policies can reach, so only those are bound per request.

The C++ runtime converts a bound Python dict into CEL values afresh for every activation (about
14 ns per byte of JSON here), so binding the whole `data/` tree to every request would make its
size a per-request cost. Expressions name data by literal paths (`data.owasp.llm01.threshold`,
`data.tools[tool.name]`); following those paths through the actual data gives the subtrees that
can be read. Anything not statically clear (`data[x]`, bare `data`) keeps the whole tree.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from celgate.engine.celtext import mask_literals

_DATA_CHAIN = re.compile(r"(?<![.\w])data\b((?:\s*\.\s*[A-Za-z_]\w*)*)")


def _chains(source: str) -> Iterable[list[str] | None]:
    """Each use of `data` as its list of literal selectors; None when the whole tree is needed.
    Only code counts: `"data_url"` in a string literal is not a use of `data` (it used to bind the
    whole tree to every response and tool_call)."""
    for m in _DATA_CHAIN.finditer(mask_literals(source)):
        parts = [p.strip() for p in m.group(1).split(".") if p.strip()]
        yield parts or None


def reachable(data: Mapping[str, Any], sources: Iterable[str]) -> dict[str, Any]:
    """The part of `data` the expressions can read: every subtree their literal paths lead to."""
    pruned: dict[str, Any] = {}
    for source in sources:
        for chain in _chains(source):
            if chain is None:
                return dict(data)
            _include(pruned, data, chain)
    return pruned


def _include(pruned: dict[str, Any], data: Mapping[str, Any], chain: list[str]) -> None:
    node: Any = data
    target = pruned
    for i, key in enumerate(chain):
        if not isinstance(node, Mapping) or key not in node:
            break  # a method call (`.exists`) or a missing key: the subtree so far is enough
        child = node[key]
        last = i == len(chain) - 1 or not isinstance(child, Mapping) or chain[i + 1] not in child
        if last:
            target[key] = child
            return
        existing = target.get(key)
        if existing is node.get(key):  # already included whole
            return
        target = target.setdefault(key, {})
        node = child
    else:
        return
    # The chain stopped on a key that is not there: include nothing more (a missing key errors anyway).


# --- Keyed data: maps that policies only ever index by the tool being called or offered -------------
#
# `data.tools[tool.name]` and `tool.name in data.tools` read one entry of a map that may hold
# hundreds. When every use of a data map in an action's expressions is of that form (keyed by
# `tool.name`, or by `t.name` for `t` ranging over the request's offered `tools`), the engine binds
# only the entries those names select: the same answers, a fraction of the per-request copy.

TOOL = "tool"  # keyed by the request's tool.name
OFFERED = "tools"  # keyed by the names of the request's offered tools

_MACRO = r"(?:all|exists|exists_one|filter|map)"
_USE = re.compile(r"(?<![.\w])data\s*\.\s*([A-Za-z_]\w*)")
_BARE = re.compile(r"(?<![.\w])data\b(?!\s*\.\s*[A-Za-z_])")
_INDEXED = re.compile(r"\s*\[\s*([A-Za-z_]\w*)\s*\.\s*name\s*\]")
# `X.name in data.S`, where X.name is the whole left operand: what precedes it must bind more
# loosely than `in` (`("a" + tool.name) in data.tools` is keyed by something else).
_IN_BEFORE = re.compile(r"(?:^|[(\[{,?:]|&&|\|\|)\s*([A-Za-z_]\w*)\s*\.\s*name\s+in\s*$")
_FOLLOWED = re.compile(r"\s*[.\[]")
_TOOLS_VAR = re.compile(rf"(?<![.\w])tools\s*\.\s*{_MACRO}\s*\(\s*([A-Za-z_]\w*)\s*,")
_BINDING = re.compile(rf"(?:\.\s*{_MACRO}\s*\(|cel\s*\.\s*bind\s*\()\s*([A-Za-z_]\w*)\s*,")


def _uses(code: str) -> tuple[dict[str, set[str]], set[str]]:
    """Per stem, the key kinds of its uses in one expression; stems used any other way."""
    bindings = _BINDING.findall(code)
    if "tool" in bindings or "tools" in bindings:  # a comprehension variable shadows the request's
        return {}, {m.group(1) for m in _USE.finditer(code)} | {"*"}
    offered_vars = {v for v in _TOOLS_VAR.findall(code) if bindings.count(v) == 1}
    keyed: dict[str, set[str]] = {}
    other: set[str] = set()
    if _BARE.search(code):
        other.add("*")
    for m in _USE.finditer(code):
        stem, after, before = m.group(1), code[m.end() :], code[: m.start()]
        kind = None
        indexed = _INDEXED.match(after)
        if indexed:
            var = indexed.group(1)
        else:
            tested = _IN_BEFORE.search(before)
            var = tested.group(1) if tested and not _FOLLOWED.match(after) else None
        if var == "tool":
            kind = TOOL
        elif var is not None and var in offered_vars:
            kind = OFFERED
        if kind is None:
            other.add(stem)
        else:
            keyed.setdefault(stem, set()).add(kind)
    return keyed, other


def keyed_maps(data: Mapping[str, Any], sources: Iterable[str]) -> dict[str, frozenset[str]]:
    """Data maps every use of which is keyed by tool names: stem -> the kinds of key used."""
    keyed: dict[str, set[str]] = {}
    other: set[str] = set()
    for source in sources:
        k, o = _uses(mask_literals(source))
        other |= o
        for stem, kinds in k.items():
            keyed.setdefault(stem, set()).update(kinds)
    if "*" in other:
        return {}
    return {
        stem: frozenset(kinds)
        for stem, kinds in keyed.items()
        if stem not in other and isinstance(data.get(stem), Mapping)
    }


def select_keyed(
    static: Mapping[str, Any], keyed: Mapping[str, tuple[Mapping[str, Any], frozenset[str]]], request: Any
) -> dict[str, Any]:
    """This request's `data`: the static part, with each keyed map cut to the entries it can read."""
    out = dict(static)
    for stem, (full, kinds) in keyed.items():
        names = [request.tool.name] if TOOL in kinds else []
        if OFFERED in kinds:
            names += [t.name for t in request.tools]
        out[stem] = {name: full[name] for name in names if name in full}
    return out
