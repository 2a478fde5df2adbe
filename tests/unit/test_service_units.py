"""Unit tests of the service's parts: settings, decision log, sources, dry-run."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from celgate import audit
from celgate.api.decide import dry_run_answer
from celgate.config import ConfigError, resolve
from celgate.engine import Decision, Reason
from celgate.engine.request import parse_request
from celgate.sources import default_policies_dir
from celgate.sources.directory import DirectorySource
from celgate.sources.git import parse_spec, redact_url


def test_settings_precedence_flag_over_env_over_file(tmp_path: Path) -> None:
    f = tmp_path / "c.yaml"
    f.write_text("grpc-addr: 127.0.0.1:1\nhttp_addr: 127.0.0.1:2\nworkers: 3\ndry-run: true\n")
    env = {"CELGATE_CONFIG": str(f), "CELGATE_HTTP_ADDR": "127.0.0.1:20", "CELGATE_WORKERS": "4"}
    config = resolve({"workers": 5, "policies": None}, env)
    assert (config.grpc_addr, config.http_addr, config.workers, config.dry_run) == (
        "127.0.0.1:1",
        "127.0.0.1:20",
        5,
        True,
    )


@pytest.mark.parametrize(
    ("cli", "env", "needle"),
    [
        ({"grpc_addr": "nope"}, {}, "grpc-addr"),
        ({}, {"CELGATE_WORKERS": "many"}, "CELGATE_WORKERS"),
        ({}, {"CELGATE_DRY_RUN": "maybe"}, "CELGATE_DRY_RUN"),
        ({"require_signed": True}, {}, "allowed-signers"),
        ({"session_max_memory": "100"}, {}, "session-max-memory"),
        ({}, {"CELGATE_SESSION_MAX_MEMORY": "lots"}, "CELGATE_SESSION_MAX_MEMORY"),
        ({"grpc_addr": "127.0.0.1:7000", "http_addr": "127.0.0.1:7000"}, {}, "the same port"),
        ({"grpc_addr": "0.0.0.0:7000", "http_addr": "127.0.0.1:7000"}, {}, "the same port"),
    ],
)
def test_bad_settings_name_the_setting(cli: dict, env: dict, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        resolve(cli, env)


def test_session_memory_bound_reaches_the_store() -> None:
    from celgate.service.stores import open_stores

    stores = open_stores(resolve({"session_max_memory": str(8 << 20), "approval_store": ":memory:"}, {}))
    try:
        assert stores.sessions.limits.max_memory_bytes == 8 << 20
    finally:
        stores.close()


def test_unknown_key_in_config_file(tmp_path: Path) -> None:
    f = tmp_path / "c.yaml"
    f.write_text("grpc_adr: x\n")
    with pytest.raises(ConfigError, match="grpc_adr"):
        resolve({"config": str(f)}, {})


def _decision(effect: str = "deny") -> Decision:
    return Decision(
        effect=effect,
        reasons=[Reason("p", "r", effect, "msg with secret", True)],
        decision_id="d1",
        policy_revision="rev",
    )


REQUEST = {
    "action": "response",
    "principal": {"id": "u", "tenant": "t"},
    "response": {"content": "my password is hunter2"},
    "tool": {"name": "x", "args": {"token": "ghp_abc"}},
}


class SlowSink:
    def __init__(self) -> None:
        self.data: list[bytes] = []
        self.gate = threading.Event()

    def write(self, data: bytes) -> None:
        self.gate.wait(10)
        self.data.append(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


def test_a_stuck_sink_never_blocks_and_drops_are_counted() -> None:
    sink = SlowSink()
    log = audit.DecisionLog(sink, queue_size=10)
    for _ in range(1000):
        log.record(_decision(), parse_request(REQUEST), "http", 0.001)  # returns at once even though the sink is stuck
    assert log.dropped > 0
    sink.gate.set()
    log.close()
    lines = b"".join(sink.data).splitlines()
    assert len(lines) + log.dropped == 1000
    assert all(b"log_error" not in line for line in lines)


def test_log_line_holds_hashes_not_content() -> None:
    request = parse_request(REQUEST)  # the Decider logs the parsed request
    entry = audit.format_entry(
        _decision(),
        request,
        "grpc",
        0.002,
        time.time(),
        dry_run=False,
        redacted=False,
        hasher=audit.Hasher(b"k" * 32),
        detectors=audit._detectors(),
    )
    assert entry["tool"] == "x" and entry["action"] == "response"
    text = json.dumps(entry)
    for secret in ("hunter2", "ghp_abc", "msg with secret"):
        assert secret not in text
    hasher = audit.Hasher(b"k" * 32)
    assert entry["principal"] == {"id": hasher.ident("u"), "tenant": hasher.ident("t")}
    assert entry["matched_rules"] == ["p/r"]
    assert entry["content"]["length"] > 0 and len(entry["content"]["hmac_sha256"]) == 64


def test_log_file_rotates_by_size(tmp_path: Path) -> None:
    sink = audit.RotatingSink(str(tmp_path / "d.log"), max_bytes=100, backups=2)
    for _ in range(10):
        sink.write(b"x" * 60 + b"\n")
    sink.close()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["d.log", "d.log.1", "d.log.2"]


def test_dry_run_answer_is_allow_without_obligations() -> None:
    d = _decision()
    d.rewritten = {"response.content": "x"}
    answer = dry_run_answer(d)
    assert answer.effect == "allow" and not answer.rewritten and answer.reasons == d.reasons
    assert d.effect == "deny"  # the logged decision is untouched


def test_directory_source_sees_changes(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("1")
    src = DirectorySource(str(tmp_path))
    assert src.poll() is not None and src.poll() is None
    (tmp_path / "a.yaml").write_text("22")
    assert src.poll() is not None


def test_git_spec_and_url_redaction() -> None:
    assert parse_spec("git+file:///srv/p.git#main") == ("file:///srv/p.git", "main")
    assert parse_spec("git+https://h/x.git") == ("https://h/x.git", "HEAD")
    assert redact_url("https://user:tok@host/x.git") == "https://host/x.git"


def test_default_policies_exist() -> None:
    assert (default_policies_dir() / "celgate.yaml").is_file()


def test_metrics_observe_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    from celgate import metrics

    before = metrics.DECISIONS.labels("tool_call", "deny")._value.get()
    denied = SimpleNamespace(effect="deny", reasons=[Reason("p", "r", "deny", "", True)], failed_closed=False)
    metrics.observe(denied, "tool_call", "x", 0.1)
    assert metrics.DECISIONS.labels("tool_call", "deny")._value.get() == before + 1
