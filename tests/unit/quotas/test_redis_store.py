"""RedisStore against a real redis-server: the same answers as MemoryStore, atomic across buckets."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from celgate.quotas import Charge, MemoryStore, QuotaStoreError, open_store
from celgate.quotas.redis import RedisStore
from tests.unit.quotas.redis_server import free_port, redis_server


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with redis_server() as u:
        yield u


@pytest.fixture
def store(url: str) -> Iterator[RedisStore]:
    s = RedisStore(url, prefix=f"t{random.getrandbits(48):x}:")
    yield s
    s.close()


def test_open_store_picks_redis(url: str) -> None:
    s = open_store(url)
    assert isinstance(s, RedisStore)
    s.close()


def test_limit_and_sliding_window(store: RedisStore) -> None:
    c = Charge("p:alice", 1, 3, 60.0)
    assert [store.consume([c], 100.0 + i)[0].allowed for i in range(4)] == [True, True, True, False]
    denied = store.consume([c], 104.0)[0]
    assert not denied.allowed and denied.remaining == 0
    assert denied.retry_after_seconds == pytest.approx(56.0)  # the first charge (t=100) leaves at 160
    assert store.consume([c], 160.0)[0].allowed  # t=100 expired: exactly at the window edge
    assert not store.consume([c], 160.5)[0].allowed


def test_all_or_nothing_across_buckets(store: RedisStore) -> None:
    small = Charge("tenant:acme", 1, 1, 60.0)
    big = Charge("p:bob", 5, 10, 60.0)
    assert [o.allowed for o in store.consume([big, small], 0.0)] == [True, True]
    outcomes = store.consume([big, small], 1.0)  # `small` is spent: neither is recorded
    assert [o.allowed for o in outcomes] == [False, False]
    assert outcomes[0].retry_after_seconds == 0.0 and outcomes[1].retry_after_seconds == pytest.approx(59.0)
    assert store.consume([Charge("p:bob", 5, 10, 60.0)], 2.0)[0].remaining == 0  # only the first 5 counted


def test_cost_larger_than_limit_waits_a_whole_window(store: RedisStore) -> None:
    o = store.consume([Charge("tok:x", 50, 10, 30.0)], 5.0)[0]
    assert not o.allowed and o.retry_after_seconds == pytest.approx(30.0)


def test_matches_memory_store_on_random_traffic(store: RedisStore) -> None:
    memory = MemoryStore()
    rng = random.Random(7)
    now = 1_000.0
    for _ in range(400):  # bounded
        now += rng.choice([0.0, 0.25, 1.0, 3.0, 11.0])
        charges = [
            Charge(f"b{rng.randrange(3)}", rng.randrange(0, 4), rng.choice([3, 5, 8]), rng.choice([5.0, 10.0]))
            for _ in range(rng.randrange(1, 3))
        ]
        charges = list({c.bucket: c for c in charges}.values())  # one charge per bucket per call
        # Keep each bucket's limit and window fixed, as a compiled quota does.
        charges = [Charge(c.bucket, c.cost, 3 + int(c.bucket[1]), 5.0 + int(c.bucket[1])) for c in charges]
        want = memory.consume(charges, now)
        got = store.consume(charges, now)
        assert [(o.allowed, o.remaining) for o in got] == [(o.allowed, o.remaining) for o in want]
        for g, w in zip(got, want, strict=True):
            assert g.retry_after_seconds == pytest.approx(w.retry_after_seconds, abs=1e-5)


def test_unreachable_redis_raises_quota_store_error() -> None:
    s = RedisStore(f"redis://127.0.0.1:{free_port()}/0", timeout_seconds=0.2)
    with pytest.raises(QuotaStoreError):
        s.consume([Charge("p:x", 1, 1, 1.0)], 0.0)
    s.close()
