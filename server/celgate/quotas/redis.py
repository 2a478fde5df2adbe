"""Redis quota store: the same per-slot counters as `MemoryStore`, shared by every worker and replica.

Each bucket is one hash, field = slot number, value = what was charged in that slot (at most
`SLOTS` fields, kept in Redis's compact listpack encoding), expiring a window after its last
charge. One Lua script does the whole `consume` on the server: drop expired slots and sum the rest,
check every charge, then record all of them or none — atomic across buckets, because Redis runs a
script without interleaving other commands — or, for audit-mode quotas (`atomic=False`), record
each charge that fits on its own. `consume_split` does both for one decision in one script (one
round trip instead of two). Slot numbers and retry times are computed in Python with the same
helpers as the memory store, so both give identical answers (see `celgate.quotas.base`).

Time comes from the caller (`now`), as with the memory store, so replicas need synchronised clocks
(NTP); skew of a second shifts a window's edge by a second. All keys of one call go to one Redis
(no Redis Cluster: its slots would split a call's buckets across shards).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import redis
from redis.exceptions import RedisError

from celgate.quotas.base import SLOTS, Charge, Outcome, QuotaStore, QuotaStoreError, bucket_key, retry_after, slot_of
from celgate.quotas.breaker import Breaker

# KEYS[i]: charge i's hash (field = slot number, value = cost charged in it).
# ARGV: SLOTS, then cost, limit, current slot, ttl ms for each charge, then k: the first k charges are
# one all-or-nothing group, and the rest are charged each on its own, after the group (as two calls
# in that order would). Returns for each charge {fits 0|1, remaining, freeing slot (-1: none)}. Slot
# numbers stay below 2^53 (base.MIN_WINDOW_SECONDS), so Lua's doubles hold them exactly.
_CONSUME = """
local slots = tonumber(ARGV[1])
local n = #KEYS
local out = {}
local function charge(first, last, atomic)
  local totals, live = {}, {}
  local denied = false
  for i = first, last do
    local cost = tonumber(ARGV[4 * i - 2])
    local limit = tonumber(ARGV[4 * i - 1])
    local horizon = tonumber(ARGV[4 * i]) - slots
    local fields = redis.call('HGETALL', KEYS[i])
    local total, kept, old = 0, {}, {}
    for j = 1, #fields, 2 do
      local slot = tonumber(fields[j])
      if slot <= horizon then
        old[#old + 1] = fields[j]
      else
        local c = tonumber(fields[j + 1])
        total = total + c
        kept[#kept + 1] = {slot, c}
      end
    end
    if #old > 0 then redis.call('HDEL', KEYS[i], unpack(old)) end
    totals[i], live[i] = total, kept
    if total + cost > limit then denied = true end
  end
  for i = first, last do
    local cost = tonumber(ARGV[4 * i - 2])
    local limit = tonumber(ARGV[4 * i - 1])
    local total = totals[i]
    if total + cost > limit then
      -- The oldest slot whose expiry, with every older one's, leaves room for this cost.
      local freeing = -1
      if cost <= limit then
        local kept = live[i]
        table.sort(kept, function(a, b) return a[1] < b[1] end)
        local need, freed = total + cost - limit, 0
        for _, sc in ipairs(kept) do
          freed = freed + sc[2]
          if freed >= need then
            freeing = sc[1]
            break
          end
        end
      end
      out[i] = {0, math.max(0, limit - total), freeing}
    elseif denied and atomic then
      out[i] = {1, limit - total, -1}
    else
      if cost > 0 then
        redis.call('HINCRBY', KEYS[i], ARGV[4 * i], cost)
        redis.call('PEXPIRE', KEYS[i], ARGV[4 * i + 1])
      end
      out[i] = {1, limit - total - cost, -1}
    end
  end
end
local k = tonumber(ARGV[4 * n + 2])
if k > 0 then charge(1, k, true) end
if k < n then charge(k + 1, n, false) end
return out
"""


class RedisStore(QuotaStore):
    """`RedisStore("redis://127.0.0.1:6379/0")`; raises QuotaStoreError when Redis cannot answer.

    A decision waits for Redis at most `timeout_seconds` (default 250 ms; `?socket_timeout=` in the
    URL overrides it). After a failure the circuit opens (`celgate.quotas.breaker`): for
    `breaker_seconds` every call fails at once, without a network round trip, so a hung Redis costs
    each decision nothing instead of the whole timeout; then one call tries Redis again, and a
    success closes the circuit. With `breaker_path` (a file `celgate serve` shares between its
    workers) the circuit is one for all of them. Errors carry no address: their text can reach a
    client through a decision's reason.
    """

    remote = True  # a call waits on the network (see Stores.remote)

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "celgate:quota:",
        timeout_seconds: float = 0.25,
        breaker_seconds: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        breaker_path: str | None = None,
    ) -> None:
        self._client: Any = redis.Redis.from_url(
            url, socket_timeout=timeout_seconds, socket_connect_timeout=timeout_seconds, decode_responses=True
        )
        self._script = self._client.register_script(_CONSUME)
        self._prefix = prefix
        self._breaker = Breaker(
            breaker_seconds, probe_seconds=max(1.0, 4 * timeout_seconds), clock=clock, path=breaker_path
        )

    def consume(self, charges: list[Charge], now: float, *, atomic: bool = True) -> list[Outcome]:
        return self._run(charges, len(charges) if atomic else 0, now)

    def consume_split(
        self, enforced: list[Charge], audited: list[Charge], now: float
    ) -> tuple[list[Outcome], list[Outcome]]:
        """Both groups in one script, one round trip: what `consume(enforced)` then
        `consume(audited, atomic=False)` would answer."""
        outcomes = self._run([*enforced, *audited], len(enforced), now)
        return outcomes[: len(enforced)], outcomes[len(enforced) :]

    def _run(self, charges: list[Charge], grouped: int, now: float) -> list[Outcome]:
        """The first `grouped` charges all or nothing, the rest each on its own (after them)."""
        if not charges:
            return []
        keys: list[str] = []
        args: list[str | int] = [SLOTS]
        for c in charges:
            keys.append(self._prefix + "#" + bucket_key(c))  # '#': no quota name, no key of the old format
            ttl_ms = math.ceil(c.window_seconds * 1000) + 1000
            args += [int(c.cost), int(c.limit), str(slot_of(now, c.window_seconds)), ttl_ms]
        args.append(grouped)
        if not self._breaker.admit():
            raise QuotaStoreError("redis: circuit open after a recent failure")
        try:
            rows = self._script(keys=keys, args=args)
        except RedisError as exc:
            self._breaker.settle(False)
            # The exception's text names host and port: keep the kind, drop the address.
            raise QuotaStoreError(f"redis: {type(exc).__name__}") from exc
        self._breaker.settle(True)
        return [
            Outcome(
                bool(int(fits)),
                int(remaining),
                0.0 if int(fits) else retry_after(None if int(slot) < 0 else int(slot), c.window_seconds, now),
            )
            for c, (fits, remaining, slot) in zip(charges, rows, strict=True)
        ]

    def close(self) -> None:
        self._client.close()
        self._breaker.close()
