"""The official OpenAI, Anthropic and MCP SDKs through the shipped Envoy recipe, with `celgate serve` deciding.

The Envoy config is deploy/envoy/envoy.yaml itself, with only what a test machine must change:
loopback addresses and free ports for the listener, admin and clusters, an inline JWKS (made at
test time) in place of the issuer's remote one, and plaintext to celgate on loopback (the recipe's
mutual TLS is tests/e2e/envoy/test_envoy_mtls.py's subject). So what these tests prove is what an operator gets.
celgate runs with deploy/envoy/celgate.yaml's `envoy:` section and the test policies in
tests/e2e/clients/policies, plus the shipped LLM03 policy (policies/owasp) itself, so the MCP pin
tests prove the rule an operator gets. One stack serves the whole package (about 3 s to start); the outage test
starts its own.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.clients import mcp_server, model
from tests.e2e.envoy.harness import AUDIENCE, ISSUER, Celgate, Keys, envoy_binary, free_port, keys

__all__ = ["keys"]

HERE = Path(__file__).parent
ROOT = HERE.parents[2]
POLICIES = HERE / "policies"
# The stand-ins' answers are short; a small hold-back window makes split secrets cross many events.
HOLDBACK = 24


def render_envoy(celgate_port: int, model_port: int, mcp_port: int, jwks: str) -> tuple[dict[str, Any], int, int]:
    """deploy/envoy/envoy.yaml with loopback ports and an inline JWKS; returns (config, port, admin)."""
    doc = yaml.safe_load((ROOT / "deploy/envoy/envoy.yaml").read_text())
    port, admin = free_port(), free_port()
    doc["admin"]["address"]["socket_address"] = {"address": "127.0.0.1", "port_value": admin}
    (listener,) = doc["static_resources"]["listeners"]
    listener["address"]["socket_address"] = {"address": "127.0.0.1", "port_value": port}
    hcm = listener["filter_chains"][0]["filters"][0]["typed_config"]
    for f in hcm["http_filters"]:
        if f["name"] == "envoy.filters.http.jwt_authn":
            (provider,) = f["typed_config"]["providers"].values()
            provider.pop("remote_jwks")
            provider.update(issuer=ISSUER, audiences=[AUDIENCE], local_jwks={"inline_string": jwks})
    ports = {"celgate": celgate_port, "model": model_port, "mcp": mcp_port}
    clusters = [c for c in doc["static_resources"]["clusters"] if c["name"] in ports]
    for c in clusters:
        if c["name"] == "celgate":
            # The recipe's mutual TLS to celgate is proven by tests/e2e/envoy/test_envoy_mtls.py; here
            # celgate serves loopback only, anonymous (its default), so the cluster speaks plaintext h2.
            c.pop("transport_socket", None)
        (ep,) = c["load_assignment"]["endpoints"][0]["lb_endpoints"]
        ep["endpoint"]["address"]["socket_address"] = {"address": "127.0.0.1", "port_value": ports[c["name"]]}
    doc["static_resources"]["clusters"] = clusters
    return doc, port, admin


class Envoy:
    def __init__(self, config: dict[str, Any], port: int, admin: int, workdir: Path) -> None:
        import subprocess
        import time

        import httpx

        path = workdir / "envoy.yaml"
        path.write_text(json.dumps(config))  # JSON is YAML
        self.log = workdir / "envoy.log"
        self.proc = subprocess.Popen(
            [envoy_binary(), "-c", str(path), "--use-dynamic-base-id", "-l", "warning", "--log-path", str(self.log)],
            stdout=(workdir / "access.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        for _ in range(300):  # bounded: about 30 s
            if self.proc.poll() is not None:
                raise RuntimeError(f"envoy exited: {self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{admin}/ready", timeout=1).text.strip() == "LIVE":
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        else:
            raise RuntimeError("envoy did not become ready")
        self.url = f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        import subprocess

        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def celgate_settings() -> dict[str, Any]:
    """deploy/envoy/celgate.yaml's `envoy:` section, as shipped, with a smaller hold-back window."""
    doc = yaml.safe_load((ROOT / "deploy/envoy/celgate.yaml").read_text())
    return {**doc["envoy"], "stream_holdback_chars": HOLDBACK}


@dataclass
class Stack:
    url: str
    model: model.ModelServer
    mcp: mcp_server.McpStandIn
    celgate: Celgate
    keys: Keys

    def token(self, sub: str = "alice", roles: list[str] | None = None) -> str:
        return self.keys.sign({"sub": sub, "roles": roles or ["user"], "tenant": "acme"})

    def auth(self, roles: list[str] | None = None) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token(roles=roles)}"}


def policies(workdir: Path) -> Path:
    """The test policies with the shipped LLM03 supply-chain policy beside them (its data: the pins
    in policies/data/tools.yaml, every test model in policies/data/models.yaml)."""
    out = workdir / "policies"
    shutil.copytree(POLICIES, out)
    shutil.copy(ROOT / "policies/owasp/llm03-supply-chain.yaml", out)
    return out


def start_stack(keys: Keys, workdir: Path, settings: dict[str, Any] | None = None) -> Iterator[Stack]:
    upstream, tools = model.start(), mcp_server.McpStandIn()
    cg = envoy = None
    try:
        cg = Celgate(settings or celgate_settings(), workdir, policies(workdir))
        config, port, admin = render_envoy(cg.port, upstream.port, tools.port, keys.jwks)
        envoy = Envoy(config, port, admin, workdir)
        yield Stack(envoy.url, upstream, tools, cg, keys)
    finally:
        if envoy is not None:
            envoy.stop()
        if cg is not None:
            cg.stop()
        tools.stop()
        upstream.shutdown()


def leaves(group: BaseExceptionGroup) -> list[BaseException]:
    """The exceptions inside (nested) groups: the MCP client raises from its task group."""
    out: list[BaseException] = []
    for e in group.exceptions:
        out.extend(leaves(e) if isinstance(e, BaseExceptionGroup) else [e])
    return out


@pytest.fixture(scope="package")
def stack(keys: Keys, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from start_stack(keys, tmp_path_factory.mktemp("clients"))


@pytest.fixture
def own_stack(keys: Keys, tmp_path: Path) -> Iterator[Stack]:
    """A stack of its own, for tests that break it (stopping celgate)."""
    yield from start_stack(keys, tmp_path)
