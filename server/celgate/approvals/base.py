"""The approval store interface: durable records and atomic state changes, nothing else.

Every transition is one atomic compare-and-set in the store (an SQL `UPDATE ... WHERE state = ...`,
a Lua script in Redis), so two approvers racing — or two replicas letting the same retry through —
cannot both win: exactly one gets the new state, the other is told how the approval now stands.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from celgate.approvals.model import Approval


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
    def decide(self, approval_id: str, approve: bool, by: str, reason: str, now: float, ttl_seconds: float) -> Approval:
        """pending → approved (usable until `now + ttl_seconds`) or denied.

        Raises NotFound, or Conflict carrying the approval as it stands when it is not pending.
        """

    @abstractmethod
    def use(self, approval_id: str, now: float) -> tuple[bool, Approval | None]:
        """approved → used, atomically; (True, used approval) for the one caller that wins,
        (False, approval as it stands) otherwise, (False, None) when unknown."""

    @abstractmethod
    def count_pending(self, now: float) -> int:
        """Pending approvals not yet expired (the Prometheus gauge)."""

    def check_writable(self) -> None:  # noqa: B027 - optional hook
        """Raises StoreError when the store cannot be written (checked once at start-up)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Releases files and connections."""
