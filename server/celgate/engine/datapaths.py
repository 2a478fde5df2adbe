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

_DATA_CHAIN = re.compile(r"(?<![.\w])data((?:\s*\.\s*[A-Za-z_]\w*)*)")


def _chains(source: str) -> Iterable[list[str] | None]:
    """Each use of `data` as its list of literal selectors; None when the whole tree is needed."""
    for m in _DATA_CHAIN.finditer(source):
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
