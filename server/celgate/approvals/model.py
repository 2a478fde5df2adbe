"""One approval: a request held for a human, bound to a fingerprint of exactly that request.

The fingerprint is what makes "approve this" mean *this*: a retry carrying the approval id is let
through only when its fingerprint is the same, so an approval for `transfer_funds(amount=50)` can
never be spent on `transfer_funds(amount=50000)`, on another tool, for another principal or in
another session.

States: `pending` → `approved` | `denied` | `expired`; `approved` → `used` | `expired`. Expiry is
not a write: an approval whose `expires_at` has passed *is* expired when read, so no sweeper is
needed and every replica agrees.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
from dataclasses import dataclass, field
from typing import Any

import orjson
from google.protobuf import json_format

from celgate.v1 import decision_pb2 as pb

PENDING = "pending"
APPROVED = "approved"
DENIED = "denied"
EXPIRED = "expired"
USED = "used"
STATES = (PENDING, APPROVED, DENIED, EXPIRED, USED)

DEFAULT_TTL_SECONDS = 3600.0
# How long decided, used and expired approvals are kept for the record before a store may drop them.
RETENTION_SECONDS = 7 * 24 * 3600.0


class ApprovalError(Exception):
    """Base of the approval errors; `status` is the HTTP status a door answers with."""

    status = 400
    code = "invalid_argument"


class NotFound(ApprovalError):
    status = 404
    code = "not_found"

    def __init__(self, approval_id: str) -> None:
        super().__init__(f"approval {approval_id!r} not found")
        self.approval_id = approval_id


class Conflict(ApprovalError):
    """The approval is not pending (expired or already decided); `approval` is how it stands."""

    status = 409
    code = "conflict"

    def __init__(self, approval: Approval, wanted: str) -> None:
        who = f" by {approval.decided_by}" if approval.decided_by and approval.state in (APPROVED, DENIED, USED) else ""
        super().__init__(f"approval {approval.id} is {approval.state}{who}; it can no longer be {wanted}")
        self.approval = approval


class StoreError(RuntimeError):
    """The store cannot answer or cannot be written (a decision fails closed; start-up refuses)."""


@dataclass(frozen=True, slots=True)
class HoldReason:
    """A rule that asked for the approval, with its rendered message."""

    policy: str
    rule: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"policy": self.policy, "rule": self.rule, "effect": "require_approval", "message": self.message}


@dataclass(frozen=True, slots=True)
class Approval:
    id: str
    fingerprint: str
    action: str
    principal: str
    tool: str
    session: str
    reasons: tuple[HoldReason, ...]
    request: dict[str, Any]  # the approver's view: secrets masked, policy redactions applied
    decision_id: str
    created_at: float
    expires_at: float
    state: str = PENDING
    decided_at: float = 0.0
    decided_by: str = ""
    reason: str = ""
    used_at: float = 0.0
    tenant: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def current(self, now: float) -> Approval:
        """This approval as it stands at `now`: pending or approved past its expiry reads as expired."""
        if self.state in (PENDING, APPROVED) and now >= self.expires_at:
            return dataclasses.replace(self, state=EXPIRED)
        return self

    def to_record(self) -> dict[str, Any]:
        """The stored form (JSON-safe)."""
        out = dataclasses.asdict(self)
        out["reasons"] = [dataclasses.asdict(r) for r in self.reasons]
        return out

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Approval:
        values = dict(record)
        values["reasons"] = tuple(HoldReason(**r) for r in values.get("reasons", ()))
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})

    def to_dict(self) -> dict[str, Any]:
        """The API form (the proto JSON of `celgate.v1.Approval`, proto field names)."""
        return {
            "id": self.id,
            "state": self.state,
            "action": self.action,
            "principal": self.principal,
            "tool": self.tool,
            "session": self.session,
            "reasons": [r.to_dict() for r in self.reasons],
            "request": self.request,
            "created_at": iso(self.created_at),
            "decided_at": iso(self.decided_at),
            "expires_at": iso(self.expires_at),
            "used_at": iso(self.used_at),
            "decided_by": self.decided_by,
            "reason": self.reason,
            "decision_id": self.decision_id,
            "fingerprint": self.fingerprint,
        }

    def status(self) -> dict[str, str]:
        """What a waiting caller may see (`GetApprovalStatusResponse`): the state, never the request."""
        return {
            "id": self.id,
            "state": self.state,
            "expires_at": iso(self.expires_at),
            "decided_by": self.decided_by,
            "reason": self.reason,
        }

    def to_proto(self) -> pb.Approval:
        msg = pb.Approval()
        json_format.ParseDict(self.to_dict(), msg)
        return msg


def iso(ts: float) -> str:
    if not ts:
        return ""
    return datetime.datetime.fromtimestamp(ts, datetime.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def fingerprint(req: pb.CheckRequest) -> str:
    """sha256 over the exact request: action, principal (id, tenant), tool (name, server, arguments in
    canonical JSON: sorted keys, no whitespace), session id, and for actions other than tool calls the
    content itself. Messages are left out of a tool call's fingerprint: the conversation grows
    between the held call and its retry, the call does not."""
    canonical: dict[str, Any] = {
        "action": req.action,
        "principal": [req.principal.id, req.principal.tenant],
        "tool": [req.tool.name, req.tool.server],
        "args": json_format.MessageToDict(req.tool.args) if req.HasField("tool") else {},
        "session": req.session.id,
    }
    if req.action != "tool_call":
        canonical["content"] = [[m.role, m.content] for m in req.messages] + [
            req.response.content,
            req.tool.result,
            [d.content for d in req.documents],
        ]
    return hashlib.sha256(orjson.dumps(canonical, option=orjson.OPT_SORT_KEYS)).hexdigest()
