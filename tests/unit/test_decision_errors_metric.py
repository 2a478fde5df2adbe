"""A decision that failed closed because something errored is counted (the CelgateDecisionErrors
alert and the dashboard read `celgate_decision_errors_total`); a plain deny is not."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import REGISTRY

from celgate import load
from celgate.api.decide import Decider

POLICY = """\
apiVersion: celgate/v1
kind: Policy
name: amounts
actions: [tool_call]
rules:
  - name: big
    effect: deny
    when: double(tool.args.amount) > 100.0
  - name: shell
    effect: deny
    when: tool.name == "shell"
  - name: rest
    effect: allow
    when: "true"
"""


def errors(action: str) -> float:
    return REGISTRY.get_sample_value("celgate_decision_errors_total", {"action": action}) or 0.0


def test_failed_closed_decisions_are_counted(tmp_path: Path) -> None:
    (tmp_path / "celgate.yaml").write_text("apiVersion: celgate/v1\nkind: Config\n")
    (tmp_path / "amounts.yaml").write_text(POLICY)
    decider = Decider(load(tmp_path))
    before = errors("tool_call")
    missing = decider.decide({"action": "tool_call", "tool": {"name": "pay", "args": {}}}, "test")
    assert missing.effect == "deny" and missing.failed_closed  # no amount: the deny rule errored
    plain = decider.decide({"action": "tool_call", "tool": {"name": "shell", "args": {"amount": 1}}}, "test")
    assert plain.effect == "deny" and not plain.failed_closed
    fine = decider.decide({"action": "tool_call", "tool": {"name": "pay", "args": {"amount": 5}}}, "test")
    assert fine.effect == "allow" and not fine.failed_closed
    assert errors("tool_call") == before + 1
