"""The approver API on gRPC (`celgate.v1.ApprovalService`): the same rules as HTTP, in gRPC status codes.

In process on a loopback port, behind the gRPC door's real authentication (API keys)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path

import grpc
import pytest

import celgate
from celgate.api.approvals import ApproverDesk
from celgate.api.approvals_grpc import ApprovalService
from celgate.approvals import Approvals
from celgate.approvals.sqlite import SQLiteStore
from celgate.auth import Authenticator, AuthSettings
from celgate.auth.grpc_gate import AuthInterceptor
from celgate.stores import Stores
from celgate.v1 import decision_pb2 as pb
from celgate.v1 import decision_pb2_grpc as pb_grpc
from tests.unit.approvals.policies import transfer, write_repo


def key(who: str) -> str:
    return f"cg_test_{who}_key_0123456789"


CALLERS = [
    {"id": who, "key_sha256": hashlib.sha256(key(who).encode()).hexdigest(), "roles": roles}
    for who, roles in (("bob", ["approver"]), ("alice", ["approver"]), ("carol", ["user"]), ("agent", []))
]


def as_(who: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {key(who)}"),)


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[pb_grpc.ApprovalServiceStub, celgate.Engine]]:
    approvals = Approvals(SQLiteStore(tmp_path / "a.db"))
    engine = celgate.load(write_repo(tmp_path / "p"), stores=Stores(approvals=approvals))
    authenticator = Authenticator(AuthSettings.from_dict({"callers": CALLERS}), allow_anonymous=False)
    interceptor = AuthInterceptor(authenticator, mutual_tls=False, anonymous_reflection=False)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4), interceptors=[interceptor])
    pb_grpc.add_ApprovalServiceServicer_to_server(ApprovalService(ApproverDesk(approvals)), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    yield pb_grpc.ApprovalServiceStub(channel), engine
    channel.close()
    server.stop(None)


BOB = as_("bob")


def code_of(call, *args, **kwargs) -> grpc.StatusCode:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as e:
        call(*args, **kwargs)
    return e.value.code()


def test_list_get_approve(setup) -> None:  # type: ignore[no-untyped-def]
    stub, engine = setup
    approval_id = engine.check(transfer()).approval_id
    listed = stub.ListApprovals(pb.ListApprovalsRequest(state="pending"), metadata=BOB)
    assert [a.id for a in listed.approvals] == [approval_id]
    got = stub.GetApproval(pb.GetApprovalRequest(id=approval_id), metadata=BOB).approval
    assert got.tool == "transfer_funds" and got.reasons[0].rule == "big-transfer"
    assert got.request["tool"]["args"]["to"] == "acct-42"
    done = stub.Approve(pb.ApproveRequest(id=approval_id, reason="ok"), metadata=BOB).approval
    assert done.state == "approved" and done.decided_by == "bob"
    status = stub.GetApprovalStatus(pb.GetApprovalStatusRequest(id=approval_id), metadata=as_("agent"))
    assert status.state == "approved" and status.reason == "ok"
    assert engine.check({**transfer(), "approval_id": approval_id}).effect == "allow"


def test_status_codes(setup) -> None:  # type: ignore[no-untyped-def]
    stub, engine = setup
    approval_id = engine.check(transfer()).approval_id
    assert code_of(stub.ListApprovals, pb.ListApprovalsRequest()) == grpc.StatusCode.UNAUTHENTICATED
    user = as_("carol")
    assert code_of(stub.GetApproval, pb.GetApprovalRequest(id=approval_id), metadata=user) == (
        grpc.StatusCode.PERMISSION_DENIED
    )
    own = as_("alice")
    assert code_of(stub.Approve, pb.ApproveRequest(id=approval_id), metadata=own) == grpc.StatusCode.PERMISSION_DENIED
    assert code_of(stub.GetApproval, pb.GetApprovalRequest(id="apr_x"), metadata=BOB) == grpc.StatusCode.NOT_FOUND
    stub.Deny(pb.DenyRequest(id=approval_id, reason="no"), metadata=BOB)
    with pytest.raises(grpc.RpcError) as e:
        stub.Approve(pb.ApproveRequest(id=approval_id), metadata=BOB)
    assert e.value.code() == grpc.StatusCode.FAILED_PRECONDITION and "is denied by bob" in e.value.details()
    bad = pb.ListApprovalsRequest(state="done")
    assert code_of(stub.ListApprovals, bad, metadata=BOB) == grpc.StatusCode.INVALID_ARGUMENT
