"""Sessions that grow: CPU time per check at 1, 100 and 1,000 checks per session, per session store.

    python bench/engine/sessions.py [--checks 1,100,1000] [--stores memory,redis] [--decisions 2000]
                                    [--actions tool_call,tool_result,prompt] [--base CHECKOUT] [--backend cpp]

`bench/engine/run.py` gives every request a fresh session, so what a session costs as it grows is
invisible there. Here each cell (store x action x allow/deny path x checks per session K) sends
`--decisions` checks of bench/engine's typical request, K in a row per session (and principal),
each session new to the cell: a cell at K = 1,000 spends its checks in sessions growing from 0 to
1,000 entries (a tool call or tool result records one or two; 1,000 is the default bound, so later
checks also drop the oldest). A sample is the process CPU time of one check
(`time.process_time_ns`; the machine is shared), p50 and mean reported. With `--base`, that
checkout's engine runs too, in a process of its own, alternating chunks with this one on the same
requests (as bench/engine/ab.py), and the table has before/after columns. `redis` starts a
throwaway redis-server on a free loopback port (each side its own key prefix); its CPU is not
counted here (see bench/service/scale.py for the shared store's cost).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "bench" / "quotas"))

from memory import redis_server  # noqa: E402  (bench/quotas/memory.py: a throwaway redis-server)

_CHILD = r"""
import json, sys, time
sys.path.insert(0, {server!r})
import celgate
sys.path.insert(1, {bench!r})
import run as B
from celgate.stores import Stores
from celgate.sessions.store import open_session_store
assert celgate.__file__.startswith({server!r}), celgate.__file__
engine = celgate.load({policies!r}, backend={backend!r})
for action in B.TYPICAL:
    for i in range(200):
        engine.check(B.variant(B.TYPICAL[action], 1_000_000 + i))
shapes = {{"allow": B.TYPICAL, "deny": B.DENYING}}
url = {url!r}
if url.startswith("redis"):
    from celgate.sessions.redis_store import RedisSessionStore
    sessions = RedisSessionStore(url, prefix={prefix!r})
else:
    sessions = open_session_store(url)
stores = Stores(sessions=sessions)
print("ready", flush=True)
clock = time.process_time_ns
for line in sys.stdin:
    action, path, checks, first, count = line.split()
    checks, first, count = int(checks), int(first), int(count)
    samples = []
    for i in range(first, first + count):
        r = B.variant(shapes[path][action], i)
        s = f"{{action}}-{{path}}-{{checks}}-{{i // checks}}"
        r["session"] = {{"id": s}}
        r["principal"] = {{**r["principal"], "id": "u-" + s, "tenant": f"t-{{i // checks % 100}}"}}
        start = clock()
        engine.check(r, stores=stores)
        samples.append((clock() - start) / 1000)
    print(json.dumps(samples), flush=True)
"""


class Child:
    """One checkout's engine with one session store, in a process of its own."""

    def __init__(self, checkout: Path, url: str, prefix: str, backend: str | None) -> None:
        code = _CHILD.format(
            server=str(checkout / "server"),
            bench=str(HERE),
            policies=str(ROOT / "policies"),
            url=url,
            prefix=prefix,
            backend=backend,
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None and self.proc.stdout.readline().strip() == "ready"

    def run(self, action: str, path: str, checks: int, first: int, count: int) -> list[float]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(f"{action} {path} {checks} {first} {count}\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=60)


def _stats(samples: list[float]) -> tuple[float, float]:
    s = sorted(samples)
    return s[len(s) // 2], sum(s) / len(s)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checks", default="1,100,1000", help="checks per session, one cell each")
    parser.add_argument("--stores", default="memory,redis")
    parser.add_argument("--actions", default="tool_call,tool_result,prompt")
    parser.add_argument("--decisions", type=int, default=2000, help="checks per cell and side")
    parser.add_argument("--chunk", type=int, default=200, help="checks per alternating chunk (with --base)")
    parser.add_argument("--base", type=Path, help="a 'before' checkout (its server/), alternating with this one")
    parser.add_argument("--backend", help="CEL backend (default: the engine's default)")
    args = parser.parse_args()
    checks = [max(1, min(int(k), 100_000)) for k in args.checks.split(",")]
    decisions = max(100, min(args.decisions, 200_000))
    chunk = max(50, min(args.chunk, decisions))
    rows: list[list[str]] = []
    for store in args.stores.split(","):
        with redis_server() if store == "redis" else _memory() as url:
            sides = {"after": Child(ROOT, url, "after:", args.backend)}
            if args.base is not None:
                sides["before"] = Child(args.base, url, "before:", args.backend)
            try:
                for action in args.actions.split(","):
                    for path in ("allow", "deny"):
                        for k in checks:
                            got: dict[str, list[float]] = {name: [] for name in sides}
                            order = list(sides.items())
                            for n, first in enumerate(range(0, decisions, chunk)):
                                # alternate who goes first; both decide the same requests
                                for name, child in order if n % 2 == 0 else order[::-1]:
                                    got[name].extend(child.run(action, path, k, first, min(chunk, decisions - first)))
                            row = [store, action, path, f"{k:,}"]
                            for name in ("before", "after"):
                                if name in got:
                                    p50, mean = _stats(got[name])
                                    row += [f"{p50:.0f}", f"{mean:.0f}"]
                            rows.append(row)
                            print(f"{store} {action}/{path} K={k} done", file=sys.stderr)
            finally:
                for child in sides.values():
                    child.close()
    print(f"CPU µs per check, {decisions} checks per cell and side, K checks per session in a row\n")
    cols = ["store", "action", "path", "checks per session"]
    cols += ["p50 before", "mean before", "p50 after", "mean after"] if args.base is not None else ["p50", "mean"]
    print("| " + " | ".join(cols) + " |")
    print("|" + "|".join("---" if i < 3 else "---:" for i in range(len(cols))) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


@contextmanager
def _memory() -> Iterator[str]:
    yield "memory"


if __name__ == "__main__":
    sys.exit(main())
