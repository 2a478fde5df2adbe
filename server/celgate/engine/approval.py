"""What `require_approval` does with an approval store: hold the request, or let its retry go on once.

Called by `Engine.check` after the rules and quotas ran, so on a retry every rule has already run
again: an approval only ever lifts the approval hold (effect `require_approval`), never a deny.

- No `approval_id` on the request: a pending approval is stored, bound to the request's fingerprint
  and the rules that asked; its id is the decision's `approval_id`.
- A retry with `approval_id`: allowed exactly once when that approval is approved *and* was given for
  this very request (same fingerprint); still `require_approval` while it is pending; otherwise a
  deny whose reason (`approval/<kind>`) says why: `not-found`, `different-request`, `denied`,
  `expired`, `used`.
- The store cannot be reached: a deny (`approval/store-unavailable`), never a hold nobody can see.
"""

from __future__ import annotations

import re
from typing import Any

from google.protobuf import json_format

from celgate.approvals import (
    APPROVED,
    DENIED,
    EXPIRED,
    PENDING,
    USED,
    Approval,
    Approvals,
    HoldReason,
    StoreError,
    fingerprint,
    new_id,
)
from celgate.engine.actions import ALLOW, DENY, REQUIRE_APPROVAL
from celgate.engine.decision import Decision, Reason
from celgate.v1 import decision_pb2 as pb

POLICY = "approval"  # the policy name of reasons this module adds
_MAX_TEXT = 4000  # longest string an approver is shown (the rest is cut, with a marker)


def settle(
    approvals: Approvals, decision: Decision, req: pb.CheckRequest, hold_reasons: list[HoldReason], detectors: Any
) -> None:
    """Applies the approval workflow to a decision whose effect is `require_approval`."""
    if decision.effect != REQUIRE_APPROVAL:
        return
    try:
        if req.approval_id:
            _redeem(approvals, decision, req)
        else:
            _hold(approvals, decision, req, hold_reasons, detectors)
    except StoreError as e:
        _refuse(decision, "store-unavailable", f"approval store unavailable: {e}", req.approval_id)


def _hold(
    approvals: Approvals, decision: Decision, req: pb.CheckRequest, hold_reasons: list[HoldReason], detectors: Any
) -> None:
    now = approvals.clock()
    approval = Approval(
        id=new_id(),
        fingerprint=fingerprint(req),
        action=req.action,
        principal=req.principal.id,
        tool=req.tool.name,
        session=req.session.id,
        reasons=tuple(hold_reasons),
        request=approver_view(req, decision.rewritten, detectors),
        decision_id=decision.decision_id,
        created_at=now,
        expires_at=now + approvals.ttl_seconds,
        tenant=req.principal.tenant,
    )
    approvals.create(approval)
    decision.approval_id = approval.id


def _redeem(approvals: Approvals, decision: Decision, req: pb.CheckRequest) -> None:
    approval_id = req.approval_id
    decision.approval_id = approval_id
    approval = approvals.get(approval_id)
    if approval is None:
        _refuse(decision, "not-found", f"approval {approval_id} not found", approval_id)
        return
    if approval.fingerprint != fingerprint(req):
        _refuse(
            decision,
            "different-request",
            f"approval {approval_id} was given for a different request (action, principal, tool, "
            "arguments and session must be the same)",
            approval_id,
        )
        return
    if approval.state == PENDING:
        decision.message = f"approval {approval_id} is still pending"
        return
    if approval.state == APPROVED:
        won, approval = approvals.use(approval_id)
        if won and approval is not None:
            decision.effect = ALLOW
            by = f" by {approval.decided_by}" if approval.decided_by else ""
            why = f": {approval.reason}" if approval.reason else ""
            decision.reasons.append(Reason(POLICY, "approved", ALLOW, f"approved{by}{why}", True))
            decision.message = f"allowed once by approval {approval_id} (approved{by})"
            return
        if approval is None:
            _refuse(decision, "not-found", f"approval {approval_id} not found", approval_id)
            return
    _refuse(decision, approval.state, _state_message(approval), approval_id)


def _state_message(approval: Approval) -> str:
    if approval.state == DENIED:
        by = f" by {approval.decided_by}" if approval.decided_by else ""
        why = f": {approval.reason}" if approval.reason else ""
        return f"approval {approval.id} was denied{by}{why}"
    if approval.state == EXPIRED:
        return f"approval {approval.id} expired; ask again (retry without approval_id) for a new one"
    if approval.state == USED:
        return f"approval {approval.id} was already used; an approval lets one request through once"
    return f"approval {approval.id} is {approval.state}"


def _refuse(decision: Decision, kind: str, message: str, approval_id: str) -> None:
    decision.effect = DENY
    decision.reasons.append(Reason(POLICY, kind, DENY, message, True))
    decision.message = message
    decision.approval_id = approval_id
    decision.redactions = []
    decision.rewritten = {}


_INDEX = re.compile(r"\[(\d+)\]")


def approver_view(req: pb.CheckRequest, rewritten: dict[str, str], detectors: Any) -> dict[str, Any]:
    """The request as an approver is shown it: the policies' redactions applied (as the decision log's
    redacted mode writes them), every secret masked wherever it appears, long texts cut."""
    view = json_format.MessageToDict(req, preserving_proto_field_name=True)
    view.pop("approval_id", None)
    view.pop("explain", None)
    tenant = req.principal.tenant

    def walk(value: Any, path: str) -> Any:
        if isinstance(value, dict):
            return {k: walk(v, f"{path}.{k}" if path else k) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, f"{path}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, str):
            text = rewritten.get(path, value)
            if detectors is not None and text:
                findings = detectors.find(text, ["secrets"])
                if findings:
                    text, _ = detectors.redact(text, findings, "[{type}]", tenant=tenant)
            if len(text) > _MAX_TEXT:
                text = text[:_MAX_TEXT] + f"… [{len(text) - _MAX_TEXT} more characters]"
            return text
        return value

    return walk(view, "")


def hold_reasons(reasons: list[Reason]) -> list[HoldReason]:
    """The enforced rules that asked for approval."""
    return [HoldReason(r.policy, r.rule, r.message) for r in reasons if r.enforced and r.effect == REQUIRE_APPROVAL]
