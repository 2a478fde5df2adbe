"""The decision: the effect, the reasons, and the obligations the caller must honour."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from celgate.v1 import decision_pb2 as pb


@dataclass(frozen=True, slots=True)
class Reason:
    policy: str
    rule: str
    effect: str  # allow | deny | require_approval | "" for obligation-only rules
    message: str
    enforced: bool

    @property
    def key(self) -> str:
        return f"{self.policy}/{self.rule}"


@dataclass(frozen=True, slots=True)
class Redaction:
    field: str
    start: int
    end: int
    type: str
    rule: str


@dataclass(frozen=True, slots=True)
class RuleTrace:
    policy: str
    rule: str
    result: str  # matched | not_matched | error | skipped
    error: str = ""
    duration_ns: int = 0
    document: int = -1


@dataclass(frozen=True, slots=True)
class DocumentDecision:
    index: int
    id: str
    effect: str
    reasons: tuple[Reason, ...]


@dataclass(slots=True)
class Decision:
    """What `Engine.check` returns; `to_dict()` is the proto JSON form with proto field names."""

    effect: str
    reasons: list[Reason]
    decision_id: str
    policy_revision: str
    redactions: list[Redaction] = field(default_factory=list)
    rewritten: dict[str, str] = field(default_factory=dict)
    labels: list[str] = field(default_factory=list)
    approval_id: str = ""
    explanation: list[RuleTrace] | None = None
    documents: list[DocumentDecision] = field(default_factory=list)
    # Some rule, quota or store failed and the decision failed closed because of it (counted in
    # celgate_decision_errors_total; the reasons and the log say which).
    failed_closed: bool = False
    message: str = ""
    retry_after_seconds: float = 0.0

    @property
    def allowed(self) -> bool:
        return self.effect == "allow"

    def matched_rules(self) -> list[str]:
        keys = [r.key for r in self.reasons]
        for d in self.documents:
            keys += [r.key for r in d.reasons]
        return list(dict.fromkeys(keys))

    def to_proto(self) -> pb.CheckResponse:
        # Only non-empty fields are passed: protobuf's constructor pays for every keyword it is given.
        fields: dict[str, Any] = {
            "decision_id": self.decision_id,
            "effect": self.effect,
            "policy_revision": self.policy_revision,
        }
        if self.reasons:
            fields["reasons"] = [_reason_pb(r) for r in self.reasons]
        if self.redactions:
            fields["redactions"] = [
                pb.Redaction(field=x.field, start=x.start, end=x.end, type=x.type, rule=x.rule) for x in self.redactions
            ]
        if self.rewritten:
            fields["rewritten"] = self.rewritten
        if self.labels:
            fields["labels"] = self.labels
        if self.approval_id:
            fields["approval_id"] = self.approval_id
        if self.explanation:
            fields["explanation"] = [
                pb.RuleTrace(
                    policy=t.policy,
                    rule=t.rule,
                    result=t.result,
                    error=t.error,
                    duration_ns=t.duration_ns,
                    document=t.document if t.document >= 0 else None,
                )
                for t in self.explanation
            ]
        if self.documents:
            fields["documents"] = [
                pb.DocumentDecision(index=d.index, id=d.id, effect=d.effect, reasons=[_reason_pb(r) for r in d.reasons])
                for d in self.documents
            ]
        if self.message:
            fields["message"] = self.message
        if self.retry_after_seconds:
            fields["retry_after_seconds"] = self.retry_after_seconds
        return pb.CheckResponse(**fields)

    def to_dict(self) -> dict[str, Any]:
        """Proto JSON form (proto field names); empty fields are left out except the core ones."""
        out: dict[str, Any] = {
            "decision_id": self.decision_id,
            "effect": self.effect,
            "reasons": [_reason_dict(r) for r in self.reasons],
            "policy_revision": self.policy_revision,
        }
        if self.message:
            out["message"] = self.message
        if self.retry_after_seconds:
            out["retry_after_seconds"] = self.retry_after_seconds
        if self.redactions:
            out["redactions"] = [
                {"field": x.field, "start": x.start, "end": x.end, "type": x.type, "rule": x.rule}
                for x in self.redactions
            ]
        if self.rewritten:
            out["rewritten"] = dict(self.rewritten)
        if self.labels:
            out["labels"] = list(self.labels)
        if self.approval_id:
            out["approval_id"] = self.approval_id
        if self.documents:
            out["documents"] = [
                {"index": d.index, "id": d.id, "effect": d.effect, "reasons": [_reason_dict(r) for r in d.reasons]}
                for d in self.documents
            ]
        if self.explanation is not None:
            out["explanation"] = [
                {
                    "policy": t.policy,
                    "rule": t.rule,
                    "result": t.result,
                    **({"error": t.error} if t.error else {}),
                    "duration_ns": t.duration_ns,
                    **({"document": t.document} if t.document >= 0 else {}),
                }
                for t in self.explanation
            ]
        return out


def _reason_pb(r: Reason) -> pb.Reason:
    return pb.Reason(policy=r.policy, rule=r.rule, effect=r.effect, message=r.message, enforced=r.enforced)


def _reason_dict(r: Reason) -> dict[str, Any]:
    return {"policy": r.policy, "rule": r.rule, "effect": r.effect, "message": r.message, "enforced": r.enforced}
