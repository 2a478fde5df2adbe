"""Quotas: an audit-mode quota never changes an effect, a spent quota is reported only under its own
name, and a store that is down is reported to the client without its address."""

from __future__ import annotations

import celgate
from celgate.quotas.redis import RedisStore
from celgate.stores import Stores
from tests.unit.quotas.redis_server import free_port

CONFIG = """\
apiVersion: celgate/v1
kind: Config
quotas:
  limits:
    - name: prompts-per-principal
      actions: [prompt]
      key: principal.id
      limit: 100
      window: 1m
      message: per-principal budget spent
    - name: tokens-per-principal
      actions: [prompt]
      key: principal.id
      cost: "10"
      limit: 25
      window: 1h
      message: hourly token budget spent
    - name: prompts-per-tenant
      actions: [prompt]
      key: principal.tenant
      limit: 3
      window: 1m
      mode: audit
"""


def prompt(principal: str, tenant: str = "acme") -> dict:
    return {
        "action": "prompt",
        "principal": {"id": principal, "tenant": tenant},
        "messages": [{"role": "user", "content": "hi"}],
    }


def test_a_spent_audit_quota_never_denies(make_repo) -> None:
    """Charged all-or-nothing with the enforced ones, a spent audit-mode tenant quota denied every
    later prompt of the tenant, even from a principal never seen before."""
    engine = celgate.load(make_repo({"celgate.yaml": CONFIG}))
    for i in range(3):
        assert engine.check(prompt(f"user-{i}")).effect == "allow"
    fresh = engine.check(prompt("never-seen"))
    assert fresh.effect == "allow", fresh.reasons
    (reason,) = [r for r in fresh.reasons if r.policy != "defaults"]  # and defaults/prompt decided it
    assert (reason.rule, reason.enforced) == ("prompts-per-tenant", False)  # reported, not enforced
    # ...and the enforced quotas still counted that prompt.
    engine.check(prompt("never-seen"))
    third = engine.check(prompt("never-seen"))
    assert third.effect == "deny"
    assert [r.rule for r in third.reasons if r.enforced] == ["tokens-per-principal"]


def test_a_spent_quota_is_reported_only_under_its_own_name(make_repo) -> None:
    """'hourly token budget spent' was reported for every quota charged in the call."""
    engine = celgate.load(make_repo({"celgate.yaml": CONFIG}))
    assert [engine.check(prompt("bob", tenant="")).effect for _ in range(2)] == ["allow", "allow"]
    denied = engine.check(prompt("bob", tenant=""))
    assert denied.effect == "deny"
    assert [(r.rule, r.message) for r in denied.reasons] == [("tokens-per-principal", "hourly token budget spent")]
    assert denied.message == "hourly token budget spent"


def test_redis_down_message_never_names_its_address(make_repo) -> None:
    port = free_port()
    store = RedisStore(f"redis://127.0.0.1:{port}/0", timeout_seconds=0.2)
    engine = celgate.load(make_repo({"celgate.yaml": CONFIG}), stores=Stores(quotas=store))
    decision = engine.check(prompt("alice"))
    assert decision.effect == "deny"
    assert decision.matched_rules() == ["quota/store-unavailable"]
    text = str(decision.to_dict())
    assert "127.0.0.1" not in text and str(port) not in text
    store.close()


def test_a_busy_day_long_quota_keeps_bounded_state() -> None:
    """The stores kept one entry per charge for the whole window: the shipped 1-day tenant quota at
    100 prompts/s held ~8.6 M entries (~0.9 GB). Now a bucket is 60 counters, whatever the rate."""
    import tracemalloc

    from celgate.quotas import Charge, MemoryStore

    store = MemoryStore()
    store.consume([Charge("prompt-tokens-per-tenant:acme", 100, 20_000_000, 86_400.0)], 0.0)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for i in range(20_000):  # bounded: 200 s of a tenant at 100 prompts/s
        store.consume([Charge("prompt-tokens-per-tenant:acme", 100, 20_000_000, 86_400.0)], i / 100)
    grown = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert grown < 16 * 1024, grown  # a log of 20,000 charges took ~1.8 MB
