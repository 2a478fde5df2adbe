"""The one road: every door's request reaches `Engine.check` here, and only here.

    decider = Decider(state, stores=stores, log=decision_log, dry_run=config.dry_run)
    decision = decider.decide(request, "http")             # one request: a proto JSON dict or a CheckRequest
    decisions = decider.decide_batch(requests, "grpc")     # several, all against one policy revision

A door (gRPC, HTTP, Envoy ext_authz and ext_proc, `celgate eval`, an embedding application) only
translates: its wire format in, one request to `decide`, the `Decision` back out. `decide` does,
once per decision and in this order:

1. takes the active engine — `Unavailable` when no policy revision is active yet (gRPC answers
   UNAVAILABLE, HTTP 503, the Envoy doors deny: fail closed);
2. parses the request once — `InvalidRequest` names the field at fault (INVALID_ARGUMENT / 400);
   everything after this step sees the parsed `CheckRequest`, never the raw input;
3. calls `Engine.check(request, stores=self.stores)` — the only decision logic there is;
4. counts the decision (`metrics`) and logs it (`DecisionLog`) with its *real* effect;
5. in dry-run mode answers allow with no obligations; the message and reasons say what would
   have happened, so callers and the log both see the truth.

Everything the Decider depends on is passed in at construction, nothing is a module global:
`engines` (a `PolicyState` the reloader swaps revisions into, or one fixed `Engine`), `stores`
(the process's shared state: quotas, and the session and approval stores as they are added), `log`
(the decision log, or None) and `dry_run`. The service builds one Decider per worker process and
hands the same one to every door.

To add a step to the road — sessions recording what a session has seen, approvals consuming an
`approval_id` or creating a pending approval — add it to `decide` around step 3, reading its store
from `self.stores`. Never in a door: a door that decides on its own is a second road.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from typing import Any

from celgate import metrics
from celgate.api.state import PolicyState
from celgate.audit import DecisionLog
from celgate.engine import Decision, Engine, InvalidRequest
from celgate.engine.request import parse_request
from celgate.stores import Stores
from celgate.telemetry import DecisionTracer, trace_id_of
from celgate.v1 import decision_pb2 as pb


class Unavailable(Exception):
    """No policy revision is active yet (start-up, or every revision so far was rejected)."""


class Decider:
    """Decides requests for every door: engine, stores, metrics, decision log and dry-run in one place."""

    def __init__(
        self,
        engines: PolicyState | Engine,
        *,
        stores: Stores | None = None,
        log: DecisionLog | None = None,
        dry_run: bool = False,
        tracer: DecisionTracer | None = None,
    ) -> None:
        """`stores` defaults to the fixed engine's own, or to fresh in-memory stores for a `PolicyState`."""
        if isinstance(engines, Engine):
            fixed = engines
            self._engine: Callable[[], Engine | None] = lambda: fixed
            default_stores = fixed.stores
        else:
            state = engines
            self._engine = lambda: state.engine
            default_stores = None
        self.stores = stores if stores is not None else default_stores or Stores()
        self.log = log
        self.dry_run = dry_run
        self.tracer = tracer

    def engine(self) -> Engine:
        """The active engine; raises `Unavailable` before the first revision is active."""
        engine = self._engine()
        if engine is None:
            raise Unavailable("no policy revision is active yet; see /v1/status")
        return engine

    def judges(self, action: str) -> bool:
        """Whether a request of `action` can come out other than a plain allow (see `Engine.judges`).

        True while no revision is active, so a door that skips asking on False fails closed.
        """
        engine = self._engine()
        return engine is None or engine.judges(action)

    def decide(
        self,
        request: Mapping[str, Any] | pb.CheckRequest,
        door: str,
        *,
        explain: bool = False,
        engine: Engine | None = None,
        carrier: Mapping[str, str] | None = None,
    ) -> Decision:
        """Decides one request for `door` (a label in metrics and the log: grpc, http, envoy, cli, ...).

        Raises `InvalidRequest` (bad input) or `Unavailable` (not ready). `engine` pins the revision
        (`decide_batch` uses it); by default the active one is taken. `carrier` is the caller's
        headers or gRPC metadata as a mapping: a W3C `traceparent` in it makes the decision's span a
        child of the caller's trace and puts the trace id in the decision log (celgate.telemetry).
        """
        if self.tracer is None:
            return self._decide(request, door, explain, engine, carrier, None)
        tracer = self.tracer
        return tracer.traced(door, carrier, lambda span: self._decide(request, door, explain, engine, carrier, span))

    def _decide(
        self,
        request: Mapping[str, Any] | pb.CheckRequest,
        door: str,
        explain: bool,
        engine: Engine | None,
        carrier: Mapping[str, str] | None,
        span: Any,
    ) -> Decision:
        engine = engine or self.engine()
        started = time.perf_counter()
        req = parse_request(request)
        decision = engine.check(req, explain=explain, stores=self.stores)
        latency = time.perf_counter() - started
        metrics.observe(decision, req.action, door, latency)
        if span is not None:
            self.tracer.annotate(span, decision, req.action, self.dry_run)  # type: ignore[union-attr]
        if self.log is not None:
            trace_id = self.tracer.trace_id(span) if span is not None else trace_id_of(carrier)  # type: ignore[union-attr]
            self.log.record(decision, req, door, latency, trace_id)
        return dry_run_answer(decision) if self.dry_run else decision

    def decide_batch(self, requests: list[Any], door: str, carrier: Mapping[str, str] | None = None) -> list[Decision]:
        """One engine for the whole batch, so every answer comes from the same revision."""
        engine = self.engine()
        out = []
        for index, request in enumerate(requests):
            try:
                out.append(self.decide(request, door, engine=engine, carrier=carrier))
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
