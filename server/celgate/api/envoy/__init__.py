"""The Envoy doors: ext_authz (allow/deny per request) and ext_proc (rewrite bodies), on celgate's gRPC port.

    from celgate.api.envoy import EnvoySettings, register
    register(server, lambda: current_engine, EnvoySettings.from_dict(config.get("envoy")))

`engine_ref()` returns the active Engine (hot-swapped by the service) or None before policies are
loaded; both doors then deny (fail closed). ext_proc holds one gRPC stream per proxied HTTP request
for the request's whole life, so a sync server needs a thread per concurrent proxied request: size
the pool for it (see docs/envoy.md).
"""

from __future__ import annotations

from collections.abc import Callable

import grpc

from celgate.api.envoy.settings import ClaimMapping, EnvoySettings
from celgate.engine import Engine

__all__ = ["ClaimMapping", "EnvoySettings", "register"]

AUTHZ_SERVICE = "envoy.service.auth.v3.Authorization"
EXT_PROC_SERVICE = "envoy.service.ext_proc.v3.ExternalProcessor"
SERVICE_NAMES = (AUTHZ_SERVICE, EXT_PROC_SERVICE)


def register(
    server: grpc.Server, engine_ref: Callable[[], Engine | None], settings: EnvoySettings | None = None
) -> None:
    """Adds the ext_authz and ext_proc servicers to `server` (call before `server.start()`)."""
    from envoy.service.auth.v3 import external_auth_pb2_grpc as authz_grpc
    from envoy.service.ext_proc.v3 import external_processor_pb2_grpc as proc_grpc

    from celgate.api.envoy.authz import AuthorizationServicer
    from celgate.api.envoy.extproc import ExternalProcessorServicer

    settings = settings or EnvoySettings()
    authz_grpc.add_AuthorizationServicer_to_server(AuthorizationServicer(engine_ref, settings), server)
    proc_grpc.add_ExternalProcessorServicer_to_server(ExternalProcessorServicer(engine_ref, settings), server)
