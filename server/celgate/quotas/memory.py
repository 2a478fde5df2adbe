"""In-process quota store: exact sliding windows kept as per-bucket logs of (time, cost).

Right for one worker or for tests; several workers or replicas need the Redis store, or each
counts alone.
"""

from __future__ import annotations

import threading
from collections import deque

from celgate.quotas.base import Charge, Outcome, QuotaStore


class MemoryStore(QuotaStore):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._logs: dict[str, deque[tuple[float, int]]] = {}
        self._totals: dict[str, int] = {}

    def _expire(self, bucket: str, now: float, window: float) -> tuple[deque[tuple[float, int]], int]:
        log = self._logs.setdefault(bucket, deque())
        total = self._totals.get(bucket, 0)
        horizon = now - window
        while log and log[0][0] <= horizon:
            total -= log.popleft()[1]
        self._totals[bucket] = total
        return log, total

    def consume(self, charges: list[Charge], now: float, *, atomic: bool = True) -> list[Outcome]:
        with self._lock:
            states = [self._expire(c.bucket, now, c.window_seconds) for c in charges]
            fits = [total + c.cost <= c.limit for c, (_, total) in zip(charges, states, strict=True)]
            record_all = all(fits)
            outcomes = []
            for c, (log, total), ok in zip(charges, states, fits, strict=True):
                if not ok:
                    outcomes.append(Outcome(False, max(0, c.limit - total), _retry_after(log, total, c, now)))
                elif record_all or not atomic:
                    log.append((now, c.cost))
                    self._totals[c.bucket] = total + c.cost
                    outcomes.append(Outcome(True, c.limit - total - c.cost, 0.0))
                else:  # fits, but another charge of this atomic call does not: nothing recorded
                    outcomes.append(Outcome(True, c.limit - total, 0.0))
            return outcomes


def _retry_after(log: deque[tuple[float, int]], total: int, c: Charge, now: float) -> float:
    """Earliest time enough of the window has expired to fit this cost."""
    need = total + c.cost - c.limit
    freed = 0
    for ts, cost in log:
        freed += cost
        if freed >= need:
            return max(0.0, ts + c.window_seconds - now)
    return c.window_seconds
