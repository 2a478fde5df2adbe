"""Redis approval store: every replica of `celgate serve` sees and decides the same approvals.

Each approval is a hash `<prefix>a:<id>` with `state`, `expires_at` and the JSON `record`; a sorted
set `<prefix>index` (score: created time) lists them and `<prefix>pending` (score: expiry) counts
the pending ones. A transition is one Lua script — compare state and expiry, then write — which
Redis runs without interleaving, so racing approvers (on any replica) see exactly one winner. The
record is written whole by the client, never re-encoded in Lua (cjson turns `[]` into `{}`).
Keys expire `RETENTION_SECONDS` after the approval does, so the store stays bounded.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import orjson
import redis
from redis.exceptions import RedisError

from celgate.approvals.base import ApprovalStore
from celgate.approvals.model import (
    RETENTION_SECONDS,
    Approval,
    StoreError,
)

# KEYS: the approval hash, the pending set. ARGV: from state, now, new state, new expiry, new record, id,
# new key expiry (unix seconds).
_TRANSITION = """
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return 0 end
local expires = tonumber(redis.call('HGET', KEYS[1], 'expires_at'))
if state ~= ARGV[1] or expires <= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], 'state', ARGV[3], 'expires_at', ARGV[4], 'record', ARGV[5])
redis.call('EXPIREAT', KEYS[1], ARGV[7])
redis.call('ZREM', KEYS[2], ARGV[6])
return 1
"""


class RedisStore(ApprovalStore):
    """`RedisStore("redis://127.0.0.1:6379/0")`; raises StoreError when Redis cannot answer."""

    def __init__(self, url: str, *, prefix: str = "celgate:approval:", timeout_seconds: float = 1.0) -> None:
        self._client: Any = redis.Redis.from_url(
            url, socket_timeout=timeout_seconds, socket_connect_timeout=timeout_seconds
        )
        self._transition_script = self._client.register_script(_TRANSITION)
        self._prefix = prefix
        self._index = prefix + "index"
        self._pending = prefix + "pending"
        self._url = _safe_url(url)

    def _key(self, approval_id: str) -> str:
        return f"{self._prefix}a:{approval_id}"

    def _error(self, e: Exception) -> StoreError:
        return StoreError(f"approval store {self._url}: {e}")

    def check_writable(self) -> None:
        try:
            self._client.set(self._prefix + "checked", "1", ex=60)
        except RedisError as e:
            raise StoreError(f"approval store {self._url} is not writable: {e}") from None

    def create(self, approval: Approval) -> None:
        key = self._key(approval.id)
        try:
            pipe = self._client.pipeline(transaction=True)
            pipe.hset(
                key,
                mapping={
                    "state": approval.state,
                    "expires_at": repr(approval.expires_at),
                    "record": orjson.dumps(approval.to_record()),
                },
            )
            pipe.expireat(key, int(approval.expires_at + RETENTION_SECONDS) + 1)
            pipe.zadd(self._index, {approval.id: approval.created_at})
            pipe.zadd(self._pending, {approval.id: approval.expires_at})
            pipe.zremrangebyscore(self._index, "-inf", approval.created_at - 2 * RETENTION_SECONDS)
            pipe.zremrangebyscore(self._pending, "-inf", approval.created_at - RETENTION_SECONDS)
            pipe.execute()
        except RedisError as e:
            raise self._error(e) from None

    def _read(self, approval_id: str) -> Approval | None:
        try:
            raw = self._client.hmget(self._key(approval_id), "state", "expires_at", "record")
        except RedisError as e:
            raise self._error(e) from None
        return _decode(raw)

    def get(self, approval_id: str, now: float) -> Approval | None:
        approval = self._read(approval_id)
        return approval.current(now) if approval is not None else None

    def list(
        self, now: float, *, state: str = "", principal: str = "", tool: str = "", limit: int = 100
    ) -> list[Approval]:
        out: list[Approval] = []
        start, page = 0, 500
        try:
            while len(out) < limit and start < 20_000:  # bounded scan, newest first
                ids = self._client.zrevrange(self._index, start, start + page - 1)
                if not ids:
                    break
                pipe = self._client.pipeline(transaction=False)
                for i in ids:
                    pipe.hmget(self._key(i.decode()), "state", "expires_at", "record")
                for raw in pipe.execute():
                    approval = _decode(raw)
                    if approval is None:
                        continue
                    approval = approval.current(now)
                    if state and approval.state != state:
                        continue
                    if (principal and approval.principal != principal) or (tool and approval.tool != tool):
                        continue
                    out.append(approval)
                    if len(out) >= limit:
                        break
                start += page
        except RedisError as e:
            raise self._error(e) from None
        return out

    def _transition(self, approval_id: str, from_state: str, new: Approval, now: float) -> bool:
        try:
            won = self._transition_script(
                keys=[self._key(approval_id), self._pending],
                args=[
                    from_state,
                    repr(now),
                    new.state,
                    repr(new.expires_at),
                    orjson.dumps(new.to_record()),
                    approval_id,
                    int(new.expires_at + RETENTION_SECONDS) + 1,
                ],
            )
        except RedisError as e:
            raise self._error(e) from None
        return bool(int(won))

    def count_pending(self, now: float) -> int:
        try:
            return int(self._client.zcount(self._pending, f"({now!r}", "+inf"))
        except RedisError as e:
            raise self._error(e) from None

    def close(self) -> None:
        self._client.close()


def _decode(raw: list[Any]) -> Approval | None:
    state, expires_at, record = raw
    if state is None or record is None:
        return None
    approval = Approval.from_record(orjson.loads(record))
    return dataclasses.replace(approval, state=state.decode(), expires_at=float(expires_at))


def _safe_url(url: str) -> str:
    """The URL without credentials, for messages and logs."""
    scheme, sep, rest = url.partition("://")
    if sep and "@" in rest:
        rest = rest.split("@", 1)[1]
    return f"{scheme}{sep}{rest}"
