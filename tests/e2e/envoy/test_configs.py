"""The shipped configs are valid: Envoy's own validator for deploy/envoy, YAML shape for deploy/istio."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from celgate.api.envoy import EnvoySettings
from tests.e2e.envoy.harness import envoy_binary

ROOT = Path(__file__).parents[3]

pytestmark = pytest.mark.e2e


def test_deploy_envoy_config_validates(tmp_path: Path) -> None:
    """Envoy's validator reads the mTLS files of the celgate cluster: real ones, made here, stand in."""
    from tests.pki import CA

    ca = CA(tmp_path / "celgate-tls")
    client = ca.issue("client", "envoy")
    config = (ROOT / "deploy/envoy/envoy.yaml").read_text()
    assert "/etc/envoy/celgate-tls/client.pem" in config
    (tmp_path / "celgate-tls" / "ca.pem").write_bytes(ca.pem.read_bytes())
    assert client.cert.name == "client.pem" and client.key.name == "client.key"
    rendered = tmp_path / "envoy.yaml"
    rendered.write_text(config.replace("/etc/envoy/celgate-tls", str(tmp_path / "celgate-tls")))
    out = subprocess.run(
        [envoy_binary(), "--mode", "validate", "-c", str(rendered)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_deploy_celgate_configs_need_mutual_tls(tmp_path: Path) -> None:
    """The shipped celgate configs for Envoy and Istio listen beyond loopback, so they must authenticate."""
    from celgate.config import resolve

    envoy = yaml.safe_load((ROOT / "deploy/envoy/celgate.yaml").read_text())
    istio = [
        yaml.safe_load(d["data"]["celgate.yaml"])
        for d in yaml.safe_load_all((ROOT / "deploy/istio/celgate.yaml").read_text())
        if d and d["kind"] == "ConfigMap"
    ]
    for doc in (envoy, *istio):
        assert doc["tls-client-ca"] and doc["tls-cert"] and doc["tls-key"]
        assert doc["auth"]["callers"] and all(c.get("mtls") for c in doc["auth"]["callers"])
        assert not doc.get("insecure-allow-anonymous")
        path = tmp_path / "celgate.yaml"
        path.write_text(yaml.safe_dump(doc))
        assert resolve({"config": str(path)}, {}).tls_client_ca  # accepted as it is: 0.0.0.0, authenticated


def test_deploy_celgate_envoy_settings_parse() -> None:
    doc = yaml.safe_load((ROOT / "deploy/envoy/celgate.yaml").read_text())
    EnvoySettings.from_dict(doc["envoy"])
    for path in (ROOT / "deploy/istio").glob("*.yaml"):
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
        assert docs and all("apiVersion" in d and "kind" in d for d in docs), path
        for d in docs:
            if d["kind"] == "ConfigMap":
                EnvoySettings.from_dict(yaml.safe_load(d["data"]["celgate.yaml"])["envoy"])
