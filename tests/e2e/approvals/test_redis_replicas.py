"""Two `celgate serve` replicas sharing one real redis-server: an approval created on one is listed,
approved and spent through the other, and racing approvers on both replicas see exactly one winner."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.approvals.helpers import BOB_KEY, auth_config, call
from tests.e2e.conftest import Celgate
from tests.unit.approvals.policies import transfer, write_repo
from tests.unit.quotas.redis_server import redis_server

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with redis_server() as url:
        yield url


@pytest.fixture
def replicas(start_celgate: Callable[..., Celgate], tmp_path: Path, redis_url: str) -> tuple[Celgate, Celgate]:
    repo = write_repo(tmp_path / "p")
    config = auth_config(tmp_path / "celgate.yaml", approval_store=redis_url)
    return start_celgate(repo, ["--config", str(config)]), start_celgate(repo, ["--config", str(config)])


def test_created_on_one_replica_decided_and_spent_on_the_other(replicas: tuple[Celgate, Celgate]) -> None:
    a, b = replicas
    _, held = call(a, "POST", "/v1/check", transfer(session="replicas"))
    approval_id = held["approval_id"]
    status, listed = call(b, "GET", "/v1/approvals?state=pending&principal=alice", key=BOB_KEY)
    assert status == 200 and approval_id in [x["id"] for x in listed["approvals"]]
    status, approved = call(b, "POST", f"/v1/approvals/{approval_id}/approve", {"reason": "ok"}, key=BOB_KEY)
    assert status == 200 and approved["state"] == "approved"
    _, ok = call(a, "POST", "/v1/check", {**transfer(session="replicas"), "approval_id": approval_id})
    assert ok["effect"] == "allow"
    _, again = call(b, "POST", "/v1/check", {**transfer(session="replicas"), "approval_id": approval_id})
    assert again["effect"] == "deny" and "already used" in again["message"]


def test_racing_approvers_across_replicas(replicas: tuple[Celgate, Celgate]) -> None:
    a, b = replicas
    _, held = call(a, "POST", "/v1/check", transfer(session="race"))
    approval_id = held["approval_id"]
    results: list[int] = []
    barrier = threading.Barrier(4)

    def act(cg: Celgate, verb: str) -> None:
        barrier.wait(10)
        status, _ = call(cg, "POST", f"/v1/approvals/{approval_id}/{verb}", {}, key=BOB_KEY)
        results.append(status)

    threads = [threading.Thread(target=act, args=(cg, verb)) for cg in (a, b) for verb in ("approve", "deny")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert sorted(results) == [200, 409, 409, 409]
