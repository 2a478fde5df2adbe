"""The quota store interface: atomic sliding-window consumption of several buckets at once.

The engine decides *which* buckets a request charges (from the `quotas:` section of
`celgate.yaml`, compiled like any policy expression); a store only counts. A store lives as long as
the process, not a bundle, so a policy reload never resets anyone's budget.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Charge:
    """Charge `cost` to `bucket`, admitted only while the window's total stays within `limit`."""

    bucket: str
    cost: int
    limit: int
    window_seconds: float


@dataclass(frozen=True, slots=True)
class Outcome:
    """One charge's answer. `allowed`: this bucket had room for the cost. In an atomic call the
    charges are recorded only when every one is allowed, so an allowed charge may still not have
    been recorded; the caller reports as spent only the buckets that are (`allowed` false)."""

    allowed: bool
    remaining: int
    retry_after_seconds: float  # 0 when allowed


class QuotaStoreError(RuntimeError):
    """The store cannot answer (e.g. Redis is down); the configured `on_error` behaviour applies."""


class QuotaStore(ABC):
    remote: bool = False  # True when a call waits on the network (Redis)

    @abstractmethod
    def consume(self, charges: list[Charge], now: float, *, atomic: bool = True) -> list[Outcome]:
        """Atomic (the default): if any charge would exceed its limit, nothing is recorded.
        Not atomic: each charge is recorded when it fits, independently of the others (audit-mode
        quotas: counting one must never depend on another).

        Raises QuotaStoreError when the store is unreachable.
        """

    def close(self) -> None:  # noqa: B027 - optional hook
        """Releases connections."""
