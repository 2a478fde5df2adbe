"""The gRPC doors: bytes that are not a request, and NaN doubles, are INVALID_ARGUMENT — the
caller's mistake — never INTERNAL or UNKNOWN; on the DecisionService and on the Envoy doors
(ext_authz, ext_proc) that share its port. An in-process server on a free loopback port."""

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
from celgate.envoywire.v3 import authz_pb2, ext_proc_pb2
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


# ---- the Envoy doors on the same port (ext_authz Check, ext_proc Process) -----------------------

BAD = b"\x0a\xff\xff\xff\xff\x0f"  # field 1, a length far past the end


def test_ext_authz_bytes_that_are_not_a_request_are_invalid_argument(channel: grpc.Channel) -> None:
    """Bad protobuf on the Envoy doors was answered INTERNAL like the DecisionService's was."""
    raw = channel.unary_unary("/envoy.service.auth.v3.Authorization/Check")
    with pytest.raises(grpc.RpcError) as info:
        raw(BAD, timeout=10)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT, info.value
    assert "envoy.service.auth.v3.CheckRequest" in (info.value.details() or "")
    # The server is still up and the door still answers Envoy's requests.
    ok = authz_pb2.CheckRequest()
    ok.attributes.request.http.method, ok.attributes.request.http.path = "GET", "/v1/models"
    check = channel.unary_unary(
        "/envoy.service.auth.v3.Authorization/Check",
        request_serializer=authz_pb2.CheckRequest.SerializeToString,
        response_deserializer=authz_pb2.CheckResponse.FromString,
    )
    assert check(ok, timeout=10).HasField("denied_response")  # route_not_judged: a decision, not an error


@pytest.mark.parametrize("first_ok", [False, True], ids=["first", "after-a-good-one"])
def test_ext_proc_bytes_that_are_not_a_message_end_the_stream_invalid_argument(
    channel: grpc.Channel, first_ok: bool
) -> None:
    headers = ext_proc_pb2.ProcessingRequest()
    headers.request_headers.headers.headers.add(key=":method", raw_value=b"GET")
    headers.request_headers.headers.headers.add(key=":path", raw_value=b"/v1/models")
    raw = channel.stream_stream("/envoy.service.ext_proc.v3.ExternalProcessor/Process")
    sent = [headers.SerializeToString(), BAD] if first_ok else [BAD]
    answers = []
    with pytest.raises(grpc.RpcError) as info:
        for answer in raw(iter(sent), timeout=10):
            answers.append(ext_proc_pb2.ProcessingResponse.FromString(answer))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT, info.value
    assert "envoy.service.ext_proc.v3.ProcessingRequest" in (info.value.details() or "")
    assert len(answers) == (1 if first_ok else 0)
    # A well-formed stream on the same server is still served.
    (answer,) = raw(iter([headers.SerializeToString()]), timeout=10)
    assert ext_proc_pb2.ProcessingResponse.FromString(answer).HasField("request_headers")
