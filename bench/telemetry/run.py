#!/usr/bin/env python3
"""What tracing costs a decision: off (the default), off with a caller's traceparent, and on.

    .venv/bin/python bench/telemetry/run.py [--n 20000] [--rounds 5]

One process, the shipped library, a typical allowed tool call, `Decider.decide` as every door
calls it (decision log off, so only tracing differs). "on" exports with the real OTLP/HTTP
exporter through the batch processor to a loopback receiver that answers 200; the export itself
runs on the processor's thread. Prints the median over rounds of the per-decision mean, in µs.
Not part of CI: it prints a table and asserts nothing about time.
"""

from __future__ import annotations

import argparse
import http.server
import statistics
import threading
import time
from collections.abc import Callable
from pathlib import Path

import celgate
from celgate.api.decide import Decider
from celgate.telemetry import start_tracing

ROOT = Path(__file__).resolve().parents[2]
REQUEST = {
    "action": "tool_call",
    "principal": {"id": "u1", "roles": ["user"], "tenant": "t1"},
    "tool": {"name": "search_docs", "args": {"query": "travel policy"}},
}
CARRIER = {"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}


class _Sink(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["content-length"]))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def per_call_us(fn: Callable[[], object], n: int, rounds: int) -> float:
    for _ in range(min(n, 500)):
        fn()
    means = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        means.append((time.perf_counter() - start) / n * 1e6)
    return statistics.median(means)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    engine = celgate.load(ROOT / "policies")
    receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    tracer = start_tracing({"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{receiver.server_address[1]}"})
    off, on = Decider(engine), Decider(engine, tracer=tracer)
    variants: list[tuple[str, Callable[[], object]]] = [
        ("Engine.check alone (no door, no road)", lambda: engine.check(REQUEST)),
        ("Decider.decide, tracing off", lambda: off.decide(REQUEST, "bench")),
        ("Decider.decide, tracing off, caller sent traceparent", lambda: off.decide(REQUEST, "bench", carrier=CARRIER)),
        ("Decider.decide, tracing on (root span)", lambda: on.decide(REQUEST, "bench")),
        ("Decider.decide, tracing on, child of caller's trace", lambda: on.decide(REQUEST, "bench", carrier=CARRIER)),
    ]
    # Interleaved: every round measures every variant once, so drift and neighbours' load hit all alike.
    samples: dict[str, list[float]] = {name: [] for name, _ in variants}
    for _ in range(args.rounds):
        for name, fn in variants:
            samples[name].append(per_call_us(fn, args.n, 1))
    rows = [(name, statistics.median(values)) for name, values in samples.items()]
    assert tracer is not None
    tracer.shutdown()
    receiver.shutdown()
    print("| path | µs per decision (median of rounds) |")
    print("|---|---:|")
    for name, us in rows:
        print(f"| {name} | {us:.1f} |")


if __name__ == "__main__":
    main()
