"""Hypothesis on the proto over a real gRPC server: every request is answered OK or INVALID_ARGUMENT."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.protobuf import struct_pb2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import celgate
from celgate.api.decide import Decider
from celgate.api.grpc_service import build_server
from celgate.api.state import PolicyState
from celgate.config import ServeConfig
from celgate.engine.actions import ACTIONS
from celgate.v1 import decision_pb2 as pb
from celgate.v1 import decision_pb2_grpc as pb_grpc
from tests.e2e.conftest import write_policy_repo

text = st.text(max_size=200)
json_leaf = st.none() | st.booleans() | st.floats(allow_nan=False, allow_infinity=False) | text
json_value = st.recursive(
    json_leaf, lambda c: st.lists(c, max_size=4) | st.dictionaries(text, c, max_size=4), max_leaves=20
)


def struct(values: dict) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    s.update(values)
    return s


structs = st.dictionaries(text, json_value, max_size=5).map(struct)
tool_calls = st.builds(pb.ToolCall, id=text, name=text, args=structs, server=text, description=text, result=text)
messages = st.builds(pb.Message, role=text, content=text, name=text, tool_calls=st.lists(tool_calls, max_size=2))
requests = st.builds(
    pb.CheckRequest,
    action=st.sampled_from(ACTIONS) | text,
    principal=st.builds(pb.Principal, id=text, roles=st.lists(text, max_size=3), tenant=text, attributes=structs),
    model=st.builds(pb.Model, provider=text, name=text),
    messages=st.lists(messages, max_size=3),
    response=messages,
    tool=tool_calls,
    documents=st.lists(
        st.builds(pb.Document, id=text, content=text, source=text, labels=st.lists(text, max_size=2)), max_size=3
    ),
    session=st.builds(pb.Session, id=text, labels=st.lists(text, max_size=2)),
    context=structs,
    explain=st.booleans(),
)


@pytest.fixture(scope="module")
def stub() -> Iterator[pb_grpc.DecisionServiceStub]:
    state = PolicyState("fuzz")
    state.activate(celgate.load(write_policy_repo(Path(tempfile.mkdtemp()) / "policies")))
    server, port = build_server(Decider(state), state, ServeConfig(grpc_addr="127.0.0.1:0"))
    server.start()
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield pb_grpc.DecisionServiceStub(channel)
    server.stop(0)


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(request=requests)
def test_grpc_door_answers_every_request(stub: pb_grpc.DecisionServiceStub, request: pb.CheckRequest) -> None:
    try:
        response = stub.Check(request, timeout=10)
    except grpc.RpcError as e:
        assert e.code() == grpc.StatusCode.INVALID_ARGUMENT, e.details()
        assert e.details()
        return
    assert response.effect in ("allow", "deny", "require_approval")
    assert request.action in ACTIONS
