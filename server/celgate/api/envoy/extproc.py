"""The ext_proc door: request and response bodies checked and rewritten per the decision.

One gRPC stream per proxied HTTP request. Request body (action `prompt`, or `tool_call` for MCP):
PII masked before the model sees it. Response body (action `response`): masked before the user
sees it; buffered JSON completions are rewritten in place, SSE streams go through `sse.SseRedactor`.

Round trips are cut where a route does not need them: routes that are neither an LLM API nor
JSON-RPC skip everything after the request headers; error replies and non-LLM responses skip their
body; a body with nothing to rewrite is answered with an empty CONTINUE (bytes untouched, since
re-serialising JSON changes its length). Streams that begin with response headers (Envoy's own local
replies, e.g. an ext_authz 403) have no request phase and pass through untouched.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import grpc
import orjson

from celgate.api.decide import Decider
from celgate.api.envoy import encoding, errors, handoff, mapping, mcp_headers
from celgate.api.envoy.door import (
    APPROVAL_HEADER,
    Denial,
    build_request,
    decide,
    is_json,
    listing_request,
    read_body,
    session_of,
)
from celgate.api.envoy.mcp_stream import McpSseJudge
from celgate.api.envoy.principal import extract_principal
from celgate.api.envoy.settings import EnvoySettings
from celgate.api.envoy.sse import SseRedactor, StreamRefused
from celgate.engine import Decision
from celgate.envoywire.v3 import core_pb2 as core
from celgate.envoywire.v3 import ext_proc_pb2 as ep

log = logging.getLogger("celgate.envoy")

_CONTINUE = ep.CommonResponse()
_SKIP_ALL = ep.ProcessingMode(
    request_body_mode=ep.ProcessingMode.NONE,
    response_header_mode=ep.ProcessingMode.SKIP,
    response_body_mode=ep.ProcessingMode.NONE,
)
_SKIP_RESPONSE_BODY = ep.ProcessingMode(response_body_mode=ep.ProcessingMode.NONE)
# The policies have nothing to say about replies: take the request body, skip both response phases.
_REQUEST_BODY_ONLY = ep.ProcessingMode(
    request_body_mode=ep.ProcessingMode.BUFFERED,
    response_header_mode=ep.ProcessingMode.SKIP,
    response_body_mode=ep.ProcessingMode.NONE,
)
_STREAM_RESPONSE_BODY = ep.ProcessingMode(response_body_mode=ep.ProcessingMode.STREAMED)
_LLM = (mapping.OPENAI, mapping.OPENAI_RESPONSES, mapping.ANTHROPIC)
# What an MCP server's answers are judged as: tools/call results, and tools/list results (the tools
# offered to the agent, judged as a `prompt` carrying them).
_MCP_REPLIES = ("tool_result", "prompt")
_COULD_NOT_CHECK = Denial(403, "unavailable", "celgate could not check this request; denying")


def _headers(h: ep.HttpHeaders) -> dict[str, str]:
    # ext_proc sends raw_value (bytes); value stays empty.
    return {x.key: (x.raw_value.decode("utf-8", "replace") if x.raw_value else x.value) for x in h.headers.headers}


def _set(key: str, value: str) -> core.HeaderValueOption:
    return core.HeaderValueOption(
        header=core.HeaderValue(key=key, raw_value=value.encode()),
        append_action=core.HeaderValueOption.OVERWRITE_IF_EXISTS_OR_ADD,
    )


def _replace_body(body: bytes) -> ep.CommonResponse:
    """A new buffered body; its content-length must match or Envoy rejects the mutation."""
    return ep.CommonResponse(
        status=ep.CommonResponse.CONTINUE,
        header_mutation=ep.HeaderMutation(set_headers=[_set("content-length", str(len(body)))]),
        body_mutation=ep.BodyMutation(body=body),
    )


class _Stream:
    """What one HTTP request's phases share: who, which format, what was asked."""

    def __init__(self) -> None:
        self.dialect: str | None = None
        self.method = ""
        self.path = ""
        self.authority = ""
        self.headers: dict[str, str] = {}
        self.principal: dict[str, Any] = {}
        self.request: dict[str, Any] | None = None
        self.decision_id = ""
        self.rpc_id: Any = None
        self.rpc_method: str | None = None
        self.stream = False
        self.sse: SseRedactor | None = None
        self.mcp_sse: McpSseJudge | None = None
        self.encoding = ""  # content-encoding of a buffered reply, inflated before judging
        self.handoff = ""  # ext_authz's x-celgate-checked, if it sent one


class ExternalProcessorServicer:
    def __init__(self, decider: Decider, settings: EnvoySettings) -> None:
        self._decider = decider
        self._settings = settings

    def Process(
        self, request_iterator: Iterator[ep.ProcessingRequest], context: grpc.ServicerContext
    ) -> Iterator[ep.ProcessingResponse]:
        state = _Stream()
        for msg in request_iterator:
            kind = msg.WhichOneof("request")
            try:
                if kind == "request_headers":
                    yield self._request_headers(state, msg)
                elif kind == "request_body":
                    yield self._request_body(state, msg.request_body)
                elif kind == "response_headers":
                    yield self._response_headers(state, msg.response_headers)
                elif kind == "response_body":
                    yield self._response_body(state, msg.response_body)
                elif kind == "request_trailers":
                    yield ep.ProcessingResponse(request_trailers=ep.TrailersResponse())
                elif kind == "response_trailers":
                    yield ep.ProcessingResponse(response_trailers=ep.TrailersResponse())
            except Denial as d:
                yield self._immediate(state, d)
                return
            except Exception:
                log.exception("ext_proc: internal error; denying")
                yield self._immediate(state, _COULD_NOT_CHECK)
                return

    # ---- phases ---------------------------------------------------------------------------------

    def _request_headers(self, state: _Stream, msg: ep.ProcessingRequest) -> ep.ProcessingResponse:
        h = _headers(msg.request_headers)
        state.headers = h
        state.method = h.get(":method", "")
        state.path = h.get(":path", "")
        state.authority = h.get(":authority", "")
        state.decision_id = h.get(self._settings.decision_header, "")
        state.handoff = h.get(handoff.HEADER, "")
        state.dialect = mapping.dialect_for(state.path, state.method)
        state.principal = extract_principal(msg.metadata_context.filter_metadata, h, _peer(msg), self._settings)
        resp = ep.ProcessingResponse(request_headers=ep.HeadersResponse(response=_CONTINUE))
        if state.handoff:  # for celgate only; the upstream has no use for it
            resp.request_headers.response.header_mutation.remove_headers.append(handoff.HEADER)
        if state.dialect == mapping.OTHER and not (state.method == "POST" and is_json(h)):
            resp.mode_override.CopyFrom(_SKIP_ALL)
        elif not any(self._decider.judges(a) for a in (("response",) if state.dialect in _LLM else _MCP_REPLIES)):
            resp.mode_override.CopyFrom(_REQUEST_BODY_ONLY)
        return resp

    def _request_body(self, state: _Stream, body: ep.HttpBody) -> ep.ProcessingResponse:
        raw = read_body(state.headers, body.body, self._settings)
        try:
            mapped = mapping.map_request(state.method, state.path, state.authority, raw)
        except mapping.BodyError as exc:
            raise Denial(400, "invalid_request", str(exc)) from None
        state.dialect, state.rpc_id, state.stream = mapped.dialect, mapped.rpc_id, mapped.stream
        state.rpc_method = mapped.rpc_method
        if mapped.request is None and mapped.dialect == mapping.MCP and mapped.rpc_method == mapping.TOOLS_LIST:
            # Nothing to judge on the way out; the tools in the server's answer are judged on the way back.
            state.request = listing_request(
                state.principal,
                state.method,
                state.path,
                state.authority,
                state.headers.get("x-request-id", ""),
                state.headers.get(APPROVAL_HEADER, ""),
                session_of(state.headers, self._settings),
            )
            return ep.ProcessingResponse(request_body=ep.BodyResponse(response=_CONTINUE))
        if mapped.request is None:
            state.dialect = None  # nothing to judge on the way back either
            return ep.ProcessingResponse(request_body=ep.BodyResponse(response=_CONTINUE))
        req = build_request(
            mapped,
            state.principal,
            state.method,
            state.path,
            state.authority,
            state.headers.get("x-request-id", ""),
            self._settings,
            state.headers.get(APPROVAL_HEADER, ""),
            session_of(state.headers, self._settings),
        )
        assert req is not None
        state.request = req
        request_id = state.headers.get("x-request-id", "")
        if handoff.verify(
            self._settings, state.handoff, state.method, state.path, request_id, state.decision_id, body.body
        ):
            # ext_authz allowed exactly this body with nothing to rewrite: deciding again would only
            # repeat that answer (and charge quotas twice). The request is kept for the reply's check.
            return ep.ProcessingResponse(request_body=ep.BodyResponse(response=_CONTINUE))
        decision = self._check(req, state.headers)
        state.decision_id = decision.decision_id
        if not decision.rewritten:
            return ep.ProcessingResponse(request_body=ep.BodyResponse(response=_CONTINUE))
        originals = _string_args(mapped, decision) if mapped.dialect == mapping.MCP else {}
        new = mapping.apply_rewrites(mapped, decision.rewritten)
        if new is None:
            raise Denial(403, "policy_denied", "a redaction could not be applied to the request body; denying")
        common = _replace_body(new)
        if originals:
            # The call's Mcp-Param-* headers mirror its arguments: masked with them, never raw upstream.
            to_set, to_remove = mcp_headers.mutation(
                state.headers,
                {originals[f]: decision.rewritten[f] for f in originals},
                [originals[r.field][r.start : r.end] for r in decision.redactions if r.field in originals],
            )
            common.header_mutation.set_headers.extend(_set(k, v) for k, v in to_set.items())
            common.header_mutation.remove_headers.extend(to_remove)
        # The response check sees the prompt as the model saw it.
        if "messages" in req:
            req["messages"] = [
                {**m, "content": decision.rewritten.get(f"messages[{i}].content", m["content"])}
                for i, m in enumerate(req["messages"])
            ]
        return ep.ProcessingResponse(request_body=ep.BodyResponse(response=common))

    def _response_headers(self, state: _Stream, h: ep.HttpHeaders) -> ep.ProcessingResponse:
        resp = ep.ProcessingResponse(response_headers=ep.HeadersResponse(response=_CONTINUE))
        headers = _headers(h)
        status = headers.get(":status", "")
        ok = status.startswith("2") and not h.end_of_stream
        if state.dialect == mapping.MCP and state.request is not None and ok:
            # A tools/call result, judged as `tool_result`, or a tools/list result, judged as the
            # `prompt` offering its tools: one JSON body, or one event of an SSE stream.
            ctype = headers.get("content-type", "")
            if not self._decider.judges(state.request["action"] if self._listing(state) else "tool_result"):
                resp.mode_override.CopyFrom(_SKIP_RESPONSE_BODY)
            elif "text/event-stream" in ctype:
                if encoding.encoding_of(headers):
                    raise Denial(502, "unavailable", "compressed MCP answer streams cannot be checked")
                state.mcp_sse = McpSseJudge(
                    state.rpc_id, lambda doc: self._judge_mcp(state, doc)[0], self._settings.max_body_bytes
                )
                resp.mode_override.CopyFrom(_STREAM_RESPONSE_BODY)
                resp.response_headers.response.header_mutation.remove_headers.append("content-length")
            elif "json" not in ctype:
                raise Denial(502, "invalid_request", f"an MCP answer of type {ctype or 'unknown'} cannot be checked")
            else:
                state.encoding = self._buffered_encoding(headers)
            return resp
        if state.request is None or state.dialect not in _LLM or not ok:
            # Local replies (no request phase), errors, other traffic: nothing to judge in the body.
            resp.mode_override.CopyFrom(_SKIP_RESPONSE_BODY)
            return resp
        if "text/event-stream" in headers.get("content-type", ""):
            if encoding.encoding_of(headers):
                raise Denial(502, "unavailable", "compressed completion streams cannot be checked")
            try:
                state.sse = SseRedactor(
                    state.dialect,
                    lambda text: decide(self._decider, self._response_request(state, text), state.headers),
                    self._settings.stream_holdback_chars,
                    self._settings.max_stream_chars,
                    lambda err: self._error_event(state, err),
                )
            except StreamRefused as exc:
                raise Denial(502, "invalid_request", str(exc)) from None
            resp.mode_override.CopyFrom(_STREAM_RESPONSE_BODY)
            resp.response_headers.response.header_mutation.remove_headers.append("content-length")
        else:
            state.encoding = self._buffered_encoding(headers)
        return resp

    def _buffered_encoding(self, headers: dict[str, str]) -> str:
        enc = encoding.encoding_of(headers)
        if enc and enc not in encoding.SUPPORTED:
            raise Denial(502, "unavailable", f"{enc}-compressed replies cannot be checked; upstream must not compress")
        return enc

    def _plain(self, state: _Stream, body: bytes) -> bytes:
        """The reply body as sent by the upstream, inflated when it was compressed (bounded)."""
        if not state.encoding or not body:
            return body
        try:
            return encoding.decompress(body, state.encoding, self._settings.max_body_bytes)
        except encoding.Undecodable as exc:
            raise Denial(502, "unavailable", f"the compressed reply cannot be checked: {exc}") from None

    def _reply(self, state: _Stream, new_body: bytes | None, decision_id: str) -> ep.ProcessingResponse:
        """The judged reply: rewritten or not, inflated if it came compressed, with its decision's id."""
        if new_body is None and not state.encoding:
            common = ep.CommonResponse()
        else:
            common = _replace_body(new_body if new_body is not None else b"")
            if state.encoding:
                common.header_mutation.remove_headers.append("content-encoding")
        if decision_id:
            common.header_mutation.set_headers.append(_set(self._settings.decision_header, decision_id))
        return ep.ProcessingResponse(response_body=ep.BodyResponse(response=common))

    def _response_body(self, state: _Stream, body: ep.HttpBody) -> ep.ProcessingResponse:
        if state.mcp_sse is not None:
            try:
                out = state.mcp_sse.feed(body.body, body.end_of_stream)
            except ValueError as exc:
                raise Denial(502, "invalid_request", f"the MCP answer cannot be checked: {exc}") from None
            if body.end_of_stream and not state.mcp_sse.answered:
                # The stream ended without the call's answer: the client gets a denial rather than silence.
                out += (
                    b"event: message\ndata: "
                    + orjson.dumps(
                        self._mcp_denial(
                            state,
                            "invalid_request",
                            "the server's answer ended without a result celgate could check",
                            None,
                        )
                    )
                    + b"\n\n"
                )
            if out == body.body:
                return ep.ProcessingResponse(response_body=ep.BodyResponse(response=_CONTINUE))
            common = ep.CommonResponse(body_mutation=ep.BodyMutation(body=out))
            return ep.ProcessingResponse(response_body=ep.BodyResponse(response=common))
        if state.sse is not None:
            try:
                out = state.sse.feed(body.body, body.end_of_stream)
            except StreamRefused as exc:
                out = self._error_event(state, {"code": "invalid_request", "message": str(exc)})
                state.sse.closed = True
            if out == body.body:
                return ep.ProcessingResponse(response_body=ep.BodyResponse(response=_CONTINUE))
            common = ep.CommonResponse(body_mutation=ep.BodyMutation(body=out))
            return ep.ProcessingResponse(response_body=ep.BodyResponse(response=common))
        if state.request is not None and state.dialect == mapping.MCP:
            return self._tool_result(state, body)
        if state.request is None or state.dialect not in _LLM:
            return ep.ProcessingResponse(response_body=ep.BodyResponse(response=_CONTINUE))
        raw = self._plain(state, body.body)
        doc = mapping.parse_json(raw) if raw else None
        if doc is None:
            return ep.ProcessingResponse(response_body=ep.BodyResponse(response=_CONTINUE))
        changed = False
        decision = None
        for part in mapping.map_response(state.dialect, doc):
            decision = self._check(self._response_request(state, part.response), state.headers)
            text = decision.rewritten.get("response.content")
            if text is not None:
                if not mapping.write_response(doc, part, text):
                    raise Denial(
                        502, "policy_denied", "a redaction could not be applied to the completion; withheld", decision
                    )
                changed = True
        # The reply the client gets was produced by this decision: its id replaces the prompt's.
        new = orjson.dumps(doc) if changed else (raw if state.encoding else None)
        return self._reply(state, new, decision.decision_id if decision is not None else "")

    def _tool_result(self, state: _Stream, body: ep.HttpBody) -> ep.ProcessingResponse:
        """An MCP answer in one JSON body (a tools/call or tools/list result): judged, and masked or
        replaced by a denial."""
        raw = self._plain(state, body.body)
        try:
            doc = mapping.parse_json(raw) if raw else None
        except mapping.BodyError:
            what = "tool list" if self._listing(state) else "tool result"
            raise Denial(502, "invalid_request", f"the {what} is not valid JSON; withheld") from None
        try:
            out, decision = self._judge_mcp(state, doc)
        except mapping.BodyError as exc:
            raise Denial(502, "invalid_request", f"the tool list cannot be checked: {exc}; withheld") from None
        if decision is None:
            return self._reply(state, raw if state.encoding else None, "")
        if out is not doc and out.get("error") and (self._listing(state) or self._settings.mcp_denials == "error"):
            # A JSON-RPC error, as the 403 the SDKs already read as one.
            raise Denial(403, out["error"]["data"]["code"], out["error"]["message"], decision)
        changed = out is not doc or bool(decision.rewritten)
        new = orjson.dumps(out) if changed else (raw if state.encoding else None)
        return self._reply(state, new, decision.decision_id)

    @staticmethod
    def _listing(state: _Stream) -> bool:
        return state.rpc_method == mapping.TOOLS_LIST

    def _judge_mcp(self, state: _Stream, doc: Any) -> tuple[Any, Any]:
        return self._judge_tool_list(state, doc) if self._listing(state) else self._judge_tool_result(state, doc)

    def _judge_tool_list(self, state: _Stream, doc: Any) -> tuple[Any, Any]:
        """(what the client gets, the decision) for a tools/list answer: the offered tools judged
        together as one `prompt`; a denial replaces the whole list with a JSON-RPC error (see
        docs/envoy.md for why not drop the offending tools). Errors pass as they are, undecided."""
        assert state.request is not None
        tools = mapping.map_tool_list(doc, state.authority)
        if tools is None:
            return doc, None
        decision = decide(self._decider, {**state.request, "tools": tools}, state.headers)
        if decision.effect != "allow":
            d = Denial.of(decision)
            return self._mcp_denial(state, d.code, d.message, decision), decision
        return doc, decision

    def _judge_tool_result(self, state: _Stream, doc: Any) -> tuple[Any, Any]:
        """(what the client gets, the decision) for a tools/call answer; JSON-RPC errors and bodies
        that are not a tool's result pass as they are, with no decision."""
        assert state.request is not None
        part = mapping.map_tool_result(doc)
        if part is None:
            return doc, None
        req = {k: v for k, v in state.request.items() if k not in ("action", "approval_id")}
        req["action"] = "tool_result"
        req["tool"] = {**state.request["tool"], "result": part.text}
        decision = decide(self._decider, req, state.headers)
        if decision.effect != "allow":
            d = Denial.of(decision)
            return self._mcp_denial(state, d.code, d.message, decision), decision
        text = decision.rewritten.get("tool.result")
        if text is None:
            return doc, decision
        spans = [(r.start, r.end) for r in decision.redactions if r.field == "tool.result"]
        subs = mapping.replacements(part.text, text, spans)
        if subs is None or not mapping.write_tool_result(doc, part, subs):
            message = "a redaction could not be applied to the tool result; withheld"
            return self._mcp_denial(state, "policy_denied", message, decision), decision
        return doc, decision

    def _mcp_denial(self, state: _Stream, code: str, message: str, decision: Any) -> dict[str, Any]:
        decision_id = decision.decision_id if decision is not None else errors.door_decision_id(code, message)
        return errors.mcp_denial(
            state.rpc_id,
            code=code,
            message=message,
            decision_id=decision_id,
            approval_id=decision.approval_id if decision is not None else "",
            as_result=state.rpc_method == "tools/call" and self._settings.mcp_denials == "tool_result",
        )

    # ---- helpers --------------------------------------------------------------------------------

    def _response_request(self, state: _Stream, response: dict[str, Any] | str) -> dict[str, Any]:
        assert state.request is not None
        req = {k: v for k, v in state.request.items() if k not in ("tools", "action", "approval_id")}
        req["action"] = "response"
        req["response"] = {"role": "assistant", "content": response} if isinstance(response, str) else response
        return req

    def _check(self, req: dict[str, Any], headers: dict[str, str]) -> Decision:
        """An allowing decision for `req`, through the one road; a Denial otherwise."""
        decision = decide(self._decider, req, headers)
        if decision.effect != "allow":
            raise Denial.of(decision)
        return decision

    def _error_event(self, state: _Stream, err: dict[str, Any]) -> bytes:
        code = err.get("code", "policy_denied")
        message = err.get("message", "denied by policy")
        body = errors.error_body(
            state.dialect or mapping.OTHER,
            code=code,
            message=message,
            decision_id=err.get("decision_id") or errors.door_decision_id(code, message),
        )
        if state.dialect == mapping.ANTHROPIC:
            return b"event: error\ndata: " + body + b"\n\n"
        if state.dialect == mapping.OPENAI_RESPONSES:
            # The Responses `error` event; the SDKs raise on its `error` object like on chat's.
            doc = orjson.loads(body)
            doc.update(type="error", code=code, message=message)
            return b"event: error\ndata: " + orjson.dumps(doc) + b"\n\n"
        return b"data: " + body + b"\n\ndata: [DONE]\n\n"

    def _immediate(self, state: _Stream, denial: Denial) -> ep.ProcessingResponse:
        """The answer for a denial: it carries the id of the decision that made it (not the earlier
        allow's), or a door id when no decision did; celgate's own 5xx say not to retry, since the
        model may already have been called (and billed) for the reply that was withheld."""
        status, code, message, decision = denial.status, denial.code, denial.message, denial.decision
        decision_id = decision.decision_id if decision is not None else errors.door_decision_id(code, message)
        approval_id = decision.approval_id if decision is not None else ""
        as_result = self._settings.mcp_denials == "tool_result" and code != "invalid_request"
        if state.rpc_method == "tools/call" and as_result:
            status = 200  # an ordinary (error) result for the agent loop, not a transport failure
            body = orjson.dumps(
                errors.mcp_denial(
                    state.rpc_id, code=code, message=message, decision_id=decision_id, approval_id=approval_id
                )
            )
        else:
            body = errors.error_body(
                state.dialect or mapping.OTHER,
                code=code,
                message=message,
                decision_id=decision_id,
                approval_id=approval_id,
                rpc_id=state.rpc_id,
            )
        headers = ep.HeaderMutation(set_headers=[_set("content-type", "application/json")])
        headers.set_headers.append(_set(self._settings.decision_header, decision_id))
        if approval_id:
            headers.set_headers.append(_set("x-celgate-approval-id", approval_id))
        if status >= 500:
            headers.set_headers.append(_set("x-should-retry", "false"))
        return ep.ProcessingResponse(
            immediate_response=ep.ImmediateResponse(
                status=core.HttpStatus(code=status), headers=headers, body=body, details=code
            )
        )


def _string_args(mapped: mapping.Mapped, decision: Decision) -> dict[str, str]:
    """The original values of a tools/call's rewritten string arguments, by field (`tool.args.x`)."""
    out = {}
    for field in decision.rewritten:
        where = mapping.tool_arg_path(field)
        value = mapping.get_path(mapped.body, where) if where is not None else None
        if isinstance(value, str):
            out[field] = value
    return out


def _peer(msg: ep.ProcessingRequest) -> str:
    """The mTLS peer, when the filter forwards `source.principal` in `request_attributes`."""
    attrs = msg.attributes.get("envoy.filters.http.ext_proc")
    if attrs is not None and "source.principal" in attrs.fields:
        return attrs.fields["source.principal"].string_value
    return ""
