#!/usr/bin/env python3
"""One 3-clause expression over a bound 60-entry tool map, per CEL runtime and way of binding.

    .venv/bin/python bench/engine/runtimes.py                       # cel-expr-python (the engine's)
    OTHER_VENV/bin/python bench/engine/runtimes.py --runtime rust   # common-expression-language
    .venv/bin/python bench/engine/runtimes.py --runtime closures    # prototype: CEL -> Python closures

Shows why the engine cuts `data` per request: cel-expr-python converts every bound Python value
per `Activation`, and an activation cannot be reused with other per-request values. The Rust
runtime (PyPI `common-expression-language`, not a celgate dependency: install it in another
virtualenv, its module is also called `cel`) is measured the same way for comparison.
Best of 5 rounds, process time; not part of CI.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

TOOLS = {
    f"tool_{i}": {
        "risk": "high" if i % 7 == 0 else "low",
        "roles": ["admin", "ops"] if i % 3 == 0 else ["user"],
        "destinations": ["to", "email"],
        "max_amount": 1000 + i,
    }
    for i in range(60)
}
EXPR = 'tool in data.tools && data.tools[tool].risk == "low" && role in data.tools[tool].roles'
SMALL = 'tool == "tool_1" && role == "user"'


def bench(label: str, fn: Callable[[int], Any], n: int = 3000) -> None:
    best = 1e9
    for _ in range(5):
        t0 = time.process_time()
        for i in range(n):
            fn(i)
        best = min(best, (time.process_time() - t0) / n)
    print(f"| {label} | {best * 1e6:.1f} |")


def cpp() -> None:
    from cel_expr_python import cel
    from google.protobuf import descriptor_pool

    env = cel.NewEnv(
        descriptor_pool.Default(),
        variables={
            "data": cel.Type.Map(cel.Type.STRING, cel.Type.DYN),
            "tool": cel.Type.STRING,
            "role": cel.Type.STRING,
        },
    )
    p, small = env.compile(EXPR), env.compile(SMALL)
    data = {"tools": TOOLS}
    bench(
        "cel-expr-python: fresh Activation, whole map",
        lambda i: p.eval(env.Activation({"data": data, "tool": f"tool_{i % 60}", "role": "user"})),
    )

    def cut(i: int) -> Any:
        name = f"tool_{i % 60}"
        return p.eval(env.Activation({"data": {"tools": {name: TOOLS[name]}}, "tool": name, "role": "user"}))

    bench("cel-expr-python: fresh Activation, map cut to the called tool", cut)
    a = env.Activation({"data": data, "tool": "tool_1", "role": "user"})
    bench("cel-expr-python: one Activation reused", lambda i: p.eval(a))
    bench(
        "cel-expr-python: no map, two strings",
        lambda i: small.eval(env.Activation({"tool": f"tool_{i % 60}", "role": "user"})),
    )


def rust() -> None:
    import cel  # common-expression-language

    p, small = cel.compile(EXPR), cel.compile(SMALL)
    bench(
        "common-expression-language: dict context per call",
        lambda i: p.execute({"data": {"tools": TOOLS}, "tool": f"tool_{i % 60}", "role": "user"}),
    )
    ctx = cel.Context()
    ctx.add_variable("data", {"tools": TOOLS})

    def reused(i: int) -> Any:
        ctx.add_variable("tool", f"tool_{i % 60}")
        ctx.add_variable("role", "user")
        return p.execute(ctx)

    bench("common-expression-language: one Context reused, map added once", reused)
    bench(
        "common-expression-language: no map, two strings",
        lambda i: small.execute({"tool": f"tool_{i % 60}", "role": "user"}),
    )


class _CelError(Exception):
    """A CEL run-time error inside a transpiled closure (no such key, bad operand)."""


def transpile(source: str) -> Callable[[dict[str, Any]], Any]:
    """A prototype of "our own transpiler": the CEL parse tree (cel-python's parser) turned into
    nested Python closures that evaluate over plain Python values, so nothing is converted per
    request. Only the node kinds of this benchmark's expressions (identifiers, field and index
    selection, string literals, `==`, `in`, `&&` with CEL's error absorption); a real one would
    work from the checked AST of the fused program and cover the whole language."""
    import ast as pyast

    import celpy
    from lark import Token, Tree

    def build(node: Any) -> Callable[[dict[str, Any]], Any]:
        if isinstance(node, Token):
            raise NotImplementedError(node.type)
        kind, kids = node.data, node.children
        if kind in ("expr", "conditionalor", "addition", "multiplication", "unary", "member") and len(kids) == 1:
            return build(kids[0])
        if kind == "conditionaland" and len(kids) == 1:
            return build(kids[0])
        if kind == "conditionaland":
            left, right = build(kids[0]), build(kids[1])

            def and_(act: dict[str, Any]) -> Any:
                try:
                    a = left(act)
                except _CelError:
                    a = None  # an error: absorbed when the other side is false
                if a is False:
                    return False
                b = right(act)
                if b is False:
                    return False
                if a is None:
                    raise _CelError("error in the left operand of &&")
                return True

            return and_
        if kind == "relation" and len(kids) == 1:
            return build(kids[0])
        if kind == "relation":
            op, right = kids[0], build(kids[1])
            left = build(op.children[0])
            if op.data == "relation_eq":
                return lambda act: left(act) == right(act)
            if op.data == "relation_in":

                def in_(act: dict[str, Any]) -> bool:
                    container = right(act)
                    if not isinstance(container, dict | list):
                        raise _CelError("no matching overload for in")
                    return left(act) in container

                return in_
            raise NotImplementedError(op.data)
        if kind == "member_dot":
            target, name = build(kids[0]), str(kids[1])

            def dot(act: dict[str, Any]) -> Any:
                value = target(act)
                if not isinstance(value, dict) or name not in value:
                    raise _CelError(f"no such key: {name}")
                return value[name]

            return dot
        if kind == "member_index":
            target, index = build(kids[0]), build(kids[1])

            def item(act: dict[str, Any]) -> Any:
                value, key = target(act), index(act)
                if not isinstance(value, dict) or key not in value:
                    raise _CelError(f"no such key: {key}")
                return value[key]

            return item
        if kind == "primary":
            tok = kids[0]
            if isinstance(tok, Tree) and tok.data == "ident":
                name = str(tok.children[0])
                return lambda act: act[name]
            if isinstance(tok, Tree) and tok.data == "literal":
                value = pyast.literal_eval(str(tok.children[0]))
                return lambda act: value
            if isinstance(tok, Token) and tok.type == "IDENT":
                name = str(tok)
                return lambda act: act[name]
            if isinstance(tok, Token):
                value = pyast.literal_eval(str(tok))
                return lambda act: value
        if kind == "ident":
            name = str(kids[0])
            return lambda act: act[name]
        if kind == "literal":
            value = pyast.literal_eval(str(kids[0]))
            return lambda act: value
        raise NotImplementedError(kind)

    return build(celpy.Environment().compile(source))


def closures() -> None:
    """The prototype transpiler's closures: the whole map bound as the plain dict it already is."""
    p, small = transpile(EXPR), transpile(SMALL)
    data = {"tools": TOOLS}
    assert p({"data": data, "tool": "tool_1", "role": "user"}) is True
    assert p({"data": data, "tool": "tool_3", "role": "user"}) is False
    assert small({"tool": "tool_1", "role": "user"}) is True
    bench(
        "transpiled closures (prototype): fresh dict activation, whole map",
        lambda i: p({"data": data, "tool": f"tool_{i % 60}", "role": "user"}),
    )
    bench(
        "transpiled closures (prototype): no map, two strings",
        lambda i: small({"tool": f"tool_{i % 60}", "role": "user"}),
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runtime", choices=["cpp", "rust", "closures"], default="cpp")
    args = ap.parse_args()
    print("| runtime and binding | µs per evaluation |\n|---|---:|")
    {"cpp": cpp, "rust": rust, "closures": closures}[args.runtime]()


if __name__ == "__main__":
    main()
