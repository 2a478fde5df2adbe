"""`celgate check PATH`: compile and type-check a policy repository, reporting every error."""

from __future__ import annotations

import argparse

from celgate.cli.output import compile_or_report, green


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "check",
        help="compile and type-check a policy repository",
        description="Compile and type-check every policy, data file and test suite. Prints FILE:LINE:COL: message "
        "for each problem and exits 1 when there is any.",
    )
    p.add_argument("path", help="the policy repository (the directory holding celgate.yaml)")
    p.add_argument("--backend", choices=["cpp", "python"], help="CEL backend (default: cpp when installed)")
    p.add_argument("-v", "--verbose", action="store_true", help="also list what was compiled")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    bundle = compile_or_report(args.path, args.backend)
    if bundle is None:
        return 1
    if args.verbose:
        policies = {p.name for plan in bundle.plans.values() for p in plan.policies}
        print(f"{len(policies)} policies, {len(bundle.rules())} rules, {len(bundle.suites)} test suites")
        print(f"revision {bundle.revision} (backend {bundle.backend.name})")
    print(green("ok"))
    return 0
