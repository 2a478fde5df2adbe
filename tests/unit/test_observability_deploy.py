"""What platform teams install beside celgate: alert rules, the Grafana dashboard, the Helm chart.

Checked with the real tools, offline: `promtool` (Debian's prometheus package) parses and unit-tests
the alert rules and parses every dashboard query; a real Helm binary (scripts/fetch-helm) lints and
renders the chart, and the rendered objects are validated against the Kubernetes schemas like the
kustomize manifests. A metric named in a rule or a panel must exist in celgate's registry, so the
dashboard cannot drift from the code.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ALERTS = ROOT / "deploy" / "prometheus" / "celgate-alerts.yaml"
DASHBOARD = ROOT / "deploy" / "grafana" / "celgate-dashboard.json"
CHART = ROOT / "deploy" / "helm" / "celgate"


def tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path=str(ROOT / ".venv" / "bin"))
    if found is None:
        hint = "scripts/fetch-helm" if name == "helm" else "apt-get install prometheus"
        pytest.skip(f"{name} not installed ({hint}; scripts/bootstrap --system does both)")
    return found


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=120, cwd=cwd)


# --- metrics named by rules and panels exist --------------------------------------------------


def exported_metric_names() -> set[str]:
    """Every sample name celgate's registry exposes (from the `# TYPE` lines of /metrics' text)."""
    from celgate import metrics

    text, _ = metrics.render()
    names = set()
    for line in text.decode().splitlines():
        if line.startswith("# TYPE celgate_"):
            _, _, name, kind = line.split()
            if kind == "histogram":
                names |= {name + "_bucket", name + "_sum", name + "_count"}
            else:
                names.add(name)  # counters are typed under their *_total name already
    return names


_METRIC = re.compile(r"\bcelgate_[a-z_]+\b")
# Metrics the dashboard and alerts already use whose code lands with their issues; remove each
# entry when its metric exists (the test below then holds it to the registry like the rest).
_LANDING_WITH: dict[str, str] = {}


def dashboard_queries() -> list[tuple[str, str]]:
    dash = json.loads(DASHBOARD.read_text())
    return [(p["title"], t["expr"]) for p in dash["panels"] for t in p["targets"]]


def test_every_metric_in_rules_and_dashboard_is_exported() -> None:
    exported = exported_metric_names()
    used = set(_METRIC.findall(ALERTS.read_text()))
    for _, expr in dashboard_queries():
        used |= set(_METRIC.findall(expr))
    assert used, "no celgate metric referenced"
    assert used <= exported | set(_LANDING_WITH), f"referenced but not exported: {sorted(used - exported)}"
    assert not exported & set(_LANDING_WITH), "a metric landed: drop it from _LANDING_WITH"


# --- alert rules -------------------------------------------------------------------------------


def test_alert_rules_pass_promtool_check_and_unit_tests() -> None:
    promtool = tool("promtool")
    checked = run(promtool, "check", "rules", str(ALERTS))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = run(promtool, "test", "rules", "celgate-alerts.test.yaml", cwd=ALERTS.parent)
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_alerts_cover_what_operators_must_hear_about() -> None:
    rules = yaml.safe_load(ALERTS.read_text())["groups"][0]["rules"]
    names = {r["alert"] for r in rules}
    assert {
        "CelgatePolicyRevisionRejected",
        "CelgateDecisionErrors",
        "CelgateSlowDecisions",
        "CelgateApprovalsPending",
        "CelgateDecisionLogDropping",
    } <= names
    for rule in rules:
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]


# --- dashboard ---------------------------------------------------------------------------------


def test_dashboard_queries_parse_as_promql(tmp_path: Path) -> None:
    """promtool has no query linter, but it parses rule expressions: each panel query becomes one."""
    promtool = tool("promtool")
    rules = []
    for i, (title, expr) in enumerate(dashboard_queries()):
        concrete = expr.replace("$__rate_interval", "5m").replace("$instance", ".*")
        rules.append({"record": f"dashboard:panel_{i}", "expr": concrete, "labels": {"panel": title}})
    path = tmp_path / "panels.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    checked = run(promtool, "check", "rules", str(path))
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_dashboard_layout_is_importable() -> None:
    dash = json.loads(DASHBOARD.read_text())
    assert dash["uid"] == "celgate-overview" and dash["title"] == "celgate"
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids))
    cells: set[tuple[int, int]] = set()
    for p in dash["panels"]:
        g = p["gridPos"]
        assert g["x"] >= 0 and g["x"] + g["w"] <= 24, p["title"]
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                assert (x, y) not in cells, f"panel {p['title']!r} overlaps another"
                cells.add((x, y))
        assert p["datasource"]["uid"] == "${datasource}"
    variables = {v["name"] for v in dash["templating"]["list"]}
    assert variables == {"datasource", "instance"}


# --- Helm chart --------------------------------------------------------------------------------


def helm_template(tmp_path: Path, values: dict[str, Any] | None = None, *sets: str) -> list[dict[str, Any]]:
    helm = tool("helm")
    args = [helm, "template", "gate", str(CHART), "--namespace", "llm"]
    if values is not None:
        path = tmp_path / "values.yaml"
        path.write_text(yaml.safe_dump(values))
        args += ["-f", str(path)]
    for s in sets:
        args += ["--set", s]
    done = run(*args)
    assert done.returncode == 0, done.stderr
    return [d for d in yaml.safe_load_all(done.stdout) if d]


def validate_core(docs: list[dict[str, Any]]) -> None:
    for doc in docs:
        if doc["apiVersion"].startswith("monitoring.coreos.com/"):
            continue  # CRDs: no offline schema; their shape is checked below
        kubernetes_validate.validate(doc, "1.30.0", strict=True)


def by_kind(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out = {}
    for d in docs:
        key = d["kind"] if d["kind"] != "ConfigMap" else "ConfigMap/" + d["metadata"]["name"]
        out[key] = d
    return out


def test_helm_chart_lints() -> None:
    done = run(tool("helm"), "lint", str(CHART), "--strict")
    assert done.returncode == 0, done.stdout + done.stderr


def test_helm_default_render_validates_and_fits_together(tmp_path: Path) -> None:
    docs = helm_template(tmp_path)
    validate_core(docs)
    kinds = by_kind(docs)
    assert set(kinds) == {
        "ConfigMap/gate-celgate-config",
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "NetworkPolicy",
    }
    pod = kinds["Deployment"]["spec"]["template"]
    for kind in ("Service", "PodDisruptionBudget"):
        selector = kinds[kind]["spec"]["selector"]
        selector = selector.get("matchLabels", selector)
        assert selector.items() <= pod["metadata"]["labels"].items(), kind
    assert "replicas" not in kinds["Deployment"]["spec"]  # the HPA owns it
    settings = yaml.safe_load(kinds["ConfigMap/gate-celgate-config"]["data"]["celgate.yaml"])
    from celgate.config import ServeConfig, validate

    config = ServeConfig.from_dict(settings)
    validate(config)
    assert config.policies == "/policies" and config.http_addr == "0.0.0.0:8080"


def test_helm_policies_from_configmap_compile(tmp_path: Path) -> None:
    """The policy files given as values land at their paths under /policies and form a valid repo."""
    files = {
        "celgate.yaml": "apiVersion: celgate/v1\nkind: Config\n",
        "tools.yaml": (
            "apiVersion: celgate/v1\nkind: Policy\nname: tools\nactions: [tool_call]\nrules:\n"
            "  - name: search-ok\n    effect: allow\n    when: tool.name == data.tools.allowed\n"
        ),
        "data/tools.yaml": "allowed: search\n",
    }
    values = {"policies": {"source": "configMap", "files": files}, "autoscaling": {"enabled": False}}
    docs = helm_template(tmp_path, values)
    validate_core(docs)
    kinds = by_kind(docs)
    assert kinds["Deployment"]["spec"]["replicas"] == 2
    cm = kinds["ConfigMap/gate-celgate-policies"]["data"]
    volume = next(v for v in kinds["Deployment"]["spec"]["template"]["spec"]["volumes"] if v["name"] == "policies")
    repo = tmp_path / "repo"
    for item in volume["configMap"]["items"]:
        target = repo / item["path"]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(cm[item["key"]])
    import celgate

    engine = celgate.load(repo)
    assert engine.check({"action": "tool_call", "tool": {"name": "search"}}).effect == "allow"
    assert engine.check({"action": "tool_call", "tool": {"name": "shell"}}).effect == "deny"


def test_helm_git_redis_and_monitoring(tmp_path: Path) -> None:
    values = {
        "policies": {
            "source": "git",
            "git": {"url": "git+https://example.test/policies.git#main", "tokenSecret": {"name": "pol-token"}},
        },
        "redis": {"url": "redis://redis.cache:6380/0"},
        "serviceMonitor": {"enabled": True, "labels": {"release": "prom"}},
        "prometheusRule": {"enabled": True},
    }
    docs = helm_template(tmp_path, values)
    validate_core(docs)
    kinds = by_kind(docs)
    settings = yaml.safe_load(kinds["ConfigMap/gate-celgate-config"]["data"]["celgate.yaml"])
    assert settings["policies"] == values["policies"]["git"]["url"]
    assert settings["quota-store"] == "redis://redis.cache:6380/0"
    env = kinds["Deployment"]["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env[0]["name"] == "CELGATE_GIT_TOKEN" and env[0]["valueFrom"]["secretKeyRef"]["name"] == "pol-token"
    egress = {p["port"] for p in kinds["NetworkPolicy"]["spec"]["egress"][0]["ports"]}
    assert {53, 443, 6380} <= egress
    monitor = kinds["ServiceMonitor"]
    assert monitor["metadata"]["labels"]["release"] == "prom"
    assert monitor["spec"]["endpoints"][0] == {"port": "http", "path": "/metrics", "interval": "30s"}
    assert monitor["spec"]["selector"]["matchLabels"].items() <= kinds["Service"]["metadata"]["labels"].items()
    rule = kinds["PrometheusRule"]
    assert rule["spec"] == yaml.safe_load(ALERTS.read_text())


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (("policies.source=s3",), "policies.source must be embedded, configMap or git"),
        (("policies.source=git",), "policies.git.url is required"),
        (("policies.source=configMap",), "policies.files must hold at least celgate.yaml"),
    ],
)
def test_helm_bad_values_fail_with_a_clear_message(sets: tuple[str, ...], message: str) -> None:
    done = run(tool("helm"), "template", "gate", str(CHART), *(a for s in sets for a in ("--set", s)))
    assert done.returncode != 0
    assert message in done.stderr
