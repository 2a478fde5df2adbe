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


def memoised(overload_id: str, impl: Callable[..., Any]) -> Callable[..., Any]:
    """Wraps a detector so repeated calls with the same arguments within a decision are free."""

    def call(*args: Any) -> Any:
        memo = _state.memo
        key = (overload_id, *(_freeze(a) for a in args))
        if memo is not None:
            try:
                return memo[key]
            except KeyError:
                pass
        if _state.spent > _state.budget:
            raise DetectorBudgetExceeded(f"detector budget of {_state.budget * 1000:.0f} ms for this decision is spent")
        started = time.perf_counter()
        result = impl(*args)
        _state.spent += time.perf_counter() - started
        if memo is not None:
            memo[key] = result
        return result

    return call
