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


def test_deploy_envoy_config_validates() -> None:
    out = subprocess.run(
        [envoy_binary(), "--mode", "validate", "-c", str(ROOT / "deploy/envoy/envoy.yaml")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_deploy_celgate_envoy_settings_parse() -> None:
    doc = yaml.safe_load((ROOT / "deploy/envoy/celgate.yaml").read_text())
    EnvoySettings.from_dict(doc["envoy"])
    for path in (ROOT / "deploy/istio").glob("*.yaml"):
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
        assert docs and all("apiVersion" in d and "kind" in d for d in docs), path
        for d in docs:
            if d["kind"] == "ConfigMap":
                EnvoySettings.from_dict(yaml.safe_load(d["data"]["celgate.yaml"])["envoy"])
