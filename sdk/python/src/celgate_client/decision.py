"""The decision as the client sees it, plus the session whose labels decisions add to.

`Decision` is built from the proto JSON form of `CheckResponse` (HTTP returns it directly; the gRPC
transport converts the message with proto field names), so both transports yield identical objects.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from celgate_client.errors import ApprovalRequired, PolicyDenied

__all__ = ["ApprovalStatus", "Decision", "DocumentDecision", "Reason", "Redaction", "Session"]

ALLOW = "allow"
DENY = "deny"
REQUIRE_APPROVAL = "require_approval"


@dataclass(frozen=True, slots=True)
class Reason:
    """One rule that matched: `effect` is empty for obligation-only rules; `enforced` is False in audit mode."""

    policy: str
    rule: str
    effect: str = ""
    message: str = ""
    enforced: bool = False

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Reason:
        return cls(
            policy=str(d.get("policy", "")),
            rule=str(d.get("rule", "")),
            effect=str(d.get("effect", "")),
            message=str(d.get("message", "")),
            enforced=bool(d.get("enforced", False)),
        )


@dataclass(frozen=True, slots=True)
class Redaction:
    """One rewritten span: `field` is a path such as ``response.content``; offsets are code points."""

    field: str
    start: int
    end: int
    type: str
    rule: str = ""

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Redaction:
        # int64 fields arrive as JSON strings in canonical proto JSON; accept both.
        return cls(
            field=str(d.get("field", "")),
            start=int(d.get("start", 0)),
            end=int(d.get("end", 0)),
            type=str(d.get("type", "")),
            rule=str(d.get("rule", "")),
        )


@dataclass(frozen=True, slots=True)
class DocumentDecision:
    """The decision for one retrieved document (action ``retrieval``)."""

    index: int
    id: str
    effect: str
    reasons: tuple[Reason, ...] = ()

    @property
    def allowed(self) -> bool:
        return self.effect == ALLOW

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> DocumentDecision:
        return cls(
            index=int(d.get("index", 0)),
            id=str(d.get("id", "")),
            effect=str(d.get("effect", "")),
            reasons=tuple(Reason.from_dict(r) for r in d.get("reasons", ())),
        )


@dataclass(frozen=True, slots=True)
class ApprovalStatus:
    """How a pending approval stands (`Client.wait_for_approval`).

    Attributes:
        id: the approval id (``apr_...``).
        state: ``pending``, ``approved``, ``denied``, ``expired`` or ``used``.
        expires_at: RFC 3339 time it expires: the time left to decide, or to use an approval.
        decided_by: who approved or denied it.
        reason: the approver's reason.
    """

    id: str
    state: str
    expires_at: str = ""
    decided_by: str = ""
    reason: str = ""

    @property
    def approved(self) -> bool:
        """True when the same request, retried with ``approval_id``, will go through (once)."""
        return self.state == "approved"

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ApprovalStatus:
        return cls(
            id=str(d.get("id", "")),
            state=str(d.get("state", "")),
            expires_at=str(d.get("expires_at", d.get("expiresAt", "")) or ""),
            decided_by=str(d.get("decided_by", d.get("decidedBy", "")) or ""),
            reason=str(d.get("reason", "") or ""),
        )


@dataclass(frozen=True, slots=True)
class Decision:
    """celgate's answer to one check.

    Attributes:
        effect: ``allow``, ``deny`` or ``require_approval``.
        reasons: the rules that matched.
        redactions: spans rewritten by redaction obligations.
        rewritten: rewritten content by field path (``response.content``, ``messages[2].content``,
            ``tool.result``, ``tool.args.<key>``, ``documents[i].content``); only fields that changed.
        labels: labels the caller's session should carry from now on (the client does this for you).
        decision_id: the service's id for this decision ("" for a client-side fallback).
        approval_id: the pending approval's id when `effect` is ``require_approval``.
        policy_revision: git commit or bundle digest of the policies that decided.
        message: human-readable summary of the effect.
        documents: per-document decisions (action ``retrieval``).
        retry_after_seconds: for quota denials, when trying again may succeed.
        fallback: True when the service could not be asked and the client decided by itself
            (``fail_open``/fail closed); such a decision carries the reason ``celgate_unreachable``.
        field: the content field this check was about (e.g. ``response.content``), used by `content`.
        original: the text of `field` as sent, so `content` can answer even when nothing was rewritten.
    """

    effect: str
    reasons: tuple[Reason, ...] = ()
    redactions: tuple[Redaction, ...] = ()
    rewritten: Mapping[str, str] = field(default_factory=dict)
    labels: tuple[str, ...] = ()
    decision_id: str = ""
    approval_id: str = ""
    policy_revision: str = ""
    message: str = ""
    documents: tuple[DocumentDecision, ...] = ()
    retry_after_seconds: float = 0.0
    fallback: bool = False
    field: str | None = None
    original: str | None = None

    @property
    def allowed(self) -> bool:
        """True only for ``allow``: ``require_approval`` is not allowed until a human says so."""
        return self.effect == ALLOW

    @property
    def content(self) -> str | None:
        """The text to use for the checked field: the rewritten text if a redaction changed it, else the original.

        Only defined for single-field checks (`check_response`, `check_tool_result`, and `check_prompt`
        given a string, where the field is the last message); otherwise None unless exactly one
        field was rewritten, in which case it is that field's new text. Use `rewritten` to tell
        whether anything changed.
        """
        if self.field is not None:
            return self.rewritten.get(self.field, self.original)
        if len(self.rewritten) == 1:
            return next(iter(self.rewritten.values()))
        return None

    def raise_for_effect(self) -> Decision:
        """Raise `ApprovalRequired` or `PolicyDenied` unless the effect is allow; return self otherwise."""
        if self.effect == ALLOW:
            return self
        if self.effect == REQUIRE_APPROVAL:
            raise ApprovalRequired(self)
        raise PolicyDenied(self)

    def apply_messages(self, messages: Sequence[Any]) -> list[Any]:
        """Return `messages` with every ``messages[i].content`` rewrite applied (copies; input untouched).

        Dict messages are copied with the new ``content``; plain strings are replaced; other objects
        are returned as they are unless they have a writable ``content`` attribute (then copied via
        ``model_copy`` for pydantic models).
        """
        out = list(messages)
        for i, m in enumerate(out):
            new = self.rewritten.get(f"messages[{i}].content")
            if new is None:
                continue
            if isinstance(m, str):
                out[i] = new
            elif isinstance(m, Mapping):
                out[i] = {**m, "content": new}
            elif hasattr(m, "model_copy"):
                out[i] = m.model_copy(update={"content": new})
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], *, field: str | None = None, original: str | None = None) -> Decision:
        """Build from the proto JSON form of `CheckResponse` (proto field names; camelCase also accepted)."""

        def get(snake: str, camel: str | None = None, default: Any = None) -> Any:
            if snake in d:
                return d[snake]
            if camel and camel in d:
                return d[camel]
            return default

        return cls(
            effect=str(get("effect", default="")),
            reasons=tuple(Reason.from_dict(r) for r in get("reasons", default=())),
            redactions=tuple(Redaction.from_dict(r) for r in get("redactions", default=())),
            rewritten=dict(get("rewritten", default={}) or {}),
            labels=tuple(get("labels", default=()) or ()),
            decision_id=str(get("decision_id", "decisionId", "")),
            approval_id=str(get("approval_id", "approvalId", "")),
            policy_revision=str(get("policy_revision", "policyRevision", "")),
            message=str(get("message", default="")),
            documents=tuple(DocumentDecision.from_dict(x) for x in get("documents", default=()) or ()),
            retry_after_seconds=float(get("retry_after_seconds", "retryAfterSeconds", 0.0) or 0.0),
            field=field,
            original=original,
        )


class Session:
    """Labels carried between checks (e.g. ``untrusted`` once a web page entered the conversation).

    The client keeps one per instance and adds every label a decision returns; pass your own
    `Session` per call to keep separate conversations apart. Thread-safe: labels only grow.
    """

    def __init__(self, id: str = "", labels: Iterable[str] = ()) -> None:
        self.id = id
        self._labels: dict[str, None] = dict.fromkeys(labels)
        self._lock = threading.Lock()

    @property
    def labels(self) -> list[str]:
        """The labels, in the order they were first added."""
        with self._lock:
            return list(self._labels)

    def add_labels(self, labels: Iterable[str]) -> None:
        """Add labels (duplicates are ignored)."""
        with self._lock:
            for label in labels:
                self._labels.setdefault(label, None)

    def to_dict(self) -> dict[str, Any]:
        """The wire form, ``{"id": ..., "labels": [...]}``; empty parts left out."""
        out: dict[str, Any] = {}
        if self.id:
            out["id"] = self.id
        labels = self.labels
        if labels:
            out["labels"] = labels
        return out

    def __repr__(self) -> str:
        return f"Session(id={self.id!r}, labels={self.labels!r})"
