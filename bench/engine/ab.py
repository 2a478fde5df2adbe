"""Before/after CPU time per decision: two checkouts, alternating, same requests, same process setup.

    python bench/engine/ab.py --base /tmp/base-checkout [--rounds 10] [--decisions 300] [--actions prompt,...]
    python bench/engine/ab.py --base . --base-backend cpp --new-backend closures   # two backends, one checkout

Each checkout's engine runs in a process of its own (loaded and warmed once); for every cell
(action x allow/deny path of bench/engine's typical requests, 5,000 principals) the two decide
the same requests in alternating chunks, so load from neighbours falls on both alike. A sample is
the process CPU time of one decision (`time.process_time_ns`, not wall time: the machine is
shared); the table pools every chunk's samples per side. The requests and this script come from
the current checkout; only the engine under test (`server/`) differs.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

_CHILD = r"""
import gc, json, sys, time
sys.path.insert(0, {server!r})
import celgate
sys.path.insert(1, {bench!r})
import run as B
assert celgate.__file__.startswith({server!r}), celgate.__file__
engine = celgate.load({policies!r}, backend={backend!r} or None)
shapes = {{"allow": B.TYPICAL, "deny": B.DENYING}}
for action in B.TYPICAL:
    for path in shapes:
        for i in range(300):
            engine.check(B.variant(shapes[path][action], 1_000_000 + i))
print("ready", flush=True)
clock = time.process_time_ns
for line in sys.stdin:
    action, path, first, count = line.split()
    request = shapes[path][action]
    requests = [B.variant(request, i) for i in range(int(first), int(first) + int(count))]
    if {checks} > 1:  # sessions that grow: each takes this many checks in a row
        for i, r in zip(range(int(first), int(first) + int(count)), requests):
            r["session"] = {{"id": f"s-{{i // {checks}}}"}}
            r["principal"] = {{**r["principal"], "id": f"u-{{i // {checks}}}", "tenant": f"t-{{i // {checks} % 100}}"}}
    samples = []
    for r in requests:
        start = clock()
        engine.check(r)
        samples.append((clock() - start) / 1000)
    print(json.dumps(samples), flush=True)
"""


class Child:
    """One checkout's engine in a process of its own, deciding chunks of a cell on request."""

    def __init__(self, checkout: Path, checks: int = 1, backend: str = "") -> None:
        code = _CHILD.format(
            server=str(checkout.resolve() / "server"),
            bench=str(HERE),
            policies=str(ROOT / "policies"),
            checks=checks,
            backend=backend,
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None and self.proc.stdout.readline().strip() == "ready"

    def run(self, action: str, path: str, first: int, count: int) -> list[float]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(f"{action} {path} {first} {count}\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)


def _stats(samples: list[float]) -> tuple[float, float, float]:
    s = sorted(samples)
    return s[len(s) // 2], s[int(len(s) * 0.99) - 1], sum(s) / len(s)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", required=True, type=Path, help="the 'before' checkout (its server/ is used)")
    parser.add_argument("--new", type=Path, default=ROOT, help="the 'after' checkout (default: this one)")
    parser.add_argument("--rounds", type=int, default=10, help="alternating chunks per cell")
    parser.add_argument("--decisions", type=int, default=300, help="decisions per chunk")
    parser.add_argument("--actions", default="prompt,response,tool_call,tool_result,retrieval")
    parser.add_argument(
        "--session-checks",
        type=int,
        default=1,
        help="checks per session (and principal) in a row; default 1: a fresh session per request, as bench/engine",
    )
    parser.add_argument(
        "--base-backend", default="", help="the CEL backend of the before engine (default: its default)"
    )
    parser.add_argument("--new-backend", default="", help="the CEL backend of the after engine (default: its default)")
    args = parser.parse_args()
    actions = args.actions.split(",")
    rounds = max(1, min(args.rounds, 100))
    chunk = max(50, min(args.decisions, 20_000))
    checks = max(1, min(args.session_checks, 100_000))
    base, new = Child(args.base, checks, args.base_backend), Child(args.new, checks, args.new_backend)
    samples: dict[tuple[str, str], tuple[list[float], list[float]]] = {}
    try:
        for action in actions:
            for path in ("allow", "deny"):
                before, after = samples.setdefault((action, path), ([], []))
                for r in range(rounds):
                    # alternate who goes first; both decide the same requests of the same principals
                    pair = [(base, before), (new, after)] if r % 2 == 0 else [(new, after), (base, before)]
                    for child, into in pair:
                        into.extend(child.run(action, path, r * chunk, chunk))
                print(f"{action}/{path} done", file=sys.stderr)
    finally:
        base.close()
        new.close()
    per = f", {checks} checks per session" if checks > 1 else ""
    print(f"CPU time per decision (µs), {rounds} alternating chunks of {chunk} decisions per cell and side{per}")
    base_name, new_name = args.base_backend or "default backend", args.new_backend or "default backend"
    print(f"before: {args.base} ({base_name}); after: {args.new} ({new_name})")
    print()
    print("| action | path | p50 before | p50 after | p99 before | p99 after | mean before | mean after |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for (action, path), (before, after) in samples.items():
        b, a = _stats(before), _stats(after)
        print(f"| {action} | {path} | {b[0]:.1f} | {a[0]:.1f} | {b[1]:.1f} | {a[1]:.1f} | {b[2]:.1f} | {a[2]:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
