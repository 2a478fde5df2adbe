"""`celgate check PATH`: compile and type-check a policy repository, reporting every error."""

from __future__ import annotations

import argparse
import sys

from celgate.cli.output import compile_or_report, green, red, yellow


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "check",
        help="compile and type-check a policy repository",
        description="Compile and type-check every policy, data file and test suite. Prints FILE:LINE:COL: message "
        "for each problem and exits 1 when there is any. Rules that compile but can never fire (an obligation on a "
        "field the policy's actions never carry, a condition needing an action the policy does not apply to) are "
        "warnings; --strict makes them errors.",
    )
    p.add_argument("path", help="the policy repository (the directory holding celgate.yaml)")
    p.add_argument(
        "--backend",
        choices=["cpp", "closures", "python"],
        help="CEL backend (default: closures)",
    )
    p.add_argument("--strict", action="store_true", help="fail (exit 1) on warnings too")
    p.add_argument("-v", "--verbose", action="store_true", help="also list what was compiled")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    bundle = compile_or_report(args.path, args.backend)
    if bundle is None:
        return 1
    for warning in bundle.warnings:
        print(yellow(f"{warning} (warning)", sys.stderr), file=sys.stderr)
    if bundle.warnings and args.strict:
        n = len(bundle.warnings)
        print(red(f"{n} warning{'s' if n != 1 else ''} (--strict)", sys.stderr), file=sys.stderr)
        return 1
    if args.verbose:
        policies = {p.name for plan in bundle.plans.values() for p in plan.policies}
        print(f"{len(policies)} policies, {len(bundle.rules())} rules, {len(bundle.suites)} test suites")
        print(f"revision {bundle.revision} (backend {bundle.backend.name})")
    n = len(bundle.warnings)
    print(yellow(f"ok, {n} warning{'s' if n != 1 else ''}") if n else green("ok"))
    return 0
