"""Non-finite numbers are invalid input on every door; the shipped library's amount checks hold."""

from __future__ import annotations

from pathlib import Path

import pytest

import celgate
from celgate.engine import InvalidRequest
from celgate.v1 import decision_pb2 as pb

POLICIES = Path(__file__).resolve().parents[2] / "policies"


@pytest.fixture(scope="module")
def engine() -> celgate.Engine:
    return celgate.load(POLICIES)


def transfer(amount: object) -> dict:
    return {
        "action": "tool_call",
        "principal": {"id": "u1", "roles": ["user"]},
        "tool": {"name": "transfer_funds", "args": {"amount": amount, "to": "acct-9"}},
    }


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_numbers_in_a_proto_request_are_invalid(engine, value: float) -> None:
    """JSON cannot carry NaN; a gRPC caller's Struct can, and it slipped past `amount > limit`."""
    request = pb.CheckRequest(action="tool_call")
    request.tool.name = "transfer_funds"
    request.tool.args["amount"] = value
    with pytest.raises(InvalidRequest) as info:
        engine.check(request)
    assert info.value.field == "tool.args.amount"
    nested = pb.CheckRequest(action="prompt")
    nested.context.update({"a": {"b": [1.0, value]}})
    with pytest.raises(InvalidRequest, match="finite") as info:
        engine.check(nested)
    assert info.value.field == "context.a.b[1]"
    call = pb.CheckRequest(action="response")
    call.response.tool_calls.add(name="x").args["n"] = value
    with pytest.raises(InvalidRequest, match="finite"):
        engine.check(call)


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_non_finite_numbers_in_an_embedded_request_are_invalid(engine, value: float) -> None:
    with pytest.raises(InvalidRequest) as info:
        engine.check(transfer(value))
    assert info.value.field == "tool.args.amount"


@pytest.mark.parametrize("amount", ["NaN", "nan", "-Infinity", "-5", -0.5])
def test_shipped_library_denies_amounts_outside_its_limits(engine, amount: object) -> None:
    """`transfer_funds` with amount "NaN" was allowed: `double("NaN") > 10000.0` is false."""
    decision = engine.check(transfer(amount))
    assert decision.effect == "deny"
    assert "llm06-excessive-agency/amount-over-limit" in decision.matched_rules()


def test_shipped_library_still_allows_an_ordinary_transfer(engine) -> None:
    assert engine.check(transfer(200)).effect == "allow"
    assert engine.check(transfer("200")).effect == "allow"
