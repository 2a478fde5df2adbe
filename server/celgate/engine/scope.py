"""Per-decision state for detector functions: memoisation and the time budget.

Detector functions are registered once per bundle but must remember results per request (two rules
asking for `pii()` of the same text scan it once) and stop when a decision has spent its detector
budget. The engine opens a scope around each decision; this thread's functions find it here.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

DEFAULT_BUDGET_SECONDS = 0.25


class DetectorBudgetExceeded(RuntimeError):
    pass


class _State(threading.local):
    memo: dict[tuple[Any, ...], Any] | None = None
    spent: float = 0.0
    budget: float = DEFAULT_BUDGET_SECONDS
    # The decision's session context (sources, provenance index), built on first use.
    session: Any = None


_state = _State()


class Scope:
    """Opens a decision's scope on this thread; nests safely (a batch inside a batch)."""

    __slots__ = ("_budget", "_saved", "_session")

    def __init__(self, budget: float = DEFAULT_BUDGET_SECONDS, session: Any = None) -> None:
        self._budget = budget
        self._session = session
        self._saved: tuple[Any, ...] = ()

    def __enter__(self) -> Scope:
        self._saved = (_state.memo, _state.spent, _state.budget, _state.session)
        _state.memo = {}
        _state.spent = 0.0
        _state.budget = self._budget
        _state.session = self._session
        return self

    def __exit__(self, *exc: object) -> None:
        _state.memo, _state.spent, _state.budget, _state.session = self._saved


def current_session() -> Any:
    """The session context of the decision running on this thread (None outside a decision)."""
    return _state.session


def _freeze(arg: Any) -> Any:
    if isinstance(arg, list | tuple):
        for a in arg:
            if type(a) is not str:
                return tuple(_freeze(a) for a in arg)
        return tuple(arg)  # a list of strings (`pii(["email"])`, the common case): no call per item
    if isinstance(arg, dict):
        return ("{}", *sorted((k, _freeze(v)) for k, v in arg.items()))
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


class ResultCache:
    """Results of pure functions of text kept across decisions, bounded by the text they hold.

    Requests repeat text: every turn of a conversation carries the system prompt and the earlier
    turns again, agents re-send the same tool results, retrieval returns the same chunks. A detector
    result depends on the text (and the bundle's detector settings, fixed per backend) alone, so a
    text scanned once need not be scanned again by the next request. Least recently used entries
    leave first once the texts held exceed `max_chars` or the entries `max_entries` (an entry with
    its result costs ~0.5 KB beside its text: 4,096 short texts are ~3 MB); texts longer than
    `max_text` are not kept.
    """

    __slots__ = ("_chars", "_entries", "_lock", "max_chars", "max_entries", "max_text")

    def __init__(self, max_chars: int = 4_000_000, max_text: int = 65_536, max_entries: int = 4096) -> None:
        self.max_chars = max_chars
        self.max_text = max_text
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple[Any, ...], tuple[Any, int]] = OrderedDict()
        self._chars = 0
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> Any:
        with self._lock:
            hit = self._entries.get(key)
            if hit is None:
                return _MISS
            self._entries.move_to_end(key)
            return hit[0]

    def put(self, key: tuple[Any, ...], value: Any, size: int) -> None:
        if size > self.max_text:
            return
        with self._lock:
            if key in self._entries:
                return
            self._entries[key] = (value, size)
            self._chars += size
            while self._chars > self.max_chars or len(self._entries) > self.max_entries:
                _, (_, gone) = self._entries.popitem(last=False)
                self._chars -= gone

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries


def _size(args: tuple[Any, ...]) -> int:
    return sum(len(a) if isinstance(a, str) else 64 for a in args)


def memoised(
    overload_id: str,
    impl: Callable[..., Any],
    convert: Callable[[Any], Any] = _identity,
    cache: ResultCache | None = None,
    arity: int | None = None,
) -> Callable[..., Any]:
    """Wraps a detector so repeated calls with the same arguments within a decision are free, and,
    with a `cache` (pure functions only), across decisions too.

    The converted result (the backend's CEL value) is what is remembered, so a hit costs one dict
    lookup. Every call crosses from the CEL runtime into Python, and a text action makes ten to
    fifteen of them per decision, so the wrapper is kept flat: with `arity` 1 (most detectors:
    `text.pii()`) the function registered is the one-argument path itself, and a string argument
    (the common case) is its own key, without freezing.
    """

    def compute(key: tuple[Any, ...], args: tuple[Any, ...]) -> Any:
        if cache is None:
            return convert(_run(impl, args))
        hit = cache.get(key)
        if hit is _MISS:
            hit = convert(_run(impl, args))
            cache.put(key, hit, _size(args))
        return hit

    state = _state

    def call1(text: Any) -> Any:
        memo = state.memo
        key = (overload_id, text) if type(text) is str else (overload_id, _freeze(text))
        if memo is not None:
            hit = memo.get(key, _MISS)
            if hit is not _MISS:
                return hit
            hit = memo[key] = compute(key, (text,))
            return hit
        return compute(key, (text,))

    if arity == 1:
        return call1

    def call2(first: Any, second: Any) -> Any:
        memo = state.memo
        key = (
            overload_id,
            first if type(first) is str else _freeze(first),
            second if type(second) is str else _freeze(second),
        )
        if memo is None:
            return compute(key, (first, second))
        hit = memo.get(key, _MISS)
        if hit is _MISS:
            hit = memo[key] = compute(key, (first, second))
        return hit

    if arity == 2:  # `text.pii(kinds)`, `text.injection_score("direct")`: no generator, no *args
        return call2

    def call(*args: Any) -> Any:
        if len(args) == 1:
            return call1(args[0])
        memo = state.memo
        key = (overload_id, *(a if type(a) is str else _freeze(a) for a in args))
        if memo is None:
            return compute(key, args)
        hit = memo.get(key, _MISS)
        if hit is _MISS:
            hit = memo[key] = compute(key, args)
        return hit

    return call
