"""One worker process: the policy reloader, the gRPC server and the HTTP server, sharing one state.

SIGTERM/SIGINT stop both servers after in-flight requests finish (bounded by `shutdown_grace`) and
the worker exits 0. uvicorn's own signal capture is replaced: since 0.29 it re-raises the signal
after a graceful shutdown, which would turn a clean stop into death by SIGTERM (exit -15).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import signal
import socket
import sys
import threading
from pathlib import Path
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from celgate import audit
from celgate.api.decide import Decider
from celgate.api.grpc_service import build_server
from celgate.api.http_app import create_app
from celgate.api.state import PolicyState
from celgate.approvals import StoreError
from celgate.auth.http_gate import PeerCertProtocol
from celgate.auth.setup import AuthSetup
from celgate.auth.tls import HttpCertificates
from celgate.config import ServeConfig, auth_plan, parse_addr
from celgate.service.grpc_tuning import tune_grpc_core
from celgate.service.http_server import DrainingServer, guarded
from celgate.service.reloader import Reloader
from celgate.service.stores import open_stores
from celgate.sources import SourceError, open_source
from celgate.telemetry import start_tracing

log = logging.getLogger("celgate.worker")


def bind_reuseport(addr: str) -> socket.socket:
    host, port = parse_addr(addr, "http-addr")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def decision_log_target(config: ServeConfig, worker_index: int | None) -> str:
    """Each worker of several gets its own file (`decisions-w1.log`): one rotating writer per file."""
    target = config.decision_log
    if worker_index is None or target in ("stdout", "none", "off", "", "otlp") or "://" in target:
        return target
    p = Path(target)
    return str(p.with_name(f"{p.stem}-w{worker_index}{p.suffix}"))


def setup_logging() -> None:
    logging.basicConfig(
        level=os.environ.get("CELGATE_LOG_LEVEL", "INFO").upper(),
        format=f"%(asctime)s %(levelname)s celgate[{os.getpid()}] %(name)s: %(message)s",
        stream=sys.stderr,
    )


def with_log_key(config: ServeConfig) -> ServeConfig:
    """`config` with a random decision log key when none is configured (said once, at start-up)."""
    log.warning(
        "no decision log key configured (CELGATE_DECISION_LOG_KEY): using a random one, so content "
        "and identifier hashes compare only within this run; see docs/security.md"
    )
    return dataclasses.replace(config, decision_log_key=audit.new_key().hex())


# Longest a worker waits for its first revision before it opens its ports anyway (not ready, so
# /v1/status can say why); the shipped k8s startup probe allows 120 s.
_FIRST_REVISION_WAIT_SECONDS = 110.0


def run_worker(config: ServeConfig, worker_index: int | None = None, breaker_path: str | None = None) -> int:
    """Serves until SIGTERM; returns the exit status. `breaker_path`: see `supervisor`."""
    tune_grpc_core()
    setup_logging()
    if not config.decision_log_key:
        config = with_log_key(config)
    target = decision_log_target(config, worker_index)
    try:
        decision_log = audit.open_log(
            target,
            max_bytes=config.decision_log_max_bytes,
            backups=config.decision_log_backups,
            queue_size=config.decision_log_queue,
            dry_run=config.dry_run,
            content=config.decision_log_content,
            key=config.decision_log_key.encode(),
        )
    except OSError as e:  # exit 2: the supervisor does not restart a worker that cannot start
        log.error("cannot start: decision log %s cannot be written: %s", target, e.strerror or e)
        return 2
    try:
        source = open_source(
            config.policies,
            poll_interval=config.poll_interval,
            dir_poll_interval=config.dir_poll_interval,
            cache_dir=config.git_cache_dir,
            require_signed=config.require_signed,
            allowed_signers=config.allowed_signers,
        )
    except SourceError as e:
        log.error("%s", e.message)
        if decision_log is not None:
            decision_log.close()
        return 2
    try:
        stores = open_stores(config, breaker_path=breaker_path)
    except StoreError as e:
        log.error("cannot start: %s (set --approval-store to a writable path or a redis:// URL)", e)
        if decision_log is not None:
            decision_log.close()
        return 2
    if config.quota_store == "memory" and config.worker_count > 1 and not worker_index:
        log.warning("quotas are counted per worker with --quota-store memory; use redis:// to count them together")
    state = PolicyState(source.description)
    reloader = Reloader(source, state, backend=config.backend or None, run_tests=config.run_policy_tests)
    reloader.start()
    tracer = start_tracing()  # per worker process: the exporter's thread does not survive fork
    decider = Decider(state, stores=stores, log=decision_log, dry_run=config.dry_run, tracer=tracer)

    auth = auth_plan(config)
    # Ports are opened only once the first revision is active (or rejected): a listening worker
    # gets its share of new connections from the kernel (SO_REUSEPORT), and one still loading
    # would answer them "not ready" while the others serve.
    try:
        if not state.wait_settled(_FIRST_REVISION_WAIT_SECONDS):
            log.warning("no policy revision after %.0f s; listening anyway (not ready)", _FIRST_REVISION_WAIT_SECONDS)
    except KeyboardInterrupt:  # Ctrl-C while loading: nothing was accepted, nothing to drain
        reloader.stop()
        stores.close()
        if decision_log is not None:
            decision_log.close()
        return 0
    try:
        authenticator = auth.authenticator()
        https = HttpCertificates(auth.tls) if auth.tls else None
        grpc_server, grpc_port = build_server(decider, state, config, authenticator)
        http_sock = bind_reuseport(config.http_addr)
    except (OSError, RuntimeError) as e:
        log.error("cannot start: %s", e)
        reloader.stop()
        stores.close()
        if decision_log is not None:
            decision_log.close()
        return 2
    authenticator.start()
    grpc_server.start()
    app = create_app(
        decider,
        state,
        max_body_bytes=config.max_body_bytes,
        max_batch=config.max_batch,
        authenticator=authenticator,
        request_timeout=config.request_timeout,
    )
    protocol = PeerCertProtocol if auth.tls and auth.tls.mutual else HttpToolsProtocol
    uv = DrainingServer(
        uvicorn.Config(
            app,
            loop="uvloop",
            http=guarded(protocol, config.request_timeout),
            ssl_context_factory=https.context_factory if https else None,
            lifespan="off",
            access_log=False,
            proxy_headers=False,  # nothing reads the client address; saves a middleware per request
            log_level="warning",
            server_header=False,
            date_header=False,
            timeout_graceful_shutdown=int(config.shutdown_grace),
            timeout_keep_alive=30,
        ),
        on_draining=state.drain,
    )
    grpc_stopped: list[threading.Event] = []

    def stop(signum: int, frame: Any) -> None:
        if not grpc_stopped:
            log.info("signal %d: draining and stopping", signum)
            state.drain()  # probes (HTTP readyz, gRPC health) say NOT_SERVING from now on
            grpc_stopped.append(grpc_server.stop(config.shutdown_grace))
        uv.should_exit = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info(
        "serving gRPC on %s and HTTP%s on %s (policies: %s%s; %s)",
        config.grpc_addr.rsplit(":", 1)[0] + f":{grpc_port}",
        "S" if https else "",
        config.http_addr,
        source.description,
        ", dry run" if config.dry_run else "",
        _auth_summary(auth),
    )
    try:
        uv.run(sockets=[http_sock])
    finally:
        if not grpc_stopped:
            grpc_stopped.append(grpc_server.stop(config.shutdown_grace))
        grpc_stopped[0].wait(config.shutdown_grace + 1)
        reloader.stop()
        authenticator.stop()
        stores.close()
        if decision_log is not None:
            decision_log.close()
        if tracer is not None:
            tracer.shutdown()
    return 0


def _auth_summary(auth: AuthSetup) -> str:
    parts = []
    if auth.settings.callers:
        parts.append(f"{len(auth.settings.callers)} configured callers")
    if auth.settings.jwt:
        parts.append("JWTs")
    if auth.tls and auth.tls.mutual:
        parts.append("client certificates")
    if auth.allow_anonymous:
        why = "loopback only" if auth.loopback_only else "--insecure-allow-anonymous"
        parts.append(f"anonymous callers ({why})")
    return "callers: " + ", ".join(parts)


def worker_entry(config_dict: dict[str, Any], worker_index: int, breaker_path: str | None = None) -> None:
    """Entry point of a spawned worker: dies with its parent, exits with run_worker's status."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    sys.exit(run_worker(ServeConfig.from_dict(config_dict), worker_index, breaker_path))
