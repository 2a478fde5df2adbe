"""Runs N worker processes that share the gRPC and HTTP ports (SO_REUSEPORT), and stops them cleanly.

Workers are spawned, not forked: grpcio does not survive fork once initialised. The main process
sets `PROMETHEUS_MULTIPROC_DIR` first so every worker's metrics land in one registry, and makes the
file through which the workers share one circuit breaker for a Redis quota store
(`celgate.quotas.breaker`: a hung Redis is found out once, not once per worker). SIGTERM to
the main process alone is forwarded to every worker, each drains its in-flight requests, and the
main process exits 0 when all of them did. A worker that dies unexpectedly is restarted, at most
`_MAX_RESTARTS` times a minute.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import signal
import tempfile
import time
from typing import Any

from celgate.config import ServeConfig

log = logging.getLogger("celgate.supervisor")
_MAX_RESTARTS = 5


def run_supervisor(config: ServeConfig) -> int:
    from celgate.quotas.breaker import create_shared_file
    from celgate.service.worker import setup_logging, with_log_key, worker_entry

    setup_logging()
    if not config.decision_log_key:  # one key for every worker, so their hashes compare
        config = with_log_key(config)
    own_dir = None
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        own_dir = tempfile.mkdtemp(prefix="celgate-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = own_dir
    run_dir = tempfile.mkdtemp(prefix="celgate-run-")
    breaker_path = os.path.join(run_dir, "quota-breaker")
    create_shared_file(breaker_path)
    ctx = multiprocessing.get_context("spawn")
    config_dict = config.to_dict()
    stopping = False

    def on_signal(signum: int, frame: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    def spawn(index: int) -> Any:
        p = ctx.Process(target=worker_entry, args=(config_dict, index, breaker_path), name=f"celgate-worker-{index}")
        p.start()
        return p

    workers = {i: spawn(i) for i in range(config.worker_count)}
    restarts: list[float] = []
    status = 0
    try:
        while not stopping:
            time.sleep(0.2)
            for index, proc in list(workers.items()):
                if proc.is_alive() or stopping:
                    continue
                _mark_dead(proc.pid)
                now = time.monotonic()
                restarts = [t for t in restarts if now - t < 60] + [now]
                if proc.exitcode == 2 or len(restarts) > _MAX_RESTARTS:
                    log.error("worker %d exited with %s; giving up", index, proc.exitcode)
                    stopping, status = True, 1
                    break
                log.warning("worker %d exited with %s; restarting", index, proc.exitcode)
                workers[index] = spawn(index)
    finally:
        for proc in workers.values():
            if proc.is_alive() and proc.pid:
                os.kill(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + config.shutdown_grace + 5
        for proc in workers.values():
            proc.join(max(0.0, deadline - time.monotonic()))
            if proc.is_alive():
                log.error("worker %s did not stop in time; killing it", proc.pid)
                proc.kill()
                proc.join(5)
                status = 1
            elif proc.exitcode not in (0, None) and status == 0 and proc.exitcode != -signal.SIGTERM:
                status = 1
            _mark_dead(proc.pid)
        if own_dir:
            shutil.rmtree(own_dir, ignore_errors=True)
        shutil.rmtree(run_dir, ignore_errors=True)
    return status


def _mark_dead(pid: int | None) -> None:
    if pid:
        from celgate.metrics import mark_process_dead

        mark_process_dead(pid)
