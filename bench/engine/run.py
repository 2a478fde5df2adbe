"""Engine latency: p50/p99 per decision, in process, no network.

Tables:
1. the shipped library (policies/) on a typical request of every action, both CEL backends;
2. generated policy sets of 10, 100 and 1,000 rules on tool_call, and the same rules declared for
   another action (they should cost nothing for tool_call).

    python bench/engine/run.py [--seconds 1.0] [--backends cpp,python] [--markdown]

Numbers depend on the machine and its load: compare runs made in the same session.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "server"))

import celgate  # noqa: E402
from celgate.engine import Engine  # noqa: E402

SYSTEM = "You are a helpful assistant for ACME Corp. Answer questions about our products politely."
TYPICAL: dict[str, dict[str, Any]] = {
    "prompt": {
        "action": "prompt",
        "principal": {"id": "u-1842", "roles": ["user"], "tenant": "acme"},
        "model": {"provider": "openai", "name": "gpt-4o"},
        "messages": [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": "Can you summarise the differences between the Basic and Pro plans?"},
        ],
        "session": {"id": "s-77"},
    },
    "response": {
        "action": "response",
        "principal": {"id": "u-1842", "roles": ["user"], "tenant": "acme"},
        "model": {"provider": "openai", "name": "gpt-4o"},
        "messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "Basic vs Pro?"}],
        "response": {
            "role": "assistant",
            "content": "Pro adds SSO, audit logs and priority support; Basic covers up to five seats. "
            "Both include the mobile apps and a 30-day trial.",
        },
        "session": {"id": "s-77"},
    },
    "tool_call": {
        "action": "tool_call",
        "principal": {"id": "u-1842", "roles": ["user"], "tenant": "acme"},
        "tool": {"name": "search_docs", "args": {"q": "pro plan pricing", "limit": 5}},
        "session": {"id": "s-77"},
    },
    "tool_result": {
        "action": "tool_result",
        "principal": {"id": "u-1842", "roles": ["user"], "tenant": "acme"},
        "tool": {
            "name": "search_docs",
            "result": "Pro plan: 12 EUR per seat per month, billed yearly. Includes SSO and audit logs.",
        },
        "session": {"id": "s-77"},
    },
    "retrieval": {
        "action": "retrieval",
        "principal": {"id": "u-1842", "roles": ["user"], "tenant": "acme"},
        "documents": [
            {
                "id": f"d{i}",
                "content": "Pricing overview for the Pro plan, including seats and SSO.",
                "source": "https://docs.acme.example/pricing",
                "labels": ["tenant:acme", "source:docs"],
            }
            for i in range(4)
        ],
        "session": {"id": "s-77"},
    },
}


def variants(request: dict[str, Any], n: int = 5000) -> list[dict[str, Any]]:
    """The same request from `n` different principals and sessions, as real traffic would come:
    quotas count per principal, and one principal repeating itself would soon be throttled."""
    out = []
    for i in range(n):
        r = dict(request)
        r["principal"] = {**request["principal"], "id": f"u-{i}"}
        r["session"] = {"id": f"s-{i}"}
        out.append(r)
    return out


def measure(engine: Engine, request: dict[str, Any], seconds: float) -> tuple[float, float, int]:
    """p50 and p99 in microseconds over as many decisions as fit in `seconds` (at most 200k)."""
    requests = variants(request)
    for r in requests[:200]:
        engine.check(r)
    samples: list[float] = []
    clock = time.perf_counter_ns
    deadline = time.perf_counter() + seconds
    n = len(requests)
    gc.disable()
    try:
        while time.perf_counter() < deadline and len(samples) < 200_000:
            r = requests[len(samples) % n]
            start = clock()
            engine.check(r)
            samples.append((clock() - start) / 1000)
    finally:
        gc.enable()
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.99) - 1], len(samples)


CONFIG = "apiVersion: celgate/v1\nkind: Config\n"


def generated_repo(root: Path, rules: int, action: str) -> Path:
    """`rules` rules of typical shapes spread over policies of 10 rules each."""
    root.mkdir(parents=True)
    (root / "celgate.yaml").write_text(CONFIG)
    shapes = [
        'tool.name == "tool_{i}" && !("admin" in principal.roles)',
        'tool.name == "tool_{i}" && double(tool.args.amount) > {i}.0',
        'principal.tenant == "t{i}" && tool.name.startsWith("x{i}")',
        'session.labels.exists(l, l == "label{i}") && tool.name == "tool_{i}"',
        '"k{i}" in tool.args && tool.name == "tool_{i}"',
    ]
    for p in range(max(1, rules // 10)):
        lines = [f"apiVersion: celgate/v1\nkind: Policy\nname: gen-{p}\nactions: [{action}]\nrules:"]
        for r in range(min(10, rules)):
            i = p * 10 + r
            expr = shapes[i % len(shapes)].format(i=i)
            effect = "deny" if i % 3 else "require_approval"
            lines.append(f"  - name: r{i}\n    effect: {effect}\n    when: '{expr}'")
        (root / f"gen-{p}.yaml").write_text("\n".join(lines) + "\n")
    return root


def table(title: str, header: list[str], rows: list[list[str]], markdown: bool) -> None:
    print(f"\n{title}\n")
    if markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "|".join("---:" if i else "---" for i in range(len(header))) + "|")
        for row in rows:
            print("| " + " | ".join(row) + " |")
        return
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    for row in rows:
        print("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=1.0, help="measuring time per cell")
    parser.add_argument("--backends", default="cpp,python")
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    args = parser.parse_args()
    backends = args.backends.split(",")

    rows = []
    for backend in backends:
        # A generous in-memory quota store: the benchmark measures decisions, not spent budgets.
        engine = celgate.load(ROOT / "policies", backend=backend)
        for action, request in TYPICAL.items():
            decision = engine.check(request)
            seconds = args.seconds if backend == "cpp" else min(args.seconds, 1.0)
            p50, p99, n = measure(engine, request, seconds)
            rows.append([backend, action, decision.effect, f"{p50:.1f}", f"{p99:.1f}", str(n)])
    table(
        "Shipped library (policies/), typical request per action, µs per decision",
        ["backend", "action", "effect", "p50 µs", "p99 µs", "decisions"],
        rows,
        args.markdown,
    )

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for backend in backends:
            empty = Path(tmp) / f"empty-{backend}"
            empty.mkdir()
            (empty / "celgate.yaml").write_text(CONFIG)
            engine = celgate.load(empty, backend=backend)
            for action in ("prompt", "tool_call"):
                p50, p99, n = measure(engine, TYPICAL[action], min(args.seconds, 1.0))
                rows.append([backend, action, f"{p50:.1f}", f"{p99:.1f}", str(n)])
    table(
        "No policies: the engine's own cost (parse the request, bind, decide, build the decision), µs",
        ["backend", "action", "p50 µs", "p99 µs", "decisions"],
        rows,
        args.markdown,
    )

    rows = []
    request = TYPICAL["tool_call"]
    with tempfile.TemporaryDirectory() as tmp:
        for backend in backends:
            for rules in (10, 100, 1000):
                if backend == "python" and rules > 100:
                    continue
                for action in ("tool_call", "prompt"):
                    repo = generated_repo(Path(tmp) / f"{backend}-{rules}-{action}", rules, action)
                    engine = celgate.load(repo, backend=backend)
                    p50, p99, n = measure(engine, request, min(args.seconds, 1.0))
                    label = "tool_call" if action == "tool_call" else "prompt (other action)"
                    rows.append([backend, str(rules), label, f"{p50:.1f}", f"{p99:.1f}", str(n)])
    table(
        "Generated policy sets: a tool_call request against N rules declared for tool_call, or for prompt",
        ["backend", "rules", "rules declared for", "p50 µs", "p99 µs", "decisions"],
        rows,
        args.markdown,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
