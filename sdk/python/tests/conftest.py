"""Fixtures for the SDK tests: a real `celgate serve` subprocess, and a TCP proxy that can stall.

The starter is deliberately minimal (ports picked by the OS, readiness by polling /readyz and one
gRPC Check), so these tests depend only on the `celgate` console script, not on the server's own
test helpers. Everything listens on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

POLICIES = Path(__file__).parent / "policies"
HERE = Path(__file__).parent
# Helper modules beside the tests (fake_openai) import by name whatever pytest's import mode is.
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def celgate_command() -> list[str]:
    exe = shutil.which("celgate", path=str(Path(sys.executable).parent)) or shutil.which("celgate")
    if exe is None:
        raise RuntimeError("the `celgate` server is not installed in this interpreter's environment")
    return [exe]


@pytest.fixture(scope="session", autouse=True)
def _private_state_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The servers these tests start keep their default approval store in this run's temporary
    directory, not in the user's $XDG_STATE_HOME (shared across runs, it only grows)."""
    previous = os.environ.get("XDG_STATE_HOME")
    os.environ["XDG_STATE_HOME"] = str(tmp_path_factory.mktemp("xdg-state"))
    yield
    if previous is None:
        os.environ.pop("XDG_STATE_HOME", None)
    else:
        os.environ["XDG_STATE_HOME"] = previous


@dataclass
class Celgate:
    """A running `celgate serve`; `stop()` ends it (idempotent)."""

    proc: subprocess.Popen[bytes]
    http_port: int
    grpc_port: int
    log: Path

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def grpc_addr(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    @property
    def grpc_url(self) -> str:
        return f"grpc://{self.grpc_addr}"

    def url(self, transport: str) -> str:
        return self.grpc_url if transport == "grpc" else self.http_url

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)


def start_celgate(policies: Path = POLICIES, log_dir: Path | None = None, extra_args: tuple[str, ...] = ()) -> Celgate:
    """Start `celgate serve` on free loopback ports and wait until both doors decide."""
    http_port = grpc_port = free_port()
    while grpc_port == http_port:  # two bind(0) calls can return the same port
        grpc_port = free_port()
    log = (log_dir or Path(os.environ.get("TMPDIR", "/tmp"))) / f"celgate-sdk-{http_port}.log"
    cmd = [
        *celgate_command(), "serve", "--policies", str(policies),
        "--http-addr", f"127.0.0.1:{http_port}", "--grpc-addr", f"127.0.0.1:{grpc_port}",
        "--workers", "1", "--decision-log", "none", *extra_args,
    ]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    server = Celgate(proc, http_port, grpc_port, log)
    deadline = time.monotonic() + 60
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"celgate serve exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"celgate serve not ready within 60 s:\n{log.read_text()[-3000:]}")
        if _ready(server):
            return server
        time.sleep(0.1)


def _ready(server: Celgate) -> bool:
    try:
        if httpx.get(f"{server.http_url}/readyz", timeout=1.0).status_code != 200:
            return False
    except httpx.HTTPError:
        return False
    import grpc

    from celgate_client._proto.celgate.v1 import decision_pb2 as pb
    from celgate_client._proto.celgate.v1 import decision_pb2_grpc as pb_grpc

    with grpc.insecure_channel(server.grpc_addr) as channel:
        try:
            pb_grpc.DecisionServiceStub(channel).Check(pb.CheckRequest(action="prompt"), timeout=1.0)
        except grpc.RpcError:
            return False
    return True


@pytest.fixture(scope="session")
def celgate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Celgate]:
    """One shared service for the tests that do not stop it."""
    server = start_celgate(log_dir=tmp_path_factory.mktemp("celgate-log"))
    yield server
    server.stop()


@pytest.fixture
def own_celgate(tmp_path: Path) -> Iterator[Celgate]:
    """A service of the test's own, for tests that stop it."""
    server = start_celgate(log_dir=tmp_path)
    yield server
    server.stop()


@pytest.fixture
def unused_port() -> int:
    """A loopback port nobody listens on (connection refused)."""
    return free_port()


@pytest.fixture(params=["http", "grpc"])
def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@dataclass
class StallingProxy:
    """A loopback TCP proxy that holds every connection `delay` seconds before forwarding anything.

    It makes a service "slow" without touching the service: both HTTP and gRPC ride on TCP.
    """

    target: tuple[str, int]
    delay: float
    port: int = 0
    _sock: socket.socket | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> StallingProxy:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.2)
        self.port = int(self._sock.getsockname()[1])
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def url(self, transport: str) -> str:
        scheme = "grpc" if transport == "grpc" else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        assert self._sock is not None
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            t.start()
            self._threads.append(t)

    def _serve(self, conn: socket.socket) -> None:
        if self._stop.wait(self.delay):
            conn.close()
            return
        try:
            upstream = socket.create_connection(self.target, timeout=5)
        except OSError:
            conn.close()
            return
        pumps = [
            threading.Thread(target=self._pump, args=(conn, upstream), daemon=True),
            threading.Thread(target=self._pump, args=(upstream, conn), daemon=True),
        ]
        for p in pumps:
            p.start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        src.settimeout(0.5)
        while not self._stop.is_set():
            try:
                data = src.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                break
            if not data:
                break
            try:
                dst.sendall(data)
            except OSError:
                break
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.close()

    def stop(self) -> None:
        self._stop.set()
        if self._sock is not None:
            self._sock.close()
        for t in self._threads:
            t.join(timeout=2)


@pytest.fixture
def stalling_proxy() -> Iterator[type[StallingProxy]]:
    started: list[StallingProxy] = []

    class _Factory(StallingProxy):
        def start(self) -> StallingProxy:
            started.append(self)
            return super().start()

    yield _Factory
    for p in started:
        p.stop()
