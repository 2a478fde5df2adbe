"""The gRPC door: `celgate.v1.DecisionService` plus standard health and reflection.

grpcio's sync server with a small thread pool: DESIGN "Budgets" measured it faster than grpc.aio
for this CPU-bound, microseconds-per-call work (4 threads best), and `HandlerPool` (api.grpc_pool)
instead of `concurrent.futures.ThreadPoolExecutor` takes ~9 % less CPU per call. Health reports NOT_SERVING until
the first policy revision is active. The Envoy doors (ext_authz, ext_proc) share the port and
the same `Decider`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import grpc
from google.protobuf.message import DecodeError, Message
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from celgate import metrics
from celgate.api import envoy
from celgate.api.approvals import ApproverDesk
from celgate.api.approvals_grpc import SERVICE_NAME as APPROVAL_SERVICE
from celgate.api.approvals_grpc import ApprovalService
from celgate.api.decide import Decider, Unavailable
from celgate.api.envoy import EnvoySettings
from celgate.api.grpc_pool import HandlerPool
from celgate.api.state import PolicyState
from celgate.auth import Authenticator, Caller, Forbidden, authorize, current_caller
from celgate.auth.grpc_gate import AuthInterceptor
from celgate.auth.tls import GrpcCertificates
from celgate.config import ServeConfig, auth_plan
from celgate.engine import InvalidRequest
from celgate.v1 import decision_pb2 as pb
from celgate.v1 import decision_pb2_grpc as pb_grpc

log = logging.getLogger("celgate.grpc")
SERVICE_NAME = pb.DESCRIPTOR.services_by_name["DecisionService"].full_name


class DecisionService(pb_grpc.DecisionServiceServicer):
    def __init__(self, decider: Decider, max_batch: int) -> None:
        self.decider = decider
        self.max_batch = max_batch

    def Check(self, request: pb.CheckRequest, context: grpc.ServicerContext) -> pb.CheckResponse:
        try:
            request = authorize(_caller(context), request)
            return self.decider.decide(request, "grpc", carrier=trace_carrier(context)).to_proto()
        except Forbidden as e:
            context.abort(grpc.StatusCode.PERMISSION_DENIED, e.message)
        except InvalidRequest as e:
            metrics.invalid("grpc")
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(e))
        except Unavailable as e:
            context.abort(grpc.StatusCode.UNAVAILABLE, str(e))
        raise AssertionError("unreachable")  # context.abort raises

    def CheckBatch(self, request: pb.CheckBatchRequest, context: grpc.ServicerContext) -> pb.CheckBatchResponse:
        if len(request.requests) > self.max_batch:
            metrics.invalid("grpc")
            context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"requests: expected at most {self.max_batch} requests, got {len(request.requests)}",
            )
        try:
            caller = _caller(context)
            requests = [_authorize_item(caller, r, i) for i, r in enumerate(request.requests)]
            decisions = self.decider.decide_batch(requests, "grpc", trace_carrier(context))
        except Forbidden as e:
            context.abort(grpc.StatusCode.PERMISSION_DENIED, e.message)
        except InvalidRequest as e:
            metrics.invalid("grpc")
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(e))
        except Unavailable as e:
            context.abort(grpc.StatusCode.UNAVAILABLE, str(e))
        return pb.CheckBatchResponse(responses=[d.to_proto() for d in decisions])


def _parsed(message: type[Message], handler: Callable[[Any, grpc.ServicerContext], Any]) -> Callable[..., Any]:
    """`handler` fed the parsed request; bytes that are not a `message` get INVALID_ARGUMENT.

    grpcio answers a request its deserializer cannot parse with INTERNAL, which says "our bug" for
    what is the caller's; so the request arrives as bytes and is parsed here."""

    def handle(data: bytes, context: grpc.ServicerContext) -> Any:
        try:
            request = message.FromString(data)
        except DecodeError as e:
            metrics.invalid("grpc")
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"not a {message.DESCRIPTOR.full_name}: {e}")
        return handler(request, context)

    return handle


def add_decision_service(service: DecisionService, server: grpc.Server) -> None:
    """Registers `service` as the generated `add_DecisionServiceServicer_to_server` would, but with
    requests parsed by `_parsed`."""
    handlers = {
        "Check": grpc.unary_unary_rpc_method_handler(
            _parsed(pb.CheckRequest, service.Check), response_serializer=pb.CheckResponse.SerializeToString
        ),
        "CheckBatch": grpc.unary_unary_rpc_method_handler(
            _parsed(pb.CheckBatchRequest, service.CheckBatch),
            response_serializer=pb.CheckBatchResponse.SerializeToString,
        ),
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE_NAME, handlers),))
    server.add_registered_method_handlers(SERVICE_NAME, handlers)


def _caller(context: grpc.ServicerContext) -> Caller:
    caller = current_caller()
    if caller is None:  # no AuthInterceptor in front of this server: refuse rather than guess
        context.abort(grpc.StatusCode.UNAUTHENTICATED, "no authenticated caller")
    return caller


def _authorize_item(caller: Caller, request: Any, index: int) -> Any:
    try:
        return authorize(caller, request)
    except Forbidden as e:
        raise Forbidden(f"requests[{index}]: {e.message}", f"requests[{index}].{e.field}") from None


def trace_carrier(context: grpc.ServicerContext) -> dict[str, str] | None:
    """The W3C trace context entries of the call's metadata, if the caller sent any."""
    carrier = None
    for key, value in context.invocation_metadata() or ():
        if key in ("traceparent", "tracestate"):
            carrier = carrier or {}
            carrier[key] = value
    return carrier


def build_server(
    decider: Decider, state: PolicyState, config: ServeConfig, authenticator: Authenticator | None = None
) -> tuple[grpc.Server, int]:
    """A bound, not yet started server on `config.grpc_addr` (SO_REUSEPORT, shared by workers).

    Every door on it decides through `decider`; `state` drives the health service. Every call but
    health checks is authenticated by `AuthInterceptor` (`authenticator`, by default the one `config`
    describes); with `tls_cert` the port speaks TLS (mutual with `tls_client_ca`).
    """
    setup = auth_plan(config)
    authenticator = authenticator or setup.authenticator()
    interceptor = AuthInterceptor(
        authenticator,
        mutual_tls=bool(setup.tls and setup.tls.mutual),
        anonymous_reflection=setup.loopback_only,
    )
    options: list[tuple[str, Any]] = [
        ("grpc.so_reuseport", 1),
        ("grpc.max_receive_message_length", config.max_body_bytes),
        ("grpc.max_send_message_length", max(config.max_body_bytes, 16 << 20)),
    ]
    server = grpc.server(
        HandlerPool(config.grpc_thread_count, "celgate-grpc"),
        options=options,
        interceptors=[interceptor],
    )
    add_decision_service(DecisionService(decider, config.max_batch), server)
    approvals = decider.stores.approvals
    desk = ApproverDesk(approvals, decider.log) if approvals is not None else None
    pb_grpc.add_ApprovalServiceServicer_to_server(ApprovalService(desk), server)
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)

    def on_ready(ready: bool) -> None:
        status = health_pb2.HealthCheckResponse.SERVING if ready else health_pb2.HealthCheckResponse.NOT_SERVING
        health_servicer.set("", status)
        health_servicer.set(SERVICE_NAME, status)

    state.on_ready_change(on_ready)
    envoy.register(server, decider, EnvoySettings.from_dict(config.envoy) if config.envoy else None)
    health_name = health_pb2.DESCRIPTOR.services_by_name["Health"].full_name
    reflection.enable_server_reflection(
        (SERVICE_NAME, APPROVAL_SERVICE, health_name, reflection.SERVICE_NAME, *envoy.SERVICE_NAMES), server
    )
    if setup.tls is not None:
        port = server.add_secure_port(config.grpc_addr, GrpcCertificates(setup.tls).credentials())
    else:
        port = server.add_insecure_port(config.grpc_addr)
    if port == 0:
        raise OSError(f"cannot bind the gRPC port {config.grpc_addr}")
    return server, port
