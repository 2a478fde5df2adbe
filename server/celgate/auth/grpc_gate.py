"""Authentication on the gRPC port: one server interceptor in front of every service.

Each call's `authorization` metadata (`Bearer <API key or JWT>`) and, with mutual TLS, the verified
client certificate become the call's `Caller` (`auth.context.current_caller()` in the servicer), or
the call ends UNAUTHENTICATED before any servicer code runs. Health checks stay open (probes carry
no credentials). Reflection describes every service and message: anonymous callers get it only
where anonymous callers are the loopback-only default, never beyond it.

Wrapped handlers are built once per method, so a call costs the credential look-up (cached in the
`Authenticator`) and two attribute reads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc

from celgate.auth.authenticator import Authenticator
from celgate.auth.caller import Caller
from celgate.auth.context import set_caller
from celgate.auth.errors import Unauthenticated
from celgate.auth.tls import grpc_peer_names

OPEN_PREFIXES = ("/grpc.health.v1.Health/",)
REFLECTION_PREFIXES = ("/grpc.reflection.v1alpha.ServerReflection/", "/grpc.reflection.v1.ServerReflection/")


class AuthInterceptor(grpc.ServerInterceptor):
    def __init__(self, authenticator: Authenticator, *, mutual_tls: bool, anonymous_reflection: bool) -> None:
        self.authenticator = authenticator
        self.mutual_tls = mutual_tls
        self.anonymous_reflection = anonymous_reflection
        self._wrapped: dict[str, Any] = {}

    def intercept_service(self, continuation: Callable[[Any], Any], details: grpc.HandlerCallDetails) -> Any:
        method: str = details.method  # type: ignore[attr-defined]
        wrapped = self._wrapped.get(method)
        if wrapped is not None:
            return wrapped
        handler = continuation(details)
        if handler is None or method.startswith(OPEN_PREFIXES):
            return handler
        wrapped = self._wrap(handler, method.startswith(REFLECTION_PREFIXES))
        self._wrapped[method] = wrapped
        return wrapped

    def caller(self, context: grpc.ServicerContext, reflection: bool = False) -> Caller:
        authorization = None
        for key, value in context.invocation_metadata():
            if key == "authorization":
                authorization = value if isinstance(value, str) else value.decode("latin-1")
                break
        peer = grpc_peer_names(context.auth_context()) if self.mutual_tls else None
        try:
            caller = self.authenticator.authenticate(authorization, peer)
        except Unauthenticated as e:
            context.abort(grpc.StatusCode.UNAUTHENTICATED, e.message)
        if reflection and caller.anonymous and not self.anonymous_reflection:
            context.abort(grpc.StatusCode.PERMISSION_DENIED, "reflection is served to authenticated callers only")
        set_caller(caller)
        return caller

    def _wrap(self, handler: Any, reflection: bool) -> Any:
        if handler.request_streaming and handler.response_streaming:
            inner, factory = handler.stream_stream, grpc.stream_stream_rpc_method_handler
        elif handler.request_streaming:
            inner, factory = handler.stream_unary, grpc.stream_unary_rpc_method_handler
        elif handler.response_streaming:
            inner, factory = handler.unary_stream, grpc.unary_stream_rpc_method_handler
        else:
            inner, factory = handler.unary_unary, grpc.unary_unary_rpc_method_handler
        authenticate = self.caller

        def behavior(request_or_iterator: Any, context: grpc.ServicerContext) -> Any:
            authenticate(context, reflection)
            return inner(request_or_iterator, context)

        return factory(
            behavior,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
