"""The one call every door makes: decide with the active engine, count it, log it, apply dry-run.

Doors translate their input into a request (a proto JSON dict or a `CheckRequest`), call
`decide`, and translate the answer back. Nothing here looks at the request's content.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from typing import Any

from celgate import audit, metrics
from celgate.engine import Decision, Engine, InvalidRequest
from celgate.service.state import PolicyState


class Unavailable(Exception):
    """No policy revision is active yet (start-up, or every revision so far was rejected)."""


class Decider:
    def __init__(self, state: PolicyState, *, dry_run: bool = False) -> None:
        self.state = state
        self.dry_run = dry_run

    def engine(self) -> Engine:
        engine = self.state.engine
        if engine is None:
            raise Unavailable("no policy revision is active yet; see /v1/status")
        return engine

    def decide(self, request: Mapping[str, Any] | Any, door: str, engine: Engine | None = None) -> Decision:
        """Raises `InvalidRequest` (bad input) or `Unavailable` (not ready)."""
        engine = engine or self.engine()
        started = time.perf_counter()
        decision = engine.check(request)
        latency = time.perf_counter() - started
        action = request.get("action") if isinstance(request, Mapping) else request.action
        metrics.observe(decision, action, door, latency)
        audit.record(decision, request, door, latency)
        return dry_run_answer(decision) if self.dry_run else decision

    def decide_batch(self, requests: list[Any], door: str) -> list[Decision]:
        """One engine for the whole batch, so every answer comes from the same revision."""
        engine = self.engine()
        out = []
        for index, request in enumerate(requests):
            try:
                out.append(self.decide(request, door, engine))
            except InvalidRequest as e:
                field = f"requests[{index}]" + (f".{e.field}" if e.field else "")
                raise InvalidRequest(field, e.message) from None
        return out


def dry_run_answer(decision: Decision) -> Decision:
    """What the caller gets in dry-run mode: allow, no obligations; the reasons say what would have happened."""
    if decision.effect == "allow" and not (decision.redactions or decision.labels):
        return decision
    return dataclasses.replace(
        decision,
        effect="allow",
        redactions=[],
        rewritten={},
        labels=[],
        approval_id="",
        documents=[dataclasses.replace(d, effect="allow") for d in decision.documents],
        message=f"dry run: would have been {decision.effect}",
    )
