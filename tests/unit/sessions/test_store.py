"""Session memory stores: bounded, expiring, labels only grow; the Redis store against a real
redis-server, with two writers at once and Redis down."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from celgate.sessions import Source
from celgate.sessions.sources import Call
from celgate.sessions.store import Entry, Limits, MemorySessionStore, SessionStore, SessionStoreError, session_key
from tests.unit.quotas.redis_server import free_port, redis_server


def src(text: str) -> Entry:
    return Entry(source=Source("tool", "untrusted", text, 0, "fetch_page"))


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with redis_server() as url:
        yield url


def stores(kind: str, url: str, limits: Limits) -> SessionStore:
    if kind == "memory":
        return MemorySessionStore(limits)
    from celgate.sessions.redis_store import RedisSessionStore

    return RedisSessionStore(url, limits, prefix=f"t{free_port()}:")


@pytest.fixture(params=["memory", "redis"])
def kind(request: pytest.FixtureRequest) -> str:
    return request.param


def test_round_trip_turns_and_labels(kind: str, redis_url: str) -> None:
    store = stores(kind, redis_url, Limits())
    store.append("k", [src("a"), Entry(call=Call(0, "send", {"to": "x@y.com"}))], ["untrusted"], 100.0)
    store.append("k", [src("b")], ["untrusted", "pii"], 101.0)
    rec = store.load("k", 102.0)
    assert [(s.text, s.turn) for s in rec.sources] == [("a", 0), ("b", 2)]
    assert [(c.name, c.args, c.turn) for c in rec.calls] == [("send", {"to": "x@y.com"}, 1)]
    assert sorted(rec.labels) == ["pii", "untrusted"]
    assert store.load("other", 102.0).sources == []  # unknown id: an empty session


def test_bounded_in_turns_bytes_and_time(kind: str, redis_url: str) -> None:
    store = stores(kind, redis_url, Limits(max_entries=5, max_entry_chars=100, max_bytes=2000, ttl_seconds=60))
    store.append("k", [src(f"t{i}") for i in range(8)], [], 0.0)
    assert [s.text for s in store.load("k", 1.0).sources] == ["t3", "t4", "t5", "t6", "t7"]
    store.append("k", [src("x" * 10_000)], [], 2.0)  # cut to 100 chars
    assert len(store.load("k", 3.0).sources[-1].text) == 100
    store.append("k", [src("y" * 100) for _ in range(30)], [], 4.0)  # bytes bound drops the oldest
    assert sum(len(s.text) for s in store.load("k", 5.0).sources) <= 2000
    if kind == "memory":  # Redis expires by its own clock; the memory store by the caller's
        assert store.load("k", 1000.0).sources == []


def test_two_writers_at_once_lose_nothing(kind: str, redis_url: str) -> None:
    store_a = stores(kind, redis_url, Limits())
    store_b = store_a if kind == "memory" else type(store_a)(redis_url, Limits(), prefix=store_a._prefix)  # type: ignore[attr-defined,call-arg]

    def write(store: SessionStore, tag: str) -> None:
        for i in range(50):
            store.append("shared", [src(f"{tag}{i}")], [tag], float(i))

    threads = [threading.Thread(target=write, args=(s, t)) for s, t in ((store_a, "a"), (store_b, "b"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    rec = store_a.load("shared", 51.0)
    assert sorted(s.text for s in rec.sources) == sorted([f"a{i}" for i in range(50)] + [f"b{i}" for i in range(50)])
    assert sorted(rec.labels) == ["a", "b"]


def test_redis_down_raises_a_store_error() -> None:
    from celgate.sessions.redis_store import RedisSessionStore

    store = RedisSessionStore(f"redis://127.0.0.1:{free_port()}/0", timeout_seconds=0.2)
    with pytest.raises(SessionStoreError):
        store.load("k", 0.0)
    with pytest.raises(SessionStoreError):
        store.append("k", [src("a")], [], 0.0)


def test_memory_store_drops_least_recent_sessions() -> None:
    store = MemorySessionStore(Limits(max_sessions=3))
    for i in range(5):
        store.append(f"s{i}", [src("x")], [], 0.0)
    assert store.load("s0", 1.0).sources == [] and store.load("s4", 1.0).sources != []


def test_session_key_separates_principals_and_tenants() -> None:
    assert session_key("acme", "alice", "s1") != session_key("acme", "bob", "s1")
    assert session_key("acme", "alice", "s1") != session_key("globex", "alice", "s1")
    assert len(session_key("t", "p", "x" * 100_000)) == 64


def test_an_append_of_more_entries_than_one_rpush_takes(kind: str, redis_url: str) -> None:
    """The append script pushes entries 512 at a time (Lua's unpack has a stack limit): a long
    conversation recorded at once keeps its newest `max_entries`, in order, on both stores."""
    store = stores(kind, redis_url, Limits(max_entries=1000, max_bytes=1 << 30))
    store.append("k", [src(f"t{i}") for i in range(1300)], ["a"], 0.0)
    assert [s.text for s in store.load("k", 1.0).sources] == [f"t{i}" for i in range(300, 1300)]


def test_labels_fill_up_to_the_bound_in_order(kind: str, redis_url: str) -> None:
    store = stores(kind, redis_url, Limits(max_labels=3))
    store.append("k", [], ["a", "b"], 0.0)
    store.append("k", [], ["b", "c", "d", "e"], 1.0)  # more than fit: one at a time, until full
    assert sorted(store.load("k", 2.0).labels) == ["a", "b", "c"]
    store.append("k", [src("x")], ["f"], 3.0)
    assert sorted(store.load("k", 4.0).labels) == ["a", "b", "c"]


def test_entries_orjson_cannot_read_come_back_as_json_reads_them(kind: str, redis_url: str) -> None:
    """Reads use orjson, with `json` as the fallback: an infinite argument or a lone surrogate (which
    `json` writes and orjson refuses) reads back as before, the same as in memory."""
    store = stores(kind, redis_url, Limits())
    store.append("k", [Entry(call=Call(0, "calc", {"x": float("inf"), "n": 2})), src("bad \ud800 half")], [], 0.0)
    rec = store.load("k", 1.0)
    assert [(c.name, c.args) for c in rec.calls] == [("calc", {"x": float("inf"), "n": 2})]
    assert [s.text for s in rec.sources] == ["bad \ud800 half"]


def test_redis_going_down_between_read_and_record_raises_a_store_error() -> None:
    """Mid-decision: the session was read, then Redis stops before the decision is recorded."""
    from celgate.sessions.redis_store import RedisSessionStore

    with redis_server() as url:
        store = RedisSessionStore(url, timeout_seconds=0.3)
        store.append("k", [src("a")], [], 0.0)
        assert [s.text for s in store.load("k", 1.0).sources] == ["a"]
        import redis

        redis.Redis.from_url(url).shutdown(nosave=True)
    with pytest.raises(SessionStoreError) as info:
        store.append("k", [src("b")], ["x"], 2.0)
    assert "127.0.0.1" not in str(info.value)
    with pytest.raises(SessionStoreError):
        store.load("k", 3.0)
