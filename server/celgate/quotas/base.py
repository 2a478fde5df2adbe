"""The quota store interface: atomic windowed consumption of several buckets at once, counted in slots.

The engine decides *which* buckets a request charges (from the `quotas:` section of
`celgate.yaml`, compiled like any policy expression); a store only counts. A store lives as long as
the process, not a bundle, so a policy reload never resets anyone's budget.

**Slots.** A window of W seconds is cut into `SLOTS` slots of W/SLOTS seconds, numbered from the
epoch (slot k covers [k*W/SLOTS, (k+1)*W/SLOTS)). A bucket keeps one counter per slot that holds a
charge, and a check sums the counters of the newest `SLOTS` slots up to and including the current
one. So a bucket costs O(SLOTS) memory whatever its rate and window — a log of every charge
(what the stores kept before) grew to millions of entries for a busy 1-day window.

**Edge rule and error bound.** A charge made at time t, in slot k = floor(t*SLOTS/W), counts until
the start of slot k + SLOTS, at (k + SLOTS)*W/SLOTS: between W - W/SLOTS and W after it was made,
never later than an exact sliding window would forget it. The slots counted are therefore always
a subset of the exact window's charges, so a store never denies what an exact sliding window would
allow; it may admit early, by at most one slot: at most `limit` is admitted within any span of
W - W/SLOTS, so sustained traffic gets at most limit*SLOTS/(SLOTS-1) per W (+1.7 % with 60 slots),
and the worst burst is 2*limit within W (a full limit packed into one slot, another one W - W/SLOTS
later). `retry_after_seconds` is the time until the oldest slots whose expiry makes room pass.

Both stores compute slot numbers and retry times with the helpers below, in Python, so the memory
and Redis stores give identical answers for identical calls (a differential test holds them to it).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import NamedTuple

SLOTS = 60  # slots per window: 1 s for a 1-minute window, 1 minute for 1 h, 24 minutes for 1 day
MIN_WINDOW_SECONDS = 0.001  # keeps slot numbers exact in a double (Redis's Lua) for ~2,000 years


class Charge(NamedTuple):
    """Charge `cost` to `bucket`, admitted only while the window's total stays within `limit`.

    A named tuple, not a frozen dataclass: a prompt makes four charges and four outcomes per
    decision, and a frozen dataclass's `__init__` costs ~0.5 µs against ~0.1 µs here."""

    bucket: str
    cost: int
    limit: int
    window_seconds: float


class Outcome(NamedTuple):
    """One charge's answer. `allowed`: this bucket had room for the cost. In an atomic call the
    charges are recorded only when every one is allowed, so an allowed charge may still not have
    been recorded; the caller reports as spent only the buckets that are (`allowed` false)."""

    allowed: bool
    remaining: int
    retry_after_seconds: float  # 0 when allowed


class QuotaStoreError(RuntimeError):
    """The store cannot answer (e.g. Redis is down); the configured `on_error` behaviour applies."""


def slot_of(now: float, window_seconds: float) -> int:
    """The slot `now` falls in, for a window of `window_seconds`."""
    return math.floor(now * SLOTS / window_seconds)


def slot_expiry(slot: int, window_seconds: float) -> float:
    """When the charges of `slot` stop counting: the start of slot `slot + SLOTS`."""
    return (slot + SLOTS) * window_seconds / SLOTS


def retry_after(freeing_slot: int | None, window_seconds: float, now: float) -> float:
    """Seconds until `freeing_slot` expires; a whole window when no expiry makes room (cost > limit)."""
    if freeing_slot is None:
        return window_seconds
    return max(0.0, slot_expiry(freeing_slot, window_seconds) - now)


def bucket_key(charge: Charge) -> str:
    """A bucket's counters are kept per window length: slot numbers of two windows do not compare,
    so a policy change of a quota's window starts that quota's count afresh."""
    return f"{charge.bucket}|{charge.window_seconds!r}"


class QuotaStore(ABC):
    remote: bool = False  # True when a call waits on the network (Redis)

    @abstractmethod
    def consume(self, charges: list[Charge], now: float, *, atomic: bool = True) -> list[Outcome]:
        """Atomic (the default): if any charge would exceed its limit, nothing is recorded.
        Not atomic: each charge is recorded when it fits, independently of the others (audit-mode
        quotas: counting one must never depend on another).

        Raises QuotaStoreError when the store is unreachable.
        """

    def consume_split(
        self, enforced: list[Charge], audited: list[Charge], now: float
    ) -> tuple[list[Outcome], list[Outcome]]:
        """A decision's charges in one call: `enforced` all or nothing, then each of `audited` on
        its own — exactly what `consume(enforced)` followed by `consume(audited, atomic=False)`
        answers (the default does just that). A remote store overrides it to spend one round trip.

        Raises QuotaStoreError when the store is unreachable (nothing is then known of either group).
        """
        first = self.consume(enforced, now) if enforced else []
        return first, self.consume(audited, now, atomic=False) if audited else []

    def close(self) -> None:  # noqa: B027 - optional hook
        """Releases connections."""
