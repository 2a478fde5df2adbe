"""The in-memory store keeps each session's read-back record between writes; it must read back
exactly what building it afresh gives, through appends, drops, labels and the memory bound."""

from __future__ import annotations

import dataclasses
import random

from celgate.sessions.sources import Call, Source
from celgate.sessions.store import Entry, Limits, MemorySessionStore, build_record


def test_kept_records_read_back_as_built_afresh() -> None:
    rng = random.Random(7)
    store = MemorySessionStore(Limits(max_entries=12, max_bytes=2000, max_memory_bytes=40_000, max_labels=5))
    now = 1000.0
    for step in range(3000):
        key = f"s{rng.randrange(6)}"
        if rng.random() < 0.5:
            entries = [
                Entry(source=Source("tool", "untrusted", "t" * rng.randrange(1, 300), 0, "search"))
                if rng.random() < 0.7
                else Entry(call=Call(0, "send", {"to": f"x{step}"}))
                for _ in range(rng.randrange(0, 3))
            ]
            store.append(key, entries, [f"l{rng.randrange(8)}"] if rng.random() < 0.3 else [], now)
        got = store.load(key, now)
        session = store._sessions.get(key)
        want = build_record(session.entries, list(session.labels)) if session is not None else None
        if want is None:
            assert got.sources == [] and got.calls == [] and got.labels == []
        else:
            # turns count from the session's first entry; less the offset, they are built afresh's
            renumber = [dataclasses.replace(s, turn=s.turn - got.offset) for s in got.sources]
            calls = [dataclasses.replace(c, turn=c.turn - got.offset) for c in got.calls]
            assert (renumber, calls, got.labels) == (want.sources, want.calls, want.labels)
            assert [s.turn for s in renumber] == [s.turn for s in want.sources]
            # the memo's keys: every kept source's key with the turns holding it, nothing else
            turns: dict[tuple[str, str, str, str], list[int]] = {}
            for src in got.sources:
                turns.setdefault((src.kind, src.trust, src.field, src.text), []).append(src.turn)
            assert got.memo is not None
            assert {k: v if isinstance(v, list) else [v] for k, v in got.memo.keys.items()} == turns
        got.sources.append(got.sources[0] if got.sources else None)  # a caller's list is its own
        assert store.memory == sum(s.memory for s in store._sessions.values())
        assert store.memory <= 40_000 or len(store._sessions) == 1
