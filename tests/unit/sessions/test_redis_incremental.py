"""The Redis session store reads only the entries its worker has not read yet; what it returns must
be what reading the whole session returns, with two workers (two store instances, each with its own
kept records) writing and reading one real redis-server, through entry and byte bounds, sessions
that start over, entries that do not parse, and a session written before the entry count existed."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Any

import pytest

from celgate.sessions.redis_store import RedisSessionStore, _loads
from celgate.sessions.sources import Call, Source
from celgate.sessions.store import Entry, Limits, Record, build_record
from tests.unit.quotas.redis_server import redis_server

LIMITS = Limits(max_entries=12, max_bytes=1500, max_labels=4)


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with redis_server() as url:
        yield url


def _whole(store: RedisSessionStore, key: str) -> Record:
    """The session read whole, as the store read it before it kept records."""
    k = store._prefix + key
    raw = store._client.lrange(k + ":e", 0, -1)
    entries = []
    for turn, item in enumerate(raw):
        try:
            entry = Entry.from_json(_loads(item), turn)
        except ValueError:
            entry = None
        if entry is not None:
            entries.append(entry)
    return build_record(entries, sorted(store._client.smembers(k + ":l")))


def _seen(record: Record) -> tuple[Any, ...]:
    """A record as its readers see it: turns counted from its oldest kept entry."""
    o = record.offset
    return (
        [(s.kind, s.trust, s.text, s.turn - o, s.tool, s.field, tuple(s.call_args)) for s in record.sources],
        [(c.turn - o, c.name, c.args) for c in record.calls],
        record.labels,
    )


def _entry(rng: random.Random, step: int) -> Entry:
    if rng.random() < 0.6:
        text = f"result {step} " + "x" * rng.randrange(0, 200)
        return Entry(source=Source("tool", rng.choice(["trusted", "untrusted"]), text, 0, "t", call_args=("a",)))
    return Entry(call=Call(0, "send", {"to": f"u{step}@x.com", "n": step}))


def test_two_workers_read_what_a_whole_read_gives(redis_url: str) -> None:
    rng = random.Random(15)
    workers = [RedisSessionStore(redis_url, LIMITS, prefix="t-incr:") for _ in range(2)]
    raw = workers[0]._client
    kept_reads = 0
    for step in range(1500):
        key = f"s{rng.randrange(3)}"
        w = rng.choice(workers)
        roll = rng.random()
        if roll < 0.45:
            entries = [_entry(rng, step) for _ in range(rng.choice([0, 1, 1, 2, 3, 14]))]
            w.append(key, entries, [f"l{rng.randrange(6)}"] if rng.random() < 0.3 else [], 0.0)
        elif roll < 0.47:  # the session starts over (as when it expires)
            raw.delete(*(f"t-incr:{key}:{part}" for part in "ebml"))
        elif roll < 0.48:  # an entry no version of the store writes
            raw.rpush(f"t-incr:{key}:e", rng.choice(["not json", json.dumps({"x": 1}), "[1, 2]"]))
        elif roll < 0.50:  # an entry written by a version without the count (a rolling upgrade)
            raw.rpush(f"t-incr:{key}:e", json.dumps(_entry(rng, step).to_json()))
        kept_reads += key in w._kept
        got = w.load(key, 0.0)
        assert _seen(got) == _seen(_whole(w, key)), f"step {step}"
        assert w._memory == sum(k.memory for k in w._kept.values())
    assert kept_reads > 800  # most reads were incremental: the comparison is not vacuous


def test_a_session_written_before_the_count_is_read_whole(redis_url: str) -> None:
    store = RedisSessionStore(redis_url, LIMITS, prefix="t-old:")
    store._client.rpush("t-old:k:e", json.dumps(Entry(call=Call(0, "send", {"to": "a"})).to_json()))
    assert [c.name for c in store.load("k", 0.0).calls] == ["send"]
    assert "k" not in store._kept  # no count to check it against: nothing kept
    store.append("k", [Entry(call=Call(0, "pay", {"iban": "b"}))], [], 0.0)
    assert [(c.turn, c.name) for c in store.load("k", 0.0).calls] == [(0, "send"), (1, "pay")]
    assert "k" in store._kept
    assert [c.name for c in store.load("k", 0.0).calls] == ["send", "pay"]


def test_kept_records_stay_inside_the_memory_bound(redis_url: str) -> None:
    store = RedisSessionStore(redis_url, Limits(max_memory_bytes=20_000, max_sessions=5), prefix="t-mem:")
    for i in range(12):
        store.append(f"k{i}", [Entry(source=Source("user", "trusted", "y" * 3000, 0))], [], 0.0)
        store.load(f"k{i}", 0.0)
        assert store._memory <= 20_000 and len(store._kept) <= 5
    assert [s.text for s in store.load("k0", 0.0).sources] == ["y" * 3000]  # dropped from memory, not from Redis
