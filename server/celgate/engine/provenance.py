"""CEL functions that read a tool call's provenance, and the per-decision context behind them.

    provenance(tool.args.to)          list of celgate.v1.Source: every source holding a part of it
    untrusted_origin(tool.args.to)    bool: a part of it came from untrusted content, none trusted
    user_named_origin(tool.args.to)   bool: like untrusted_origin, but content from a source the
                                      user's own request named (the file they asked to pay) counts
                                      as the user's, unless it carries injection signals
    untrusted_actions()               list of string: earlier sensitive calls of the session whose
                                      destination, amount or selector came from untrusted content
                                      ("send_email.recipients"), a source the user named and that
                                      carries no injection signals counting as the user's
    untrusted_args(tool.args, skip)   list of string: the argument names, sorted, whose value has an
                                      untrusted origin, except those in `skip`
    user_named_args(tool.args, skip)  the same, with user_named_origin: values from a source the
                                      user named (without injection signals) count as the user's
    untrusted_entities(tool.args.body) list of string: addresses, links, accounts inside the value
                                      that only untrusted content holds
    model_made(tool.args.subject)     bool: no source holds any part of it
    user_typed(tool.args.to)          bool: a user (or system) turn holds every part of it
    injected_sources()                list of celgate.v1.Source: tool results and documents of the
                                      session that carry injection signals (LLM01's untrusted
                                      threshold), whatever the registry's trust
    injected_args(tool.args, skip)    list of string: the argument names, sorted, whose value came
                                      from such a source (and from no clean trusted one), except
                                      those in `skip`

Each takes any value (string, number, list, object) and is type-checked like every other function.
The sources are the request's own conversation (`messages`, `documents`, a tool result) plus what
the server recorded for `session.id`; the index over them is built once per decision, on first use.
"""

from __future__ import annotations

import bisect
import dataclasses
import heapq
import itertools
from collections.abc import Callable, Mapping
from typing import Any

from celgate.engine.backends import FunctionSpec
from celgate.engine.scope import current_session
from celgate.sessions import EMPTY, ProvenanceIndex, Source, request_sources
from celgate.sessions.cache import Conversation, ProvenanceCache
from celgate.sessions.sources import Call, arg_kind, extra_sources, request_calls
from celgate.sessions.store import RecordMemo


class SessionContext:
    """What a decision knows about its session; the provenance index is built lazily."""

    __slots__ = (
        "_acted",
        "_conv",
        "_endorsed",
        "_index",
        "_injected",
        "_injected_set",
        "cache",
        "memo",
        "offset",
        "recorded",
        "recorded_calls",
        "registry",
        "request",
    )

    def __init__(
        self,
        request: Any,
        registry: Mapping[str, Any],
        recorded: list[Source] | None = None,
        injected: Callable[[str], bool] | None = None,
        recorded_calls: list[Call] | None = None,
        cache: ProvenanceCache | None = None,
        memo: RecordMemo | None = None,
        offset: int = 0,
    ) -> None:
        self.request = request
        self.cache = cache
        self.memo = memo  # kept by the session store with `recorded` (None: nothing kept)
        self.offset = offset  # the turn of the session's oldest kept entry (policies count turns from it)
        self.registry = registry
        self.recorded = recorded or []
        self.recorded_calls = recorded_calls or []
        self._acted: list[str] | None = None
        self._conv: Conversation | None = None
        self._index: ProvenanceIndex | None = None
        self._injected = injected
        self._endorsed: Endorsed | None = None
        self._injected_set: frozenset[int] | None = None

    @property
    def first(self) -> int:
        """The turn the request's own sources and calls start from: after the last recorded source."""
        return (self.recorded[-1].turn + 1) if self.recorded else self.offset

    @property
    def index(self) -> ProvenanceIndex:
        if self._index is None:
            cache = self.cache
            if cache is None:
                # As the cached path (the engine's): the recorded sources as recorded (a conversation
                # that repeats a source records it twice), then the request's own not among them.
                seen = {(s.kind, s.trust, s.field, s.text) for s in self.recorded}
                own = _dedupe(request_sources(self.request, self.registry, self.first), seen)
                self._index = ProvenanceIndex([*self.recorded, *own])
            else:
                self._index = self._cached_index(cache)
        return self._index

    def conversation(self, *, build: bool = True) -> Conversation | None:
        """The request's conversation as sources (turns from 0), from the provenance cache: built
        past the prefix this caller sent before (None without a cache; with `build=False`, None
        unless this decision has built it already)."""
        if self._conv is None and self.cache is not None and build:
            req = self.request
            scope = "\x1f".join((req.principal.tenant, req.principal.id, req.session.id))
            self._conv = self.cache.conversation(scope, req, self.registry)
        return self._conv

    def _cached_index(self, cache: ProvenanceCache) -> ProvenanceIndex:
        """The same sources as `_dedupe(recorded + request_sources(...))`, with the conversation
        turned into sources and indexed only past what this caller sent before; with a memo, the
        recorded sources' index is the one kept with the record (`_recorded_index`)."""
        req = self.request
        scope = "\x1f".join((req.principal.tenant, req.principal.id, req.session.id))
        conv = self._conv = cache.conversation(scope, req, self.registry)
        extras = extra_sources(req, self.registry, conv.turn)
        memo = self.memo
        first = self.first
        mine = (*conv.sources, *extras)
        # The record's keys as the store keeps them: no O(session) set per check.
        known = memo.known([(s.kind, s.trust, s.field, s.text) for s in mine], first, self.offset) if memo else None
        if memo is not None and known is not None:
            own: list[Source] = []
            seen: set[tuple[str, str, str, str]] = set()
            for s, k in zip(mine, known, strict=True):
                key = (s.kind, s.trust, s.field, s.text)
                if not k and key not in seen:
                    seen.add(key)
                    own.append(dataclasses.replace(s, turn=s.turn + first) if first else s)
            return self._recorded_index(memo).overlay(own)
        if self.recorded:
            seen = {(s.kind, s.trust, s.field, s.text) for s in self.recorded}
            sources = list(self.recorded)
            for s in (*conv.sources, *extras):
                key = (s.kind, s.trust, s.field, s.text)
                if key not in seen:
                    seen.add(key)
                    sources.append(dataclasses.replace(s, turn=s.turn + first))
        else:
            sources = list(conv.sources)
            if extras:
                seen = set(conv.seen)
                for s in extras:
                    key = (s.kind, s.trust, s.field, s.text)
                    if key not in seen:
                        seen.add(key)
                        sources.append(s)
            if first:  # only calls are kept, the oldest dropped: turns go on from the oldest kept
                sources = [dataclasses.replace(s, turn=s.turn + first) for s in sources]
        return cache.index(scope, sources)

    def _recorded_index(self, memo: RecordMemo) -> ProvenanceIndex:
        """The index of exactly the recorded sources, from the one kept in the memo: extended by the
        sources recorded since, its dropped ones hidden (rebuilt once half of it is dropped, so
        dropping costs O(1) amortised). A snapshot older than the memo's gets its own index."""
        recorded = self.recorded
        if not recorded:
            return ProvenanceIndex(())
        with memo.lock:
            kept: ProvenanceIndex | None = memo.scratch.get("index")
            if kept is None or not kept.sources:
                kept = memo.scratch["index"] = ProvenanceIndex(recorded)
                return kept
            have = kept.sources
            if have[0].turn > recorded[0].turn:
                return ProvenanceIndex(recorded)  # kept index rebuilt past this (older) snapshot
            top, last = have[-1].turn, recorded[-1].turn
            store = last >= top
            if last > top:
                kept = kept.extend(recorded[bisect.bisect_right(recorded, top, key=_turn) :])
            elif last < top:
                kept = kept.prefix(bisect.bisect_right(have, last, key=_turn))
            low = bisect.bisect_left(kept.sources, self.offset, key=_turn)
            if store and low > kept.low and low >= _COMPACT_MIN and low * 2 > len(kept.sources):
                kept = memo.scratch["index"] = ProvenanceIndex(kept.sources[low:])  # half of it dropped
            else:
                kept = kept.from_position(low)
                if store and low >= memo.scratch["index"].low:
                    memo.scratch["index"] = kept
        got = kept.sources
        if len(got) - kept.low != len(recorded) or got[kept.low] != recorded[0] or got[-1] != recorded[-1]:
            return ProvenanceIndex(recorded)  # not expected; answers never depend on the kept index
        return kept

    def untrusted_actions(self) -> list[str]:
        """Earlier sensitive calls of this session whose destination, amount or selector came from
        untrusted content (as `tool.arg`): the agent has already acted on someone else's values.

        With a store that keeps the record between reads (`memo`), each recorded call is judged
        once without endorsements (`_flagged`); a check then re-judges only the flagged arguments
        (endorsement can only clear a value, never flag one), the calls made after a source this
        request adds, and the request's own calls: O(this request), not O(session), and the same
        answer as judging every call (tests/unit/engine/test_untrusted_actions_incremental.py)."""
        if self._acted is None:
            index = self.index
            first = self.first
            registry = self.registry if isinstance(self.registry, Mapping) else {}

            def sensitive(name: str) -> bool:
                entry = registry.get(name)
                return isinstance(entry, Mapping) and entry.get("sensitive") is True

            conv = self._conv
            if conv is None:
                own = request_calls(self.request, first, wanted=sensitive)
            else:
                names = _sensitive_names(registry)
                picked = [c for c in conv.calls_made if c.name in names][-256:]
                own = [Call(c.turn + first, c.name, c.args) for c in picked]
            acted: dict[str, None] = {}
            recorded = self.recorded_calls
            flagged = self._flagged(index, first, registry) if self.memo is not None and recorded else None
            if flagged is None:
                self._judge(acted, [*recorded, *own], index, registry)
            else:
                # Sources this request adds to the index have turns from `first` on: a recorded call
                # made after the earliest of them is judged whole (it can see them), the others by
                # what `_flagged` found among the recorded sources before them.
                sources = index.sources
                k = len(sources)
                while k > index.low and sources[k - 1].turn >= first:
                    k -= 1
                added = sources[k].turn if k < len(sources) else None
                split = len(recorded)
                if added is not None:
                    while split and recorded[split - 1].turn > added:
                        split -= 1
                until = recorded[split - 1].turn if split else -1
                endorsed = None
                for call, names in flagged:
                    if call.turn > until:
                        break
                    for name in names:
                        if endorsed is None:
                            endorsed = self.endorsed()
                        if index.untrusted_origin(call.args[name], endorsed, before=call.turn):
                            acted[f"{call.name}.{name}"] = None
                self._judge(acted, [*recorded[split:], *own], index, registry)
            self._acted = list(acted)
        return self._acted

    def _judge(
        self, acted: dict[str, None], calls: list[Call], index: ProvenanceIndex, registry: Mapping[str, Any]
    ) -> None:
        """Adds to `acted` the sensitive calls' arguments (not content) with an untrusted origin."""
        for call in calls:
            entry = registry.get(call.name)
            if not _sensitive(entry):
                continue
            for name, value in call.args.items():
                if arg_kind(entry, name) == "content":
                    continue
                if index.untrusted_origin(value, self.endorsed(), before=call.turn):
                    acted[f"{call.name}.{name}"] = None

    def _flagged(
        self, index: ProvenanceIndex, first: int, registry: Mapping[str, Any]
    ) -> list[tuple[Call, list[str]]] | None:
        """The recorded sensitive calls, in order, with their arguments (not content) that the
        recorded sources before the call give an untrusted origin, endorsing nothing: a superset of
        what `untrusted_actions` reports for them. Kept in the record's memo (`_Acted`): a call is
        judged when first seen, and again only when a source it depended on is dropped from the
        session (a recorded call never sees a source recorded after it). None when this snapshot is
        older than what the memo has moved on to (a concurrent check): judge every call."""
        memo = self.memo
        assert memo is not None
        recorded = self.recorded_calls
        offset = self.offset
        with memo.lock:
            state = memo.scratch.get("untrusted_actions")
            if state is None or state.registry is not registry:
                state = memo.scratch["untrusted_actions"] = _Acted(registry, offset)
            last = recorded[-1].turn
            if offset < state.offset or last < state.done:
                return None
            redo: list[int] = []
            if offset > state.offset:
                for turn in [t for t in itertools.takewhile(lambda t: t < offset, state.flags)]:
                    del state.flags[turn]
                deps = state.deps
                while deps and deps[0][0] < offset:
                    _, turn = heapq.heappop(deps)
                    if turn >= offset:
                        redo.append(turn)
                state.offset = offset
            todo = [recorded[bisect.bisect_left(recorded, t, key=_turn)] for t in sorted(set(redo))]
            todo += recorded[bisect.bisect_right(recorded, state.done, key=_turn) :]
            reorder = False
            for call in todo:
                entry = registry.get(call.name)
                if not _sensitive(entry):
                    continue
                before = min(call.turn, first)  # recorded sources only (the request's own come from `first`)
                names: list[str] = []
                dep: int | None = None
                for name, value in call.args.items():
                    if arg_kind(entry, name) == "content":
                        continue
                    if index.untrusted_origin(value, (), before=before):
                        names.append(name)
                    early = index.earliest(value, before)
                    if early is not None and (dep is None or early < dep):
                        dep = early
                if dep is not None:
                    heapq.heappush(state.deps, (dep, call.turn))
                flags = state.flags
                if call.turn in flags:
                    flags[call.turn] = (call, names)
                elif names:
                    reorder = reorder or (bool(flags) and next(reversed(flags)) > call.turn)
                    flags[call.turn] = (call, names)
            if reorder:
                state.flags = dict(sorted(state.flags.items()))
            state.done = max(state.done, last)
            return [v for v in state.flags.values() if v[1]]

    def injected(self) -> frozenset[int]:
        """Sources (tool results, documents) that carry injection signals (LLM01's threshold),
        whatever trust the registry gives them: like LLM01, which scores every tool result, this
        does not take the registry's word that a text addressed to the model is the service's own
        (a channel name, a file name, an event title: people other than the user write those too)."""
        if self._injected_set is None:
            check = self._injected
            if check is None or not self._carries_third_party():
                self._injected_set = frozenset()  # nothing to scan: no index needed either
                return self._injected_set
            index = self.index
            self._injected_set = (
                frozenset()
                if check is None
                else frozenset(
                    i
                    for i, s in enumerate(index.sources)
                    if i >= index.low and s.kind in _THIRD_PARTY and check(s.text)
                )
            )
        return self._injected_set

    def _carries_third_party(self) -> bool:
        """Whether any source of this check can be third-party text (what `injected` scans): the
        memory's tool results and documents, tool turns, documents or a tool result in the request.
        A first tool call of a session has none, and skips building an index for nothing (about a
        quarter of its decision time)."""
        req = self.request
        return (
            any(s.kind in _THIRD_PARTY for s in self.recorded)
            or bool(req.documents)
            or (req.action == "tool_result" and bool(req.tool.result))
            or any(m.role == "tool" for m in req.messages)
        )

    def injected_sources(self) -> list[dict[str, Any]]:
        """Sources of this session that carry injection signals, in session order."""
        index = self.index
        return [index.describe(i, "injection", "", self.offset) for i in sorted(self.injected())]

    def endorsed(self) -> Endorsed:
        """Sources the user's own request named, less those carrying injection signals (decided per
        source on first ask: only sources holding an untrusted value are ever asked about)."""
        if self._endorsed is None:
            self._endorsed = Endorsed(self.index, self._injected)
        return self._endorsed


class Endorsed:
    """`i in endorsed`: source `i` is a tool result the user's request named, without injection
    signals. A lazy set: naming is checked per source asked about, not for every source."""

    __slots__ = ("_check", "_index", "_seen")

    def __init__(self, index: ProvenanceIndex, check: Callable[[str], bool] | None) -> None:
        self._index = index
        self._check = check
        self._seen: dict[int, bool] = {}

    def __contains__(self, i: object) -> bool:
        if not isinstance(i, int):
            return False
        hit = self._seen.get(i)
        if hit is None:
            s = self._index.sources[i]
            check = self._check
            hit = s.kind == "tool" and self._index.named(i) and (check is None or not check(s.text))
            self._seen[i] = hit
        return hit


_THIRD_PARTY = ("tool", "document")
_COMPACT_MIN = 64  # dropped sources a kept index hides before it may be rebuilt


def _turn(x: Source | Call) -> int:
    return x.turn


class _Acted:
    """`untrusted_actions` state kept with a session's record (see `SessionContext._flagged`)."""

    __slots__ = ("deps", "done", "flags", "offset", "registry")

    def __init__(self, registry: Mapping[str, Any], offset: int) -> None:
        self.registry = registry
        self.offset = offset  # the record's oldest kept turn these answers are for
        self.done = -1  # the turn of the last recorded call judged
        self.flags: dict[int, tuple[Call, list[str]]] = {}  # call turn -> (call, flagged arguments), in turn order
        self.deps: list[tuple[int, int]] = []  # heap: (earliest source turn a verdict read, call turn)


def _sensitive(entry: Any) -> bool:
    return isinstance(entry, Mapping) and entry.get("sensitive") is True


_SENSITIVE_NAMES: dict[int, tuple[Mapping[str, Any], frozenset[str]]] = {}


def _sensitive_names(registry: Mapping[str, Any]) -> frozenset[str]:
    """The registry's sensitive tools, found once per registry (a bundle's registry does not change;
    a few are remembered, by identity: a reload brings a new one)."""
    hit = _SENSITIVE_NAMES.get(id(registry))
    if hit is not None and hit[0] is registry:
        return hit[1]
    names = frozenset(n for n, entry in registry.items() if _sensitive(entry))
    if len(_SENSITIVE_NAMES) >= 8:
        _SENSITIVE_NAMES.clear()
    _SENSITIVE_NAMES[id(registry)] = (registry, names)
    return names


def _dedupe(sources: list[Source], seen: set[tuple[str, str, str, str]] | None = None) -> list[Source]:
    """A conversation re-sent with a session the server remembers holds the same texts twice."""
    seen = set() if seen is None else seen
    out = []
    for s in sources:
        key = (s.kind, s.trust, s.field, s.text)
        if key not in seen:
            seen.add(key)
            out.append(s)
    return out


def _index() -> ProvenanceIndex:
    ctx = current_session()
    return EMPTY if ctx is None else ctx.index


def provenance(value: Any) -> list[dict[str, Any]]:
    ctx = current_session()
    return [] if ctx is None else ctx.index.provenance(value, ctx.offset)


def untrusted_origin(value: Any) -> bool:
    return _index().untrusted_origin(value)


def user_named_origin(value: Any) -> bool:
    ctx = current_session()
    if ctx is None:
        return False
    return ctx.index.untrusted_origin(value, ctx.endorsed())


def untrusted_entities(value: Any) -> list[str]:
    return _index().untrusted_entities(value)


def model_made(value: Any) -> bool:
    return _index().model_made(value)


def user_typed(value: Any) -> bool:
    return _index().user_typed(value)


def untrusted_args(args: Any, skip: list[str]) -> list[str]:
    """The keys of `args` (sorted, so every backend names the same first one) whose value has an
    untrusted origin, leaving out `skip` (the arguments that are free content)."""
    if not isinstance(args, Mapping):
        return []
    index = _index()
    skipped = set(skip)
    return sorted(k for k, v in args.items() if k not in skipped and index.untrusted_origin(v))


def user_named_args(args: Any, skip: list[str]) -> list[str]:
    """Like `untrusted_args`, but a value from a source the user's own request named (and that
    carries no injection signals) counts as the user's: `user_named_origin` per argument."""
    ctx = current_session()
    if ctx is None or not isinstance(args, Mapping):
        return []
    index = ctx.index
    endorsed = ctx.endorsed()
    skipped = set(skip)
    return sorted(k for k, v in args.items() if k not in skipped and index.untrusted_origin(v, endorsed))


def injected_args(args: Any, skip: list[str]) -> list[str]:
    """The keys of `args` (sorted), other than `skip`, whose value (or an address, link or account
    in it) a source carrying injection signals holds and no clean trusted source holds whole: the
    model is using a value from text that gives it instructions."""
    ctx = current_session()
    if ctx is None or not isinstance(args, Mapping) or all(k in skip for k in args):
        return []
    bad = ctx.injected()
    if not bad:
        return []
    index = ctx.index
    skipped = set(skip)
    return sorted(k for k, v in args.items() if k not in skipped and index.held_by(v, bad))


def injected_sources() -> list[dict[str, Any]]:
    ctx = current_session()
    return [] if ctx is None else ctx.injected_sources()


def untrusted_actions() -> list[str]:
    ctx = current_session()
    return [] if ctx is None else ctx.untrusted_actions()


PROVENANCE_FUNCTIONS: list[FunctionSpec] = [
    FunctionSpec("provenance", "provenance_dyn", ("dyn",), "sources", provenance, member=False),
    FunctionSpec("untrusted_origin", "untrusted_origin_dyn", ("dyn",), "bool", untrusted_origin, member=False),
    FunctionSpec("user_named_origin", "user_named_origin_dyn", ("dyn",), "bool", user_named_origin, member=False),
    FunctionSpec(
        "untrusted_entities", "untrusted_entities_dyn", ("dyn",), "list_string", untrusted_entities, member=False
    ),
    FunctionSpec("model_made", "model_made_dyn", ("dyn",), "bool", model_made, member=False),
    FunctionSpec("user_typed", "user_typed_dyn", ("dyn",), "bool", user_typed, member=False),
    FunctionSpec(
        "untrusted_args", "untrusted_args_dyn_list", ("dyn", "list_string"), "list_string", untrusted_args, member=False
    ),
    FunctionSpec(
        "user_named_args",
        "user_named_args_dyn_list",
        ("dyn", "list_string"),
        "list_string",
        user_named_args,
        member=False,
    ),
    FunctionSpec(
        "injected_args", "injected_args_dyn_list", ("dyn", "list_string"), "list_string", injected_args, member=False
    ),
    FunctionSpec("injected_sources", "injected_sources", (), "sources", injected_sources, member=False),
    FunctionSpec("untrusted_actions", "untrusted_actions", (), "list_string", untrusted_actions, member=False),
]
