"""What an approval costs a decision: p50/p99 of the engine deciding a held request (a pending
approval written to the store), a retry while pending (one read), and the approved retry (read +
atomic use), per store; plus a plain allow of the same policy for reference.

    python bench/approvals/run.py [--n 300] [--redis redis://127.0.0.1:6379/0]

SQLite is a file in a temp dir (WAL, synchronous=NORMAL). Redis only with --redis. Bounded: --n
decisions per row. Numbers depend on the machine and its load: compare runs made in one session.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "server"), str(ROOT)]

import celgate  # noqa: E402
from celgate.approvals import Approvals, open_store  # noqa: E402
from celgate.stores import Stores  # noqa: E402
from tests.unit.approvals.policies import transfer, write_repo  # noqa: E402


def timed(fn: Any, n: int) -> tuple[float, float]:
    samples = []
    for i in range(n):
        started = time.perf_counter()
        fn(i)
        samples.append(time.perf_counter() - started)
    samples.sort()
    return statistics.median(samples) * 1e6, samples[int(len(samples) * 0.99) - 1] * 1e6


def rows(name: str, approvals: Approvals, repo: Path, n: int) -> list[tuple[str, str, float, float]]:
    engine = celgate.load(repo, stores=Stores(approvals=approvals))
    out = []
    out.append((name, "allow (no hold)", *timed(lambda i: engine.check(transfer(amount=10.0)), n)))
    held: list[str] = []

    def hold(i: int) -> None:
        held.append(engine.check(transfer(amount=2000.0 + i)).approval_id)

    out.append((name, "hold: pending approval written", *timed(hold, n)))
    out.append(
        (
            name,
            "retry while pending (read)",
            *timed(lambda i: engine.check({**transfer(amount=2000.0 + i), "approval_id": held[i]}), n),
        )
    )
    for approval_id in held:
        approvals.decide(approval_id, True, "bench", "")
    out.append(
        (
            name,
            "approved retry (read + use)",
            *timed(lambda i: engine.check({**transfer(amount=2000.0 + i), "approval_id": held[i]}), n),
        )
    )
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--redis", default="")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        repo = write_repo(Path(tmp) / "policies")
        table = rows("sqlite", Approvals(open_store(str(Path(tmp) / "a.db"))), repo, args.n)
        if args.redis:
            table += rows("redis", Approvals(open_store(args.redis)), repo, args.n)
    print(f"{'store':8} {'decision':34} {'p50 µs':>9} {'p99 µs':>9}")
    for store, what, p50, p99 in table:
        print(f"{store:8} {what:34} {p50:9.0f} {p99:9.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
