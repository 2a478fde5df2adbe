#!/usr/bin/env python3
"""What quota state costs: memory of a quota store under the shipped library's quotas, at a steady
rate of prompts in simulated time, sampled as the windows fill.

    .venv/bin/python bench/quotas/memory.py [--prompts 360000] [--rate 100] [--principals 1000]
        [--tenants 10] [--store memory|redis|both] [--redis-prompts 60000]

Each prompt charges what the shipped `policies/celgate.yaml` charges: prompts-per-principal (1 min),
prompt-tokens-per-principal (1 h), and the audit-mode tenant quotas prompts-per-tenant (1 min) and
prompt-tokens-per-tenant (**1 day**) — enforced ones together (all or nothing), audit ones each on
their own, as the engine does. Time is simulated (`now` advances 1/rate per prompt), so an hour at
100 prompts/s takes as long as the store needs for 360,000 calls, not an hour. Nothing expires from
the 1-day window during a run shorter than a day, so the last row, divided by the prompts, is what
a day costs per prompt; a store whose state grows with the prompts keeps growing for the whole day.

Memory store: bytes held by the store as tracemalloc counts them (allocations made inside
`consume`, still alive at the sample, after a gc). Redis store: `used_memory` of a throwaway
`redis-server` (started here on a free loopback port) minus its value before the run, and the key
count. Bounded by --prompts and --redis-prompts. Not part of CI.
"""

from __future__ import annotations

import argparse
import gc
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "server"))

from celgate.quotas import Charge, MemoryStore, QuotaStore  # noqa: E402

# name, key kind, cost kind, limit, window seconds, enforced (policies/celgate.yaml as shipped)
QUOTAS = [
    ("prompts-per-principal", "principal", "one", 120, 60.0, True),
    ("prompt-tokens-per-principal", "principal", "tokens", 400_000, 3_600.0, True),
    ("prompts-per-tenant", "tenant", "one", 3_000, 60.0, False),
    ("prompt-tokens-per-tenant", "tenant", "tokens", 20_000_000, 86_400.0, False),
]


def charges(principal: str, tenant: str, tokens: int) -> tuple[list[Charge], list[Charge]]:
    enforced: list[Charge] = []
    audited: list[Charge] = []
    for name, key_kind, cost_kind, limit, window, is_enforced in QUOTAS:
        key = principal if key_kind == "principal" else tenant
        cost = 1 if cost_kind == "one" else tokens
        (enforced if is_enforced else audited).append(Charge(f"{name}:{key}", cost, limit, window))
    return enforced, audited


def drive(store: QuotaStore, prompts: int, rate: float, principals: int, tenants: int, sample: object) -> None:
    rng = random.Random(1)
    now = 1_767_225_600.0  # 2026-01-01T00:00:00Z
    marks = {prompts * k // 6 for k in range(1, 7)}
    for i in range(1, prompts + 1):  # bounded
        p = rng.randrange(principals)
        enforced, audited = charges(f"user-{p}", f"tenant-{p % tenants}", rng.randrange(20, 400))
        store.consume(enforced, now)
        store.consume(audited, now, atomic=False)
        now += 1.0 / rate
        if i in marks:
            sample(i, i / rate)  # type: ignore[operator]


def row(prompts: int, seconds: float, used: int, extra: str) -> None:
    print(f"| {prompts:,} | {seconds / 3600:.2f} h | {used / 2**20:.2f} MiB | {used / prompts:.1f} | {extra} |")


def header(title: str, extra: str) -> None:
    print(f"\n{title}\n")
    print(f"| prompts | simulated time | store memory | bytes/prompt | {extra} |")
    print("|---:|---:|---:|---:|---:|")


def run_memory(args: argparse.Namespace) -> None:
    header(f"memory store ({ROOT.name})", "buckets")
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    store = MemoryStore()

    def sample(i: int, seconds: float) -> None:
        gc.collect()
        used = tracemalloc.get_traced_memory()[0] - base
        buckets = getattr(store, "_buckets", None) or getattr(store, "_logs", {})
        row(i, seconds, used, f"{len(buckets):,}")

    started = time.perf_counter()
    drive(store, args.prompts, args.rate, args.principals, args.tenants, sample)
    tracemalloc.stop()
    print(f"\n{args.prompts:,} prompts in {time.perf_counter() - started:.1f} s wall (tracemalloc on)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def redis_server() -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed (apt-get install -y redis-server)")
    import redis

    with tempfile.TemporaryDirectory(prefix="celgate-bench-redis-") as tmp:
        port = free_port()
        proc = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", tmp],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"redis://127.0.0.1:{port}/0"
        try:
            deadline = time.monotonic() + 10
            while True:  # bounded by the deadline
                try:
                    redis.Redis.from_url(url).ping()
                    break
                except redis.exceptions.ConnectionError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            yield url
        finally:
            proc.terminate()
            proc.wait(10)


def run_redis(args: argparse.Namespace) -> None:
    import redis

    from celgate.quotas.redis import RedisStore

    header(f"redis store ({ROOT.name})", "keys")
    with redis_server() as url:
        client = redis.Redis.from_url(url)
        base = int(client.info("memory")["used_memory"])
        store = RedisStore(url, timeout_seconds=5.0)

        def sample(i: int, seconds: float) -> None:
            used = int(client.info("memory")["used_memory"]) - base
            row(i, seconds, used, f"{client.dbsize():,}")

        started = time.perf_counter()
        drive(store, args.redis_prompts, args.rate, args.principals, args.tenants, sample)
        print(f"\n{args.redis_prompts:,} prompts in {time.perf_counter() - started:.1f} s wall")
        store.close()
        client.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--prompts", type=int, default=360_000, help="memory store: prompts to charge (bounded)")
    ap.add_argument("--redis-prompts", type=int, default=60_000, help="redis store: prompts to charge (bounded)")
    ap.add_argument("--rate", type=float, default=100.0, help="prompts per simulated second")
    ap.add_argument("--principals", type=int, default=1_000)
    ap.add_argument("--tenants", type=int, default=10)
    ap.add_argument("--store", choices=["memory", "redis", "both"], default="both")
    args = ap.parse_args()
    if args.store in ("memory", "both"):
        run_memory(args)
    if args.store in ("redis", "both"):
        run_redis(args)


if __name__ == "__main__":
    main()
