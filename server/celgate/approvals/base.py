"""The approval store interface: durable records and atomic state changes, nothing else.

Every transition is one atomic compare-and-set in the store (an SQL `UPDATE ... WHERE state = ...`,
a Lua script in Redis), so two approvers racing — or two replicas letting the same retry through —
cannot both win: exactly one gets the new state, the other is told how the approval now stands.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod

from celgate.approvals.model import APPROVED, DENIED, PENDING, USED, Approval, Conflict, NotFound


class ApprovalStore(ABC):
    @abstractmethod
    def create(self, approval: Approval) -> None:
        """Stores a new pending approval. Raises StoreError."""

    @abstractmethod
    def get(self, approval_id: str, now: float) -> Approval | None:
        """The approval as it stands at `now` (expired when past its expiry), or None."""

    @abstractmethod
    def list(
        self, now: float, *, state: str = "", principal: str = "", tool: str = "", limit: int = 100
    ) -> list[Approval]:
        """Newest first, filtered; `state` filters on the state as it stands at `now`."""

    @abstractmethod
    def _transition(self, approval_id: str, from_state: str, new: Approval, now: float) -> bool:
        """Writes `new` only if the stored approval is still `from_state` and unexpired at `now`,
        in one atomic step; True for the one caller that wins."""

    def decide(self, approval_id: str, approve: bool, by: str, reason: str, now: float, ttl_seconds: float) -> Approval:
        """pending → approved (usable until `now + ttl_seconds`) or denied.

        Raises NotFound, or Conflict carrying the approval as it stands when it is not pending.
        """
        wanted = "approved" if approve else "denied"
        current = self.get(approval_id, now)
        if current is None:
            raise NotFound(approval_id)
        if current.state != PENDING:
            raise Conflict(current, wanted)
        new = dataclasses.replace(
            current,
            state=APPROVED if approve else DENIED,
            decided_at=now,
            decided_by=by,
            reason=reason,
            expires_at=now + ttl_seconds if approve else current.expires_at,
        )
        if self._transition(approval_id, PENDING, new, now):
            return new
        after = self.get(approval_id, now)
        if after is None:
            raise NotFound(approval_id)
        raise Conflict(after, wanted)

    def use(self, approval_id: str, now: float) -> tuple[bool, Approval | None]:
        """approved → used, atomically; (True, used approval) for the one caller that wins,
        (False, approval as it stands) otherwise, (False, None) when unknown."""
        current = self.get(approval_id, now)
        if current is None or current.state != APPROVED:
            return False, current
        new = dataclasses.replace(current, state=USED, used_at=now)
        if self._transition(approval_id, APPROVED, new, now):
            return True, new
        return False, self.get(approval_id, now)

    @abstractmethod
    def count_pending(self, now: float) -> int:
        """Pending approvals not yet expired (the Prometheus gauge)."""

    def check_writable(self) -> None:  # noqa: B027 - optional hook
        """Raises StoreError when the store cannot be written (checked once at start-up)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Releases files and connections."""
