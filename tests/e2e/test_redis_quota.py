"""Quotas of the shipped library counted in a real Redis: several engines (workers) count together,
and a Redis outage gives the configured behaviour (closed by default), reported in the decision."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

import celgate
from celgate.quotas.redis import RedisStore
from celgate.stores import Stores
from tests.unit.quotas.redis_server import free_port, redis_server

pytestmark = pytest.mark.e2e
POLICIES = Path(__file__).resolve().parents[2] / "policies"


def _repo(tmp: Path, on_error: str | None = None, limit: int = 5) -> Path:
    """The shipped library with prompts-per-principal at `limit` per hour (no clock in the test)."""
    repo = tmp / "policies"
    shutil.copytree(POLICIES, repo)
    config = yaml.safe_load((repo / "celgate.yaml").read_text())
    for q in config["quotas"]["limits"]:
        if q["name"] == "prompts-per-principal":
            q["limit"], q["window"] = limit, "1h"
    if on_error is not None:
        config["quotas"]["on_error"] = on_error
    (repo / "celgate.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return repo


def _prompt(principal: str) -> dict:
    return {
        "action": "prompt",
        "principal": {"id": principal, "tenant": "acme", "roles": ["user"]},
        "model": {"provider": "openai", "name": "gpt-4o"},
        "messages": [{"role": "user", "content": "What is on my calendar tomorrow?"}],
    }


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with redis_server() as u:
        yield u


def test_engines_sharing_redis_count_together(url: str, tmp_path: Path) -> None:
    repo = _repo(tmp_path, limit=5)
    stores = [RedisStore(url, prefix="shared:") for _ in range(3)]  # three workers, three connections
    engines = [celgate.load(repo, stores=Stores(quotas=s)) for s in stores]
    effects = [engines[i % 3].check(_prompt("alice")).effect for i in range(7)]
    assert effects == ["allow"] * 5 + ["deny"] * 2
    denied = engines[0].check(_prompt("alice"))
    assert "quota/prompts-per-principal" in denied.matched_rules()
    assert denied.retry_after_seconds > 0
    assert engines[1].check(_prompt("bob")).effect == "allow"  # other principals have their own bucket
    for s in stores:
        s.close()


def test_redis_down_fails_closed_by_default(tmp_path: Path) -> None:
    store = RedisStore(f"redis://127.0.0.1:{free_port()}/0", timeout_seconds=0.2)
    engine = celgate.load(_repo(tmp_path), stores=Stores(quotas=store))
    decision = engine.check(_prompt("alice"))
    assert decision.effect == "deny"
    assert "quota/store-unavailable" in decision.matched_rules()
    assert "quota store unavailable" in decision.message
    store.close()


def test_redis_down_with_on_error_allow_keeps_serving(tmp_path: Path) -> None:
    store = RedisStore(f"redis://127.0.0.1:{free_port()}/0", timeout_seconds=0.2)
    engine = celgate.load(_repo(tmp_path, on_error="allow"), stores=Stores(quotas=store))
    decision = engine.check(_prompt("alice"))
    assert decision.effect == "allow"
    assert "quota/store-unavailable" not in decision.matched_rules()
    store.close()


def test_redis_stopping_mid_run_is_reported(tmp_path: Path) -> None:
    repo = _repo(tmp_path, limit=100)
    with redis_server() as u:
        store = RedisStore(u, prefix="stop:", timeout_seconds=0.2)
        engine = celgate.load(repo, stores=Stores(quotas=store))
        assert engine.check(_prompt("carol")).effect == "allow"
    decision = engine.check(_prompt("carol"))  # the server is gone now
    assert decision.effect == "deny" and "quota/store-unavailable" in decision.matched_rules()
    store.close()


def test_workers_of_one_server_share_the_breaker(start_celgate) -> None:
    """`celgate serve --workers 2` hands its workers one breaker file (the wiring through spawned
    workers; the sharing itself: tests/unit/quotas/test_breaker.py): every worker reports a dead
    Redis as the store being down, and the server still stops cleanly."""
    import httpx

    cg = start_celgate(policies=POLICIES, workers=2, extra_args=["--quota-store", f"redis://127.0.0.1:{free_port()}/0"])
    answers = [httpx.post(cg.http_url + "/v1/check", json=_prompt(f"p{i}"), timeout=10).json() for i in range(6)]
    for answer in answers:
        assert answer["effect"] == "deny"
        assert [(r["policy"], r["rule"]) for r in answer["reasons"]] == [("quota", "store-unavailable")]
    assert cg.stop() == 0
