"""In-process quota store: per-slot counters for each bucket (see `celgate.quotas.base` for the
edge rule and its error bound).

Right for one worker or for tests; several workers or replicas need the Redis store, or each
counts alone. Memory: a bucket is a ring of `SLOTS` 64-bit counters (~0.6 KB), whatever the rate
and the window; a bucket whose slots have all expired is dropped by a sweep that runs after as many
calls as there are buckets (amortised O(1) a call), so principals seen once do not stay forever.

A ring holds only the newest `SLOTS` slots it saw: if the clock steps back by less than a window,
the answers are the Redis store's exactly (every slot held still counts); by more than a window
(a ring position would hold two slots), the bucket starts afresh, where Redis would keep counting
the slots "from the future" until they expire.
"""

from __future__ import annotations

import threading
from array import array

from celgate.quotas.base import SLOTS, Charge, Outcome, QuotaStore, bucket_key, retry_after, slot_expiry, slot_of

_MIN_SWEEP_CALLS = 1024
_ZEROS = array("q", bytes(8 * SLOTS))


class _Bucket:
    """Counters of the slots (head - SLOTS, head]: slot s at position s % SLOTS; and their sum."""

    __slots__ = ("counts", "head", "total")

    def __init__(self, head: int) -> None:
        self.counts = array("q", _ZEROS)
        self.head = head
        self.total = 0

    def advance(self, current: int) -> None:
        """Drops the slots that are no longer in the window ending with slot `current`."""
        gap = current - self.head
        if gap <= 0:
            if gap <= -SLOTS:  # the clock stepped back by more than a window: start afresh
                self.counts, self.total, self.head = array("q", _ZEROS), 0, current
            return  # otherwise every slot held is newer than current - SLOTS: all still count
        if gap >= SLOTS:
            if self.total:
                self.counts, self.total = array("q", _ZEROS), 0
        elif self.total:
            counts = self.counts
            for slot in range(self.head + 1, current + 1):  # the positions these slots take over
                i = slot % SLOTS
                self.total -= counts[i]
                counts[i] = 0
        self.head = current

    def add(self, slot: int, cost: int) -> None:
        self.counts[slot % SLOTS] += cost
        self.total += cost

    def freeing_slot(self, cost: int, limit: int) -> int | None:
        """The oldest slot whose expiry, with every older one's, leaves room for `cost`, if any."""
        if cost > limit:
            return None
        need = self.total + cost - limit
        freed = 0
        counts = self.counts
        for slot in range(self.head - SLOTS + 1, self.head + 1):
            freed += counts[slot % SLOTS]
            if freed >= need and counts[slot % SLOTS]:
                return slot
        return None


class MemoryStore(QuotaStore):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[str, _Bucket] = {}
        self._expiry: dict[str, float] = {}  # when each bucket's newest charge stops counting
        self._calls = 0

    def consume(self, charges: list[Charge], now: float, *, atomic: bool = True) -> list[Outcome]:
        with self._lock:
            self._calls += 1
            if self._calls >= max(_MIN_SWEEP_CALLS, len(self._buckets)):
                self._sweep(now)
            states = []
            for c in charges:
                key = bucket_key(c)
                current = slot_of(now, c.window_seconds)
                bucket = self._buckets.get(key)
                if bucket is None:
                    bucket = self._buckets[key] = _Bucket(current)
                    self._expiry[key] = 0.0
                bucket.advance(current)
                states.append((key, bucket, current))
            fits = [b.total + c.cost <= c.limit for c, (_, b, _) in zip(charges, states, strict=True)]
            record_all = all(fits)
            outcomes = []
            for c, (key, bucket, current), ok in zip(charges, states, fits, strict=True):
                total = bucket.total
                if not ok:
                    wait = retry_after(bucket.freeing_slot(c.cost, c.limit), c.window_seconds, now)
                    outcomes.append(Outcome(False, max(0, c.limit - total), wait))
                elif record_all or not atomic:
                    if c.cost > 0:
                        bucket.add(current, c.cost)
                        self._expiry[key] = max(self._expiry[key], slot_expiry(current, c.window_seconds))
                    outcomes.append(Outcome(True, c.limit - total - c.cost, 0.0))
                else:  # fits, but another charge of this atomic call does not: nothing recorded
                    outcomes.append(Outcome(True, c.limit - total, 0.0))
            return outcomes

    def _sweep(self, now: float) -> None:
        self._calls = 0
        for key in [k for k, t in self._expiry.items() if t <= now]:
            del self._buckets[key], self._expiry[key]

    def __len__(self) -> int:
        """Buckets held (for tests and benchmarks)."""
        return len(self._buckets)
