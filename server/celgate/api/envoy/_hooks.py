"""The decision log and metrics, shared with the other doors; absent until the service lands them."""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("celgate.envoy")

try:  # pragma: no cover - depends on which parts of the service are installed
    from celgate.audit import record as _record
except ImportError:  # pragma: no cover
    _record = None
try:  # pragma: no cover
    from celgate.metrics import observe as _observe
except ImportError:  # pragma: no cover
    _observe = None

DOOR = "envoy"


def observe(decision: Any, request: Any, action: str, latency_s: float) -> None:
    """Logs and counts one decision; a failing sink must never turn an answer into an error."""
    try:
        if _record is not None:
            _record(decision, request, DOOR, latency_s)
        if _observe is not None:
            _observe(decision, action, DOOR, latency_s)
    except Exception:  # pragma: no cover - sinks are best effort
        log.exception("decision log/metrics failed")
