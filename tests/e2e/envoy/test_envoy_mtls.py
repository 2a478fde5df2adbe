"""A real Envoy talks to celgate over mutual TLS, as deploy/envoy does: celgate knows it by certificate.

celgate serves gRPC with TLS and requires a client certificate from the test CA; its config names the
Envoy certificate's SAN as caller `envoy`, allowed to decide for tenant acme only. Envoy's `celgate`
cluster gets the same UpstreamTlsContext shape as deploy/envoy/envoy.yaml. A request whose verified
JWT names another tenant is refused by celgate (the proxy may not decide for it), and a proxy
without the right certificate gets no decision at all: both 403 at the client, never a pass.
"""

from __future__ import annotations

import json
import string
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.e2e.conftest import start
from tests.e2e.envoy import upstreams
from tests.e2e.envoy.harness import HERE, MAX_BODY, POLICIES, Keys, envoy_binary, free_port
from tests.pki import CA, Issued

pytestmark = pytest.mark.e2e
ENVOY_SAN = "envoy.gateway.svc"


def envoy_config(
    workdir: Path, celgate_port: int, model_port: int, jwks: str, ca: Path, client: Issued
) -> tuple[Path, int, int]:
    """The e2e Envoy config with deploy/envoy's mTLS transport socket on the celgate cluster."""
    admin, port = free_port(), free_port()
    text = string.Template((HERE / "envoy.yaml.tmpl").read_text()).substitute(
        admin_port=admin,
        listen_port=port,
        celgate_port=celgate_port,
        model_port=model_port,
        mcp_port=free_port(),
        jwks=jwks,
        max_body=MAX_BODY,
    )
    doc = yaml.safe_load(text)
    (cluster,) = [c for c in doc["static_resources"]["clusters"] if c["name"] == "celgate"]
    cluster["transport_socket"] = {
        "name": "envoy.transport_sockets.tls",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
            "sni": "localhost",
            "common_tls_context": {
                "alpn_protocols": ["h2"],
                "tls_certificates": [
                    {"certificate_chain": {"filename": str(client.cert)}, "private_key": {"filename": str(client.key)}}
                ],
                "validation_context": {
                    "trusted_ca": {"filename": str(ca)},
                    "match_typed_subject_alt_names": [{"san_type": "DNS", "matcher": {"exact": "localhost"}}],
                },
            },
        },
    }
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "envoy.json"
    path.write_text(json.dumps(doc))  # JSON is YAML to Envoy
    return path, port, admin


def run_envoy(config: Path, admin: int, log: Path) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [envoy_binary(), "-c", str(config), "--use-dynamic-base-id", "-l", "warning", "--log-path", str(log)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    for _ in range(300):  # bounded: about 30 s
        if proc.poll() is not None:
            raise RuntimeError(f"envoy exited: {log.read_text()[-3000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{admin}/ready", timeout=1).text.strip() == "LIVE":
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("envoy did not become ready")


def chat(token: str, url: str) -> httpx.Response:
    body: dict[str, Any] = {"model": "m", "messages": [{"role": "user", "content": "hello there"}]}
    return httpx.post(url + "/v1/chat/completions", json=body, headers={"authorization": f"Bearer {token}"}, timeout=15)


def test_envoy_authenticates_to_celgate_with_a_client_certificate(keys: Keys, tmp_path: Path) -> None:
    import ssl

    pki = CA(tmp_path / "pki")
    server = pki.server()
    good = pki.issue("envoy", "envoy", dns=[ENVOY_SAN])
    stranger = CA(tmp_path / "other", "other CA").issue("envoy-forged", "envoy", dns=[ENVOY_SAN])
    config = tmp_path / "celgate-service.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "envoy": {"max_body_bytes": MAX_BODY},
                "tls-client-auth": "optional",
                "auth": {"callers": [{"id": "envoy", "mtls": [ENVOY_SAN], "rights": {"tenants": ["acme"]}}]},
            }
        )
    )
    args = ["--config", str(config), "--tls-cert", str(server.cert), "--tls-key", str(server.key)]
    args += ["--tls-client-ca", str(pki.pem), "--decision-log", "none"]
    probe = ssl.create_default_context(cafile=str(pki.pem))
    cg = start(policies=POLICIES, extra_args=args, tls=probe, workdir=tmp_path)
    model = upstreams.start("model")
    procs = []
    try:
        celgate_port = int(cg.grpc_addr.rsplit(":", 1)[1])
        cfg, port, admin = envoy_config(tmp_path, celgate_port, model.server_address[1], keys.jwks, pki.pem, good)
        procs.append(run_envoy(cfg, admin, tmp_path / "envoy.log"))
        url = f"http://127.0.0.1:{port}"
        ok = chat(keys.sign({"sub": "u1", "roles": ["user"], "tenant": "acme"}), url)
        assert ok.status_code == 200, ok.text
        assert model.received[-1]["headers"].get("x-celgate-decision-id")
        other = chat(keys.sign({"sub": "u2", "roles": ["user"], "tenant": "globex"}), url)
        assert other.status_code == 403 and "may not decide for tenant 'globex'" in other.text

        # The same Envoy with a certificate celgate's CA did not issue: the handshake fails, Envoy fails
        # closed, and says so as the recipe's outage answer (503 naming the gateway), not as a denial.
        cfg2, port2, admin2 = envoy_config(
            tmp_path / "forged", celgate_port, model.server_address[1], keys.jwks, pki.pem, stranger
        )
        procs.append(run_envoy(cfg2, admin2, tmp_path / "envoy-forged.log"))
        before = len(model.received)
        forged = chat(keys.sign({"sub": "u1", "roles": ["user"], "tenant": "acme"}), f"http://127.0.0.1:{port2}")
        assert forged.status_code == 503 and len(model.received) == before
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)
        model.shutdown()
        cg.stop()
