"""Runs a policy repository's test suites: the proof that policies do what they claim.

Used by `celgate test` and by the service, which refuses to activate a revision whose tests fail.
Each case runs with fresh in-memory stores so cases stay independent of one another.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from celgate.engine.compiler import Bundle
from celgate.engine.decision import Decision
from celgate.engine.engine import Engine
from celgate.engine.errors import InvalidRequest
from celgate.engine.model import TestCase, TestSuite


@dataclass(frozen=True, slots=True)
class CaseFailure:
    suite: str
    case: str
    file: str
    line: int
    problems: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.suite} > {self.case}\n" + "\n".join(f"    {p}" for p in self.problems)


@dataclass
class CaseResult:
    suite: TestSuite
    case: TestCase
    failure: CaseFailure | None
    decision: Decision | None
    seconds: float = 0.0


@dataclass
class SuiteReport:
    results: list[CaseResult] = field(default_factory=list)
    matched: set[str] = field(default_factory=set)
    not_matched: set[str] = field(default_factory=set)
    rules: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # rules that errored where the case did not expect them to

    @property
    def failures(self) -> list[CaseFailure]:
        return [r.failure for r in self.results if r.failure is not None]

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def passed(self) -> int:
        return sum(1 for r in self.results if r.failure is None)

    def uncovered(self) -> list[str]:
        """Rules that no case matched."""
        return [r for r in self.rules if r not in self.matched]

    def never_unmatched(self) -> list[str]:
        """Rules that matched in every case that evaluated them: no case shows them not firing."""
        return [r for r in self.rules if r in self.matched and r not in self.not_matched]


def diff_case(case: TestCase, decision: Decision) -> list[str]:
    """What differs between a case's expectations and a decision, one readable line per problem."""
    problems = []
    matched = decision.matched_rules()
    if case.effect is not None and decision.effect != case.effect:
        why = "; ".join(f"{r.key}: {r.message}" if r.message else r.key for r in decision.reasons) or "no rule matched"
        problems.append(f"effect: expected {case.effect}, got {decision.effect} ({why})")
    for rule in case.rules:
        if rule not in matched:
            problems.append(f"rules: expected {rule} to match; matched: {', '.join(matched) or 'none'}")
    for rule in case.not_rules:
        if rule in matched:
            problems.append(f"not_rules: expected {rule} not to match, but it did")
    if case.rewritten is not None:
        for path, expected in case.rewritten.items():
            got = decision.rewritten.get(path)
            if got != expected:
                problems.append(f"rewritten[{path}]:\n      expected: {expected!r}\n      got:      {got!r}")
        extra = set(decision.rewritten) - set(case.rewritten)
        for path in sorted(extra):
            problems.append(f"rewritten[{path}]: not expected, got {decision.rewritten[path]!r}")
    if case.labels is not None and sorted(decision.labels) != sorted(case.labels):
        problems.append(f"labels: expected {sorted(case.labels)}, got {sorted(decision.labels)}")
    if case.documents is not None:
        got_docs = [d.effect for d in decision.documents]
        if not decision.documents:
            got_docs = []
        if list(case.documents) != got_docs:
            problems.append(f"documents: expected {list(case.documents)}, got {got_docs}")
    return problems


def run_suites(engine: Engine | Bundle, suites: list[TestSuite] | None = None) -> SuiteReport:
    import time

    bundle = engine.bundle if isinstance(engine, Engine) else engine
    report = SuiteReport(rules=[r.key for r in bundle.rules()])
    for suite in suites if suites is not None else bundle.suites:
        for case in suite.cases:
            started = time.perf_counter()
            try:
                decision = Engine(bundle).check(case.request, explain=True)  # a new engine: fresh stores
            except InvalidRequest as exc:
                failure = CaseFailure(suite.name, case.name, suite.file, case.pos.line, (f"invalid request: {exc}",))
                report.results.append(CaseResult(suite, case, failure, None))
                continue
            for trace in decision.explanation or ():
                if not trace.rule or trace.rule.startswith("vars."):
                    continue
                key = f"{trace.policy}/{trace.rule}"
                if trace.result == "matched" or (trace.result == "error" and key in case.rules):
                    report.matched.add(key)
                elif trace.result in ("not_matched", "error"):
                    report.not_matched.add(key)
                if trace.result == "error" and key not in case.rules:
                    report.errors.append(
                        f"{suite.file}:{case.pos.line}: {suite.name} > {case.name}: {key} errored: {trace.error}"
                    )
            problems = diff_case(case, decision)
            failure = (
                CaseFailure(suite.name, case.name, suite.file, case.pos.line, tuple(problems)) if problems else None
            )
            report.results.append(CaseResult(suite, case, failure, decision, time.perf_counter() - started))
    return report
