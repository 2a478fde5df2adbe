"""Exceptions raised by celgate-client.

Two families, on purpose: `CelgateError` means the *call* went wrong in a way the caller must fix
(a malformed request, a misconfigured URL or credentials) and is never turned into a fallback
decision; `PolicyDenied` means the *policy* said no, and carries the decision that explains why.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from celgate_client.decision import Decision

__all__ = ["ApprovalRequired", "CelgateError", "InvalidRequest", "PolicyDenied"]


class CelgateError(Exception):
    """The service rejected the call itself (4xx, or a gRPC status that retrying cannot fix).

    `code` is the service's error code (e.g. ``invalid_request``) or the gRPC status name, `status`
    the HTTP status (0 for gRPC), `field` the request field at fault when the service names one.
    """

    def __init__(self, message: str, *, code: str = "", status: int = 0, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.field = field

    def __str__(self) -> str:
        where = f" (field {self.field})" if self.field else ""
        code = f"[{self.code}] " if self.code else ""
        return f"{code}{self.message}{where}"


class InvalidRequest(CelgateError):
    """The request is malformed (HTTP 400/422, gRPC INVALID_ARGUMENT): a bug in the caller, never retried."""


class PolicyDenied(Exception):
    """A policy denied the request; `decision` says which rules and why."""

    def __init__(self, decision: Decision, message: str | None = None) -> None:
        self.decision = decision
        super().__init__(message or _describe(decision))


class ApprovalRequired(PolicyDenied):
    """A policy asked for a human approval; `approval_id` identifies the pending approval request."""

    def __init__(self, decision: Decision, message: str | None = None) -> None:
        super().__init__(decision, message)
        self.approval_id: str = decision.approval_id


def _describe(decision: Decision) -> str:
    rules = ", ".join(f"{r.policy}/{r.rule}" for r in decision.reasons if r.enforced and r.effect == decision.effect)
    text = decision.message or next((r.message for r in decision.reasons if r.message), "")
    parts = [f"celgate: {decision.effect}"]
    if rules:
        parts.append(f"by {rules}")
    if text:
        parts.append(f"- {text}")
    return " ".join(parts)
