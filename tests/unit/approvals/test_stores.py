"""Both approval stores (SQLite file, real redis-server) keep the same contract: durable records,
lazy expiry, filters, and atomic transitions with exactly one winner."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from celgate.approvals import (
    APPROVED,
    DENIED,
    EXPIRED,
    PENDING,
    USED,
    Approval,
    Conflict,
    HoldReason,
    NotFound,
    StoreError,
    new_id,
    open_store,
)
from celgate.approvals.base import ApprovalStore
from celgate.approvals.redis import RedisStore
from celgate.approvals.sqlite import SQLiteStore
from tests.unit.quotas.redis_server import free_port, redis_server

T0 = 1_800_000_000.0


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with redis_server() as url:
        yield url


@pytest.fixture(params=["sqlite", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ApprovalStore]:
    if request.param == "sqlite":
        s: ApprovalStore = SQLiteStore(tmp_path / "approvals.db")
    else:
        s = RedisStore(request.getfixturevalue("redis_url"), prefix=f"t{random.getrandbits(48):x}:")
    yield s
    s.close()


def make(principal: str = "alice", tool: str = "transfer_funds", at: float = T0, ttl: float = 3600) -> Approval:
    return Approval(
        id=new_id(),
        fingerprint="f" * 64,
        action="tool_call",
        principal=principal,
        tool=tool,
        session="s1",
        reasons=(HoldReason("payments", "big-transfer", "needs a human"),),
        request={"tool": {"name": tool, "args": {"amount": 5000.0, "tags": []}}},
        decision_id="d1",
        created_at=at,
        expires_at=at + ttl,
    )


def test_create_get_round_trip(store: ApprovalStore) -> None:
    a = make()
    store.create(a)
    got = store.get(a.id, T0 + 1)
    assert got == a  # every field, empty lists included
    assert store.get("apr_nope", T0) is None
    assert store.count_pending(T0 + 1) == 1


def test_expiry_is_read_not_written(store: ApprovalStore) -> None:
    a = make(ttl=10)
    store.create(a)
    assert store.get(a.id, T0 + 9.9).state == PENDING
    assert store.get(a.id, T0 + 10).state == EXPIRED
    assert store.count_pending(T0 + 10) == 0
    with pytest.raises(Conflict, match="is expired"):
        store.decide(a.id, True, "bob", "ok", T0 + 11, 3600)


def test_approve_then_use_exactly_once(store: ApprovalStore) -> None:
    a = make(ttl=10)
    store.create(a)
    approved = store.decide(a.id, True, "bob", "looks fine", T0 + 5, 60)
    assert (approved.state, approved.decided_by, approved.reason) == (APPROVED, "bob", "looks fine")
    assert approved.expires_at == T0 + 65  # an approval is usable for a fresh ttl from when it was given
    assert store.get(a.id, T0 + 30).state == APPROVED  # past the pending expiry, within the approval's
    won, used = store.use(a.id, T0 + 31)
    assert won and used is not None and used.state == USED and used.used_at == T0 + 31
    again, now = store.use(a.id, T0 + 32)
    assert not again and now is not None and now.state == USED
    with pytest.raises(Conflict, match="is used by bob"):
        store.decide(a.id, False, "carol", "", T0 + 33, 60)


def test_deny_and_unknown(store: ApprovalStore) -> None:
    a = make()
    store.create(a)
    denied = store.decide(a.id, False, "bob", "not today", T0 + 1, 60)
    assert denied.state == DENIED and denied.expires_at == a.expires_at
    assert store.use(a.id, T0 + 2) == (False, denied)
    with pytest.raises(Conflict, match="is denied by bob; it can no longer be approved"):
        store.decide(a.id, True, "carol", "", T0 + 2, 60)
    with pytest.raises(NotFound):
        store.decide("apr_nope", True, "bob", "", T0, 60)
    assert store.use("apr_nope", T0) == (False, None)


def test_list_filters_newest_first(store: ApprovalStore) -> None:
    a = make("alice", "transfer_funds", T0)
    b = make("bob", "send_email", T0 + 1)
    c = make("alice", "send_email", T0 + 2, ttl=5)
    for x in (a, b, c):
        store.create(x)
    store.decide(b.id, False, "admin", "", T0 + 3, 60)
    now = T0 + 10  # c has expired
    assert [x.id for x in store.list(now)] == [c.id, b.id, a.id]
    assert [x.id for x in store.list(now, state=PENDING)] == [a.id]
    assert [x.id for x in store.list(now, state=EXPIRED)] == [c.id]
    assert [x.id for x in store.list(now, state=DENIED)] == [b.id]
    assert [x.id for x in store.list(now, principal="alice")] == [c.id, a.id]
    assert [x.id for x in store.list(now, tool="send_email", principal="alice")] == [c.id]
    assert [x.id for x in store.list(now, limit=1)] == [c.id]


def _race(store: ApprovalStore, a: Approval, results: list[object], barrier: threading.Barrier) -> Any:
    def act(approve: bool, who: str) -> None:
        barrier.wait(5)
        try:
            results.append(store.decide(a.id, approve, who, "", T0 + 1, 60))
        except Conflict as e:
            results.append(e)

    return act


def test_approve_and_deny_racing_one_wins(store: ApprovalStore) -> None:
    for _ in range(5):
        a = make()
        store.create(a)
        results: list[object] = []
        act = _race(store, a, results, threading.Barrier(8))
        threads = [threading.Thread(target=act, args=(i % 2 == 0, f"u{i}")) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        winners = [r for r in results if isinstance(r, Approval)]
        losers = [r for r in results if isinstance(r, Conflict)]
        assert len(winners) == 1 and len(losers) == 7
        final = store.get(a.id, T0 + 2)
        assert final is not None and final.state == winners[0].state
        assert all(f"is {final.state} by {final.decided_by}" in str(e) for e in losers)  # told who won


def test_use_racing_one_wins(store: ApprovalStore) -> None:
    a = make()
    store.create(a)
    store.decide(a.id, True, "bob", "", T0 + 1, 60)
    wins: list[bool] = []
    barrier = threading.Barrier(6)

    def use() -> None:
        barrier.wait(5)
        wins.append(store.use(a.id, T0 + 2)[0])

    threads = [threading.Thread(target=use) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sorted(wins) == [False] * 5 + [True]


def test_sqlite_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    s = SQLiteStore(path)
    a, b = make(), make()
    s.create(a)
    s.create(b)
    s.decide(b.id, True, "bob", "", T0 + 1, 60)
    s.close()
    s2 = open_store(f"sqlite:{path}")
    assert s2.get(a.id, T0 + 2).state == PENDING
    assert s2.get(b.id, T0 + 2).state == APPROVED
    s2.close()


def test_unwritable_sqlite_refused(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StoreError, match="approval store"):
        SQLiteStore(blocker / "approvals.db")


def test_redis_down_is_a_store_error() -> None:
    s = RedisStore(f"redis://127.0.0.1:{free_port()}/0", timeout_seconds=0.2)
    with pytest.raises(StoreError, match="not writable"):
        s.check_writable()
    with pytest.raises(StoreError):
        s.get("apr_x", T0)
    s.close()


def test_open_store_choices(tmp_path: Path, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    s = open_store("")
    assert isinstance(s, SQLiteStore) and s.path == tmp_path / "state" / "celgate" / "approvals.db"
    s.close()
    r = open_store(redis_url)
    assert isinstance(r, RedisStore)
    r.close()


def test_sqlite_retention_delete_uses_an_index(tmp_path) -> None:
    """Every create drops approvals past retention; that must not scan the whole table."""
    import sqlite3

    SQLiteStore(tmp_path / "a.db")
    db = sqlite3.connect(tmp_path / "a.db")
    plan = " ".join(row[-1] for row in db.execute("EXPLAIN QUERY PLAN DELETE FROM approvals WHERE expires_at < 1"))
    assert "USING INDEX approvals_expires" in plan, plan
