"""Both quota stores — MemoryStore, and RedisStore against a real redis-server — count per-slot
windows with the same edge rule (`celgate.quotas.base`), atomic across buckets, and give identical
answers for identical calls."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
import redis

from celgate.quotas import Charge, MemoryStore, QuotaStore, QuotaStoreError, open_store
from celgate.quotas.base import SLOTS
from celgate.quotas.redis import RedisStore
from tests.unit.quotas.redis_server import free_port, redis_server


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with redis_server() as u:
        yield u


@pytest.fixture
def redis_store(url: str) -> Iterator[RedisStore]:
    s = RedisStore(url, prefix=f"t{random.getrandbits(48):x}:", timeout_seconds=2.0)
    yield s
    s.close()


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest) -> QuotaStore:
    """Each semantic test runs on both stores."""
    if request.param == "memory":
        return MemoryStore()
    return request.getfixturevalue("redis_store")


def test_open_store_picks_redis(url: str) -> None:
    s = open_store(url)
    assert isinstance(s, RedisStore)
    s.close()


def test_limit_and_window_edge(store: QuotaStore) -> None:
    c = Charge("p:alice", 1, 3, 60.0)
    assert [store.consume([c], 100.0 + i)[0].allowed for i in range(4)] == [True, True, True, False]
    denied = store.consume([c], 104.0)[0]
    assert not denied.allowed and denied.remaining == 0
    assert denied.retry_after_seconds == pytest.approx(56.0)  # the first charge (t=100) leaves at 160
    assert store.consume([c], 160.0)[0].allowed  # t=100 (slot 100) expired: exactly at the window edge
    assert not store.consume([c], 160.5)[0].allowed


def test_all_or_nothing_across_buckets(store: QuotaStore) -> None:
    small = Charge("tenant:acme", 1, 1, 60.0)
    big = Charge("p:bob", 5, 10, 60.0)
    assert [o.allowed for o in store.consume([big, small], 0.0)] == [True, True]
    outcomes = store.consume([big, small], 1.0)  # `small` is spent: neither is recorded
    assert [o.allowed for o in outcomes] == [True, False]  # only the spent bucket says so
    assert outcomes[0].retry_after_seconds == 0.0 and outcomes[1].retry_after_seconds == pytest.approx(59.0)
    assert store.consume([Charge("p:bob", 5, 10, 60.0)], 2.0)[0].remaining == 0  # only the first 5 counted


def test_independent_charges_are_recorded_each_on_its_own(store: QuotaStore) -> None:
    """Audit-mode quotas: a spent one never stops another from counting."""
    small = Charge("tenant:acme", 1, 1, 60.0)
    big = Charge("p:bob", 5, 10, 60.0)
    store.consume([small], 0.0)
    outcomes = store.consume([big, small], 1.0, atomic=False)
    assert [o.allowed for o in outcomes] == [True, False]
    assert store.consume([Charge("p:bob", 5, 10, 60.0)], 2.0)[0].remaining == 0  # big was counted


def test_cost_larger_than_limit_waits_a_whole_window(store: QuotaStore) -> None:
    o = store.consume([Charge("tok:x", 50, 10, 30.0)], 5.0)[0]
    assert not o.allowed and o.retry_after_seconds == pytest.approx(30.0)


# (limit, window) of each bucket of the differential test: short windows, a 7.5 s one whose slots
# (0.125 s) the time steps do not align with, and a 1-day window (24-minute slots).
_BUCKETS = {"b0": (3, 5.0), "b1": (4, 7.5), "b2": (5, 7.0), "b3": (6, 86_400.0)}


def test_matches_memory_store_on_random_traffic(redis_store: RedisStore) -> None:
    memory = MemoryStore()
    rng = random.Random(7)
    now = 1_000.0
    latest = now
    for _ in range(600):  # bounded
        now += rng.choice([0.0, 0.25, 0.37, 1.0, 3.0, 11.0, 1_500.0])
        if rng.random() < 0.05:  # a replica's clock a little behind (less than the shortest window)
            now = max(now - rng.choice([0.25, 1.0, 2.0]), latest - 3.0)
        latest = max(latest, now)
        buckets = rng.sample(sorted(_BUCKETS), rng.randrange(1, 4))  # one charge per bucket per call
        # Each bucket's limit and window stay fixed, as a compiled quota's do.
        charges = [Charge(b, rng.randrange(0, 4), *_BUCKETS[b]) for b in buckets]
        atomic = rng.random() < 0.7
        want = memory.consume(charges, now, atomic=atomic)
        got = redis_store.consume(charges, now, atomic=atomic)
        assert got == want  # identical: allowed, remaining and retry_after (computed by the same helpers)


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


def test_a_charge_counts_until_its_slot_expires_a_window_later(store: QuotaStore) -> None:
    """The edge rule (celgate.quotas.base): a charge in slot k counts until slot k + SLOTS begins,
    between W - W/SLOTS and W after it was made: never later than an exact sliding window."""
    assert SLOTS == 60
    minute = Charge("p:edge", 1, 1, 60.0)  # 1 s slots
    assert store.consume([minute], 100.5)[0].allowed  # slot 100: counts until 160.0, 59.5 s later
    held = store.consume([minute], 159.75)[0]
    assert not held.allowed and held.retry_after_seconds == pytest.approx(0.25)
    assert store.consume([minute], 160.0)[0].allowed

    day = Charge("t:edge", 1, 1, 86_400.0)  # 1,440 s (24 minute) slots
    made = 10 * 1_440.0 + 700.0  # 700 s into slot 10
    assert store.consume([day], made)[0].allowed
    last = store.consume([day], 70 * 1_440.0 - 0.5)[0]
    assert not last.allowed and last.retry_after_seconds == pytest.approx(0.5)
    assert store.consume([day], 70 * 1_440.0)[0].allowed  # 85,700 s after it was made: 700 s early


def test_admits_at_most_the_limit_within_a_window_less_one_slot(store: QuotaStore) -> None:
    """The error bound: at most `limit` within any W - W/SLOTS; a burst packed into one slot may
    come back W - W/SLOTS later, so a full W can hold 2 x limit at worst, never more."""
    c = Charge("p:burst", 1, 5, 60.0)
    admitted = [t for t in (100.9 + 0.01 * i for i in range(8)) if store.consume([c], t)[0].allowed]
    assert len(admitted) == 5  # slot 100 holds the whole limit
    assert not store.consume([c], 159.99)[0].allowed
    again = [t for t in (160.0 + 0.01 * i for i in range(8)) if store.consume([c], t)[0].allowed]
    assert len(again) == 5  # slot 100 expired at 160.0, 59.1 s after the burst
    # Steady traffic for ten minutes, four tries a second: never more than the limit in any 59 s.
    times = []
    for i in range(2_400):  # bounded
        t = 1_000.0 + i * 0.25
        if store.consume([Charge("p:steady", 1, 30, 60.0)], t)[0].allowed:
            times.append(t)
    for i, t in enumerate(times):
        within = [u for u in times[i:] if u < t + 59.0]
        assert len(within) <= 30
        assert len([u for u in times[i:] if u < t + 60.0]) <= 60


def test_a_bucket_keeps_at_most_one_counter_per_slot(store: QuotaStore, url: str) -> None:
    """Memory per bucket is O(SLOTS), whatever the rate: a day and a half of charges every 30 s."""
    c = Charge("t:busy", 1, 10**9, 86_400.0)
    for i in range(4_320):  # bounded
        assert store.consume([c], 1_000.0 + i * 30.0)[0].allowed
    if isinstance(store, MemoryStore):
        (bucket,) = store._buckets.values()
        assert len(bucket.counts) == SLOTS  # a ring of SLOTS counters
        counted = bucket.total
    else:
        client = redis.Redis.from_url(url, decode_responses=True)
        (key,) = client.keys(store._prefix + "*")
        assert client.hlen(key) <= SLOTS
        assert client.object("encoding", key) == "listpack"  # Redis's compact small-hash encoding
        counted = sum(int(v) for v in client.hvals(key))
        client.close()
    assert 2_880 * (SLOTS - 1) / SLOTS <= counted <= 2_880  # a window's worth, less at most one slot


def test_memory_store_drops_buckets_whose_slots_all_expired() -> None:
    store = MemoryStore()
    for i in range(3_000):  # principals seen once
        store.consume([Charge(f"p:{i}", 1, 5, 1.0)], 0.0)
    assert len(store) == 3_000
    for _ in range(3_000):  # bounded: a sweep runs after as many calls as there are buckets
        store.consume([Charge("p:regular", 1, 10**6, 1.0)], 10.0)
    assert len(store) <= 2


def test_a_changed_window_starts_the_count_afresh(store: QuotaStore) -> None:
    """Slot numbers of two window lengths do not compare: a quota whose window a new policy
    revision changes counts from zero (documented in docs/policies.md)."""
    assert store.consume([Charge("p:w", 1, 1, 60.0)], 0.0)[0].allowed
    assert not store.consume([Charge("p:w", 1, 1, 60.0)], 1.0)[0].allowed
    assert store.consume([Charge("p:w", 1, 1, 3_600.0)], 2.0)[0].allowed


def test_windows_under_a_millisecond_are_refused() -> None:
    """Slot numbers must stay exact in Redis's Lua (doubles): windows start at 1 ms."""
    from celgate.engine.model import parse_window

    assert parse_window("1ms") == pytest.approx(0.001) and parse_window("1d") == 86_400.0
    assert parse_window("0.5ms") is None and parse_window(0.0001) is None


def test_replies_are_parsed_by_hiredis(redis_store: RedisStore) -> None:
    """hiredis (a dependency) is redis-py's C reply parser: ~30 % less worker CPU per store call.
    redis-py falls back to its pure-Python parser silently when it is missing, so check it is used.
    A checkout whose .venv predates the dependency skips (run scripts/bootstrap); CI, where a skip
    fails, always checks."""
    if not redis.utils.HIREDIS_AVAILABLE:
        pytest.skip("hiredis is not installed in this .venv: re-run scripts/bootstrap")
    redis_store.consume([Charge("p:h", 1, 5, 60.0)], 0.0)
    conn = redis_store._client.connection_pool.get_connection()
    try:
        assert "Hiredis" in type(conn._parser).__name__
    finally:
        redis_store._client.connection_pool.release(conn)


def test_split_call_matches_two_calls_and_the_memory_store(url: str) -> None:
    """`consume_split` (one script for a decision's enforced and audit-mode charges) answers and
    records exactly what `consume(enforced)` then `consume(audited, atomic=False)` do, on Redis and
    in memory (the default two-call path)."""
    split = RedisStore(url, prefix=f"t{random.getrandbits(48):x}:", timeout_seconds=2.0)
    paired = RedisStore(url, prefix=f"t{random.getrandbits(48):x}:", timeout_seconds=2.0)
    memory = MemoryStore()
    rng = random.Random(11)
    now = 1_000.0
    for _ in range(400):  # bounded
        now += rng.choice([0.0, 0.25, 1.0, 3.0, 11.0, 1_500.0])
        buckets = rng.sample(sorted(_BUCKETS), rng.randrange(0, 5))
        cut = rng.randrange(0, len(buckets) + 1)
        charges = [Charge(b, rng.randrange(0, 4), *_BUCKETS[b]) for b in buckets]
        enforced, audited = charges[:cut], charges[cut:]
        want = (paired.consume(enforced, now) if enforced else [], paired.consume(audited, now, atomic=False))
        assert split.consume_split(enforced, audited, now) == want
        assert memory.consume_split(enforced, audited, now) == want
    split.close()
    paired.close()


def test_split_call_records_audit_charges_when_an_enforced_one_is_spent(redis_store: RedisStore) -> None:
    spent, other, audit = Charge("e:x", 1, 1, 60.0), Charge("e:y", 1, 5, 60.0), Charge("a:x", 1, 2, 60.0)
    assert [o.allowed for o in redis_store.consume([spent], 0.0)] == [True]
    enforced, audited = redis_store.consume_split([spent, other], [audit], 1.0)
    assert [o.allowed for o in enforced] == [False, True] and enforced[1].remaining == 5  # nothing recorded
    assert audited == [type(audited[0])(True, 1, 0.0)]  # counted on its own
    assert redis_store.consume([other], 2.0)[0].remaining == 4


def test_split_call_fails_closed_when_redis_goes_down_mid_decision(url: str) -> None:
    """Redis stops answering between a decision's calls (here: between two decisions' split calls):
    the call raises QuotaStoreError, without the address, and the circuit opens for the next."""
    with redis_server() as own:
        s = RedisStore(own, timeout_seconds=0.3, breaker_seconds=30.0)
        assert s.consume_split([Charge("e:z", 1, 5, 60.0)], [Charge("a:z", 1, 5, 60.0)], 0.0)[0][0].allowed
        redis.Redis.from_url(own).shutdown(nosave=True)
    with pytest.raises(QuotaStoreError) as info:
        s.consume_split([Charge("e:z", 1, 5, 60.0)], [Charge("a:z", 1, 5, 60.0)], 1.0)
    assert "127.0.0.1" not in str(info.value)
    with pytest.raises(QuotaStoreError, match="circuit open"):
        s.consume_split([], [Charge("a:z", 1, 5, 60.0)], 2.0)
    s.close()
