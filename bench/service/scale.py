#!/usr/bin/env python3
"""Scale-out: throughput per core with N workers, and the price of one shared Redis for replicas.

    .venv/bin/python bench/service/scale.py [--duration 8] [--workers 1 2] [--concurrency 16]

Three runs of the same traffic through the HTTP door (`/v1/check`, the shipped library):

1. `celgate serve --workers N` with in-process stores, for each N;
2. one replica with every store in Redis (quotas, sessions, approvals) against the same replica
   with in-process stores: the price of the shared store per decision;
3. two replicas (`--workers 1` each) sharing one Redis, each driven by its own load generator.

Traffic is what a shared store is for: 5,000 principals in 100 tenants, 2,000 sessions, every
request carrying its session: 45 % prompts (quotas per principal and tenant, the newest user turn
recorded in the session), 45 % read-only tool calls (the call recorded), 10 % transfers over the
approval threshold (held: a pending approval is created). wrk builds each body in Lua.

Throughput alone says little on a 2-core machine where the load generator shares the cores, so
each cell also reports **decisions per CPU-second** of the celgate processes (utime + stime of the
supervisor and its workers, from /proc), i.e. throughput per core whatever else runs, and for Redis
the server's CPU and its `INFO commandstats` per decision: calls, and microseconds spent inside
Redis. Redis runs one command at a time on one core, so 1e6 / (Redis µs per decision) is where the
shared store becomes the limit, however many replicas are added. Prints tables; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
CLK_TCK = os.sysconf("SC_CLK_TCK")

MIX = Path(__file__).resolve().parent / "mix.lua"

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import free_port, wait_http  # noqa: E402  (bench/service/run.py: the same helpers)


def tree_cpu_seconds(pid: int) -> float:
    """utime + stime of a process and all its descendants still alive, in seconds."""
    total = 0
    children: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = raw[raw.rindex(")") + 2 :].split()
        stats[int(entry)] = fields
        children.setdefault(int(fields[1]), []).append(int(entry))
    todo = [pid]
    while todo:
        p = todo.pop()
        if p in stats:
            total += int(stats[p][11]) + int(stats[p][12])
        todo.extend(children.get(p, []))
    return total / CLK_TCK


class Celgate:
    def __init__(self, workers: int, stores: str | None, work: Path, cores: str) -> None:
        self.http = f"127.0.0.1:{free_port()}"
        grpc = f"127.0.0.1:{free_port()}"
        cmd = ["taskset", "-c", cores, PYTHON, "-m", "celgate.cli", "serve", "--workers", str(workers),
               "--http-addr", self.http, "--grpc-addr", grpc, "--decision-log", "none"]  # fmt: skip
        if stores:
            cmd += ["--quota-store", stores, "--session-store", stores, "--approval-store", stores]
        else:
            cmd += ["--approval-store", str(work / f"approvals-{free_port()}.db")]
        env = {**os.environ, "CELGATE_LOG_LEVEL": "WARNING"}
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_http(f"http://{self.http}/readyz", timeout=90)
        time.sleep(1.0)  # every worker past its first revision

    def cpu(self) -> float:
        return tree_cpu_seconds(self.proc.pid)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(60)


class Redis:
    def __init__(self, work: Path) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(work)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.cli("PING").strip() == "PONG":
                return
            time.sleep(0.1)
        raise TimeoutError("redis-server")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def cli(self, *args: str) -> str:
        out = subprocess.run(["redis-cli", "-p", str(self.port), *args], capture_output=True, text=True)
        return out.stdout

    def commandstats(self) -> dict[str, tuple[int, int]]:
        """Per command: (calls, microseconds) since the last reset."""
        return {
            m.group(1): (int(m.group(2)), int(m.group(3)))
            for m in re.finditer(r"cmdstat_(\w+):calls=(\d+),usec=(\d+)", self.cli("INFO", "commandstats"))
        }

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


def run_wrk(url: str, conc: int, duration: int, script: Path, cores: str, offset: int) -> subprocess.Popen:
    return subprocess.Popen(
        ["taskset", "-c", cores, "wrk", "-t", "1", "-c", str(conc), "-d", f"{duration}s", "--latency", "-s",
         str(script), url], stdout=subprocess.PIPE, text=True, env={**os.environ, "CELGATE_BENCH_OFFSET": str(offset)},
    )  # fmt: skip


def parse_wrk(out: str) -> tuple[int, float, float, int]:
    """(requests, p50 ms, p99 ms, non-2xx)."""

    def ms(label: str) -> float:
        value, unit = re.search(rf"{label}%\s+([\d.]+)(us|ms|s)", out).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    requests = int(re.search(r"(\d+) requests in", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return requests, ms("50"), ms("99"), int(bad.group(1)) if bad else 0


def measure(servers: list[Celgate], redis: Redis | None, conc: int, duration: int, script: Path, cores: str) -> dict:
    if redis is not None:
        redis.cli("CONFIG", "RESETSTAT")
        redis_cpu0 = tree_cpu_seconds(redis.proc.pid)
    cpu0 = [s.cpu() for s in servers]
    started = time.monotonic()
    procs = [
        run_wrk(f"http://{s.http}/v1/check", conc, duration, script, cores, 1_000_000 * i)
        for i, s in enumerate(servers)
    ]
    outs = [p.communicate(timeout=duration + 60)[0] for p in procs]
    wall = time.monotonic() - started
    cpu = sum(s.cpu() - c for s, c in zip(servers, cpu0, strict=True))
    parsed = [parse_wrk(o) for o in outs]
    decisions = sum(p[0] for p in parsed)
    result = {
        "rps": decisions / duration,
        "p50": max(p[1] for p in parsed),
        "p99": max(p[2] for p in parsed),
        "non2xx": sum(p[3] for p in parsed),
        "per_cpu_s": decisions / cpu if cpu else 0.0,
        "cpu_us": cpu / decisions * 1e6 if decisions else 0.0,
        "wall": wall,
    }
    if redis is not None:
        stats = redis.commandstats()
        result["redis_calls"] = sum(c for c, _ in stats.values()) / decisions
        result["redis_us"] = sum(u for _, u in stats.values()) / decisions
        result["redis_by_command"] = {k: (c / decisions, u / decisions) for k, (c, u) in stats.items()}
        result["redis_cpu_us"] = (tree_cpu_seconds(redis.proc.pid) - redis_cpu0) / decisions * 1e6
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=int, default=8)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--concurrency", type=int, default=16)
    args = ap.parse_args()
    for tool in ("wrk", "taskset", "redis-server", "redis-cli"):
        if not shutil.which(tool):
            sys.exit(f"{tool} not found (apt-get install wrk util-linux redis-server)")
    ncores = os.cpu_count() or 1
    allcores = f"0-{ncores - 1}"
    work = Path(tempfile.mkdtemp(prefix="celgate-scale-"))
    script = MIX
    rows: list[tuple[str, dict]] = []
    try:
        # 1. N workers, in-process stores. One worker is pinned to core 0 and the load generator to
        # core 1; with more workers than free cores they share every core with the generator.
        for n in args.workers:
            cores = "0" if n == 1 and ncores > 1 else allcores
            gen = "1" if n == 1 and ncores > 1 else allcores
            server = Celgate(n, None, work, cores)
            try:
                measure([server], None, args.concurrency, 2, script, gen)  # warm-up
                rows.append((f"{n} worker{'s' if n > 1 else ''}, in-process stores", measure(
                    [server], None, args.concurrency, args.duration, script, gen)))  # fmt: skip
            finally:
                server.stop()
        # 2. One replica, every store in Redis (Redis shares core 1 with the load generator).
        redis = Redis(work)
        try:
            server = Celgate(1, redis.url, work, "0")
            try:
                measure([server], redis, args.concurrency, 2, script, "1")
                rows.append(("1 worker, Redis stores", measure([server], redis, args.concurrency, args.duration,
                                                                script, "1")))  # fmt: skip
            finally:
                server.stop()
            # 3. Two replicas sharing the Redis, each with its own load generator.
            replicas = [Celgate(1, redis.url, work, "0"), Celgate(1, redis.url, work, "1" if ncores > 1 else "0")]
            try:
                measure(replicas, redis, args.concurrency, 2, script, allcores)
                rows.append(("2 replicas x 1 worker, one shared Redis", measure(
                    replicas, redis, args.concurrency, args.duration, script, allcores)))  # fmt: skip
            finally:
                for r in replicas:
                    r.stop()
        finally:
            redis.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(f"\nHTTP /v1/check, shipped library, mixed traffic (45 % prompt, 45 % tool call, 10 % held for approval), "
          f"wrk c={args.concurrency} per server, {args.duration} s per cell, {ncores} cores.\n")  # fmt: skip
    print("| run | req/s | p50 ms | p99 ms | celgate CPU µs/decision | decisions per CPU-second | "
          "Redis calls/decision | µs in Redis/decision | Redis CPU µs/decision |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, r in rows:
        redis_cells = "- | - | -"
        if "redis_us" in r:
            redis_cells = f"{r['redis_calls']:.1f} | {r['redis_us']:.1f} | {r['redis_cpu_us']:.1f}"
        print(f"| {name} | {r['rps']:.0f} | {r['p50']:.2f} | {r['p99']:.2f} | {r['cpu_us']:.0f} | "
              f"{r['per_cpu_s']:.0f} | {redis_cells} |")  # fmt: skip
    bad = sum(r["non2xx"] for _, r in rows)
    if bad:
        print(f"\n{bad} answers were not 2xx (a deny is 200; check the server).")
    shared = [r for name, r in rows if "redis_us" in r]
    for name, r in rows:
        if "redis_by_command" in r:
            top = sorted(r["redis_by_command"].items(), key=lambda kv: -kv[1][1])[:6]
            print(f"\n{name}: Redis per decision by command: "
                  + ", ".join(f"{k} {c:.1f} calls / {u:.1f} µs" for k, (c, u) in top))  # fmt: skip
    if shared:
        worst = max(r["redis_cpu_us"] for r in shared)
        print(
            f"\nRedis CPU per decision at most {worst:.1f} µs: one Redis core saturates near "
            f"{1e6 / worst:,.0f} decisions/s of this mix, whatever the number of replicas."
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
