"""The `celgate` command: `init`, `check`, `test`, `eval`, `serve` and `keygen`, each a module of its own."""

from __future__ import annotations

import argparse
import sys

from celgate import __version__


def build_parser() -> argparse.ArgumentParser:
    from celgate.cli import check, eval_cmd, init, keygen, serve, test

    parser = argparse.ArgumentParser(
        prog="celgate",
        description="A policy decision point for LLM workloads: CEL policies, decided over gRPC, HTTP and Envoy.",
    )
    parser.add_argument("--version", action="version", version=f"celgate {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in (init, serve, check, test, eval_cmd, keygen):
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
