"""The decision log under load: a stuck sink never holds decisions up; what cannot be logged is counted.

celgate logs to stdout (the default), and stdout is a pipe nobody reads: after its 64 KiB buffer
the writer thread blocks for good, the small queue fills, and every further entry is dropped and
counted in `celgate_decision_log_dropped_total`, while both doors keep answering.
"""

from __future__ import annotations

import re
from pathlib import Path

import grpc
import httpx
import pytest
from google.protobuf import json_format

from celgate.v1 import decision_pb2 as pb
from celgate.v1 import decision_pb2_grpc as pb_grpc

pytestmark = pytest.mark.e2e

SHELL_USER = {"action": "tool_call", "principal": {"id": "u1", "roles": ["user"]}, "tool": {"name": "shell"}}
SEARCH = {"action": "tool_call", "principal": {"id": "u2"}, "tool": {"name": "search"}}
BATCH = 1000  # the default --max-batch
ROUNDS = 5  # 2 x 5 x 1000 entries of about 300 bytes: some 3 MB against a 64 KiB pipe and a 20-entry queue


def dropped(client: httpx.Client) -> float:
    text = client.get("/metrics").text
    match = re.search(r"^celgate_decision_log_dropped_total ([0-9.e+]+)$", text, re.MULTILINE)
    assert match, text
    return float(match.group(1))


def flood(client: httpx.Client, stub: pb_grpc.DecisionServiceStub) -> None:
    """BATCH decisions over HTTP and BATCH over gRPC, every one answered with the right effect."""
    requests = [SHELL_USER if i % 2 else SEARCH for i in range(BATCH)]
    r = client.post("/v1/check/batch", json={"requests": requests})
    assert r.status_code == 200, r.text
    assert [x["effect"] for x in r.json()["responses"]] == ["allow", "deny"] * (BATCH // 2)
    batch = pb.CheckBatchRequest(requests=[json_format.ParseDict(x, pb.CheckRequest()) for x in requests])
    answers = stub.CheckBatch(batch, timeout=30).responses
    assert [x.effect for x in answers] == ["allow", "deny"] * (BATCH // 2)


def test_a_stuck_log_sink_never_stops_decisions_and_drops_are_counted(
    start_celgate, policy_repo: Path, tmp_path: Path
) -> None:
    config = tmp_path / "celgate.yaml"
    config.write_text("decision_log: stdout\ndecision_log_queue: 20\n")
    cg = start_celgate(policies=policy_repo, extra_args=["--config", str(config)], stdout="pipe")
    with httpx.Client(base_url=cg.http_url, timeout=30) as client, grpc.insecure_channel(cg.grpc_addr) as channel:
        stub = pb_grpc.DecisionServiceStub(channel)
        assert dropped(client) == 0
        flood(client, stub)
        first = dropped(client)
        assert first > 0  # the pipe is full and the writer is stuck: entries are being dropped
        for _ in range(ROUNDS - 1):
            flood(client, stub)
        second = dropped(client)
        assert second >= first + (ROUNDS - 1) * 2 * BATCH  # every later entry is dropped, none blocks
        r = client.post("/v1/check", json=SHELL_USER)
        assert r.status_code == 200 and r.json()["effect"] == "deny"
        assert client.get("/readyz").status_code == 200
    assert cg.proc.poll() is None
