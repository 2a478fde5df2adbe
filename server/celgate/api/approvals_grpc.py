"""`celgate.v1.ApprovalService`: the approver API on the gRPC port, same rules as HTTP (`api.approvals`).

Status codes: UNAUTHENTICATED (no credential), PERMISSION_DENIED (not an approver, or approving
one's own request), NOT_FOUND (unknown id), FAILED_PRECONDITION (expired or already decided; the
message names the state), INVALID_ARGUMENT, UNAVAILABLE (store down or approvals not configured).
"""

from __future__ import annotations

import grpc

from celgate.api.approvals import ApproverDesk
from celgate.approvals import ApprovalError
from celgate.auth import current_caller
from celgate.v1 import decision_pb2 as pb
from celgate.v1 import decision_pb2_grpc as pb_grpc

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["ApprovalService"].full_name
_CODES = {
    400: grpc.StatusCode.INVALID_ARGUMENT,
    401: grpc.StatusCode.UNAUTHENTICATED,
    403: grpc.StatusCode.PERMISSION_DENIED,
    404: grpc.StatusCode.NOT_FOUND,
    409: grpc.StatusCode.FAILED_PRECONDITION,
    503: grpc.StatusCode.UNAVAILABLE,
}


class ApprovalService(pb_grpc.ApprovalServiceServicer):
    """The caller is the one `celgate.auth`'s interceptor attached to the call."""

    def __init__(self, desk: ApproverDesk | None) -> None:
        self.desk = desk

    def _desk(self, context: grpc.ServicerContext) -> ApproverDesk:
        if self.desk is None:
            context.abort(grpc.StatusCode.UNAVAILABLE, "approvals are not configured on this server")
        assert self.desk is not None
        return self.desk

    @staticmethod
    def _abort(context: grpc.ServicerContext, e: ApprovalError) -> None:
        context.abort(_CODES.get(e.status, grpc.StatusCode.INVALID_ARGUMENT), str(e))

    def ListApprovals(
        self, request: pb.ListApprovalsRequest, context: grpc.ServicerContext
    ) -> pb.ListApprovalsResponse:
        desk = self._desk(context)
        try:
            approvals = desk.list(
                current_caller(),
                state=request.state,
                principal=request.principal,
                tool=request.tool,
                limit=request.limit or 100,
            )
        except ApprovalError as e:
            self._abort(context, e)
        return pb.ListApprovalsResponse(approvals=[a.to_proto() for a in approvals])

    def GetApproval(self, request: pb.GetApprovalRequest, context: grpc.ServicerContext) -> pb.GetApprovalResponse:
        desk = self._desk(context)
        try:
            approval = desk.get(current_caller(), request.id)
        except ApprovalError as e:
            self._abort(context, e)
        return pb.GetApprovalResponse(approval=approval.to_proto())

    def GetApprovalStatus(
        self, request: pb.GetApprovalStatusRequest, context: grpc.ServicerContext
    ) -> pb.GetApprovalStatusResponse:
        desk = self._desk(context)
        try:
            approval = desk.status(current_caller(), request.id)
        except ApprovalError as e:
            self._abort(context, e)
        return pb.GetApprovalStatusResponse(**approval.status())

    def Approve(self, request: pb.ApproveRequest, context: grpc.ServicerContext) -> pb.ApproveResponse:
        desk = self._desk(context)
        try:
            approval = desk.decide(current_caller(), request.id, True, request.reason, "grpc")
        except ApprovalError as e:
            self._abort(context, e)
        return pb.ApproveResponse(approval=approval.to_proto())

    def Deny(self, request: pb.DenyRequest, context: grpc.ServicerContext) -> pb.DenyResponse:
        desk = self._desk(context)
        try:
            approval = desk.decide(current_caller(), request.id, False, request.reason, "grpc")
        except ApprovalError as e:
            self._abort(context, e)
        return pb.DenyResponse(approval=approval.to_proto())
