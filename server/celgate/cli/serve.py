"""`celgate serve` (placeholder until the service lands)."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("serve", help="run the decision service (gRPC + HTTP)")
    p.set_defaults(func=lambda args: print("celgate serve: not yet implemented") or 1)
