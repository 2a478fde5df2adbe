"""Where one ext_authz Check spends its time inside celgate, stage by stage, plus the gRPC round trip.

The request is what Envoy sends for the bench's chat completion (bench/envoy/run.py): request line,
headers, the jwt_authn payload in metadata, the packed body. Each stage is timed alone over many
iterations (median of repeats, µs per call); "servicer Check" is the whole method, "gRPC round trip"
a sequential client loop over loopback against an in-process grpcio server (client cost included).

    .venv/bin/python bench/envoy/profile_authz.py [--n 3000] [--cprofile]

Not in CI: timings are measured, never asserted.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
import time
from collections.abc import Callable
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import orjson
from google.protobuf import struct_pb2

import celgate
from celgate import metrics
from celgate.api import envoy as envoy_door
from celgate.api.decide import Decider
from celgate.api.envoy import authz as authz_door
from celgate.api.envoy import door, mapping
from celgate.api.envoy.principal import extract_principal
from celgate.api.envoy.settings import EnvoySettings
from celgate.auth import ANONYMOUS, Authenticator, AuthSettings, set_caller
from celgate.auth.grpc_gate import AuthInterceptor
from celgate.engine.request import parse_request
from celgate.envoywire.v3 import authz_pb2 as authz

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench/envoy"))
from run import BODY  # noqa: E402

POLICIES = ROOT / "tests/e2e/envoy/policies"


def envoy_request() -> authz.CheckRequest:
    body = orjson.dumps(BODY)
    req = authz.CheckRequest()
    http = req.attributes.request.http
    http.id = "1234"
    http.method = "POST"
    http.path = "/v1/chat/completions"
    http.host = "127.0.0.1:10000"
    http.scheme = "http"
    http.protocol = "HTTP/2"
    http.size = len(body)
    http.raw_body = body
    http.headers.update(
        {
            ":method": "POST",
            ":path": "/v1/chat/completions",
            ":authority": "127.0.0.1:10000",
            ":scheme": "http",
            "content-type": "application/json",
            "content-length": str(len(body)),
            "user-agent": "h2load nghttp2/1.64",
            "x-request-id": "8c1f4f0e-0a7b-4f58-9a8c-5e6b3f5f2d11",
            "x-forwarded-proto": "http",
            "authorization": "Bearer eyJhbGciOiJSUzI1NiJ9." + "x" * 300,
        }
    )
    payload = struct_pb2.Struct()
    payload.update(
        {
            "iss": "https://issuer.example.com",
            "sub": "u1",
            "aud": "llm-gateway",
            "iat": 1700000000,
            "exp": 1700003600,
            "roles": ["user", "analyst"],
            "tenant": "acme",
            "email": "u1@example.com",
        }
    )
    req.attributes.metadata_context.filter_metadata["envoy.filters.http.jwt_authn"].fields[
        "jwt_payload"
    ].struct_value.CopyFrom(payload)
    return req


def timeit(fn: Callable[[], Any], n: int, repeats: int = 5) -> float:
    """Median over repeats of the mean µs per call."""
    for _ in range(min(n, 200)):
        fn()
    runs = []
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(n):
            fn()
        runs.append((time.perf_counter() - t) / n * 1e6)
    return statistics.median(runs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--cprofile", action="store_true", help="also print a cProfile of the servicer's Check")
    args = ap.parse_args()
    n = args.n
    engine = celgate.load(str(POLICIES))
    settings = EnvoySettings()
    servicer = authz_door.AuthorizationServicer(Decider(engine), settings)
    set_caller(ANONYMOUS)  # what the gRPC port's AuthInterceptor sets before the door runs
    req = envoy_request()
    wire = req.SerializeToString()
    http = req.attributes.request.http
    headers = dict(http.headers)
    body = http.raw_body
    mapped = mapping.map_request("POST", http.path, http.host, body)
    md = req.attributes.metadata_context.filter_metadata
    principal = extract_principal(md, headers, "", settings)
    built = door.build_request(mapped, principal, "POST", http.path, http.host, headers["x-request-id"], settings)
    assert built is not None
    proto = parse_request(built)
    decision = engine.check(proto)
    resp = servicer.Check(req, None)  # type: ignore[arg-type]
    assert resp.status.code == 0, resp

    rows: list[tuple[str, float]] = [
        ("CheckRequest deserialise (grpc does this)", timeit(lambda: authz.CheckRequest.FromString(wire), n)),
        ("headers -> dict", timeit(lambda: dict(req.attributes.request.http.headers), n)),
        ("read_body (limits, encodings)", timeit(lambda: door.read_body(headers, body, settings), n)),
        (
            "map_request (orjson + OpenAI mapping)",
            timeit(lambda: mapping.map_request("POST", http.path, http.host, body), n),
        ),
        ("extract_principal (JWT Struct -> dict)", timeit(lambda: extract_principal(md, headers, "", settings), n)),
        (
            "build_request",
            timeit(
                lambda: door.build_request(
                    mapped, principal, "POST", http.path, http.host, headers["x-request-id"], settings
                ),
                n,
            ),
        ),
        ("request -> CheckRequest (engine.parse_request)", timeit(lambda: parse_request(built), n)),
        ("engine.check(CheckRequest)", timeit(lambda: engine.check(proto), n)),
        ("engine.check(dict) (parse + check)", timeit(lambda: engine.check(built), n)),
        ("metrics.observe (decision log off)", timeit(lambda: metrics.observe(decision, "prompt", "envoy", 0.001), n)),
        ("OK CheckResponse (header + metadata Struct)", timeit(lambda: authz_door._ok(settings, decision), n)),
        ("CheckResponse serialise (grpc does this)", timeit(lambda: resp.SerializeToString(), n)),
        ("servicer Check (whole method)", timeit(lambda: servicer.Check(req, None), n)),  # type: ignore[arg-type]
    ]

    anonymous = AuthInterceptor(
        Authenticator(AuthSettings(), allow_anonymous=True), mutual_tls=False, anonymous_reflection=True
    )
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4), interceptors=[anonymous])
    envoy_door.register(server, Decider(engine))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
            check = ch.unary_unary(
                f"/{envoy_door.AUTHZ_SERVICE}/Check",
                request_serializer=authz.CheckRequest.SerializeToString,
                response_deserializer=authz.CheckResponse.FromString,
            )
            rows.append(("gRPC round trip (client loop, loopback)", timeit(lambda: check(req), n // 3, 3)))
    finally:
        server.stop(None)

    print("| stage | µs per call |")
    print("|---|---:|")
    for name, us in rows:
        print(f"| {name} | {us:.1f} |")
    if args.cprofile:
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(n):
            servicer.Check(req, None)  # type: ignore[arg-type]
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
