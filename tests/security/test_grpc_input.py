"""The gRPC door: bytes that are not a request, and NaN doubles, are INVALID_ARGUMENT — the
caller's mistake — never INTERNAL or UNKNOWN. An in-process server on a free loopback port."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

import celgate
from celgate.api.decide import Decider
from celgate.api.grpc_service import build_server
from celgate.api.state import PolicyState
from celgate.config import ServeConfig
from celgate.v1 import decision_pb2 as pb
from celgate.v1 import decision_pb2_grpc as pb_grpc
from tests.e2e.conftest import free_port

POLICIES = Path(__file__).resolve().parents[2] / "policies"


@pytest.fixture(scope="module")
def channel() -> Iterator[grpc.Channel]:
    state = PolicyState("test")
    state.activate(celgate.load(POLICIES))
    config = ServeConfig(grpc_addr=f"127.0.0.1:{free_port()}", http_addr=f"127.0.0.1:{free_port()}")
    server, port = build_server(Decider(state), state, config)
    server.start()
    with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
        yield ch
    server.stop(None)


@pytest.mark.parametrize("method", ["Check", "CheckBatch"])
def test_bytes_that_are_not_a_request_are_invalid_argument(channel: grpc.Channel, method: str) -> None:
    """Bad protobuf was answered INTERNAL ("Exception deserializing request!")."""
    raw = channel.unary_unary(f"/celgate.v1.DecisionService/{method}")
    with pytest.raises(grpc.RpcError) as info:
        raw(b"\x0a\xff\xff\xff\xff\x0f", timeout=10)  # field 1, a length far past the end
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT, info.value


def test_a_nan_double_is_invalid_argument(channel: grpc.Channel) -> None:
    """Over gRPC a NaN amount reached the policies, and `NaN > limit` is false."""
    request = pb.CheckRequest(action="tool_call")
    request.principal.id = "u1"
    request.principal.roles.append("user")
    request.tool.name = "transfer_funds"
    request.tool.args.update({"amount": float("nan"), "to": "acct-9"})
    with pytest.raises(grpc.RpcError) as info:
        pb_grpc.DecisionServiceStub(channel).Check(request, timeout=10)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "tool.args.amount" in (info.value.details() or "")


def test_ordinary_requests_still_decide(channel: grpc.Channel) -> None:
    request = pb.CheckRequest(action="prompt")
    request.messages.add(role="user", content="hello")
    assert pb_grpc.DecisionServiceStub(channel).Check(request, timeout=10).effect == "allow"
