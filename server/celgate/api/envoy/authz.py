"""The ext_authz door: `envoy.service.auth.v3.Authorization/Check` on celgate's gRPC port.

Envoy forwards the request line, headers, verified JWT payload (metadata) and body; this door maps
them to one celgate request, decides it through the `Decider`, and answers OK (with `x-celgate-decision-id` for
the upstream and dynamic metadata for access logs) or a 403 in the client's own error format.
Everything it cannot read — no engine yet, a truncated, oversized, compressed or malformed body —
is denied: a policy point that lets through what it could not judge is not one.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import grpc
import orjson
from google.protobuf import struct_pb2

from celgate.api.decide import Decider
from celgate.api.envoy import errors, handoff, mapping
from celgate.api.envoy.door import (
    APPROVAL_HEADER,
    PARTIAL_BODY_HEADER,
    Denial,
    build_request,
    check_mcp_content_type,
    decide,
    read_body,
    session_of,
)
from celgate.api.envoy.principal import extract_principal
from celgate.api.envoy.settings import EnvoySettings
from celgate.envoywire.v3 import authz_pb2 as authz
from celgate.envoywire.v3 import core_pb2 as core

log = logging.getLogger("celgate.envoy")


class AuthorizationServicer:
    """Answers Envoy's Check; stateless, so any number of Envoys may share one celgate."""

    def __init__(self, decider: Decider, settings: EnvoySettings) -> None:
        self._decider = decider
        self._settings = settings

    def Check(self, request: authz.CheckRequest, context: grpc.ServicerContext) -> authz.CheckResponse:
        settings = self._settings
        attrs = request.attributes
        http = attrs.request.http
        # The proto map is read in place (a handful of lookups); copying it cost more than all of them.
        headers: Mapping[str, str] = http.headers if http.headers else _header_map(http)
        method = http.method
        path = http.path
        authority = http.host
        dialect = mapping.dialect_for(path, method)
        mapped: mapping.Mapped | None = None
        try:
            body = http.raw_body or (http.body.encode() if http.body else b"")
            body = read_body(headers, body, settings, partial=headers.get(PARTIAL_BODY_HEADER) == "true")
            try:
                mapped = mapping.map_request(method, path, authority, body)
            except mapping.BodyError as exc:
                raise Denial(400, "invalid_request", str(exc)) from None
            dialect = mapped.dialect
            check_mcp_content_type(mapped, headers)
            principal = extract_principal(
                attrs.metadata_context.filter_metadata, headers, attrs.source.principal, settings
            )
            request_id = headers.get("x-request-id", "")
            req = build_request(
                mapped,
                principal,
                method,
                path,
                authority,
                request_id,
                settings,
                headers.get(APPROVAL_HEADER, ""),
                session_of(headers, settings),
            )
            if req is None:
                return _ok(settings, None)
            decision = decide(self._decider, req, headers)
            if decision.effect != "allow":
                raise Denial.of(decision)
        except Denial as d:
            answer_as = _answer_as(dialect, headers)
            return _denied(settings, answer_as, d.status, d.code, d.message, decision=d.decision, mapped=mapped)
        except Exception:
            log.exception("ext_authz: internal error; denying")
            return _denied(
                settings, _answer_as(dialect, headers), 403, "unavailable", "celgate could not check this request"
            )
        if decision.rewritten:
            return _ok(settings, decision)
        return _ok(settings, decision, handoff.mac(settings, method, path, request_id, decision.decision_id, body))


def _answer_as(dialect: str, headers: Mapping[str, str]) -> str:
    """The error format for a route celgate does not map: Anthropic's SDKs always say who they are."""
    if dialect == mapping.OTHER and "anthropic-version" in headers:
        return mapping.ANTHROPIC
    return dialect


def _header_map(http: Any) -> dict[str, str]:
    """Envoy sends `header_map` instead of `headers` when `encode_raw_headers` is on."""
    return {
        h.key: (h.raw_value.decode("utf-8", "replace") if h.raw_value else h.value) for h in http.header_map.headers
    }


def _metadata(settings: EnvoySettings, decision: Any, effect: str, code: str = "") -> struct_pb2.Struct:
    # Field by field: Struct.update() walks each value in Python and cost several times as much.
    md = struct_pb2.Struct()
    f = md.fields
    f["effect"].string_value = effect
    if decision is not None:
        f["decision_id"].string_value = decision.decision_id
        f["policy_revision"].string_value = decision.policy_revision
        f["rules"].string_value = ",".join(r.key for r in decision.reasons)
    if code:
        f["code"].string_value = code
    return md


def _header(
    key: str, value: str, action: int = core.HeaderValueOption.OVERWRITE_IF_EXISTS_OR_ADD
) -> core.HeaderValueOption:
    # ext_authz reads `value` (raw_value arrives empty in Envoy 1.40).
    return core.HeaderValueOption(header=core.HeaderValue(key=key, value=value), append_action=action)


_OK_STATUS = core.Status(code=grpc.StatusCode.OK.value[0])


def _ok(settings: EnvoySettings, decision: Any, token: str = "") -> authz.CheckResponse:
    ok = authz.OkHttpResponse()
    if decision is not None:
        ok.headers.append(_header(settings.decision_header, decision.decision_id))
        # The client learns it too, unless a later decision (ext_proc judging the reply) produced
        # what it gets: that one has set the header already.
        ok.response_headers_to_add.append(
            _header(settings.decision_header, decision.decision_id, core.HeaderValueOption.ADD_IF_ABSENT)
        )
    if token:
        ok.headers.append(_header(handoff.HEADER, token))
    else:
        ok.headers_to_remove.append(handoff.HEADER)  # only ext_authz issues it; never trust a client's
    return authz.CheckResponse(
        status=_OK_STATUS,
        ok_response=ok,
        dynamic_metadata=_metadata(settings, decision, "allow" if decision is not None else "unchecked"),
    )


def _denied(
    settings: EnvoySettings,
    dialect: str,
    status: int,
    code: str,
    message: str,
    *,
    decision: Any = None,
    mapped: mapping.Mapped | None = None,
) -> authz.CheckResponse:
    """The answer for a refused request; it carries the id of the decision that refused it, or a
    door id (logged with the reason) when the door refused it without asking the engine."""
    decision_id = decision.decision_id if decision is not None else errors.door_decision_id(code, message)
    approval_id = decision.approval_id if decision is not None else ""
    rpc_id = mapped.rpc_id if mapped is not None else None
    if (
        mapped is not None
        and mapped.rpc_method == "tools/call"
        and settings.mcp_denials == "tool_result"
        and code != "invalid_request"
    ):
        # A denied tool call is an ordinary (error) result for the agent loop, not a transport failure.
        status = 200
        body = orjson.dumps(
            errors.mcp_denial(rpc_id, code=code, message=message, decision_id=decision_id, approval_id=approval_id)
        )
    else:
        body = errors.error_body(
            dialect, code=code, message=message, decision_id=decision_id, approval_id=approval_id, rpc_id=rpc_id
        )
    denied = authz.DeniedHttpResponse(status=core.HttpStatus(code=status), body=body.decode())
    denied.headers.append(_header("content-type", "application/json"))
    denied.headers.append(_header(settings.decision_header, decision_id))
    if status >= 500:
        denied.headers.append(_header("x-should-retry", "false"))
    if approval_id:
        denied.headers.append(_header(APPROVAL_HEADER, approval_id))
    return authz.CheckResponse(
        status=core.Status(code=grpc.StatusCode.PERMISSION_DENIED.value[0], message=message),
        denied_response=denied,
        dynamic_metadata=_metadata(settings, decision, decision.effect if decision is not None else "deny", code),
    )
