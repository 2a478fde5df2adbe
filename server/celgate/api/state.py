"""The active engine and why the newest revision is (not) active.

Swapping revisions is replacing one reference: a request reads `state.engine` once and decides
with that engine to the end, so a swap never mixes two revisions in one decision and needs no lock
on the hot path.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from celgate import metrics
from celgate.engine import Engine


class PolicyState:
    def __init__(self, source_description: str = "") -> None:
        self.engine: Engine | None = None
        self.source = source_description
        self.loaded_at: float | None = None
        self.last_error: dict[str, Any] | None = None
        self.last_attempt_at: float | None = None
        self._listeners: list[Callable[[bool], None]] = []
        self._lock = threading.Lock()
        self.draining = False
        self._settled = threading.Event()  # the first revision was activated or rejected

    @property
    def ready(self) -> bool:
        return self.engine is not None and not self.draining

    def drain(self) -> None:
        """The process is stopping: not ready any more (probes say so), while accepted work finishes."""
        with self._lock:
            was_ready = self.ready
            self.draining = True
            listeners = list(self._listeners) if was_ready else []
        for listener in listeners:
            listener(False)

    def on_ready_change(self, listener: Callable[[bool], None]) -> None:
        """`listener(ready)` is called now and on every change (the gRPC health servicer uses it)."""
        with self._lock:
            self._listeners.append(listener)
        listener(self.ready)

    def wait_settled(self, timeout: float) -> bool:
        """Waits until the first revision was activated or rejected; False on timeout. A worker
        opens its ports only then, so no worker answers "not ready" while it is still loading
        and another one is serving (the kernel spreads connections over every listener)."""
        return self._settled.wait(timeout)

    def activate(self, engine: Engine) -> None:
        with self._lock:
            previous = self.engine.revision if self.engine is not None else None
            was_ready = self.engine is not None
            self.engine = engine
            self.loaded_at = self.last_attempt_at = time.time()
            self.last_error = None
            listeners = list(self._listeners) if not was_ready else []
        self._settled.set()
        metrics.bundle_activated(engine.revision, previous)
        for listener in listeners:
            listener(True)

    def reject(self, error: dict[str, Any]) -> None:
        with self._lock:
            self.last_error = error
            self.last_attempt_at = time.time()
        self._settled.set()
        metrics.bundle_rejected()

    def readiness(self) -> dict[str, Any]:
        """What an unauthenticated probe may learn: ready or not (and draining while stopping).
        The source, the revision and why a revision was rejected are `status()`, behind rights."""
        return {"ready": self.ready, **({"draining": True} if self.draining else {})}

    def status(self) -> dict[str, Any]:
        engine = self.engine
        return {
            "ready": engine is not None and not self.draining,
            **({"draining": True} if self.draining else {}),
            "revision": engine.revision if engine is not None else None,
            "loaded_at": _iso(self.loaded_at),
            "source": self.source,
            "last_attempt_at": _iso(self.last_attempt_at),
            "last_error": self.last_error,
        }


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    import datetime

    return datetime.datetime.fromtimestamp(ts, datetime.UTC).isoformat(timespec="milliseconds")
