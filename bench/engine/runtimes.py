#!/usr/bin/env python3
"""One 3-clause expression over a bound 60-entry tool map, per CEL runtime and way of binding.

    .venv/bin/python bench/engine/runtimes.py                       # cel-expr-python (the engine's)
    OTHER_VENV/bin/python bench/engine/runtimes.py --runtime rust   # common-expression-language
    .venv/bin/python bench/engine/runtimes.py --runtime closures    # celgate's closures backend

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


def closures() -> None:
    """celgate's closures backend (server/celgate/engine/backends/closures.py): the expression
    type-checked by cel-expr-python, then generated Python code over the plain dict, bound whole."""
    from celgate.engine.backends import Kind
    from celgate.engine.backends.closures import ClosuresBackend

    backend = ClosuresBackend([])
    # `tool` and `role` are not request variables: bind them through `vars`, as the engine binds a
    # policy's variables (a map of string to dyn), with `data` the bundle's dict as it is.
    import re

    def as_vars(source: str) -> str:
        return re.sub(r"\b(tool|role)\b", r"vars.\1", source)

    p, small = backend.compile(as_vars(EXPR), Kind.BOOL), backend.compile(as_vars(SMALL), Kind.BOOL)
    assert p.closure is not None and small.closure is not None  # generated code, no C++ fallback
    data = {"tools": TOOLS}

    def act(i: int) -> dict[Any, Any]:
        return backend.activation({"data": data, "vars": {"tool": f"tool_{i % 60}", "role": "user"}})

    assert backend.evaluate(p, act(1)) is True and backend.evaluate(p, act(3)) is False
    bench("closures backend: fresh activation, whole map", lambda i: backend.evaluate(p, act(i)))
    bench("closures backend: no map, two strings", lambda i: backend.evaluate(small, act(i)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runtime", choices=["cpp", "rust", "closures"], default="cpp")
    args = ap.parse_args()
    print("| runtime and binding | µs per evaluation |\n|---|---:|")
    {"cpp": cpp, "rust": rust, "closures": closures}[args.runtime]()


if __name__ == "__main__":
    main()
