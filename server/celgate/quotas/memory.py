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

import math
import threading
from array import array

from celgate.quotas.base import SLOTS, Charge, Outcome, QuotaStore, retry_after

_MIN_SWEEP_CALLS = 1024
_ZEROS = array("q", bytes(8 * SLOTS))
_SUFFIXES: dict[float, str] = {}  # window length -> the tail bucket_key gives it


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
            return self._consume(charges, now, atomic)

    def consume_split(
        self, enforced: list[Charge], audited: list[Charge], now: float
    ) -> tuple[list[Outcome], list[Outcome]]:
        """Both groups under one lock: what `consume(enforced)` then `consume(audited,
        atomic=False)` answer (nothing can run between them, which two calls did not promise)."""
        with self._lock:
            first = self._consume(enforced, now, True) if enforced else []
            return first, self._consume(audited, now, False) if audited else []

    def _consume(self, charges: list[Charge], now: float, atomic: bool) -> list[Outcome]:
        """One group, the lock held. On the prompt path of every decision: kept flat (the slot and
        key helpers of `base` inlined, with the same arithmetic, so both stores still agree)."""
        self._calls += 1
        buckets = self._buckets
        if self._calls >= max(_MIN_SWEEP_CALLS, len(buckets)):
            self._sweep(now)
        expiry = self._expiry
        states = []
        record_all = True
        for c in charges:
            name, cost, limit, window = c
            suffix = _SUFFIXES.get(window) if type(window) is float else None  # 60 == 60.0, repr not
            if suffix is None:
                suffix = f"|{window!r}"
                if type(window) is float and len(_SUFFIXES) < 256:
                    _SUFFIXES[window] = suffix
            key = name + suffix  # bucket_key(c): the float's repr, kept per window length
            current = math.floor(now * SLOTS / window)  # slot_of(now, window)
            bucket = buckets.get(key)
            if bucket is None:
                bucket = buckets[key] = _Bucket(current)
                expiry[key] = 0.0
            elif bucket.head != current:
                bucket.advance(current)
            fits = bucket.total + cost <= limit
            record_all = record_all and fits
            states.append((c, key, bucket, current, fits))
        outcomes = []
        for c, key, bucket, current, ok in states:
            _, cost, limit, window = c
            total = bucket.total
            if not ok:
                wait = retry_after(bucket.freeing_slot(cost, limit), window, now)
                outcomes.append(Outcome(False, max(0, limit - total), wait))
            elif record_all or not atomic:
                if cost > 0:
                    bucket.add(current, cost)
                    ends = (current + SLOTS) * window / SLOTS  # slot_expiry(current, window)
                    if ends > expiry[key]:
                        expiry[key] = ends
                outcomes.append(Outcome(True, limit - total - cost, 0.0))
            else:  # fits, but another charge of this atomic call does not: nothing recorded
                outcomes.append(Outcome(True, limit - total, 0.0))
        return outcomes

    def _sweep(self, now: float) -> None:
        self._calls = 0
        for key in [k for k, t in self._expiry.items() if t <= now]:
            del self._buckets[key], self._expiry[key]

    def __len__(self) -> int:
        """Buckets held (for tests and benchmarks)."""
        return len(self._buckets)
