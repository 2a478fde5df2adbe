"""Redis quota store: the same exact sliding windows as `MemoryStore`, shared by every worker and replica.

Each bucket is a sorted set of charges (score = time in seconds, member = "<cost>:<call id>:<n>")
plus a running total, so a check costs O(expired + log n), not a scan of the window. One Lua script
does the whole `consume` on the server: expire, check every charge, then record all of them or none
— atomic across buckets, because Redis runs a script without interleaving other commands — or, for
audit-mode quotas (`atomic=False`), record each charge that fits on its own.

Time comes from the caller (`now`), as with the memory store, so replicas need synchronised clocks
(NTP); skew of a second shifts a window's edge by a second. All keys of one call go to one Redis
(no Redis Cluster: its slots would split a call's buckets across shards).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import redis
from redis.exceptions import RedisError

from celgate.quotas.base import Charge, Outcome, QuotaStore, QuotaStoreError

# KEYS: for charge i, KEYS[2i-1] is its sorted set and KEYS[2i] its running total.
# ARGV: now, call id, then cost, limit, window for each charge, then 1 (atomic) or 0 (independent).
# Returns for each charge {fits 0|1, remaining, retry_after seconds as a string}.
_CONSUME = """
local now = tonumber(ARGV[1])
local call = ARGV[2]
local n = #KEYS / 2
local atomic = ARGV[3 * n + 3] == '1'
local totals, costs, limits, windows = {}, {}, {}, {}
local denied = false
for i = 1, n do
  local z, t = KEYS[2 * i - 1], KEYS[2 * i]
  local cost = tonumber(ARGV[3 * i])
  local limit = tonumber(ARGV[3 * i + 1])
  local window = tonumber(ARGV[3 * i + 2])
  local horizon = string.format('%.6f', now - window)
  local total = 0
  if redis.call('ZCARD', z) > 0 then
    total = tonumber(redis.call('GET', t) or '0')
    local expired = redis.call('ZRANGEBYSCORE', z, '-inf', horizon)
    if #expired > 0 then
      for _, m in ipairs(expired) do
        total = total - tonumber(string.match(m, '^(%d+):'))
      end
      redis.call('ZREMRANGEBYSCORE', z, '-inf', horizon)
      if total < 0 then total = 0 end
      redis.call('SET', t, total)
    end
  end
  totals[i], costs[i], limits[i], windows[i] = total, cost, limit, window
  if total + cost > limit then denied = true end
end
local out = {}
for i = 1, n do
  local z, t = KEYS[2 * i - 1], KEYS[2 * i]
  local total, cost, limit, window = totals[i], costs[i], limits[i], windows[i]
  if total + cost > limit then
    -- The earliest time enough of the window has expired to fit this cost.
    local need = total + cost - limit
    local freed = 0
    local retry = window
    local entries = redis.call('ZRANGE', z, 0, -1, 'WITHSCORES')
    for j = 1, #entries, 2 do
      freed = freed + tonumber(string.match(entries[j], '^(%d+):'))
      if freed >= need then
        retry = math.max(0, tonumber(entries[j + 1]) + window - now)
        break
      end
    end
    out[i] = {0, math.max(0, limit - total), string.format('%.6f', retry)}
  elseif denied and atomic then
    out[i] = {1, limit - total, '0'}
  else
    redis.call('ZADD', z, ARGV[1], cost .. ':' .. call .. ':' .. i)
    redis.call('SET', t, total + cost)
    local ttl = math.ceil(window * 1000) + 1000
    redis.call('PEXPIRE', z, ttl)
    redis.call('PEXPIRE', t, ttl)
    out[i] = {1, limit - total - cost, '0'}
  end
end
return out
"""


class RedisStore(QuotaStore):
    """`RedisStore("redis://127.0.0.1:6379/0")`; raises QuotaStoreError when Redis cannot answer.

    A decision waits for Redis at most `timeout_seconds` (default 250 ms; `?socket_timeout=` in the
    URL overrides it). After a failure the circuit opens: for `breaker_seconds` every call fails at
    once, without a network round trip, so a hung Redis costs each decision nothing instead of the
    whole timeout; then one call tries Redis again, and a success closes the circuit. Errors carry
    no address: their text can reach a client through a decision's reason.
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
    ) -> None:
        self._client: Any = redis.Redis.from_url(
            url, socket_timeout=timeout_seconds, socket_connect_timeout=timeout_seconds, decode_responses=True
        )
        self._script = self._client.register_script(_CONSUME)
        self._prefix = prefix
        self._breaker_seconds = breaker_seconds
        self._clock = clock
        self._open_until = 0.0  # the circuit is open while clock() < this
        self._probing = False
        self._lock = threading.Lock()

    def _admit(self) -> None:
        """Raises while the circuit is open; lets one caller at a time probe once it may close."""
        if self._open_until == 0.0:
            return
        with self._lock:
            if self._open_until == 0.0:
                return
            if self._clock() < self._open_until or self._probing:
                raise QuotaStoreError("redis: circuit open after a recent failure")
            self._probing = True

    def _settle(self, ok: bool) -> None:
        with self._lock:
            self._probing = False
            self._open_until = 0.0 if ok else self._clock() + self._breaker_seconds

    def consume(self, charges: list[Charge], now: float, *, atomic: bool = True) -> list[Outcome]:
        if not charges:
            return []
        keys: list[str] = []
        args: list[str | int] = [f"{now:.6f}", uuid.uuid4().hex]
        for c in charges:
            key = self._prefix + c.bucket
            keys += [key, key + ":total"]
            args += [int(c.cost), int(c.limit), f"{c.window_seconds:.6f}"]
        args.append(1 if atomic else 0)
        self._admit()
        try:
            rows = self._script(keys=keys, args=args)
        except RedisError as exc:
            self._settle(False)
            # The exception's text names host and port: keep the kind, drop the address.
            raise QuotaStoreError(f"redis: {type(exc).__name__}") from exc
        if self._open_until:
            self._settle(True)
        return [Outcome(bool(int(a)), int(r), float(t)) for a, r, t in rows]

    def close(self) -> None:
        self._client.close()
