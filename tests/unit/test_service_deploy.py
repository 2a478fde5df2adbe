"""Deployment artefacts, checked offline: kustomize manifests against Kubernetes schemas, the Dockerfile's
sources and build step."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"


def build_kustomization() -> list[dict]:
    """The subset of kustomize this overlay uses: resources, namespace, labels (without selectors)."""
    kust = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    docs = []
    for resource in kust["resources"]:
        for doc in yaml.safe_load_all((K8S / resource).read_text()):
            doc["metadata"]["namespace"] = kust["namespace"]
            for group in kust.get("labels", []):
                doc["metadata"].setdefault("labels", {}).update(group["pairs"])
            docs.append(doc)
    return docs


def test_manifests_validate_against_kubernetes_schemas() -> None:
    docs = build_kustomization()
    kinds = {d["kind"] for d in docs}
    assert kinds == {
        "ConfigMap",
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "NetworkPolicy",
    }
    for doc in docs:
        kubernetes_validate.validate(doc, "1.30.0", strict=True)


def test_manifests_fit_together() -> None:
    docs = {d["kind"]: d for d in build_kustomization()}
    pod = docs["Deployment"]["spec"]["template"]
    labels = pod["metadata"]["labels"]
    for kind in ("Service", "PodDisruptionBudget"):
        selector = docs[kind]["spec"]["selector"]
        selector = selector.get("matchLabels", selector)
        assert selector.items() <= labels.items(), kind
    container = pod["spec"]["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"grpc": 9090, "http": 8080}
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert docs["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]["name"] == docs["Deployment"]["metadata"]["name"]
    config = yaml.safe_load(docs["ConfigMap"]["data"]["celgate.yaml"])
    from celgate.config import resolve

    cfg_file = ROOT / "build" / "test-k8s-celgate.yaml"
    cfg_file.parent.mkdir(exist_ok=True)
    cfg_file.write_text(yaml.safe_dump(config))
    assert resolve({"config": str(cfg_file)}, {}).http_addr == "0.0.0.0:8080"


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            op, _, rest = line.partition(" ")
            out.append((op.upper(), rest.strip()))
    return out


def test_dockerfile_shape_and_copy_sources() -> None:
    ins = dockerfile_instructions()
    froms = [rest for op, rest in ins if op == "FROM"]
    assert len(froms) == 2 and all(f.startswith("python:3.11-slim") for f in froms)
    users = [rest for op, rest in ins if op == "USER"]
    assert users and users[-1] not in ("root", "0")
    assert any(op == "HEALTHCHECK" for op, _ in ins)
    for op, rest in ins:
        if op == "COPY" and not rest.startswith("--from"):
            for src in shlex.split(rest)[:-1]:
                if src.endswith("*"):  # optional (README.md*): Docker needs one match among the sources
                    continue
                assert (ROOT / src).exists(), f"COPY source {src} missing"
    assert re.search(r"ENTRYPOINT \[\"celgate\", \"serve\"\]", (ROOT / "Dockerfile").read_text())


@pytest.mark.e2e
def test_dockerfile_wheel_step_builds(tmp_path: Path) -> None:
    """The build stage's `pip wheel .`, run here without Docker (no deps: offline)."""
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert list(tmp_path.glob("celgate-*.whl"))
