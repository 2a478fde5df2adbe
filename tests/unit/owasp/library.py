"""Runs the shipped library's test suites with rule coverage (a stand-in until `celgate test` lands).

A rule is covered when at least one case matched it and at least one case (for an action the
policy applies to, with the policy's guard passing) did not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import celgate
from celgate.engine.engine import Engine
from celgate.quotas import MemoryStore

POLICIES = Path(__file__).resolve().parents[3] / "policies"


@dataclass
class Report:
    failures: list[str] = field(default_factory=list)
    cases: int = 0
    matched: dict[str, int] = field(default_factory=dict)
    not_matched: dict[str, int] = field(default_factory=dict)

    def uncovered(self, rules: list[str]) -> list[str]:
        return [r for r in rules if not self.matched.get(r) or not self.not_matched.get(r)]


def load(backend: str | None = None) -> Engine:
    return celgate.load(POLICIES, backend=backend, quota_store=MemoryStore())


def run_suites(engine: Engine) -> Report:
    report = Report()
    for suite in engine.bundle.suites:
        for case in suite.cases:
            report.cases += 1
            where = f"{Path(suite.file).name}: {case.name}"
            decision = engine.check(case.request, explain=True)
            for t in decision.explanation or []:
                if not t.rule or t.rule.startswith("vars."):
                    continue
                key = f"{t.policy}/{t.rule}"
                if t.result == "matched":
                    report.matched[key] = report.matched.get(key, 0) + 1
                elif t.result == "not_matched":
                    report.not_matched[key] = report.not_matched.get(key, 0) + 1
                elif t.result == "error" and key in case.rules:  # an expected fail-closed match
                    report.matched[key] = report.matched.get(key, 0) + 1
                elif t.result == "error":
                    report.failures.append(f"{where}: {key} errored: {t.error}")
            report.failures += [f"{where}: {m}" for m in _mismatches(case, decision)]
    return report


def _mismatches(case: Any, decision: Any) -> list[str]:
    out = []
    matched = set(decision.matched_rules())
    if case.effect is not None and decision.effect != case.effect:
        out.append(f"effect {decision.effect} != {case.effect} ({[r.key for r in decision.reasons]})")
    for rule in case.rules:
        if rule not in matched:
            out.append(f"expected {rule} to match; matched {sorted(matched)}")
    for rule in case.not_rules:
        if rule in matched:
            out.append(f"expected {rule} not to match")
    if case.rewritten is not None:
        for f, text in case.rewritten.items():
            if decision.rewritten.get(f) != text:
                out.append(f"rewritten[{f}] = {decision.rewritten.get(f)!r}, expected {text!r}")
    if case.labels is not None and sorted(decision.labels) != sorted(case.labels):
        out.append(f"labels {decision.labels} != {list(case.labels)}")
    if case.documents is not None:
        got = [d.effect for d in decision.documents]
        if got != list(case.documents):
            out.append(f"documents {got} != {list(case.documents)}")
    return out


def all_rules(engine: Engine) -> list[str]:
    return sorted(r.key for r in engine.bundle.rules())
