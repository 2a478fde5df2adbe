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
from envoy.service.auth.v3 import external_auth_pb2_grpc as authz_grpc
from envoy.service.ext_proc.v3 import external_processor_pb2_grpc as proc_grpc

from celgate.api.decide import Decider
from celgate.api.envoy.authz import AuthorizationServicer
from celgate.api.envoy.extproc import ExternalProcessorServicer
from celgate.api.envoy.settings import ClaimMapping, EnvoySettings

__all__ = ["ClaimMapping", "EnvoySettings", "register"]

AUTHZ_SERVICE = "envoy.service.auth.v3.Authorization"
EXT_PROC_SERVICE = "envoy.service.ext_proc.v3.ExternalProcessor"
SERVICE_NAMES = (AUTHZ_SERVICE, EXT_PROC_SERVICE)


def register(server: grpc.Server, decider: Decider, settings: EnvoySettings | None = None) -> None:
    """Adds the ext_authz and ext_proc servicers to `server` (call before `server.start()`)."""
    settings = settings or EnvoySettings()
    authz_grpc.add_AuthorizationServicer_to_server(AuthorizationServicer(decider, settings), server)
    proc_grpc.add_ExternalProcessorServicer_to_server(ExternalProcessorServicer(decider, settings), server)
