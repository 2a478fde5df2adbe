#!/usr/bin/env python3
"""What authenticating a caller costs per decision, in process: each step of the hot path, in µs.

    .venv/bin/python bench/auth/run.py [--n 20000]

The service-level price (an API key on every request, through `celgate serve`) is measured by
`bench/service/run.py --auth key --without-cerbos` against `--auth none`; this table says where it
goes. Prints a table; never asserts timings.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from joserfc import jwt
from joserfc.jwk import ECKey

from celgate.auth import ANONYMOUS, Authenticator, AuthSettings, BoundPrincipal, Caller, Rights, authorize, keys
from celgate.auth.http_gate import HttpGate
from celgate.v1 import decision_pb2 as pb


def timeit(fn: Callable[[], object], n: int, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - start) / n)
    return best * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=20000)
    n = ap.parse_args().n

    key = keys.generate()
    signer = ECKey.generate_key("P-256", parameters={"kid": "k"})
    jwks = Path(tempfile.mkdtemp()) / "jwks.json"
    jwks.write_text(json.dumps({"keys": [signer.as_dict(private=False)]}))
    now = int(time.time())
    token = jwt.encode(
        {"alg": "ES256", "kid": "k"},
        {"iss": "i", "aud": "celgate", "sub": "u1", "exp": now + 3600, "roles": ["user"]},
        signer,
    )
    settings = AuthSettings.from_dict(
        {
            "callers": [
                {"id": "agent", "key_sha256": keys.hash_key(key)},
                {"id": "envoy", "mtls": ["spiffe://cluster.local/ns/gw/sa/envoy"]},
            ],
            "jwt": {"jwks": str(jwks), "issuer": "i", "audience": "celgate"},
        }
    )
    authn = Authenticator(settings, allow_anonymous=False)
    anonymous = Authenticator(AuthSettings(), allow_anonymous=True)
    bearer, jwt_bearer = f"Bearer {key}", f"Bearer {token}"
    peer = ("spiffe://cluster.local/ns/gw/sa/envoy", "envoy")
    authn.authenticate(bearer), authn.authenticate(jwt_bearer), authn.authenticate(None, peer)

    request = {"action": "tool_call", "principal": {"id": "u1", "roles": ["user"]}, "tool": {"name": "search"}}
    proto = pb.CheckRequest(action="tool_call", principal=pb.Principal(id="u1", roles=["user"]))
    restricted = Caller("agent", rights=Rights(principals=("u*",), tenants=("", "acme")))
    bound = Caller("u1", rights=Rights(), principal=BoundPrincipal("u1", ("user",), "acme"))
    default = Caller("x")
    gate = HttpGate(authn)
    scope = {
        "type": "http",
        "path": "/v1/check",
        "method": "POST",
        "headers": [(b"content-type", b"application/json"), (b"authorization", bearer.encode())],
        "state": {},
    }

    def uncached_key() -> None:
        authn._cache.clear()
        authn.authenticate(bearer)

    def uncached_jwt() -> None:
        authn._cache.clear()
        authn.authenticate(jwt_bearer)

    rows = [
        ("anonymous caller (loopback default)", timeit(lambda: anonymous.authenticate(None), n)),
        ("API key, cached", timeit(lambda: authn.authenticate(bearer), n)),
        ("API key, not cached (sha256 + look-up)", timeit(uncached_key, n)),
        ("JWT ES256, cached", timeit(lambda: authn.authenticate(jwt_bearer), n)),
        ("JWT ES256, not cached (verify + claims)", timeit(uncached_jwt, max(n // 20, 100))),
        ("client certificate names, cached", timeit(lambda: authn.authenticate(None, peer), n)),
        ("HTTP gate: headers -> caller (API key)", timeit(lambda: gate.authenticate(scope), n)),
        ("authorize: unrestricted caller (dict)", timeit(lambda: authorize(ANONYMOUS, request), n)),
        ("authorize: default rights (dict)", timeit(lambda: authorize(default, request), n)),
        ("authorize: principal/tenant globs (dict)", timeit(lambda: authorize(restricted, request), n)),
        ("authorize: principal globs (proto)", timeit(lambda: authorize(restricted, proto), n)),
        ("authorize: principal from credential (dict)", timeit(lambda: authorize(bound, request), n)),
    ]
    print("| step | µs per call |")
    print("|---|---:|")
    for name, us in rows:
        print(f"| {name} | {us:.2f} |")


if __name__ == "__main__":
    main()
