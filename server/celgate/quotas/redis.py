"""Redis quota store: the same exact sliding windows as `MemoryStore`, shared by every worker and replica.

Each bucket is a sorted set of charges (score = time in seconds, member = "<cost>:<call id>:<n>")
plus a running total, so a check costs O(expired + log n), not a scan of the window. One Lua script
does the whole `consume` on the server: expire, check every charge, then record all of them or none
— atomic across buckets, because Redis runs a script without interleaving other commands.

Time comes from the caller (`now`), as with the memory store, so replicas need synchronised clocks
(NTP); skew of a second shifts a window's edge by a second. All keys of one call go to one Redis
(no Redis Cluster: its slots would split a call's buckets across shards).
"""

from __future__ import annotations

import uuid
from typing import Any

import redis
from redis.exceptions import RedisError

from celgate.quotas.base import Charge, Outcome, QuotaStore, QuotaStoreError

# KEYS: for charge i, KEYS[2i-1] is its sorted set and KEYS[2i] its running total.
# ARGV: now, call id, then cost, limit, window for each charge.
# Returns for each charge {allowed 0|1, remaining, retry_after seconds as a string}.
_CONSUME = """
local now = tonumber(ARGV[1])
local call = ARGV[2]
local n = #KEYS / 2
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
  if denied then
    local retry = 0
    if total + cost > limit then
      -- The earliest time enough of the window has expired to fit this cost.
      local need = total + cost - limit
      local freed = 0
      retry = window
      local entries = redis.call('ZRANGE', z, 0, -1, 'WITHSCORES')
      for j = 1, #entries, 2 do
        freed = freed + tonumber(string.match(entries[j], '^(%d+):'))
        if freed >= need then
          retry = math.max(0, tonumber(entries[j + 1]) + window - now)
          break
        end
      end
    end
    out[i] = {0, math.max(0, limit - total), string.format('%.6f', retry)}
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
    """`RedisStore("redis://127.0.0.1:6379/0")`; raises QuotaStoreError when Redis cannot answer."""

    def __init__(self, url: str, *, prefix: str = "celgate:quota:", timeout_seconds: float = 0.5) -> None:
        self._client: Any = redis.Redis.from_url(
            url, socket_timeout=timeout_seconds, socket_connect_timeout=timeout_seconds, decode_responses=True
        )
        self._script = self._client.register_script(_CONSUME)
        self._prefix = prefix

    def consume(self, charges: list[Charge], now: float) -> list[Outcome]:
        if not charges:
            return []
        keys: list[str] = []
        args: list[str | int] = [f"{now:.6f}", uuid.uuid4().hex]
        for c in charges:
            key = self._prefix + c.bucket
            keys += [key, key + ":total"]
            args += [int(c.cost), int(c.limit), f"{c.window_seconds:.6f}"]
        try:
            rows = self._script(keys=keys, args=args)
        except RedisError as exc:
            raise QuotaStoreError(f"redis: {exc}") from exc
        return [Outcome(bool(int(a)), int(r), float(t)) for a, r, t in rows]

    def close(self) -> None:
        self._client.close()
