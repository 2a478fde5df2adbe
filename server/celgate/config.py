"""Service configuration: one `ServeConfig` from flags, `CELGATE_<FLAG>` env vars and a YAML file.

Precedence, highest first: command-line flag, environment variable, `--config` file, default. One
resolved dataclass is handed to every worker, so no component reads the environment on its own.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from celgate.auth.settings import AuthConfigError
from celgate.auth.setup import AuthSetup, plan


class ConfigError(ValueError):
    """A setting that cannot be used; the message names the setting and what was expected."""


@dataclass(frozen=True)
class ServeConfig:
    policies: str = ""  # "" → the embedded default library
    grpc_addr: str = "127.0.0.1:9090"
    http_addr: str = "127.0.0.1:8080"
    workers: int = 0  # 0 → one per core
    poll_interval: float = 10.0  # git sources, seconds
    dir_poll_interval: float = 0.5  # directory sources, seconds: a change is live within 2 s
    decision_log: str = "stdout"  # stdout | none | PATH | http(s)://URL | otlp
    decision_log_content: str = "hash"  # hash | redacted
    decision_log_max_bytes: int = 100 * 1024 * 1024
    decision_log_backups: int = 5
    decision_log_queue: int = 10_000
    # HMAC key of the decision log's content and identifier hashes (at least 16 characters; best
    # from CELGATE_DECISION_LOG_KEY or a secret file). Empty: a random key per run (hashes then
    # compare only within that run); `celgate serve` says so at start-up.
    decision_log_key: str = ""
    dry_run: bool = False
    max_body_bytes: int = 4 * 1024 * 1024
    max_batch: int = 1000
    grpc_threads: int = 0  # 0 → 4, or 64 when the Envoy doors are configured (ext_proc streams hold a thread)
    quota_store: str = "memory"  # memory | redis://HOST:PORT/DB: where quota windows are counted
    approval_store: str = ""  # "" → $XDG_STATE_HOME/celgate/approvals.db | PATH | sqlite:PATH | redis://HOST:PORT/DB
    approval_ttl: float = 3600.0  # seconds a pending approval waits, and an approved one may be used
    approval_webhook: str = ""  # http(s) URL POSTed (Slack-compatible `text`) on each new pending approval
    public_url: str = ""  # how approvers reach this service (links in webhook messages), e.g. https://celgate.example
    session_store: str = "memory"  # memory | redis://HOST:PORT/DB: where session memory is kept
    session_ttl: float = 3600.0  # seconds a session is remembered after its last check
    session_max_turns: int = 1000  # sources and calls remembered per session (oldest dropped)
    session_max_memory: int = 16 << 20  # bytes per worker for every session together (memory store; LRU)
    session_on_error: str = "closed"  # closed | open: a session store that cannot answer
    require_signed: bool = False
    allowed_signers: str = ""
    git_cache_dir: str = ""
    backend: str = ""  # "" → the engine's default CEL backend
    run_policy_tests: bool = True
    shutdown_grace: float = 10.0
    request_timeout: float = 30.0  # HTTP: a request's headers, and then its body, must arrive within this
    envoy: dict[str, Any] = field(default_factory=dict)  # Envoy door settings (config file only)
    auth: dict[str, Any] = field(default_factory=dict)  # callers, JWT (config file only; see celgate.auth.settings)
    tls_cert: str = ""  # server certificate (PEM) for both doors; reloaded when the file changes
    tls_key: str = ""
    tls_client_ca: str = ""  # CA of client certificates: turns on mutual TLS
    tls_client_auth: str = "require"  # require | optional: HTTP then also serves callers without a certificate
    tls_reload_seconds: float = 5.0  # how often certificate files are checked for changes
    insecure_allow_anonymous: bool = False  # serve anonymous callers beyond loopback (something else authenticates)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> ServeConfig:
        return cls(**_coerce_all(values, "config"))

    @property
    def grpc_thread_count(self) -> int:
        if self.grpc_threads > 0:
            return self.grpc_threads
        return 64 if self.envoy else 4

    @property
    def worker_count(self) -> int:
        return self.workers if self.workers > 0 else max(1, os.cpu_count() or 1)


_FIELDS = {f.name: f for f in fields(ServeConfig)}
_DEFAULTS = ServeConfig()


def _coerce(name: str, value: Any, origin: str) -> Any:
    default = getattr(_DEFAULTS, name)
    if isinstance(default, dict):
        if not isinstance(value, Mapping):
            raise ConfigError(f"{origin} {name}: expected a mapping, got {value!r}")
        return dict(value)
    try:
        if isinstance(default, bool):
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off", ""):
                return False
            raise ValueError(value)
        if isinstance(default, int):
            if isinstance(value, bool):
                raise ValueError(value)
            return int(value)
        if isinstance(default, float):
            if isinstance(value, bool):
                raise ValueError(value)
            return float(value)
        if value is None or isinstance(value, list | dict):
            raise ValueError(value)
        return str(value)
    except (TypeError, ValueError):
        kind = type(default).__name__.replace("str", "string").replace("bool", "boolean")
        raise ConfigError(f"{origin} {name}: expected a {kind}, got {value!r}") from None


def _coerce_all(values: Mapping[str, Any], origin: str) -> dict[str, Any]:
    out = {}
    for key, value in values.items():
        name = str(key).replace("-", "_")
        if name not in _FIELDS:
            raise ConfigError(f"{origin}: unknown setting {key!r} (known: {', '.join(sorted(_FIELDS))})")
        out[name] = _coerce(name, value, origin)
    return out


def load_file(path: str | Path) -> dict[str, Any]:
    """Reads a YAML config file whose keys are the flag names (dashes or underscores)."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as e:
        raise ConfigError(f"--config {path}: {e.strerror}") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"--config {path}: not valid YAML: {e}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"--config {path}: expected a mapping of settings, got {type(data).__name__}")
    return _coerce_all(data, f"--config {path}:")


def from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    """`CELGATE_GRPC_ADDR=...` and friends; CELGATE_CONFIG and CELGATE_GIT_TOKEN are not settings."""
    out = {}
    for name in _FIELDS:
        if isinstance(getattr(_DEFAULTS, name), dict):
            continue
        key = "CELGATE_" + name.upper()
        if key in environ:
            out[name] = _coerce(name, environ[key], key)
    return out


def resolve(cli: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> ServeConfig:
    """Merges defaults < config file < environment < flags (flags given as None are unset)."""
    environ = os.environ if environ is None else environ
    config_file = cli.get("config") or environ.get("CELGATE_CONFIG")
    merged: dict[str, Any] = {}
    if config_file:
        merged.update(load_file(config_file))
    merged.update(from_env(environ))
    merged.update(_coerce_all({k: v for k, v in cli.items() if v is not None and k != "config"}, "flag"))
    config = ServeConfig(**merged)
    validate(config)
    if config.decision_log == "otlp" and not (
        environ.get("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT") or environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    ):
        raise ConfigError("decision-log otlp: set OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_LOGS_ENDPOINT)")
    return config


def parse_addr(addr: str, what: str = "address") -> tuple[str, int]:
    host, sep, port = addr.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(f"{what} {addr!r}: expected HOST:PORT")
    return (host.strip("[]") or "127.0.0.1"), int(port)


def validate(config: ServeConfig) -> None:
    grpc_host, grpc_port = parse_addr(config.grpc_addr, "grpc-addr")
    http_host, http_port = parse_addr(config.http_addr, "http-addr")
    wildcard = {"0.0.0.0", "::"}
    if grpc_port and grpc_port == http_port and (grpc_host == http_host or {grpc_host, http_host} & wildcard):
        # The listeners set SO_REUSEPORT (for --workers), so both would bind and the kernel would
        # split connections between the gRPC and the HTTP server at random.
        raise ConfigError(f"grpc-addr {config.grpc_addr!r} and http-addr {config.http_addr!r}: the same port")
    if config.decision_log_content not in ("hash", "redacted"):
        raise ConfigError(f"decision-log-content {config.decision_log_content!r}: expected hash or redacted")
    if config.require_signed and not config.allowed_signers:
        raise ConfigError("require-signed: needs allowed-signers (an ssh allowed_signers file)")
    if config.poll_interval <= 0 or config.dir_poll_interval <= 0:
        raise ConfigError("poll-interval: expected a positive number of seconds")
    if config.quota_store != "memory" and not config.quota_store.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(f"quota-store {config.quota_store!r}: expected memory or redis://HOST:PORT/DB")
    if not config.approval_ttl > 0:
        raise ConfigError("approval-ttl: expected a positive number of seconds")
    if config.approval_webhook and not config.approval_webhook.startswith(("http://", "https://")):
        raise ConfigError(f"approval-webhook {config.approval_webhook!r}: expected an http:// or https:// URL")
    if config.session_store != "memory" and not config.session_store.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(f"session-store {config.session_store!r}: expected memory or redis://HOST:PORT/DB")
    if config.session_on_error not in ("closed", "open"):
        raise ConfigError(f"session-on-error {config.session_on_error!r}: expected closed or open")
    if config.session_ttl <= 0 or config.session_max_turns <= 0:
        raise ConfigError("session-ttl and session-max-turns must be positive")
    if config.session_max_memory < 1 << 20:
        raise ConfigError("session-max-memory: expected a number of bytes, at least 1048576 (1 MiB)")
    if config.max_body_bytes <= 0:
        raise ConfigError("max-body-bytes: expected a positive number of bytes")
    if "://" in config.decision_log and not config.decision_log.startswith(("http://", "https://")):
        scheme = config.decision_log.split("://", 1)[0]
        raise ConfigError(f"decision-log: {scheme}:// is not a sink; expected stdout, none, a path, http(s):// or otlp")
    if config.decision_log_key and len(config.decision_log_key.encode()) < 16:
        raise ConfigError("decision-log-key: expected at least 16 characters (e.g. openssl rand -hex 32)")
    if config.request_timeout <= 0:
        raise ConfigError("request-timeout: expected a positive number of seconds")
    auth_plan(config)


def auth_plan(config: ServeConfig) -> AuthSetup:
    """The worker's authentication set-up; a `ConfigError` for unusable or unsafe settings."""
    try:
        return plan(
            config.auth,
            hosts=[("grpc-addr", parse_addr(config.grpc_addr)[0]), ("http-addr", parse_addr(config.http_addr)[0])],
            tls_cert=config.tls_cert,
            tls_key=config.tls_key,
            tls_client_ca=config.tls_client_ca,
            tls_client_auth=config.tls_client_auth,
            tls_reload_seconds=config.tls_reload_seconds,
            insecure_allow_anonymous=config.insecure_allow_anonymous,
        )
    except AuthConfigError as e:
        raise ConfigError(str(e)) from None
