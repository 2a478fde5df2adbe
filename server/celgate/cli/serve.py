"""`celgate serve`: the decision service (gRPC + HTTP), from flags, `CELGATE_*` env vars or a config file."""

from __future__ import annotations

import argparse
import sys

from celgate.config import ConfigError, resolve


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "serve",
        help="run the decision service (gRPC + HTTP)",
        description="Serve decisions over gRPC and HTTP. Every flag can also be set as CELGATE_<FLAG> "
        "(e.g. CELGATE_GRPC_ADDR) or as a key of the --config YAML file; flags win over env, env over the file.",
    )
    a = p.add_argument
    a("--policies", metavar="SOURCE", help="a directory, or git+URL#REF (default: the shipped library)")
    a("--grpc-addr", metavar="HOST:PORT", help="gRPC listen address (default 127.0.0.1:9090)")
    a("--http-addr", metavar="HOST:PORT", help="HTTP listen address (default 127.0.0.1:8080)")
    a("--workers", type=int, metavar="N", help="worker processes sharing the ports (default: one per core)")
    a("--poll-interval", type=float, metavar="SECONDS", help="how often a git source is fetched (default 10)")
    a(
        "--decision-log",
        metavar="stdout|none|PATH|URL|otlp",
        help="where decision log lines go: stdout (default), a file, an HTTP(S) endpoint (NDJSON), or OTLP logs",
    )
    a(
        "--decision-log-content",
        choices=["hash", "redacted"],
        help="log content as length+keyed hash, or as the redacted rewrite with every PII/secret finding masked",
    )
    a("--dry-run", action="store_const", const=True, help="decide and log as usual, but always answer allow")
    a("--config", metavar="FILE", help="YAML file with the same keys as the flags")
    a("--max-body-bytes", type=int, metavar="BYTES", help="largest request body accepted (default 4 MiB)")
    a(
        "--request-timeout",
        type=float,
        metavar="SECONDS",
        help="HTTP: a request's headers, then its body, must arrive within this (default 30; slow clients get 408)",
    )
    a("--require-signed", action="store_const", const=True, help="activate only ssh-signed git commits")
    a("--allowed-signers", metavar="FILE", help="ssh allowed_signers file for --require-signed")
    a("--git-cache-dir", metavar="DIR", help="where git sources are fetched (default: a temp dir)")
    a("--grpc-threads", type=int, metavar="N", help="gRPC handler threads per worker (default 4; 64 with Envoy doors)")
    a("--quota-store", metavar="memory|redis://HOST:PORT/DB", help="where quotas are counted (default memory)")
    a(
        "--approval-store",
        metavar="PATH|redis://HOST:PORT/DB",
        help="where approvals are kept (default $XDG_STATE_HOME/celgate/approvals.db, "
        "i.e. ~/.local/state/celgate/approvals.db; redis:// when replicas share)",
    )
    a("--approval-ttl", type=float, metavar="SECONDS", help="how long an approval waits, and stays usable (3600)")
    a("--approval-webhook", metavar="URL", help="POST each new pending approval here (Slack-compatible JSON)")
    a("--tls-cert", metavar="FILE", help="server certificate (PEM) for gRPC and HTTP; reloaded when it changes")
    a("--tls-key", metavar="FILE", help="private key of --tls-cert")
    a("--tls-client-ca", metavar="FILE", help="CA bundle of client certificates: turns on mutual TLS")
    a(
        "--tls-client-auth",
        choices=["require", "optional"],
        help="with --tls-client-ca: optional lets HTTP callers (probes, API keys) connect without a certificate; "
        "gRPC always requires one (default require)",
    )
    a(
        "--insecure-allow-anonymous",
        action="store_const",
        const=True,
        help="serve callers without credentials beyond loopback (only behind something that authenticates)",
    )
    a("--session-store", metavar="memory|redis://HOST:PORT/DB", help="where session memory is kept (default memory)")
    a("--session-ttl", metavar="SECONDS", help="how long a session is remembered after its last check (3600)")
    a("--session-max-turns", metavar="N", help="sources and calls remembered per session (1000)")
    a(
        "--session-max-memory",
        metavar="BYTES",
        help="memory store: bytes per worker for all sessions together; least recently used go first (16 MiB)",
    )
    a("--session-on-error", metavar="closed|open", help="when the session store is down (default closed)")
    p.set_defaults(func=run)


_KEYS = (
    "policies", "grpc_addr", "http_addr", "workers", "poll_interval", "decision_log", "decision_log_content",
    "dry_run", "config", "max_body_bytes", "require_signed", "allowed_signers", "git_cache_dir", "grpc_threads",
    "quota_store", "approval_store", "approval_ttl", "approval_webhook", "tls_cert", "tls_key", "tls_client_ca",
    "tls_client_auth", "insecure_allow_anonymous",
    "session_store", "session_ttl", "session_max_turns", "session_max_memory", "session_on_error", "request_timeout",
)  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from celgate.service.grpc_tuning import tune_grpc_core
    from celgate.service.ports import ensure_free

    tune_grpc_core()  # before gRPC core starts, here or in a spawned worker (which inherits it)
    try:
        config = resolve({k: getattr(args, k, None) for k in _KEYS})
        ensure_free(config.grpc_addr, "grpc-addr")
        ensure_free(config.http_addr, "http-addr")
    except ConfigError as e:
        print(f"celgate serve: {e}", file=sys.stderr)
        return 2
    from celgate.approvals import StoreError, open_store

    try:  # once here, so a bad store stops `serve` before any worker starts
        store = open_store(config.approval_store)
        try:
            store.check_writable()
        finally:
            store.close()
    except StoreError as e:
        hint = "set --approval-store to a writable path or a redis:// URL"
        print(f"celgate serve: cannot start: {e} ({hint})", file=sys.stderr)
        return 2
    if config.worker_count == 1:
        from celgate.service.worker import run_worker

        return run_worker(config)
    from celgate.service.supervisor import run_supervisor

    return run_supervisor(config)
