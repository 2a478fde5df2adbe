"""`celgate eval --policies PATH FILE|-`: decide one request (JSON) and print the decision."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from celgate.api.decide import Decider
from celgate.cli.output import red
from celgate.engine import InvalidRequest, PolicyLoadError, load
from celgate.policies import default_policies


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "eval",
        help="decide one request and print the decision as JSON",
        description="Decide one CheckRequest (proto JSON form) read from FILE or standard input ('-').",
    )
    p.add_argument("request", metavar="FILE|-", help="the request as JSON; '-' reads standard input")
    p.add_argument("--policies", help="the policy repository (default: the shipped library)")
    p.add_argument("--explain", action="store_true", help="include every rule's outcome and time")
    p.add_argument(
        "--backend",
        choices=["cpp", "closures", "python"],
        help="CEL backend (default: closures)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        raw = sys.stdin.read() if args.request == "-" else Path(args.request).read_text(encoding="utf-8")
    except OSError as exc:
        print(red(f"cannot read {args.request}: {exc.strerror}", sys.stderr), file=sys.stderr)
        return 2
    try:
        request = json.loads(raw)
    except json.JSONDecodeError as exc:
        print(red(f"{args.request}: invalid JSON: {exc}", sys.stderr), file=sys.stderr)
        return 2
    try:
        engine = load(args.policies or default_policies(), backend=args.backend)
    except PolicyLoadError as exc:
        for error in exc.errors:
            print(red(str(error), sys.stderr), file=sys.stderr)
        return 1
    try:
        decision = Decider(engine).decide(request, "cli", explain=args.explain)
    except InvalidRequest as exc:
        print(red(f"invalid request: {exc}", sys.stderr), file=sys.stderr)
        return 2
    print(json.dumps(decision.to_dict(), indent=2, ensure_ascii=False))
    return 0
