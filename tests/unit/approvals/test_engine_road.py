"""The engine's approval road: hold creates a pending approval; the retry with its id goes on exactly
once when approved and the request is the same; every other case is refused with a reason that says
which; an approval never lifts a deny."""

from __future__ import annotations

from pathlib import Path

import pytest

import celgate
from celgate.approvals import Approvals, HoldReason, StoreError
from celgate.approvals.base import ApprovalStore
from celgate.approvals.sqlite import SQLiteStore
from celgate.engine import Engine
from celgate.stores import Stores
from tests.unit.approvals.policies import transfer, write_repo


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def approvals(tmp_path: Path, clock: Clock) -> Approvals:
    return Approvals(SQLiteStore(tmp_path / "a.db"), ttl_seconds=600, clock=clock)


@pytest.fixture
def engine(tmp_path: Path, approvals: Approvals) -> Engine:
    return celgate.load(write_repo(tmp_path / "policies"), stores=Stores(approvals=approvals))


def held(engine: Engine, **kw: object) -> str:
    d = engine.check(transfer(**kw))  # type: ignore[arg-type]
    assert d.effect == "require_approval", d
    assert d.approval_id.startswith("apr_")
    return d.approval_id


def retry(engine: Engine, approval_id: str, **kw: object) -> celgate.Decision:
    return engine.check({**transfer(**kw), "approval_id": approval_id})  # type: ignore[arg-type]


def refused_as(d: celgate.Decision, kind: str) -> str:
    assert d.effect == "deny", d
    assert d.reasons[-1].policy == "approval" and d.reasons[-1].rule == kind, d.reasons
    assert d.message == d.reasons[-1].message
    return d.message


def test_hold_stores_the_request_with_its_reasons(engine: Engine, approvals: Approvals) -> None:
    approval_id = held(engine)
    a = approvals.require(approval_id)
    assert (a.state, a.action, a.principal, a.tool) == ("pending", "tool_call", "alice", "transfer_funds")
    assert a.session == "s1"
    assert a.reasons == (HoldReason("payments", "big-transfer", "transfer of 5000 needs a human"),)
    assert a.expires_at - a.created_at == 600
    # The approver's view masks secrets wherever they are; the rest is shown to decide on.
    args = a.request["tool"]["args"]
    assert args["to"] == "acct-42" and args["amount"] == 5000.0
    assert "AKIAIOSFODNN7EXAMPLE" not in str(a.request) and "[aws_access_key_id]" in args["memo"]
    assert approvals.count_pending() == 1


def test_approved_retry_goes_on_exactly_once(engine: Engine, approvals: Approvals) -> None:
    approval_id = held(engine)
    still = retry(engine, approval_id)
    assert still.effect == "require_approval" and still.approval_id == approval_id
    assert "still pending" in still.message
    approvals.decide(approval_id, True, "bob", "checked with alice")
    ok = retry(engine, approval_id)
    assert ok.effect == "allow" and ok.approval_id == approval_id
    assert ok.reasons[-1].rule == "approved" and "bob: checked with alice" in ok.reasons[-1].message
    assert approvals.require(approval_id).state == "used"
    assert "already used" in refused_as(retry(engine, approval_id), "used")


def test_a_different_request_cannot_spend_it(engine: Engine, approvals: Approvals) -> None:
    approval_id = held(engine)
    approvals.decide(approval_id, True, "bob", "")
    for other in ({"amount": 50000.0}, {"to": "acct-43"}, {"principal": "mallory"}, {"session": "s2"}):
        assert "different request" in refused_as(retry(engine, approval_id, **other), "different-request")
    assert approvals.require(approval_id).state == "approved"  # still there for the right request
    assert retry(engine, approval_id).effect == "allow"


def test_denied_expired_unknown(engine: Engine, approvals: Approvals, clock: Clock) -> None:
    denied = held(engine)
    approvals.decide(denied, False, "bob", "too much")
    assert "was denied by bob: too much" in refused_as(retry(engine, denied), "denied")
    expired = held(engine)
    clock.now += 601
    assert "expired" in refused_as(retry(engine, expired), "expired")
    approved_late = held(engine)
    approvals.decide(approved_late, True, "bob", "")
    clock.now += 601  # an approval not used within its ttl expires too
    refused_as(retry(engine, approved_late), "expired")
    assert "not found" in refused_as(retry(engine, "apr_0000"), "not-found")


def test_an_approval_never_lifts_a_deny(engine: Engine, approvals: Approvals) -> None:
    approval_id = held(engine, to="acct-42")
    approvals.decide(approval_id, True, "bob", "")
    # A request both held (big) and denied (sanctioned payee), retried with an approved id: the deny
    # stands, and the approval is not spent.
    d = retry(engine, approval_id, to="sanctioned")
    assert d.effect == "deny" and d.reasons[-1].rule == "no-sanctioned-payee", d.reasons
    assert approvals.require(approval_id).state == "approved"


def test_no_hold_needed_leaves_the_approval_alone(engine: Engine, approvals: Approvals) -> None:
    approval_id = held(engine)
    approvals.decide(approval_id, True, "bob", "")
    small = retry(engine, approval_id, amount=10.0)
    assert small.effect == "allow" and small.approval_id == ""
    assert approvals.require(approval_id).state == "approved"


class Broken(ApprovalStore):
    def create(self, approval):  # type: ignore[no-untyped-def]
        raise StoreError("disk full")

    def get(self, approval_id, now):  # type: ignore[no-untyped-def]
        raise StoreError("disk full")

    def list(self, now, **kw):  # type: ignore[no-untyped-def]
        raise StoreError("disk full")

    def decide(self, *a):  # type: ignore[no-untyped-def]
        raise StoreError("disk full")

    def use(self, approval_id, now):  # type: ignore[no-untyped-def]
        raise StoreError("disk full")

    def count_pending(self, now):  # type: ignore[no-untyped-def]
        raise StoreError("disk full")

    def _transition(self, *a):  # type: ignore[no-untyped-def]
        raise StoreError("disk full")


def test_store_down_fails_closed(tmp_path: Path) -> None:
    engine = celgate.load(write_repo(tmp_path / "p"), stores=Stores(approvals=Approvals(Broken())))
    refused_as(engine.check(transfer()), "store-unavailable")
    refused_as(engine.check({**transfer(), "approval_id": "apr_1"}), "store-unavailable")


def test_without_a_store_the_engine_answers_as_before(tmp_path: Path) -> None:
    engine = celgate.load(write_repo(tmp_path / "p"))
    d = engine.check(transfer())
    assert d.effect == "require_approval" and d.approval_id.startswith("apr_")
