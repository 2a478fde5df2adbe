"""Policy sources end to end: directory changes live, rejected revisions, git (plain and signed)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import TOOLS_POLICY, write_policy_repo

pytestmark = pytest.mark.e2e

SEARCH = {"action": "tool_call", "principal": {"id": "u2"}, "tool": {"name": "search"}}
FETCH = {"action": "tool_call", "principal": {"id": "u2"}, "tool": {"name": "fetch"}}


def wait_for(predicate, timeout: float = 10, interval: float = 0.1):
    """Generous wait for an eventually-true condition; returns its last value."""
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = predicate()
    return value


def effect(cg, request: dict) -> str:
    return httpx.post(cg.http_url + "/v1/check", json=request, timeout=10).json()["effect"]


def status(cg) -> dict:
    return httpx.get(cg.http_url + "/v1/status", timeout=10).json()


def allow_fetch(policy: str = TOOLS_POLICY) -> str:
    return policy.replace('tool.name == "search"', 'tool.name in ["search", "fetch"]')


def test_directory_change_is_live_without_restart(start_celgate, policy_repo: Path) -> None:
    cg = start_celgate(policies=policy_repo)
    before = status(cg)["revision"]
    assert effect(cg, FETCH) == "deny"
    (policy_repo / "tools.yaml").write_text(allow_fetch())
    assert wait_for(lambda: effect(cg, FETCH) == "allow", timeout=5)
    assert status(cg)["revision"] != before


def test_broken_change_is_not_activated_and_status_says_where(start_celgate, policy_repo: Path) -> None:
    cg = start_celgate(policies=policy_repo)
    good = status(cg)["revision"]
    broken = TOOLS_POLICY.replace('tool.name == "search"', 'tool.nmae == "search"')
    (policy_repo / "tools.yaml").write_text(broken)
    error = wait_for(lambda: status(cg)["last_error"], timeout=10)
    assert error and error["file"].endswith("tools.yaml") and error["line"] > 0 and error["message"]
    assert status(cg)["revision"] == good
    assert httpx.get(cg.http_url + "/readyz").status_code == 200
    assert effect(cg, SEARCH) == "allow"
    assert "celgate_bundle_load_errors_total 1.0" in httpx.get(cg.http_url + "/metrics").text
    (policy_repo / "tools.yaml").write_text(allow_fetch())
    assert wait_for(lambda: effect(cg, FETCH) == "allow", timeout=10)
    assert status(cg)["last_error"] is None


def test_failing_policy_test_blocks_activation(start_celgate, policy_repo: Path) -> None:
    cg = start_celgate(policies=policy_repo)
    good = status(cg)["revision"]
    # Search becomes denied: the suite's "search is allowed" case fails.
    (policy_repo / "tools.yaml").write_text(TOOLS_POLICY.replace('tool.name == "search"', 'tool.name == "other"'))
    error = wait_for(lambda: status(cg)["last_error"], timeout=10)
    assert error and "policy tests failed" in error["message"]
    assert status(cg)["revision"] == good and effect(cg, SEARCH) == "allow"


def test_no_good_revision_at_start_means_not_ready(start_celgate, tmp_path: Path) -> None:
    repo = write_policy_repo(tmp_path / "p", tools_policy=TOOLS_POLICY.replace("tool.name", "tool.nmae"))
    cg = start_celgate(policies=repo, wait="up")
    wait_for(lambda: status(cg)["last_error"], timeout=15)
    r = httpx.get(cg.http_url + "/readyz")
    assert r.status_code == 503 and r.json() == {"ready": False}  # probes learn nothing more
    assert status(cg)["last_error"]["file"].endswith("tools.yaml")  # /v1/status says why
    check = httpx.post(cg.http_url + "/v1/check", json=SEARCH)
    assert check.status_code == 503 and check.json()["error"]["code"] == "unavailable"
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    with grpc.insecure_channel(cg.grpc_addr) as ch:
        answer = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=10)
    assert answer.status == health_pb2.HealthCheckResponse.NOT_SERVING
    (repo / "tools.yaml").write_text(TOOLS_POLICY)
    assert wait_for(lambda: httpx.get(cg.http_url + "/readyz").status_code == 200, timeout=10)


def git(cwd: Path, *args: str, env: dict | None = None) -> str:
    base = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
        "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1",
    }  # fmt: skip
    done = subprocess.run(["git", *args], cwd=cwd, env={**base, **(env or {})}, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.fixture
def git_remote(tmp_path: Path) -> tuple[Path, Path]:
    """A work tree with the policy repo committed and pushed to a bare remote's `main`."""
    bare, work = tmp_path / "policies.git", tmp_path / "work"
    git(tmp_path, "init", "--bare", "--quiet", "-b", "main", str(bare))
    write_policy_repo(work)
    git(work, "init", "--quiet", "-b", "main")
    git(work, "add", "-A")
    git(work, "commit", "--quiet", "-m", "policies")
    git(work, "remote", "add", "origin", str(bare))
    git(work, "push", "--quiet", "origin", "main")
    return bare, work


def test_git_source_picks_up_new_commits(start_celgate, git_remote, tmp_path: Path) -> None:
    bare, work = git_remote
    first = git(work, "rev-parse", "HEAD")
    cg = start_celgate(policies=f"git+file://{bare}#main", extra_args=["--poll-interval", "0.5"])
    assert status(cg)["revision"] == first
    r = httpx.post(cg.http_url + "/v1/check", json=SEARCH).json()
    assert r["policy_revision"] == first
    (work / "tools.yaml").write_text(allow_fetch())
    git(work, "commit", "--quiet", "-am", "allow fetch")
    git(work, "push", "--quiet", "origin", "main")
    second = git(work, "rev-parse", "HEAD")
    assert wait_for(lambda: status(cg)["revision"] == second, timeout=15)
    r = httpx.post(cg.http_url + "/v1/check", json=FETCH).json()
    assert r["effect"] == "allow" and r["policy_revision"] == second


def test_git_require_signed(start_celgate, git_remote, tmp_path: Path) -> None:
    bare, work = git_remote
    key = tmp_path / "signing_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "t@example.com", "-f", str(key)], check=True)
    signers = tmp_path / "allowed_signers"
    signers.write_text(f"t@example.com {Path(str(key) + '.pub').read_text().strip()}\n")
    sign = ["-c", "gpg.format=ssh", "-c", f"user.signingkey={key}"]
    # The first (unsigned) commit is refused: not ready, and status says why.
    cg = start_celgate(
        policies=f"git+file://{bare}#main",
        extra_args=["--poll-interval", "0.5", "--require-signed", "--allowed-signers", str(signers)],
        wait="up",
    )
    error = wait_for(lambda: status(cg)["last_error"], timeout=15)
    assert error and "not signed" in error["message"]
    assert httpx.get(cg.http_url + "/readyz").status_code == 503
    # A signed commit activates.
    (work / "tools.yaml").write_text(allow_fetch())
    git(work, *sign, "commit", "--quiet", "-S", "-am", "signed: allow fetch")
    git(work, "push", "--quiet", "origin", "main")
    signed = git(work, "rev-parse", "HEAD")
    assert wait_for(lambda: status(cg)["revision"] == signed, timeout=15)
    assert effect(cg, FETCH) == "allow"
    # A later unsigned commit does not.
    (work / "tools.yaml").write_text(TOOLS_POLICY)
    git(work, "commit", "--quiet", "-am", "unsigned: deny fetch")
    git(work, "push", "--quiet", "origin", "main")
    unsigned = git(work, "rev-parse", "HEAD")
    error = wait_for(lambda: (status(cg)["last_error"] or {}).get("revision") == unsigned, timeout=15)
    assert error and status(cg)["revision"] == signed and effect(cg, FETCH) == "allow"


def test_git_missing_repository_is_reported(start_celgate, tmp_path: Path) -> None:
    cg = start_celgate(policies=f"git+file://{tmp_path}/nowhere.git#main", wait="up")
    error = wait_for(lambda: status(cg)["last_error"], timeout=15)
    assert error and "git fetch failed" in error["message"]
    assert shutil.which("git")
