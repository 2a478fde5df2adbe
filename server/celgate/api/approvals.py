"""The approver's side of `require_approval`, shared by HTTP (`/v1/approvals`) and gRPC
(`celgate.v1.ApprovalService`): who may see and decide approvals, and what is recorded when they do.

Only an authenticated caller with the `approver` role may list, read, approve or deny; nobody may
approve a request made for themselves (caller id == the request's principal id). Every approve and
deny is a line in the decision log (`"event": "approval"`) and a count in
`celgate_approval_actions_total`. Which request may then go on is the engine's business
(`celgate.engine.approval`), not this module's.

The caller is the one the doors' authentication attached to the request (`celgate.auth`: API keys
stored as hashes, JWTs with a role claim, client certificates); approvals never authenticates on its
own.
"""

from __future__ import annotations

import logging

from celgate import metrics
from celgate.approvals import Approval, ApprovalError, Approvals, Conflict, StoreError
from celgate.audit import DecisionLog
from celgate.auth import APPROVER, Caller

log = logging.getLogger("celgate.approvals")

MAX_REASON = 1000
MAX_LIMIT = 1000


class Unauthenticated(ApprovalError):
    status = 401
    code = "unauthenticated"


class Forbidden(ApprovalError):
    status = 403
    code = "permission_denied"


class Unavailable(ApprovalError):
    status = 503
    code = "unavailable"


def count_pending(approvals: Approvals) -> None:
    """Sets the pending gauge from the store (at each scrape: every replica reads the same store)."""
    try:
        metrics.approvals_pending(approvals.count_pending())
    except StoreError as e:
        log.warning("cannot count pending approvals: %s", e)


class ApproverDesk:
    """What both approver doors call; raises `ApprovalError` subclasses carrying the HTTP status."""

    def __init__(self, approvals: Approvals, log: DecisionLog | None = None) -> None:
        self.approvals = approvals
        self.log = log

    @staticmethod
    def authorize(caller: Caller | None) -> Caller:
        if caller is None or caller.anonymous:
            raise Unauthenticated("approvers must authenticate: send `Authorization: Bearer <API key or JWT>`")
        if APPROVER not in caller.roles:
            raise Forbidden(f"caller {caller.id!r} does not have the {APPROVER!r} role")
        return caller

    def list(
        self, caller: Caller | None, *, state: str = "", principal: str = "", tool: str = "", limit: int = 100
    ) -> list[Approval]:
        self.authorize(caller)
        if not 1 <= limit <= MAX_LIMIT:
            raise ApprovalError(f"limit: expected 1 to {MAX_LIMIT}, got {limit}")
        try:
            return self.approvals.list(state=state, principal=principal, tool=tool, limit=limit)
        except StoreError as e:
            raise Unavailable(str(e)) from None

    def get(self, caller: Caller | None, approval_id: str) -> Approval:
        self.authorize(caller)
        try:
            return self.approvals.require(approval_id)
        except StoreError as e:
            raise Unavailable(str(e)) from None

    def status(self, caller: Caller | None, approval_id: str) -> Approval:
        """For the caller waiting on its approval (`wait_for_approval`): whoever the doors let in may ask
        (the door's authentication applies as to any route), the unguessable id is the capability, and
        doors show only `Approval.status()`: the state, never the request."""
        try:
            return self.approvals.require(approval_id)
        except StoreError as e:
            raise Unavailable(str(e)) from None

    def decide(self, caller: Caller | None, approval_id: str, approve: bool, reason: str, door: str) -> Approval:
        """Approves or denies; exactly one of racing approvers wins, the others get a Conflict naming the state."""
        who = self.authorize(caller)
        if not isinstance(reason, str):
            raise ApprovalError("reason: expected a string")
        if len(reason) > MAX_REASON:
            raise ApprovalError(f"reason: at most {MAX_REASON} characters")
        try:
            if approve:
                current = self.approvals.require(approval_id)
                if current.principal and current.principal == who.id:
                    metrics.approval_action("refused")
                    raise Forbidden(f"caller {who.id!r} made this request and cannot approve it")
            approval = self.approvals.decide(approval_id, approve, who.id, reason)
        except Conflict:
            metrics.approval_action("refused")
            raise
        except StoreError as e:
            raise Unavailable(str(e)) from None
        metrics.approval_action(approval.state)
        if self.log is not None:
            self.log.record_event(
                {
                    "event": "approval",
                    "door": door,
                    "approval_id": approval.id,
                    "outcome": approval.state,
                    "by": who.id,
                    "reason": reason,
                    "action": approval.action,
                    "principal": approval.principal,
                    "tool": approval.tool,
                    "decision_id": approval.decision_id,
                }
            )
        log.info("approval %s %s by %s", approval.id, approval.state, who.id)
        return approval
