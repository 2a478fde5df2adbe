"""The Envoy doors: ext_authz (allow/deny per request) and ext_proc (rewrite bodies), on celgate's gRPC port.

    from celgate.api.envoy import EnvoySettings, register
    register(server, decider, EnvoySettings.from_dict(config.get("envoy")))

Both doors decide through the service's `Decider` (the one road: dry-run, metrics, decision log);
before a policy revision is active they deny (fail closed). ext_proc holds one gRPC stream per proxied HTTP request
for the request's whole life, so a sync server needs a thread per concurrent proxied request: size
the pool for it (see docs/envoy.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import grpc
from google.protobuf.message import DecodeError

from celgate import metrics
from celgate.api.decide import Decider
from celgate.api.envoy.authz import AuthorizationServicer
from celgate.api.envoy.extproc import ExternalProcessorServicer
from celgate.api.envoy.settings import ClaimMapping, EnvoySettings
from celgate.envoywire.v3 import authz_pb2, ext_proc_pb2

__all__ = ["ClaimMapping", "EnvoySettings", "register"]

AUTHZ_SERVICE = "envoy.service.auth.v3.Authorization"
EXT_PROC_SERVICE = "envoy.service.ext_proc.v3.ExternalProcessor"
SERVICE_NAMES = (AUTHZ_SERVICE, EXT_PROC_SERVICE)


def register(server: grpc.Server, decider: Decider, settings: EnvoySettings | None = None) -> None:
    """Adds the ext_authz and ext_proc servicers to `server` (call before `server.start()`)."""
    settings = settings or EnvoySettings()
    authz = AuthorizationServicer(decider, settings)
    proc = ExternalProcessorServicer(decider, settings)
    # Registered under Envoy's service names with celgate's wire-compatible messages (see
    # proto/celgate/envoywire/v3/core.proto for why not the xds-protos package). Requests arrive as
    # bytes and are parsed here: grpcio answers what its deserializer cannot parse with INTERNAL
    # ("our bug") where it is the caller's mistake (INVALID_ARGUMENT), as the DecisionService does.
    check = grpc.unary_unary_rpc_method_handler(
        _parsed_unary(authz_pb2.CheckRequest, "envoy.service.auth.v3.CheckRequest", authz.Check),
        response_serializer=authz_pb2.CheckResponse.SerializeToString,
    )
    process = grpc.stream_stream_rpc_method_handler(
        _parsed_stream(ext_proc_pb2.ProcessingRequest, "envoy.service.ext_proc.v3.ProcessingRequest", proc.Process),
        response_serializer=ext_proc_pb2.ProcessingResponse.SerializeToString,
    )
    server.add_generic_rpc_handlers(
        (
            grpc.method_handlers_generic_handler(AUTHZ_SERVICE, {"Check": check}),
            grpc.method_handlers_generic_handler(EXT_PROC_SERVICE, {"Process": process}),
        )
    )


def _parse(message: Any, name: str, data: bytes, context: grpc.ServicerContext) -> Any:
    """`data` as `message`; INVALID_ARGUMENT naming Envoy's type `name` (what the caller sent) when not."""
    try:
        return message.FromString(data)
    except DecodeError:
        metrics.invalid("envoy")
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"not a {name}: the wire format is corrupt")
        raise AssertionError("unreachable") from None  # context.abort raises


def _parsed_unary(message: Any, name: str, handler: Callable[[Any, grpc.ServicerContext], Any]) -> Callable[..., Any]:
    def handle(data: bytes, context: grpc.ServicerContext) -> Any:
        return handler(_parse(message, name, data, context), context)

    return handle


def _parsed_stream(
    message: Any, name: str, handler: Callable[[Iterator[Any], grpc.ServicerContext], Iterator[Any]]
) -> Callable[..., Iterator[Any]]:
    """The stream's messages parsed one by one: a bad one ends the stream with INVALID_ARGUMENT
    (ext_proc's loop reads the iterator outside its per-message error handling, so the abort is
    not turned into a denial answer)."""

    def handle(datas: Iterator[bytes], context: grpc.ServicerContext) -> Iterator[Any]:
        return handler((_parse(message, name, data, context) for data in datas), context)

    return handle
