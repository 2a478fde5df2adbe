"""Start a real `celgate serve` as a subprocess on free loopback ports.

Shared by the service, SDK and Envoy end-to-end tests:

    def test_something(start_celgate):
        cg = start_celgate(policies=some_dir, extra_args=["--dry-run"])
        httpx.post(cg.http_url + "/v1/check", json={...})
        grpc.insecure_channel(cg.grpc_addr)

Every server started through the fixture is stopped (SIGTERM, then SIGKILL) at the end of the test.
"""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pytest

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Celgate:
    """A running `celgate serve`; stdout (the decision log by default) and stderr go to files."""

    proc: subprocess.Popen[bytes]
    http_url: str
    grpc_addr: str
    stdout_path: Path
    stderr_path: Path
    args: list[str] = field(default_factory=list)
    stdout_pipe: IO[bytes] | None = None  # with stdout="pipe": the read end, which nobody reads
    ssl_context: ssl.SSLContext | None = None  # with TLS: how the fixture's own probes connect

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def get(self, path: str, timeout: float = 10) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(self.http_url + path, timeout=timeout, context=self.ssl_context) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def wait_ready(self, timeout: float = 60, *, ready: bool = True) -> None:
        """Waits until /readyz answers (200 when `ready`, any answer otherwise); fails with stderr."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"celgate exited with {self.proc.returncode}:\n{self.stderr()}")
            try:
                status, _ = self.get("/readyz", timeout=2)
                if status == 200 or not ready:
                    return
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.1)
        raise TimeoutError(f"celgate not {'ready' if ready else 'up'} after {timeout} s:\n{self.stderr()}")

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM to the main process; returns its exit status (SIGKILL after `timeout`)."""
        if self.stdout_pipe is not None:  # unblocks a writer stuck on the full pipe (EPIPE)
            self.stdout_pipe.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return int(self.proc.returncode)


def start(
    policies: str | os.PathLike[str] | None = None,
    extra_args: Sequence[str] = (),
    *,
    workers: int = 1,
    env: dict[str, str] | None = None,
    wait: bool | str = True,
    timeout: float = 60,
    workdir: Path | None = None,
    stdout: str = "file",
    tls: ssl.SSLContext | None = None,
) -> Celgate:
    """Starts celgate; `wait` True waits for ready, "up" only for the HTTP port, False not at all.

    `stdout="pipe"` connects celgate's stdout to a pipe that nobody reads: once its buffer is full,
    every write to it blocks (a stuck decision log sink). `tls`: the server speaks HTTPS (pass
    `--tls-cert`... in `extra_args`); the context is how the fixture itself connects."""
    http_port, grpc_port = free_port(), free_port()
    workdir = workdir or Path(tempfile.mkdtemp(prefix="celgate-e2e-"))
    args = [
        sys.executable, "-m", "celgate.cli", "serve",
        "--http-addr", f"127.0.0.1:{http_port}",
        "--grpc-addr", f"127.0.0.1:{grpc_port}",
        "--workers", str(workers),
        *(["--policies", str(policies)] if policies is not None else []),
        *extra_args,
    ]  # fmt: skip
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("CELGATE_") and k != "PROMETHEUS_MULTIPROC_DIR"}
    full_env["XDG_STATE_HOME"] = str(workdir / "state")  # each server its own approval store by default
    full_env.update(env or {})
    stdout_path, stderr_path = workdir / "stdout.log", workdir / "stderr.log"
    with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
        target: Any = subprocess.PIPE if stdout == "pipe" else out
        proc = subprocess.Popen(args, stdout=target, stderr=err, env=full_env, cwd=str(workdir))
    scheme = "https" if tls else "http"
    cg = Celgate(proc, f"{scheme}://127.0.0.1:{http_port}", f"127.0.0.1:{grpc_port}", stdout_path, stderr_path, args)
    cg.stdout_pipe = proc.stdout
    cg.ssl_context = tls
    if wait:
        try:
            cg.wait_ready(timeout, ready=wait is True)
        except Exception:
            cg.stop()
            raise
    return cg


@pytest.fixture
def start_celgate() -> Iterator[Callable[..., Celgate]]:
    started: list[Celgate] = []

    def _start(*args: object, **kwargs: object) -> Celgate:
        cg = start(*args, **kwargs)  # type: ignore[arg-type]
        started.append(cg)
        return cg

    yield _start
    for cg in started:
        cg.stop()


POLICY_CONFIG = """\
apiVersion: celgate/v1
kind: Config
defaults: {prompt: allow, response: allow, tool_call: deny, tool_result: allow, retrieval: allow}
"""

TOOLS_POLICY = """\
apiVersion: celgate/v1
kind: Policy
name: tools
actions: [tool_call]
rules:
  - name: search-allowed
    effect: allow
    when: tool.name == "search"
  - name: shell-needs-admin
    effect: deny
    when: tool.name == "shell" && !("admin" in principal.roles)
    message: shell needs the admin role
  - name: shell-for-admins
    effect: allow
    when: tool.name == "shell" && "admin" in principal.roles
"""

REPLY_POLICY = """\
apiVersion: celgate/v1
kind: Policy
name: replies
actions: [response]
rules:
  - name: mask-email
    redact:
      detectors: [pii.email]
      in: [response.content]
"""

TOOLS_SUITE = """\
apiVersion: celgate/v1
kind: TestSuite
name: tools
cases:
  - name: users cannot run shell
    request: {action: tool_call, principal: {id: u1, roles: [user]}, tool: {name: shell}}
    expect: {effect: deny, rules: [tools/shell-needs-admin]}
  - name: search is allowed
    request: {action: tool_call, principal: {id: u1, roles: [user]}, tool: {name: search}}
    expect: {effect: allow}
"""


def write_policy_repo(root: Path, *, tools_policy: str = TOOLS_POLICY, suite: str = TOOLS_SUITE) -> Path:
    """A small policy repository the service tests own (the shipped library changes under them)."""
    (root / "tests").mkdir(parents=True, exist_ok=True)
    (root / "celgate.yaml").write_text(POLICY_CONFIG)
    (root / "tools.yaml").write_text(tools_policy)
    (root / "replies.yaml").write_text(REPLY_POLICY)
    (root / "tests" / "tools.yaml").write_text(suite)
    return root


@pytest.fixture
def policy_repo(tmp_path: Path) -> Path:
    return write_policy_repo(tmp_path / "policies")
