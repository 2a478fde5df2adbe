"""RedisStore against a real redis-server: the same answers as MemoryStore, atomic across buckets."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
import redis

from celgate.quotas import Charge, MemoryStore, QuotaStoreError, open_store
from celgate.quotas.redis import RedisStore
from tests.unit.quotas.redis_server import free_port, redis_server


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with redis_server() as u:
        yield u


@pytest.fixture
def store(url: str) -> Iterator[RedisStore]:
    s = RedisStore(url, prefix=f"t{random.getrandbits(48):x}:", timeout_seconds=2.0)
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
    assert [o.allowed for o in outcomes] == [True, False]  # only the spent bucket says so
    assert outcomes[0].retry_after_seconds == 0.0 and outcomes[1].retry_after_seconds == pytest.approx(59.0)
    assert store.consume([Charge("p:bob", 5, 10, 60.0)], 2.0)[0].remaining == 0  # only the first 5 counted


def test_independent_charges_are_recorded_each_on_its_own(store: RedisStore) -> None:
    """Audit-mode quotas: a spent one never stops another from counting."""
    small = Charge("tenant:acme", 1, 1, 60.0)
    big = Charge("p:bob", 5, 10, 60.0)
    store.consume([small], 0.0)
    outcomes = store.consume([big, small], 1.0, atomic=False)
    assert [o.allowed for o in outcomes] == [True, False]
    assert store.consume([Charge("p:bob", 5, 10, 60.0)], 2.0)[0].remaining == 0  # big was counted


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
        atomic = rng.random() < 0.7
        want = memory.consume(charges, now, atomic=atomic)
        got = store.consume(charges, now, atomic=atomic)
        assert [(o.allowed, o.remaining) for o in got] == [(o.allowed, o.remaining) for o in want]
        for g, w in zip(got, want, strict=True):
            assert g.retry_after_seconds == pytest.approx(w.retry_after_seconds, abs=1e-5)


def test_unreachable_redis_raises_quota_store_error() -> None:
    s = RedisStore(f"redis://127.0.0.1:{free_port()}/0", timeout_seconds=0.2)
    with pytest.raises(QuotaStoreError) as info:
        s.consume([Charge("p:x", 1, 1, 1.0)], 0.0)
    assert "127.0.0.1" not in str(info.value)  # what a client may see never names the address
    s.close()


def test_a_failing_redis_opens_the_circuit_then_probes_again(url: str) -> None:
    """After a failure, calls fail fast for `breaker_seconds` instead of each waiting the timeout;
    then one call tries Redis again and a success closes the circuit."""
    clock = [0.0]
    dead = RedisStore(
        f"redis://127.0.0.1:{free_port()}/0", timeout_seconds=0.2, breaker_seconds=5.0, clock=lambda: clock[0]
    )
    with pytest.raises(QuotaStoreError):
        dead.consume([Charge("p:x", 1, 1, 1.0)], 0.0)
    calls = []
    dead._script = lambda **kw: calls.append(kw)  # type: ignore[assignment,misc]
    with pytest.raises(QuotaStoreError, match="circuit open"):
        dead.consume([Charge("p:x", 1, 1, 1.0)], 0.0)
    assert calls == []  # failed fast: Redis was not asked
    dead.close()

    live = RedisStore(url, prefix=f"t{random.getrandbits(48):x}:", breaker_seconds=5.0, clock=lambda: clock[0])
    real = live._script
    live._script = lambda **kw: (_ for _ in ()).throw(redis.exceptions.ConnectionError("down"))  # type: ignore[assignment,misc]
    with pytest.raises(QuotaStoreError):
        live.consume([Charge("p:y", 1, 5, 60.0)], 0.0)
    live._script = real  # Redis is back
    with pytest.raises(QuotaStoreError, match="circuit open"):
        live.consume([Charge("p:y", 1, 5, 60.0)], 1.0)
    clock[0] = 5.5
    assert live.consume([Charge("p:y", 1, 5, 60.0)], 2.0)[0].allowed  # half-open probe succeeds
    assert live.consume([Charge("p:y", 1, 5, 60.0)], 3.0)[0].allowed  # closed again
    live.close()
