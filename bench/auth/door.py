#!/usr/bin/env python3
"""The HTTP door's whole `POST /v1/check` in process (ASGI call, no network), with and without a caller key.

    .venv/bin/python bench/auth/door.py [--auth none|key|restricted] [--n 5000]
    PYTHONPATH=<older checkout>/server .venv/bin/python bench/auth/door.py   # the same on older code

Best of 5 runs of n calls, µs per decision, so the price of authentication can be read as the
difference between rows even on a busy machine, where `bench/service` cannot resolve a few µs.
Prints a table row; never asserts timings.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import inspect
import time
from pathlib import Path

import celgate
from celgate.api.decide import Decider
from celgate.api.http_app import create_app
from celgate.api.state import PolicyState

POLICIES = Path(__file__).resolve().parents[1] / "service" / "policies"
BODY = b'{"action":"tool_call","principal":{"id":"u1","roles":["user"]},"tool":{"name":"search_docs"}}'
KEY = "cg_bench-key-not-secret-0123456789abcdefghijklmno"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--auth", choices=["none", "key", "restricted"], default="none")
    ap.add_argument("--n", type=int, default=5000)
    args = ap.parse_args()
    state = PolicyState("bench")
    state.activate(celgate.load(str(POLICIES)))
    kwargs = {}
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(BODY))]
    if args.auth != "none":
        from celgate.auth import Authenticator, AuthSettings

        caller = {"id": "bench", "key_sha256": hashlib.sha256(KEY.encode()).hexdigest()}
        if args.auth == "restricted":
            caller["rights"] = {"principals": ["u*"], "actions": ["tool_call"]}
        kwargs["authenticator"] = Authenticator(AuthSettings.from_dict({"callers": [caller]}), allow_anonymous=False)
        headers.append((b"authorization", f"Bearer {KEY}".encode()))
    app = create_app(Decider(state), state, max_body_bytes=1 << 20, **kwargs)
    has_auth = "authenticator" in inspect.signature(create_app).parameters
    statuses: list[int] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": BODY, "more_body": False}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    async def run(n: int) -> float:
        start = time.perf_counter()
        for _ in range(n):
            scope = {"type": "http", "path": "/v1/check", "method": "POST", "headers": headers, "state": {}}
            await app(scope, receive, send)
        return (time.perf_counter() - start) / n

    async def best() -> float:
        await run(200)
        return min([await run(args.n) for _ in range(5)])

    us = asyncio.run(best()) * 1e6
    assert set(statuses) == {200}, set(statuses)
    code = "auth" if has_auth else "before auth"
    print(f"| {code} | {args.auth} | {us:.1f} |")


if __name__ == "__main__":
    main()
