#!/usr/bin/env python3
"""Service benchmark: celgate vs Cerbos 0.55, gRPC (h2load) and HTTP (wrk), one core each.

    .venv/bin/python bench/service/run.py [--duration 10] [--rounds 2] [--concurrency 1 16 64]
        [--auth none|key] [--without-cerbos] [--baseline DIR]

Needs `h2load` (Debian nghttp2-client), `wrk`, `taskset`, `npm` (to fetch Cerbos once into
bench/.cache/, never committed). Servers are pinned to core 0 (`--workers 1`, GOMAXPROCS=1), load
generators to core 1; celgate and Cerbos are measured alternately under the same load, and each
cell reports the median over rounds. Not part of CI: it prints a table, it never asserts timings.

`--baseline DIR` adds a third server to every round: celgate from another checkout (`DIR/server` on
`PYTHONPATH`, e.g. `git worktree add /tmp/base main`), for before/after figures from one run. Every
cell also reports the server's CPU time per request (utime + stime from /proc over the cell, in
µs): on a shared machine it moves less than req/s.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = ROOT / "bench" / "service"
CACHE = ROOT / "bench" / ".cache"
CERBOS_VERSION = "0.55.0"
PYTHON = sys.executable

CELGATE_JSON = b'{"action":"tool_call","principal":{"id":"u1","roles":["user"]},"tool":{"name":"search_docs"}}'
CERBOS_JSON = (
    b'{"requestId":"r1","principal":{"id":"u1","roles":["user"]},"resources":[{"actions":["call"],'
    b'"resource":{"kind":"tool","id":"t1","attr":{"name":"search_docs"}}}]}'
)


# --- gRPC request bodies (length-prefixed frames) -------------------------------------------------
def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(num: int, payload: bytes) -> bytes:  # length-delimited field
    return _varint(num << 3 | 2) + _varint(len(payload)) + payload


def _frame(message: bytes) -> bytes:
    return b"\x00" + struct.pack(">I", len(message)) + message


def celgate_grpc_body() -> bytes:
    sys.path.insert(0, str(ROOT / "server"))
    from celgate.v1 import decision_pb2 as pb

    req = pb.CheckRequest(action="tool_call", principal=pb.Principal(id="u1", roles=["user"]))
    req.tool.name = "search_docs"
    return _frame(req.SerializeToString())


def cerbos_grpc_body() -> bytes:
    """cerbos.request.v1.CheckResourcesRequest, hand-encoded (field numbers from Cerbos' protos)."""
    principal = _field(1, b"u1") + _field(2, b"default") + _field(3, b"user")
    value = _field(3, b"search_docs")  # google.protobuf.Value.string_value
    resource = (
        _field(1, b"tool") + _field(2, b"default") + _field(3, b"t1") + _field(4, _field(1, b"name") + _field(2, value))
    )
    entry = _field(1, b"call") + _field(2, resource)
    return _frame(_field(1, b"r1") + _field(3, principal) + _field(4, entry))


# --- servers --------------------------------------------------------------------------------------
def cerbos_binary() -> Path:
    binary = CACHE / "cerbos" / "package" / "cerbos-linux-x64"
    if not binary.exists():
        (CACHE / "cerbos").mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "pack", f"@cerbos/cerbos-linux-x64@{CERBOS_VERSION}"], cwd=CACHE / "cerbos", check=True)
        with tarfile.open(CACHE / "cerbos" / f"cerbos-cerbos-linux-x64-{CERBOS_VERSION}.tgz") as tar:
            tar.extractall(CACHE / "cerbos", filter="data")
        binary.chmod(0o755)
    return binary


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(url)


def cpu_seconds(pid: int) -> float:
    """utime + stime of `pid` and its children so far (`celgate serve --workers 1` runs one worker)."""
    total = 0.0
    pids = [pid]
    with contextlib.suppress(OSError):
        pids += [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


class Server:
    def __init__(self, name: str, cmd: list[str], http: str, grpc: str, health: str, env: dict | None = None):
        self.name, self.http, self.grpc = name, http, grpc
        self.proc = subprocess.Popen(
            ["taskset", "-c", "0", *cmd], cwd=ROOT, env={**os.environ, **(env or {})},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_http(f"http://{http}{health}")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


# --auth key: celgate has one configured caller (default rights, so every request's principal, tenant
# and action are checked) and the load generators send its key; the price of authentication.
BENCH_KEY = "cg_bench-key-not-secret-0123456789abcdefghijklmno"


def start_celgate(
    decision_log: str, auth: str = "none", work: Path | None = None, checkout: Path | None = None
) -> Server:
    http, grpc = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    cmd = [PYTHON, "-m", "celgate.cli", "serve", "--workers", "1", "--policies", str(HERE / "policies"),
           "--http-addr", http, "--grpc-addr", grpc, "--decision-log", decision_log]  # fmt: skip
    if auth == "key":
        import hashlib

        assert work is not None
        config = work / "celgate-auth.yaml"
        digest = hashlib.sha256(BENCH_KEY.encode()).hexdigest()
        config.write_text(f"auth:\n  callers:\n    - id: bench\n      key_sha256: {digest}\n")
        cmd += ["--config", str(config)]
    # Both checkouts' code on PYTHONPATH, never the venv's editable install: the same interpreter and
    # dependencies, and nothing but the tree differs between celgate and --baseline.
    env = {"CELGATE_LOG_LEVEL": "WARNING", "PYTHONPATH": str((checkout or ROOT) / "server")}
    return Server("baseline" if checkout else "celgate", cmd, http, grpc, "/readyz", env)


def start_cerbos() -> Server:
    cmd = [str(cerbos_binary()), "server", f"--config={HERE / 'cerbos' / 'config.yaml'}",
           f"--set=storage.disk.directory={HERE / 'cerbos' / 'policies'}"]  # fmt: skip
    env = {"GOMAXPROCS": "1", "CERBOS_NO_TELEMETRY": "1"}  # no telemetry sender on the measured core
    return Server("cerbos", cmd, "127.0.0.1:3592", "127.0.0.1:3593", "/_cerbos/health", env)


# --- load generators ------------------------------------------------------------------------------
def h2load(
    addr: str, path: str, body: Path, conc: int, duration: int, work: Path, headers: tuple[str, ...] = ()
) -> tuple[float, float, float]:
    log = work / "h2load.log"
    log.unlink(missing_ok=True)
    extra = [arg for h in headers for arg in ("-H", h)]
    out = subprocess.run(
        ["taskset", "-c", "1", "h2load", "-c", str(conc), "-m", "1", "-D", str(duration), "--warm-up-time", "1",
         "-H", "content-type: application/grpc", "-H", "te: trailers", *extra, "-d", str(body), "--log-file", str(log),
         f"http://{addr}{path}"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rps = float(re.search(r"finished in [\d.]+\w*, ([\d.]+) req/s", out).group(1))
    failed = int(re.search(r"(\d+) failed", out).group(1))
    if failed:
        raise RuntimeError(f"h2load: {failed} requests failed against {addr}{path}\n{out}")
    lat = sorted(int(line.split("\t")[2]) for line in log.read_text().splitlines() if line.count("\t") >= 2)
    served = rps * (duration + 1)  # the one-second warm-up included, as in the CPU time measured around it
    return rps, lat[len(lat) // 2] / 1000, lat[int(len(lat) * 0.99)] / 1000, served


LUA = """wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = io.open("{body}", "rb"):read("*a")
"""


def wrk(
    url: str, body: Path, conc: int, duration: int, work: Path, headers: tuple[str, ...] = ()
) -> tuple[float, float, float]:
    script = work / f"{body.stem}.lua"
    lines = [f'wrk.headers["{k.strip()}"] = "{v.strip()}"' for k, _, v in (h.partition(":") for h in headers)]
    script.write_text(LUA.format(body=body) + "".join(line + "\n" for line in lines))
    out = subprocess.run(
        ["taskset", "-c", "1", "wrk", "-t", "1", "-c", str(conc), "-d", f"{duration}s", "--latency", "-s", str(script),
         url], capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    if "Non-2xx" in out:
        raise RuntimeError(f"wrk: non-2xx answers from {url}\n{out}")

    def ms(label: str) -> float:
        value, unit = re.search(rf"{label}%\s+([\d.]+)(us|ms|s)", out).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    count = int(re.search(r"(\d+) requests in", out).group(1))
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), ms("50"), ms("99"), count


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64])
    ap.add_argument("--decision-log", default="none", help="celgate's decision log during the run (Cerbos: audit off)")
    ap.add_argument("--auth", choices=["none", "key"], default="none", help="celgate callers send an API key")
    ap.add_argument("--without-cerbos", action="store_true", help="celgate alone (e.g. to compare --auth)")
    ap.add_argument("--baseline", type=Path, help="another checkout's celgate, alternated with this one (before/after)")
    args = ap.parse_args()
    auth_headers = (f"authorization: Bearer {BENCH_KEY}",) if args.auth == "key" else ()
    for tool in ("h2load", "wrk", "taskset"):
        if not shutil.which(tool):
            sys.exit(f"{tool} not found (apt-get install nghttp2-client wrk util-linux)")
    if args.baseline is not None and not (args.baseline / "server" / "celgate").is_dir():
        sys.exit(f"--baseline {args.baseline}: no server/celgate there")
    work = Path(tempfile.mkdtemp(prefix="celgate-bench-"))
    bodies = {
        "celgate": (work / "celgate.grpc", work / "celgate.json"),
        "cerbos": (work / "cerbos.grpc", work / "cerbos.json"),
    }
    bodies["celgate"][0].write_bytes(celgate_grpc_body())
    bodies["celgate"][1].write_bytes(CELGATE_JSON)
    bodies["cerbos"][0].write_bytes(cerbos_grpc_body())
    bodies["cerbos"][1].write_bytes(CERBOS_JSON)
    bodies["baseline"] = bodies["celgate"]
    paths = {
        "celgate": ("/celgate.v1.DecisionService/Check", "/v1/check"),
        "cerbos": ("/cerbos.svc.v1.CerbosService/CheckResources", "/api/check/resources"),
    }
    paths["baseline"] = paths["celgate"]
    names = ["celgate"] + (["baseline"] if args.baseline else []) + ([] if args.without_cerbos else ["cerbos"])
    # (name, door, conc) -> one (req/s, p50 ms, p99 ms, CPU µs per request) per round
    results: dict[tuple[str, str, int], list[tuple[float, float, float, float]]] = {}
    for rnd in range(args.rounds):
        order = names if rnd % 2 == 0 else names[::-1]
        for name in order:
            if name == "cerbos":
                server = start_cerbos()
            else:
                checkout = args.baseline if name == "baseline" else None
                server = start_celgate(args.decision_log, args.auth, work, checkout)
            hdrs = () if name == "cerbos" else auth_headers
            try:
                for conc in args.concurrency:
                    cpu = cpu_seconds(server.proc.pid)
                    g = h2load(server.grpc, paths[name][0], bodies[name][0], conc, args.duration, work, hdrs)
                    cpu_g, cpu = cpu_seconds(server.proc.pid) - cpu, cpu_seconds(server.proc.pid)
                    h = wrk(f"http://{server.http}{paths[name][1]}", bodies[name][1], conc, args.duration, work, hdrs)
                    cpu_h = cpu_seconds(server.proc.pid) - cpu
                    g = (*g[:3], cpu_g / g[3] * 1e6)
                    h = (*h[:3], cpu_h / h[3] * 1e6)
                    results.setdefault((name, "grpc", conc), []).append(g)
                    results.setdefault((name, "http", conc), []).append(h)
                    print(
                        f"round {rnd + 1} {name:8} c={conc:<3} grpc {g[0]:8.0f}/s {g[3]:6.0f} µs CPU/req  "
                        f"http {h[0]:8.0f}/s {h[3]:6.0f} µs CPU/req",
                        file=sys.stderr,
                    )
            finally:
                server.stop()
    print(f"\nOne core each (taskset), {args.duration} s per cell, median of {args.rounds} alternating rounds; "
          f"celgate decision log: {args.decision_log}; celgate auth: {args.auth}"
          + (f"; baseline: {args.baseline}" if args.baseline else "") + ".\n")  # fmt: skip

    def cell(name: str, door: str, conc: int) -> list[float]:
        return [statistics.median(x) for x in zip(*results[(name, door, conc)], strict=True)]

    labels = {"celgate": "celgate", "baseline": "baseline", "cerbos": "Cerbos 0.55"}
    head = "| door | conc |" + "".join(f" {labels[n]} req/s | p50 ms | p99 ms | CPU µs/req |" for n in names)
    ratios = [n for n in ("baseline", "cerbos") if n in names]
    head += "".join(f" celgate / {labels[n]} |" for n in ratios)
    print(head)
    print("|---|---:|" + "---:|" * (4 * len(names) + len(ratios)))
    for door in ("grpc", "http"):
        for conc in args.concurrency:
            cells = {n: cell(n, door, conc) for n in names}
            row = f"| {door} | {conc} |" + "".join(
                f" {c[0]:.0f} | {c[1]:.2f} | {c[2]:.2f} | {c[3]:.0f} |" for c in cells.values()
            )
            row += "".join(f" {cells['celgate'][0] / cells[n][0]:.2f}x |" for n in ratios)
            print(row)
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
