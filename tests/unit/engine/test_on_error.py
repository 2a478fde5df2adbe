"""`on_error` (a policy's, or celgate.yaml's default): a deny rule whose condition cannot be
evaluated fails closed as a deny (the default), or — where the author says so — holds the request
for a human (`require_approval`). Never an allow. On both CEL backends."""

from __future__ import annotations

from pathlib import Path

import pytest

import celgate
from celgate import metrics
from celgate.approvals import Approvals
from celgate.approvals.sqlite import SQLiteStore
from celgate.engine import PolicyLoadError
from celgate.stores import Stores
from tests.unit.engine.conftest import policy

BACKENDS = ["cpp", "closures", "python"]
# `tool.args.amount` is missing from the requests below: the condition errors.
RULES = """\
- name: big-transfer
  effect: deny
  when: double(tool.args.amount) > 1000.0
- name: transfer-ok
  effect: allow
  when: tool.name == "transfer" && double(tool.args.amount) >= 0.0
- name: search-ok
  effect: allow
  when: tool.name == "search"
"""


def transfer(**args: object) -> dict:
    return {"action": "tool_call", "principal": {"id": "u1"}, "tool": {"name": "transfer", "args": args}}


def repo(make_repo, on_error: str | None = None, config_on_error: str | None = None, mode: str = "enforce") -> Path:
    extra = f"mode: {mode}\n" + (f"on_error: {on_error}\n" if on_error else "")
    config = "apiVersion: celgate/v1\nkind: Config\n" + (f"on_error: {config_on_error}\n" if config_on_error else "")
    return make_repo({"celgate.yaml": config, "p.yaml": policy("payments", "[tool_call]", RULES, extra)})


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_error_denies_by_default(make_repo, backend: str) -> None:
    decision = celgate.load(repo(make_repo), backend=backend).check(transfer())
    assert decision.effect == "deny" and decision.failed_closed
    assert decision.matched_rules() == ["payments/big-transfer"]
    assert "failed closed" in decision.message


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_policy_may_hold_an_error_for_a_human(make_repo, backend: str, tmp_path: Path) -> None:
    approvals = Approvals(SQLiteStore(tmp_path / "a.db"), ttl_seconds=600)
    engine = celgate.load(repo(make_repo, on_error="require_approval"), backend=backend)
    stores = Stores(approvals=approvals)
    held = engine.check(transfer(), stores=stores)
    assert held.effect == "require_approval" and held.failed_closed
    assert [(r.rule, r.effect) for r in held.reasons] == [("big-transfer", "require_approval")]
    assert "could not be evaluated; held for approval" in held.message
    pending = approvals.get(held.approval_id)
    assert pending is not None and pending.state == "pending"
    # An approver lets this very request through, once; the rule still errors, nothing else changes.
    approvals.decide(held.approval_id, True, by="alice", reason="checked by phone")
    retry = engine.check({**transfer(), "approval_id": held.approval_id}, stores=stores)
    assert retry.effect == "allow", retry.reasons
    assert engine.check({**transfer(), "approval_id": held.approval_id}, stores=stores).effect == "deny"  # used
    # An error is not a match: evaluated normally, the deny rule still denies, allow rules still allow.
    assert engine.check(transfer(amount=5000), stores=stores).effect == "deny"
    assert engine.check(transfer(amount=10), stores=stores).effect == "allow"


@pytest.mark.parametrize("backend", BACKENDS)
def test_celgate_yaml_sets_the_default_and_a_policy_overrides_it(make_repo, backend: str) -> None:
    held = celgate.load(repo(make_repo, config_on_error="require_approval"), backend=backend).check(transfer())
    assert held.effect == "require_approval"
    own = celgate.load(repo(make_repo, "deny", config_on_error="require_approval"), backend=backend)
    assert own.check(transfer()).effect == "deny"


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_audit_policy_error_changes_nothing(make_repo, backend: str) -> None:
    engine = celgate.load(repo(make_repo, on_error="require_approval", mode="audit"), backend=backend)
    decision = engine.check(transfer())
    assert decision.effect == "deny"  # the tool_call default; the audit rule is only reported
    assert [(r.rule, r.enforced) for r in decision.reasons if r.policy == "payments"] == [("big-transfer", False)]


def test_a_held_error_is_counted_as_a_decision_error(make_repo) -> None:
    engine = celgate.load(repo(make_repo, on_error="require_approval"))
    counter = metrics.DECISION_ERRORS.labels("tool_call")
    before = counter._value.get()
    metrics.observe(engine.check(transfer()), "tool_call", "test", 0.001)
    assert counter._value.get() == before + 1


@pytest.mark.parametrize("value", ["allow", "maybe", "true", "[deny]", '""'])
@pytest.mark.parametrize("where", ["policy", "config"])
def test_a_bad_on_error_is_refused_with_its_line(make_repo, value: str, where: str) -> None:
    path = repo(make_repo, on_error=value) if where == "policy" else repo(make_repo, config_on_error=value)
    with pytest.raises(PolicyLoadError) as info:
        celgate.load(path)
    (error,) = [e for e in info.value.errors if "on_error" in e.message]
    assert Path(error.file).name == ("p.yaml" if where == "policy" else "celgate.yaml")
    text = (path / Path(error.file).name).read_text().splitlines()
    assert text[error.line - 1].startswith("on_error:"), (error, text)
    assert "never allows" in error.message
