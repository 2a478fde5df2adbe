"""gRPC core settings that must be in the environment before gRPC core starts.

Kept apart from the worker (which imports grpc through the doors) so `celgate serve` can set them
before anything imports grpc.
"""

from __future__ import annotations

import os

GRPC_EXPERIMENTS = "-event_engine_listener"


def tune_grpc_core() -> None:
    """Serves accepted gRPC connections on gRPC core's own poller, not on EventEngine endpoints.

    With EventEngine endpoints each read is handed from an EventEngine thread to the completion
    queue that grpcio's polling thread drains: one more thread hop per call, which on one core
    cost 10-15 % of the gRPC door's throughput (docs/performance.md, "Service"). Read by gRPC core
    when it starts, so this runs before anything imports grpc; an operator's own
    `GRPC_EXPERIMENTS` wins. An experiment name gRPC no longer knows is logged and ignored.
    """
    os.environ.setdefault("GRPC_EXPERIMENTS", GRPC_EXPERIMENTS)
