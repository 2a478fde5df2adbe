"""The Envoy doors: ext_authz (allow/deny per request) and ext_proc (rewrite bodies), on celgate's gRPC port.

    from celgate.api.envoy import EnvoySettings, register
    register(server, decider, EnvoySettings.from_dict(config.get("envoy")))

Both doors decide through the service's `Decider` (the one road: dry-run, metrics, decision log);
before a policy revision is active they deny (fail closed). ext_proc holds one gRPC stream per proxied HTTP request
for the request's whole life, so a sync server needs a thread per concurrent proxied request: size
the pool for it (see docs/envoy.md).
"""

from __future__ import annotations

import grpc

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
    # proto/celgate/envoywire/v3/core.proto for why not the xds-protos package).
    check = grpc.unary_unary_rpc_method_handler(
        authz.Check,
        request_deserializer=authz_pb2.CheckRequest.FromString,
        response_serializer=authz_pb2.CheckResponse.SerializeToString,
    )
    process = grpc.stream_stream_rpc_method_handler(
        proc.Process,
        request_deserializer=ext_proc_pb2.ProcessingRequest.FromString,
        response_serializer=ext_proc_pb2.ProcessingResponse.SerializeToString,
    )
    server.add_generic_rpc_handlers(
        (
            grpc.method_handlers_generic_handler(AUTHZ_SERVICE, {"Check": check}),
            grpc.method_handlers_generic_handler(EXT_PROC_SERVICE, {"Process": process}),
        )
    )
