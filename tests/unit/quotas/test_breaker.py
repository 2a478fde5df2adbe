"""The Redis quota store's circuit breaker, shared by the workers of one server through a file:
one worker's failure opens the circuit for all of them, and only one of them probes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from celgate.quotas import Charge, QuotaStoreError
from celgate.quotas.breaker import Breaker, create_shared_file
from celgate.quotas.redis import RedisStore
from tests.unit.quotas.redis_server import free_port


@pytest.fixture
def shared(tmp_path: Path) -> str:
    path = str(tmp_path / "quota-breaker")
    create_shared_file(path)
    return path


def test_a_failure_in_another_process_opens_the_circuit_here(shared: str) -> None:
    clock = [100.0]
    here = Breaker(5.0, clock=lambda: clock[0], path=shared)
    assert here.admit() and not here.open
    code = "from celgate.quotas.breaker import Breaker\n"
    code += f"Breaker(5.0, clock=lambda: 100.0, path={shared!r}).settle(False)"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)  # another worker saw Redis fail
    assert here.open and not here.admit()  # failed fast here too, without asking Redis
    clock[0] = 105.5  # the period is over: one caller probes, the others still fail fast
    other = Breaker(5.0, clock=lambda: clock[0], path=shared)
    assert here.admit() and not other.admit()
    here.settle(True)  # the probe succeeded: closed for everyone
    assert other.admit() and not other.open
    here.close()
    other.close()


def test_a_probe_that_never_settles_frees_its_slot(shared: str) -> None:
    clock = [0.0]
    a = Breaker(1.0, probe_seconds=2.0, clock=lambda: clock[0], path=shared)
    b = Breaker(1.0, probe_seconds=2.0, clock=lambda: clock[0], path=shared)
    a.settle(False)
    clock[0] = 1.5
    assert a.admit()  # a probes... and dies before it settles
    assert not b.admit()
    clock[0] = 3.6
    assert b.admit()  # the slot was freed after probe_seconds
    a.close()
    b.close()


def test_workers_sharing_a_breaker_ask_a_dead_redis_once(shared: str) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    first = RedisStore(url, timeout_seconds=0.2, breaker_path=shared)
    second = RedisStore(url, timeout_seconds=0.2, breaker_path=shared)
    with pytest.raises(QuotaStoreError):
        first.consume([Charge("p:x", 1, 1, 60.0)], 0.0)
    calls: list[object] = []
    second._script = lambda **kw: calls.append(kw)  # type: ignore[assignment,misc]
    with pytest.raises(QuotaStoreError, match="circuit open"):
        second.consume([Charge("p:x", 1, 1, 60.0)], 0.0)
    assert calls == []  # the second worker did not wait on Redis at all
    first.close()
    second.close()
