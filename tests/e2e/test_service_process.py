"""Process behaviour: several workers on shared ports, SIGTERM drains and exits 0, env and config file."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import REPO, free_port

pytestmark = pytest.mark.e2e

SEARCH = {"action": "tool_call", "principal": {"id": "u2"}, "tool": {"name": "search"}}
PROMPT = {"action": "prompt", "principal": {"id": "u3"}, "messages": [{"role": "user", "content": "hello"}]}


def worker_pids(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [int(x) for x in out]


def test_sigterm_stops_every_worker_with_exit_0(start_celgate, policy_repo: Path) -> None:
    cg = start_celgate(policies=policy_repo, workers=2)
    seen_pids: set[int] = set()
    # Both workers answer on the same ports; each reports its own status, all share one metrics registry.
    with httpx.Client() as client:
        for _ in range(200):
            r = client.post(cg.http_url + "/v1/check", json=SEARCH, headers={"connection": "close"})
            assert r.status_code == 200
    text = httpx.get(cg.http_url + "/metrics").text
    series = 'celgate_decisions_total{action="tool_call",effect="allow"}'
    line = next(x for x in text.splitlines() if x.startswith(series))
    assert float(line.rsplit(" ", 1)[1]) == 200.0
    children = [p for p in worker_pids(cg.pid)]
    seen_pids.update(children)
    assert len(children) >= 2

    failures: list[str] = []
    stop = threading.Event()

    def load() -> None:  # requests in flight while SIGTERM arrives must still be answered
        with httpx.Client() as client:
            while not stop.is_set():
                try:
                    r = client.post(cg.http_url + "/v1/check", json=SEARCH, timeout=10)
                    if r.status_code != 200:
                        failures.append(str(r.status_code))
                except httpx.TransportError:
                    return  # the listener closed: expected once shutdown starts

    t = threading.Thread(target=load)
    t.start()
    time.sleep(0.3)
    assert cg.stop(timeout=30) == 0, cg.stderr()
    stop.set()
    t.join(10)
    assert not failures
    # Workers are joined before the main process exits; multiprocessing's resource tracker (also a
    # child) notices its parent is gone a moment later, so allow a short grace for it.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(pid) for pid in seen_pids):
        time.sleep(0.1)
    assert not [pid for pid in seen_pids if _alive(pid)]


def _alive(pid: int) -> bool:
    try:
        return "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()
    except OSError:
        return False


def test_single_worker_sigterm_exit_0(start_celgate, policy_repo: Path) -> None:
    cg = start_celgate(policies=policy_repo)
    assert httpx.post(cg.http_url + "/v1/check", json=SEARCH).status_code == 200
    assert cg.stop() == 0, cg.stderr()


def test_settings_from_env_and_config_file(start_celgate, policy_repo: Path, tmp_path: Path) -> None:
    log = tmp_path / "d.log"
    config = tmp_path / "celgate.yaml"
    config.write_text(f"dry-run: true\ndecision_log: {log}\npolicies: /nonexistent\n")
    # The env var wins over the file's `policies`; the file's dry-run and decision log apply.
    cg = start_celgate(env={"CELGATE_CONFIG": str(config), "CELGATE_POLICIES": str(policy_repo)})
    r = httpx.post(
        cg.http_url + "/v1/check", json={"action": "tool_call", "principal": {"id": "u"}, "tool": {"name": "rm"}}
    ).json()
    assert r["effect"] == "allow"
    deadline = time.monotonic() + 10
    while not (log.exists() and log.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert json.loads(log.read_text().splitlines()[0])["dry_run"] is True


def test_bad_settings_exit_2_with_a_message(policy_repo: Path) -> None:
    import sys

    http = f"127.0.0.1:{free_port()}"
    done = subprocess.run(
        [sys.executable, "-m", "celgate.cli", "serve", "--grpc-addr", "nope", "--http-addr", http],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "grpc-addr" in done.stderr


def test_no_worker_answers_before_its_first_revision_is_active(start_celgate) -> None:
    """With --workers N a worker listened on the shared ports before its first revision was
    active, so while one worker was ready another answered 503 (and /readyz said not ready) to the
    connections the kernel gave it. Now a worker binds its ports only once its first revision is
    active (or rejected): from the first answer on, every answer is a decision. The shipped library
    takes seconds to load and test, which is the window the race had."""
    cg = start_celgate(policies=REPO / "policies", workers=2, wait=False)
    codes: dict[object, int] = {}
    in_a_row = 0
    deadline = time.monotonic() + 120
    while in_a_row < 60 and time.monotonic() < deadline:  # bounded by count and time
        assert cg.proc.poll() is None, cg.stderr()
        path, body = ("/readyz", None) if in_a_row % 2 else ("/v1/check", PROMPT)
        try:  # a new connection each time, so the kernel spreads them over both workers
            r = httpx.request("POST" if body else "GET", cg.http_url + path, json=body, timeout=10)
        except httpx.TransportError:
            codes["refused"] = codes.get("refused", 0) + 1
            time.sleep(0.02)
            continue
        codes[r.status_code] = codes.get(r.status_code, 0) + 1
        in_a_row = in_a_row + 1 if r.status_code == 200 else 0
    assert in_a_row >= 60, codes
    assert set(codes) <= {200, "refused"}, codes
