"""`Mcp-Param-*` headers follow a masked tools/call argument: rewritten with it, or removed when they
would still carry a redacted stretch. The official `mcp` package's encoder/decoder is the oracle for
the header encoding (it is a dev dependency; celgate does not import it)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from mcp.shared.inbound import decode_header_value, encode_header_value

import celgate
from celgate.api.decide import Decider
from celgate.api.envoy import mcp_headers
from celgate.api.envoy.extproc import ExternalProcessorServicer
from celgate.api.envoy.settings import EnvoySettings
from celgate.auth.caller import ANONYMOUS
from celgate.auth.context import set_caller
from celgate.envoywire.v3 import ext_proc_pb2 as ep

CARD = "4111 1111 1111 1111"


@pytest.mark.parametrize("value", ["plain", " edge space", "naïve", "=?base64?eA==?=", "tab\there", "", CARD])
def test_encoding_matches_the_mcp_sdk(value: str) -> None:
    assert mcp_headers.encode(value) == encode_header_value(value)
    assert mcp_headers.decode(encode_header_value(value)) == value == decode_header_value(encode_header_value(value))
    assert mcp_headers.decode("=?base64?not base64?=") is None


def test_mutation_rewrites_exact_mirrors_and_removes_leaky_ones() -> None:
    headers = {
        "mcp-param-card": CARD,
        "mcp-param-note": mcp_headers.encode(f"  card {CARD} "),  # contains it, sentinel-encoded
        "mcp-param-region": "eu",
        "mcp-name": "lookup",
        "content-type": "application/json",
    }
    to_set, to_remove = mcp_headers.mutation(headers, {CARD: "[credit_card]"}, [CARD])
    assert to_set == {"mcp-param-card": "[credit_card]"}
    assert to_remove == ["mcp-param-note"]


def test_non_ascii_rewritten_value_is_sentinel_encoded() -> None:
    to_set, _ = mcp_headers.mutation({"Mcp-Param-Who": "bob@acme.example"}, {"bob@acme.example": "[émail]"}, [])
    assert decode_header_value(to_set["Mcp-Param-Who"]) == "[émail]"


@pytest.fixture(scope="module")
def servicer(tmp_path_factory: pytest.TempPathFactory) -> ExternalProcessorServicer:
    repo: Path = tmp_path_factory.mktemp("mask")
    (repo / "celgate.yaml").write_text(
        "apiVersion: celgate/v1\nkind: Config\n"
        "defaults: {prompt: allow, response: allow, tool_call: allow, tool_result: allow, retrieval: allow}\n"
    )
    (repo / "mask.yaml").write_text(
        "apiVersion: celgate/v1\nkind: Policy\nname: mask\nactions: [tool_call]\n"
        "rules:\n  - name: cards\n    redact: {detectors: [pii.credit_card]}\n"
    )
    return ExternalProcessorServicer(Decider(celgate.load(repo)), EnvoySettings(principal_header="x-p"))


def _call(servicer: ExternalProcessorServicer, args: dict[str, Any], extra: dict[str, str]) -> ep.CommonResponse:
    h = ep.HttpHeaders()
    for k, v in {":method": "POST", ":path": "/mcp", ":authority": "tools", "content-type": "application/json"}.items():
        h.headers.headers.add(key=k, raw_value=v.encode())
    for k, v in extra.items():
        h.headers.headers.add(key=k, raw_value=v.encode())
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "t", "arguments": args}})
    msgs = [
        ep.ProcessingRequest(request_headers=h),
        ep.ProcessingRequest(request_body=ep.HttpBody(body=body.encode(), end_of_stream=True)),
    ]
    set_caller(ANONYMOUS)
    try:
        out = list(servicer.Process(iter(msgs), None))  # type: ignore[arg-type]
    finally:
        set_caller(None)
    return out[-1].request_body.response


def test_ext_proc_masks_the_mirroring_header_with_the_argument(servicer: ExternalProcessorServicer) -> None:
    reply = _call(
        servicer,
        {"card": CARD, "note": f"pay with {CARD} today", "region": "eu"},
        {"mcp-param-card": CARD, "mcp-param-region": "eu", "mcp-param-stale": f"x{CARD}"},
    )
    body = json.loads(reply.body_mutation.body)
    assert body["params"]["arguments"]["card"] == "[credit_card]"
    sets = {h.header.key: h.header.raw_value.decode() for h in reply.header_mutation.set_headers}
    assert sets["mcp-param-card"] == "[credit_card]"
    assert "mcp-param-region" not in sets
    assert list(reply.header_mutation.remove_headers) == ["mcp-param-stale"]


def test_ext_proc_leaves_headers_alone_when_nothing_is_masked(servicer: ExternalProcessorServicer) -> None:
    reply = _call(servicer, {"card": "none"}, {"mcp-param-card": "none"})
    assert not reply.HasField("header_mutation") and not reply.HasField("body_mutation")
