"""Per-decision state for detector functions: memoisation and the time budget.

Detector functions are registered once per bundle but must remember results per request (two rules
asking for `pii()` of the same text scan it once) and stop when a decision has spent its detector
budget. The engine opens a scope around each decision; this thread's functions find it here.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

DEFAULT_BUDGET_SECONDS = 0.25


class DetectorBudgetExceeded(RuntimeError):
    pass


class _State(threading.local):
    memo: dict[tuple[Any, ...], Any] | None = None
    spent: float = 0.0
    budget: float = DEFAULT_BUDGET_SECONDS


_state = _State()


class Scope:
    """Opens a decision's scope on this thread; nests safely (a batch inside a batch)."""

    __slots__ = ("_budget", "_saved")

    def __init__(self, budget: float = DEFAULT_BUDGET_SECONDS) -> None:
        self._budget = budget
        self._saved: tuple[Any, ...] = ()

    def __enter__(self) -> Scope:
        self._saved = (_state.memo, _state.spent, _state.budget)
        _state.memo = {}
        _state.spent = 0.0
        _state.budget = self._budget
        return self

    def __exit__(self, *exc: object) -> None:
        _state.memo, _state.spent, _state.budget = self._saved


def _freeze(arg: Any) -> Any:
    if isinstance(arg, list | tuple):
        return tuple(_freeze(a) for a in arg)
    return arg


_MISS = object()


def _identity(value: Any) -> Any:
    return value


def _run(impl: Callable[..., Any], args: tuple[Any, ...]) -> Any:
    if _state.spent > _state.budget:
        raise DetectorBudgetExceeded(f"detector budget of {_state.budget * 1000:.0f} ms for this decision is spent")
    started = time.perf_counter()
    try:
        return impl(*args)
    finally:
        _state.spent += time.perf_counter() - started


def memoised(
    overload_id: str, impl: Callable[..., Any], convert: Callable[[Any], Any] = _identity
) -> Callable[..., Any]:
    """Wraps a detector so repeated calls with the same arguments within a decision are free.

    The converted result (the backend's CEL value) is what is remembered, so a hit costs one dict
    lookup. Every call crosses from the CEL runtime into Python, so the one-argument case (most
    detectors: `text.pii()`) gets a path of its own.
    """

    def call1(text: Any) -> Any:
        memo = _state.memo
        if memo is None:
            return convert(_run(impl, (text,)))
        key = (overload_id, text)
        hit = memo.get(key, _MISS)
        if hit is _MISS:
            hit = memo[key] = convert(_run(impl, (text,)))
        return hit

    def call(*args: Any) -> Any:
        if len(args) == 1:
            return call1(args[0])
        memo = _state.memo
        if memo is None:
            return convert(_run(impl, args))
        key = (overload_id, *(_freeze(a) for a in args))
        hit = memo.get(key, _MISS)
        if hit is _MISS:
            hit = memo[key] = convert(_run(impl, args))
        return hit

    return call
