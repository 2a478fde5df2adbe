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


def test_istio_outage_body_is_the_envoy_recipes() -> None:
    """Istio had no outage body (a bare 503): deploy/istio/outage.yaml merges the recipe's
    local_reply_config into the gateway's inbound HTTP connection manager. It must stay equal to
    the one Envoy validates (test_deploy_envoy_config_validates) and tests/e2e/clients/test_outage.py
    proves with every SDK; and it must match the status the Istio providers answer an outage with."""
    envoy = yaml.safe_load((ROOT / "deploy/envoy/envoy.yaml").read_text())
    hcm = envoy["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    (doc,) = [d for d in yaml.safe_load_all((ROOT / "deploy/istio/outage.yaml").read_text()) if d]
    assert (doc["apiVersion"], doc["kind"]) == ("networking.istio.io/v1alpha3", "EnvoyFilter")
    assert doc["spec"]["workloadSelector"] == {"labels": {"app": "llm-gateway"}}  # the gateway, as ext-proc.yaml
    (patch,) = doc["spec"]["configPatches"]
    assert patch["applyTo"] == "NETWORK_FILTER" and patch["patch"]["operation"] == "MERGE"
    assert patch["match"]["context"] == "SIDECAR_INBOUND"
    hcm_name = patch["match"]["listener"]["filterChain"]["filter"]["name"]
    assert hcm_name == "envoy.filters.network.http_connection_manager"
    value = patch["patch"]["value"]["typed_config"]
    assert value["@type"] == hcm["@type"]
    assert value["local_reply_config"] == hcm["local_reply_config"]
    # The mappers match ext_authz/ext_proc error replies; both Istio filters must answer those with 503.
    mesh = yaml.safe_load((ROOT / "deploy/istio/mesh-config.yaml").read_text())
    (provider,) = mesh["spec"]["meshConfig"]["extensionProviders"]
    assert provider["envoyExtAuthzGrpc"]["statusOnError"] == "503" and not provider["envoyExtAuthzGrpc"]["failOpen"]
    (ext_proc,) = [d for d in yaml.safe_load_all((ROOT / "deploy/istio/ext-proc.yaml").read_text()) if d]
    proc = ext_proc["spec"]["configPatches"][0]["patch"]["value"]["typed_config"]
    assert proc["status_on_error"] == {"code": "ServiceUnavailable"} and not proc["failure_mode_allow"]
